/**
 * `medledger import` and `medledger verify` against one real node: importing the same Synthea bundles twice
 * creates nothing the second time; a conditional create that matches is what references to its entry name;
 * a broken bundle or file is named (file, entry) and changes nothing; verify reports progress a page at a time
 * and its problems.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Progress } from '../src/cli/progress.js';
import { verifyCommand } from '../src/cli/verifyCommand.js';
import { main } from '../src/cli.js';
import { SHARED, startTestNode, type TestNode } from './helpers.js';

const SYNTHEA = fileURLToPath(new URL('synthea/r4-bundles/', SHARED));
const SMALL = [
  'Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json',
  'Dannie_Schmitt_22d6efc6-2dc7-4f36-9d27-84fc6609c469.json',
];

/** Runs the CLI in this process: its stdout and stderr lines and its exit code. */
async function cli(...argv: string[]): Promise<{ out: string[]; err: string[]; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  process.exitCode = undefined;
  try {
    await main(argv);
    return { out, err, code: Number(process.exitCode ?? 0) };
  } finally {
    log.mockRestore();
    error.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
}

describe('medledger import and verify', () => {
  let t: TestNode;
  let dir: string;
  const client = () => ['--url', t.url, '--token', t.token];
  const counts = async () =>
    (await t.fhir('GET', '/$status')).body.records as { resources: number; versions: number };

  beforeAll(async () => {
    t = await startTestNode({ backend: 'pglite' });
    dir = mkdtempSync(join(tmpdir(), 'medledger-import-'));
    mkdirs(dir);
    for (const f of SMALL) copyFileSync(join(SYNTHEA, f), join(dir, 'bundles', f));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports a directory with progress per file; importing it again creates nothing', async () => {
    const first = await cli('import', join(dir, 'bundles'), ...client());
    expect(first.code).toBe(0);
    expect(first.err.filter((l) => l.startsWith('[1/2] ') || l.startsWith('[2/2] '))).toHaveLength(2);
    const summary = /imported 2 files, (\d+) entries: (\d+) created, 0 already there/.exec(
      first.out.join('\n'),
    );
    expect(summary).not.toBeNull();
    expect(summary![2]).toBe(summary![1]);
    const after = await counts();
    expect(after.resources).toBeGreaterThanOrEqual(Number(summary![1]));

    const second = await cli('import', join(dir, 'bundles'), ...client());
    expect(second.code).toBe(0);
    expect(second.out.join('\n')).toContain(
      `${summary![1]} entries: 0 created, ${summary![1]} already there`,
    );
    expect(await counts()).toEqual(after);
  }, 120_000);

  it('resolves references to a conditional create that matched, wherever the entry stands', async () => {
    const before = await counts();
    // A Synthea patient the first import stored, named by its business identifier, placed AFTER the entry
    // that references it.
    const existing = (await t.fhir('GET', '/Patient?_count=1')).body.entry[0].resource;
    const identifier = existing.identifier[0];
    const file = join(dir, 'forward.json');
    writeFileSync(
      file,
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:0f0f0f0f-0000-4000-8000-000000000001',
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'a note' },
              subject: { reference: 'urn:uuid:0f0f0f0f-0000-4000-8000-000000000002' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
          {
            fullUrl: 'urn:uuid:0f0f0f0f-0000-4000-8000-000000000002',
            resource: { resourceType: 'Patient', identifier: [identifier] },
            request: { method: 'POST', url: 'Patient' },
          },
        ],
      }),
    );
    const run = await cli('import', file, ...client());
    expect(run.code).toBe(0);
    expect(run.out.join('\n')).toContain('2 entries: 1 created, 1 already there');
    const found = await t.fhir(
      'GET',
      `/Observation?identifier=${encodeURIComponent('urn:ietf:rfc:3986|urn:uuid:0f0f0f0f-0000-4000-8000-000000000001')}`,
    );
    expect(found.body.entry).toHaveLength(1);
    expect(found.body.entry[0].resource.subject.reference).toBe(`Patient/${existing.id}`);
    expect((await counts()).resources).toBe(before.resources + 1);
    expect((await cli('import', file, ...client())).out.join('\n')).toContain('0 created, 2 already there');
  }, 60_000);

  it('verifies a page at a time with progress lines, then one summary; a damaged record is a problem', async () => {
    // Before any refused bundle: every blob on disk belongs to a record (a refused transaction leaves some behind).
    const progress: string[] = [];
    const out: string[] = [];
    const call = async (method: string, path: string) => {
      const res = await t.fhir(method, path);
      expect(res.status).toBe(200);
      return res.body;
    };
    const { versions } = await counts();
    const report = await verifyCommand({
      call,
      pageSize: 40,
      progress: new Progress({ write: (s: string) => progress.push(s) }),
      out: (l) => out.push(l),
    });
    expect(report.checked).toBe(versions);
    expect(report.problems).toBe(0);
    // Not a terminal: whole lines, one per tenth reached (the last page prints the summary instead).
    const lines = progress.join('').split('\n').filter(Boolean);
    expect(lines[0]).toBe('verifying record versions …');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(
      lines.slice(1).every((l) => new RegExp(`^verified \\d+ of ${versions} record versions`).test(l)),
    ).toBe(true);
    expect(progress.join('')).not.toContain('\r');
    expect(out).toEqual([
      `verified ${versions} record versions: ${report.anchored} anchored, ${report.pending} not yet anchored, 0 problems`,
    ]);

    // A page with a cursor the node did not give out is refused.
    expect((await t.fhir('GET', '/$verify?_count=10&cursor=bm90LWEtY3Vyc29y')).status).toBe(400);

    // One blob damaged on disk: verify names it and exits 1.
    const blobs = join(t.dataDir, 'blobs');
    const victim = findFile(blobs);
    writeFileSync(victim, 'damaged');
    const run = await cli('verify', ...client());
    expect(run.code).toBe(1);
    expect(run.out.filter((l) => l.startsWith('PROBLEM '))).toHaveLength(1);
    expect(run.out.at(-1)).toMatch(/^verified \d+ record versions: .*, 1 problems$/);
  }, 120_000);
  it('names the file and the entry of a bundle the node refuses, and stores nothing of it', async () => {
    const before = await counts();
    const file = join(dir, 'broken.json');
    writeFileSync(
      file,
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:0e0e0e0e-0000-4000-8000-000000000001',
            resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:broken', value: '1' }] },
            request: { method: 'POST', url: 'Patient' },
          },
          {
            fullUrl: 'urn:uuid:0e0e0e0e-0000-4000-8000-000000000002',
            resource: {
              resourceType: 'Observation',
              status: 'not-a-status',
              code: { text: 'x' },
              subject: { reference: 'urn:uuid:0e0e0e0e-0000-4000-8000-000000000001' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      }),
    );
    const run = await cli('import', file, ...client());
    expect(run.code).toBe(2);
    const line = run.err.at(-1)!;
    expect(line).toMatch(/^medledger: /);
    expect(line).toContain(`${file}: entry 1 (urn:uuid:0e0e0e0e-0000-4000-8000-000000000002): `);
    expect(line).toContain('nothing of this file was stored');
    expect(await counts()).toEqual(before);
    const patients = await t.fhir('GET', '/Patient?identifier=urn:test:broken|1');
    expect(patients.body.entry ?? []).toHaveLength(0);
  }, 60_000);

  it('names a file that is not JSON or not a Bundle before it sends anything', async () => {
    const before = await counts();
    const mixed = join(dir, 'mixed');
    mkdirs(mixed, false);
    copyFileSync(join(SYNTHEA, SMALL[0]!), join(mixed, 'a.json'));
    writeFileSync(join(mixed, 'b.json'), '{"resourceType": "Bundle", ');
    let run = await cli('import', mixed, ...client());
    expect(run.code).toBe(2);
    expect(run.err.at(-1)).toContain(`medledger: ${join(mixed, 'b.json')}: not JSON (`);
    writeFileSync(join(mixed, 'b.json'), JSON.stringify({ resourceType: 'Patient' }));
    run = await cli('import', mixed, ...client());
    expect(run.err.at(-1)).toBe(`medledger: ${join(mixed, 'b.json')}: not a FHIR Bundle (a Patient)`);
    expect(await counts()).toEqual(before);
    expect(readdirSync(mixed)).toHaveLength(2);
  }, 60_000);
});

function mkdirs(base: string, bundles = true) {
  mkdirSync(bundles ? join(base, 'bundles') : base, { recursive: true });
}

/** The first regular file under a directory (blob stores may shard into subdirectories). */
function findFile(dir: string): string {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isFile()) return path;
    if (e.isDirectory()) {
      try {
        return findFile(path);
      } catch {}
    }
  }
  throw new Error(`no file under ${dir}`);
}
