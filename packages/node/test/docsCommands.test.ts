/**
 * The commands the documentation tells people to run, checked without running them: every shell block of
 * README.md and docs/**\/*.md, line by line — each `npm run X` names a script of the root or of the `-w`
 * workspace, each `npx X` a linked bin, each `medledger …` (bare, `npm run medledger -- …` or
 * `node packages/node/bin/medledger.js …`) a known command with only options it accepts and the arguments it
 * takes (cli/commands.ts, the table its --help prints), each file a command reads (`import <dir>`, `node
 * <script>`, `cd <dir>`) exists where the line runs. Inline code spans that start with `npm run` or `medledger`
 * are held to the script and command names. A failure names the file and line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../src/cli/command.js';
import { findCommand } from '../src/cli/commands.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHELL_BLOCKS = new Set(['sh', 'bash', 'shell', 'console']);

interface Line {
  file: string;
  line: number;
  text: string;
}

function docFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return ['README.md', ...walk('docs')];
}

/** The logical lines of a document's shell blocks (continuations joined), and its inline code spans. */
function commandsOf(file: string): { shell: Line[]; inline: Line[] } {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const shell: Line[] = [];
  const inline: Line[] = [];
  let fence: string | undefined;
  let pending: Line | undefined;
  lines.forEach((text, i) => {
    const open = /^\s*```(\w*)/.exec(text);
    if (open) {
      fence = fence === undefined ? open[1]! : undefined;
      return;
    }
    if (fence === undefined) {
      for (const m of text.matchAll(/`((?:npm run|medledger) [^`]+)`/g))
        inline.push({ file, line: i + 1, text: m[1]! });
      return;
    }
    if (!SHELL_BLOCKS.has(fence)) return;
    const joined: Line = pending
      ? { ...pending, text: `${pending.text} ${text.trim()}` }
      : { file, line: i + 1, text };
    if (joined.text.endsWith('\\')) pending = { ...joined, text: joined.text.slice(0, -1) };
    else {
      pending = undefined;
      shell.push(joined);
    }
  });
  return { shell, inline };
}

/** Shell words of a line: quotes removed, a comment dropped, `$(…)` kept as one word; `&&`, `||`, `;`, `|` as words. */
function words(text: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      word = (word ?? '') + text.slice(i + 1, end === -1 ? undefined : end);
      i = end === -1 ? text.length : end;
    } else if (c === '$' && text[i + 1] === '(') {
      const end = text.indexOf(')', i);
      word = (word ?? '') + text.slice(i, end + 1);
      i = end;
    } else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === ';' || c === '|' || c === '&') {
      if (word !== undefined) out.push(word);
      word = undefined;
      const op = text[i + 1] === c ? c + c : c;
      out.push(op);
      i += op.length - 1;
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) out.push(word);
  return out;
}

const scriptsOf = (dir: string): Record<string, string> =>
  (JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> })
    .scripts ?? {};

/** The workspace folder of a `-w` name (`@medledger/web` → packages/web). */
function workspaceDir(name: string): string | undefined {
  for (const d of readdirSync(join(ROOT, 'packages'))) {
    const file = join(ROOT, 'packages', d, 'package.json');
    if (existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).name === name) return join('packages', d);
  }
  return undefined;
}

/** What is wrong with `medledger <args>` (undefined: nothing); `cwd` is where a file it reads must be. */
function medledgerProblem(args: string[], cwd: string, strict: boolean): string | undefined {
  const [name, ...rest] = args;
  // `medledger <command> --help`: a placeholder; the script named alone in a sentence (`npm run medledger`).
  if (!strict && (name === undefined || name.startsWith('<'))) return undefined;
  const command = name === undefined ? undefined : findCommand(name);
  if (!command)
    return name === 'help' || name === '--help' || name === '--version'
      ? undefined
      : `unknown medledger command "${name}"`;
  if (!strict) {
    // Usage notation (`[--dir D]`): only the option names are held to the command's.
    for (const w of rest.map((r) => r.replace(/^\[/, '')).filter((r) => r.startsWith('--'))) {
      const option = w.slice(2).replace(/[=\]].*$/, '');
      if (option !== 'help' && !(option in command.options))
        return `medledger ${name} has no option --${option}`;
    }
    return undefined;
  }
  let parsed: ReturnType<typeof parseCommand>;
  try {
    parsed = parseCommand(command, rest);
  } catch (error) {
    return (error as Error).message;
  }
  if (name === 'import' && !existsSync(resolve(cwd, parsed.positionals[0]!))) {
    return `medledger import reads ${parsed.positionals[0]}, which does not exist`;
  }
  return undefined;
}

/** What is wrong with one command of a shell line (undefined: nothing). */
function problem(command: string[], cwd: string, strict: boolean): string | undefined {
  const w = command.slice(command.findIndex((x) => !/^[A-Z_][A-Z0-9_]*=/.test(x)));
  if (w[0] === 'npm') {
    const dashdash = w.indexOf('--');
    const own = dashdash === -1 ? w : w.slice(0, dashdash);
    const wsAt = own.findIndex((x) => x === '-w' || x === '--workspace');
    const ws = wsAt === -1 ? undefined : own[wsAt + 1];
    const dir = ws === undefined ? '.' : workspaceDir(ws);
    if (dir === undefined) return `no workspace ${ws}`;
    // npm's own flags (`npm run -s x`) are not the verb or the script.
    const words = own.filter((x, i) => !x.startsWith('-') && (wsAt === -1 || i !== wsAt + 1));
    const verb = words[1];
    const script = verb === 'run' ? words[2] : verb === 'start' || verb === 'test' ? verb : undefined;
    if (script !== undefined && !(script in scriptsOf(dir)))
      return `npm run ${script}: no such script in ${join(dir, 'package.json')}`;
    if (script === 'medledger' && dir === '.')
      return medledgerProblem(dashdash === -1 ? [] : w.slice(dashdash + 1), cwd, strict);
    return undefined;
  }
  if (w[0] === 'medledger') return medledgerProblem(w.slice(1), cwd, strict);
  if (!strict) return undefined;
  if (w[0] === 'npx' && w[1] && !w[1].startsWith('-') && !existsSync(join(ROOT, 'node_modules/.bin', w[1]))) {
    return `npx ${w[1]}: no such bin in node_modules/.bin`;
  }
  if (w[0] === 'node') {
    const script = w.slice(1).find((x) => !x.startsWith('-'));
    if (script?.endsWith('bin/medledger.js'))
      return medledgerProblem(w.slice(w.indexOf(script) + 1), cwd, strict);
    if (script && !existsSync(resolve(cwd, script))) return `node ${script}: no such file`;
  }
  return undefined;
}

/** Every problem of a line, as `file:line: problem`. */
function lineProblems(l: Line, strict: boolean): string[] {
  const found: string[] = [];
  let cwd = ROOT;
  let command: string[] = [];
  for (const w of [...words(l.text), ';']) {
    if (!['&&', '||', ';', '|', '&'].includes(w)) {
      command.push(w);
      continue;
    }
    if (command[0] === 'cd' && command[1]) {
      cwd = resolve(cwd, command[1]);
      if (!existsSync(cwd)) found.push(`cd ${command[1]}: no such directory`);
    } else if (command.length > 0) {
      const p = problem(command, cwd, strict);
      if (p) found.push(p);
    }
    command = [];
  }
  return found.map((p) => `${l.file}:${l.line}: ${p}\n    ${l.text.trim()}`);
}

describe('the commands in README.md and docs/', () => {
  const docs = docFiles().map((f) => ({ file: f, ...commandsOf(f) }));

  it('reads the shell blocks of every document', () => {
    const shell = docs.flatMap((d) => d.shell);
    expect(shell.filter((l) => /medledger --? ?\w/.test(l.text)).length).toBeGreaterThan(5);
    expect(docs.map((d) => d.file)).toContain('docs/node.md');
  });

  it('every command of a shell block names a script, bin, medledger command, option and file that exist', () => {
    const problems = docs.flatMap((d) => d.shell.flatMap((l) => lineProblems(l, true)));
    expect(problems, `commands in the docs that would fail:\n${problems.join('\n')}`).toEqual([]);
  });

  it('every `npm run …` and `medledger …` in the text names a script, command and options that exist', () => {
    const problems = docs.flatMap((d) => d.inline.flatMap((l) => lineProblems(l, false)));
    expect(problems, `commands in the docs' text that would fail:\n${problems.join('\n')}`).toEqual([]);
  });

  it('catches what it is there to catch', () => {
    const at = (text: string) => lineProblems({ file: 'x.md', line: 1, text }, true);
    expect(at('npm run nosuch')).toEqual([expect.stringContaining('npm run nosuch: no such script')]);
    expect(at('npm run bench -w @medledger/nosuch')).toEqual([expect.stringContaining('no workspace')]);
    expect(at('npm run medledger -- frobnicate')).toEqual([
      expect.stringContaining('unknown medledger command'),
    ]);
    expect(at('npm run medledger -- status --bogus  # comment')).toEqual([
      expect.stringContaining('unknown option --bogus'),
    ]);
    expect(at('npm run medledger -- import ./no/such/dir')).toEqual([
      expect.stringContaining('does not exist'),
    ]);
    expect(at('cd packages/web && node bench/nosuch.ts')).toEqual([expect.stringContaining('no such file')]);
    expect(at("MEDLEDGER_PORT=9000 npm run medledger -- totp 'a b' && npm start")).toEqual([]);
    expect(at('npx no-such-bin --x')).toEqual([expect.stringContaining('no such bin')]);
  });
});
