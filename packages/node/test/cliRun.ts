/** Runs the medledger CLI's main() in this process, as a user would run the command, and captures its output. */
import { expect, vi } from 'vitest';
import { main } from '../src/cli.js';

/** main() with only the given MEDLEDGER_* variables, in `cwd` (where ./.medledger is looked for). */
export async function runCli(argv: string[], env: Record<string, string>, cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('MEDLEDGER_')) delete process.env[k];
  Object.assign(process.env, env);
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(String(line)));
  const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(String(line)));
  const before = process.cwd();
  process.chdir(cwd);
  process.exitCode = undefined;
  try {
    await main(argv);
    return { stdout: out.join('\n'), stderr: err.join('\n'), code: process.exitCode ?? 0 };
  } finally {
    process.exitCode = undefined;
    process.chdir(before);
    log.mockRestore();
    error.mockRestore();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** A refusal: nothing on stdout, one line on stderr (no stack), exit code 2; returns the line. */
export async function refusedByCli(
  argv: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<string> {
  const r = await runCli(argv, env, cwd);
  expect(r.code, `${argv.join(' ')} → ${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^medledger: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r.stderr;
}
