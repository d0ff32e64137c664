// Solidity coverage without instrumentation: compiles the contracts with the optimizer off, runs the
// integration tests against anvil with every call and transaction traced (test/helpers/coverageRecorder.ts),
// then maps the executed program counters back to source through solc's source maps and AST.
//   statements: a statement counts when an executed instruction maps inside it;
//   lines:      source lines on which a statement starts;
//   branches:   both arms of every `if` and `?:` (an `if` without `else` counts its false arm when its JUMPI
//               was seen continuing outside the true body);
//   functions:  implemented functions with an executed instruction inside their body.
// Writes report/coverage.json and report/coverage.md, and exits non-zero below 95 % lines or branches.
// Why not solidity-coverage: it needs Hardhat (2, since Hardhat 3 needs Node 22) and runs Hardhat's own test
// runner, while these tests run under Vitest against a real anvil; tracing gives the same measure with no
// second toolchain and without instrumented bytecode that would distort the gas figures.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RawCoverage } from '../test/helpers/coverageRecorder.js';
import { type CompileOutput, compile, packageRoot, suiteContracts } from './solc.js';

const THRESHOLD = 95;
const reportDir = join(packageRoot, 'report');
const rawDir = join(reportDir, 'coverage-raw');
const buildFile = join(reportDir, 'coverage-build.json');
const repoRoot = resolve(packageRoot, '..', '..');

interface Range {
  start: number;
  length: number;
  file: number;
}

interface AstNode {
  nodeType: string;
  src: string;
  id?: number;
  name?: string;
  kind?: string;
  body?: AstNode | null;
  condition?: AstNode;
  trueBody?: AstNode;
  falseBody?: AstNode | null;
  trueExpression?: AstNode;
  falseExpression?: AstNode;
  [key: string]: unknown;
}

function parseSrc(src: string): Range {
  const [start, length, file] = src.split(':').map(Number);
  return { start: start!, length: length!, file: file! };
}

/** solc's compressed source map, one entry per instruction. */
function decodeSourceMap(map: string): (Range & { jump: string })[] {
  const out: (Range & { jump: string })[] = [];
  let prev = { start: -1, length: -1, file: -1, jump: '-' };
  for (const entry of map.split(';')) {
    const [s, l, f, j] = entry.split(':');
    prev = {
      start: s ? Number(s) : prev.start,
      length: l ? Number(l) : prev.length,
      file: f ? Number(f) : prev.file,
      jump: j || prev.jump,
    };
    out.push({ ...prev });
  }
  return out;
}

/** Program counter of each instruction. */
function instructionPcs(bytecode: string): number[] {
  const code = Buffer.from(bytecode.replace(/^0x/, ''), 'hex');
  const pcs: number[] = [];
  for (let pc = 0; pc < code.length; pc++) {
    pcs.push(pc);
    const op = code[pc]!;
    if (op >= 0x60 && op <= 0x7f) pc += op - 0x5f;
  }
  return pcs;
}

const within = (inner: Range, outer: Range) =>
  inner.file === outer.file &&
  inner.start >= outer.start &&
  inner.start + inner.length <= outer.start + outer.length;

function walk(node: unknown, visit: (n: AstNode) => void): void {
  if (Array.isArray(node)) {
    for (const child of node) walk(child, visit);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const n = node as AstNode;
  if (typeof n.nodeType === 'string') visit(n);
  for (const value of Object.values(n)) if (value && typeof value === 'object') walk(value, visit);
}

const STATEMENTS = new Set([
  'ExpressionStatement',
  'VariableDeclarationStatement',
  'Return',
  'EmitStatement',
  'RevertStatement',
  'Break',
  'Continue',
]);

interface Item {
  file: string;
  line: number;
  label: string;
  covered: boolean;
}

function runTests(): void {
  rmSync(rawDir, { recursive: true, force: true });
  mkdirSync(rawDir, { recursive: true });
  const result = spawnSync(
    process.execPath,
    [join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'packages/contracts/test'],
    {
      cwd: repoRoot,
      stdio: 'inherit',
      env: { ...process.env, MEDLEDGER_COVERAGE_DIR: rawDir, MEDLEDGER_COVERAGE_ARTIFACTS: buildFile },
    },
  );
  if (result.status !== 0) throw new Error('the tests failed under coverage');
}

function merge(): RawCoverage {
  const merged = {
    pcs: {} as Record<string, Set<number>>,
    jumps: {} as Record<string, Record<number, Set<number>>>,
  };
  for (const file of readdirSync(rawDir)) {
    const raw = JSON.parse(readFileSync(join(rawDir, file), 'utf8')) as RawCoverage;
    for (const [key, pcs] of Object.entries(raw.pcs)) {
      merged.pcs[key] ??= new Set();
      for (const pc of pcs) merged.pcs[key].add(pc);
    }
    for (const [key, byPc] of Object.entries(raw.jumps)) {
      merged.jumps[key] ??= {};
      for (const [pc, targets] of Object.entries(byPc)) {
        merged.jumps[key][Number(pc)] ??= new Set();
        for (const t of targets) merged.jumps[key][Number(pc)]!.add(t);
      }
    }
  }
  return {
    pcs: Object.fromEntries(Object.entries(merged.pcs).map(([k, v]) => [k, [...v]])),
    jumps: Object.fromEntries(
      Object.entries(merged.jumps).map(([k, v]) => [
        k,
        Object.fromEntries(Object.entries(v).map(([pc, t]) => [pc, [...t]])),
      ]),
    ),
  };
}

function analyse(build: CompileOutput, raw: RawCoverage) {
  // Executed source ranges, and for each JUMPI the ranges of what ran next.
  const executed: Range[] = [];
  const jumpis: { at: Range; next: Range[] }[] = [];
  for (const name of suiteContracts) {
    const c = build.contracts[name]!;
    for (const kind of ['creation', 'runtime'] as const) {
      const key = `${name}:${kind}`;
      const map = decodeSourceMap(kind === 'creation' ? c.sourceMap : c.deployedSourceMap);
      const pcs = instructionPcs(kind === 'creation' ? c.bytecode : c.deployedBytecode);
      const rangeAtPc = new Map<number, Range>();
      pcs.forEach((pc, i) => {
        const r = map[i];
        if (r && r.file >= 0) rangeAtPc.set(pc, r);
      });
      for (const pc of raw.pcs[key] ?? []) {
        const r = rangeAtPc.get(pc);
        if (r) executed.push(r);
      }
      for (const [pc, targets] of Object.entries(raw.jumps[key] ?? {})) {
        const at = rangeAtPc.get(Number(pc));
        if (at)
          jumpis.push({ at, next: targets.map((t) => rangeAtPc.get(t)).filter((r): r is Range => !!r) });
      }
    }
  }
  const ran = (range: Range) => executed.some((r) => within(r, range));

  const statements: Item[] = [];
  const branches: Item[] = [];
  const functions: Item[] = [];
  for (const [sourceName, source] of Object.entries(build.sources)) {
    if (!sourceName.startsWith('contracts/')) continue;
    const bytes = Buffer.from(source.content, 'utf8');
    const lineOf = (offset: number) => bytes.subarray(0, offset).toString('utf8').split('\n').length;
    walk(source.ast, (node) => {
      const range = parseSrc(node.src);
      const line = lineOf(range.start);
      if (STATEMENTS.has(node.nodeType)) {
        statements.push({ file: sourceName, line, label: node.nodeType, covered: ran(range) });
      } else if (node.nodeType === 'IfStatement' && node.condition && node.trueBody) {
        const condition = parseSrc(node.condition.src);
        statements.push({ file: sourceName, line, label: 'if', covered: ran(condition) });
        const trueBody = parseSrc(node.trueBody.src);
        branches.push({ file: sourceName, line, label: 'if: true', covered: ran(trueBody) });
        let falseCovered: boolean;
        if (node.falseBody) {
          falseCovered = ran(parseSrc(node.falseBody.src));
        } else {
          const own = jumpis.filter(
            (j) =>
              j.at.file === range.file &&
              ((j.at.start === range.start && j.at.length === range.length) ||
                (j.at.start === condition.start && j.at.length === condition.length)),
          );
          falseCovered = own.some((j) => j.next.some((n) => !within(n, trueBody)));
        }
        branches.push({ file: sourceName, line, label: 'if: false', covered: falseCovered });
      } else if (node.nodeType === 'Conditional' && node.trueExpression && node.falseExpression) {
        branches.push({
          file: sourceName,
          line,
          label: '?: true',
          covered: ran(parseSrc(node.trueExpression.src)),
        });
        branches.push({
          file: sourceName,
          line,
          label: '?: false',
          covered: ran(parseSrc(node.falseExpression.src)),
        });
      } else if (node.nodeType === 'FunctionDefinition' && node.body) {
        const label = node.name || node.kind || 'function';
        functions.push({ file: sourceName, line, label, covered: ran(parseSrc(node.body.src)) });
      }
    });
  }
  const lineKeys = new Map<string, boolean>();
  for (const s of statements) {
    const key = `${s.file}:${s.line}`;
    lineKeys.set(key, (lineKeys.get(key) ?? false) || s.covered);
  }
  const lines: Item[] = [...lineKeys].map(([key, covered]) => {
    const i = key.lastIndexOf(':');
    return { file: key.slice(0, i), line: Number(key.slice(i + 1)), label: 'line', covered };
  });
  return { statements, branches, functions, lines };
}

function pct(items: Item[]): number {
  return items.length === 0 ? 100 : (100 * items.filter((i) => i.covered).length) / items.length;
}

function main(): void {
  const started = performance.now();
  const build = compile({ optimize: false });
  mkdirSync(reportDir, { recursive: true });
  const artifacts = Object.fromEntries(
    suiteContracts.map((n) => [n, { abi: build.contracts[n]!.abi, bytecode: build.contracts[n]!.bytecode }]),
  );
  writeFileSync(buildFile, JSON.stringify(artifacts));
  runTests();
  const result = analyse(build, merge());
  const kinds = ['lines', 'statements', 'branches', 'functions'] as const;
  const files = [...new Set(result.statements.map((s) => s.file))].sort();
  const perFile = files.map((file) => {
    const of = (k: (typeof kinds)[number]) => pct(result[k].filter((i) => i.file === file));
    return {
      file,
      lines: of('lines'),
      statements: of('statements'),
      branches: of('branches'),
      functions: of('functions'),
    };
  });
  const totals = Object.fromEntries(
    kinds.map((k) => [
      k,
      { covered: result[k].filter((i) => i.covered).length, total: result[k].length, pct: pct(result[k]) },
    ]),
  ) as Record<(typeof kinds)[number], { covered: number; total: number; pct: number }>;
  const uncovered = kinds.flatMap((k) =>
    result[k].filter((i) => !i.covered).map((i) => `${k}: ${i.file}:${i.line} ${i.label}`),
  );
  writeFileSync(
    join(reportDir, 'coverage.json'),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), threshold: THRESHOLD, totals, perFile, uncovered }, null, 2)}\n`,
  );
  const f = (n: number) => `${n.toFixed(1)} %`;
  const md = [
    '# Solidity coverage',
    '',
    'Measured by tracing the integration tests on anvil (scripts/coverage.ts): unoptimised build, solc source maps.',
    '',
    '| file | lines | statements | branches | functions |',
    '|---|---:|---:|---:|---:|',
    ...perFile.map(
      (p) => `| ${p.file} | ${f(p.lines)} | ${f(p.statements)} | ${f(p.branches)} | ${f(p.functions)} |`,
    ),
    `| **total** | ${kinds.map((k) => `**${f(totals[k].pct)}** (${totals[k].covered}/${totals[k].total})`).join(' | ')} |`,
    '',
    uncovered.length
      ? `Not covered:\n\n${uncovered.map((u) => `- ${u}`).join('\n')}\n`
      : 'Everything is covered.\n',
  ].join('\n');
  writeFileSync(join(reportDir, 'coverage.md'), md);
  console.log(`\n${md}`);
  console.log(`coverage run took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (totals.lines.pct < THRESHOLD || totals.branches.pct < THRESHOLD) {
    console.error(
      `coverage below ${THRESHOLD} % (lines ${f(totals.lines.pct)}, branches ${f(totals.branches.pct)})`,
    );
    process.exitCode = 1;
  }
}

main();
