/**
 * `medledger import` and `medledger verify` against one real node: importing the same Synthea bundles twice
 * creates nothing the second time; a conditional create that matches is what references to its entry name;
 * a broken bundle or file is named (file, entry) and changes nothing; verify reports progress a page at a time
 * and its problems.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Progress } from '../src/cli/progress.js';
import { verifyRecords } from '../src/cli/verifyRecords.js';
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
  }, 300_000);
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
  }, 300_000);

  it('resolves references to a conditional create that matched, wherever the entry stands', async () => {
    const before = await counts();
    // A Synthea patient the first import stored, named by its business identifier, placed AFTER the entry
    // that references it.
    const existing = (await t.fhir('GET', '/Patient?_count=1')).body.entry[0].resource;
    const identifier = existing.identifier[0];
    const file = join(dir, 'forward.json');
    // The Observation comes first and references the Patient entry after it.
    writeTransaction(file, [
      [FORWARD(1), observation('final', FORWARD(2))],
      [FORWARD(2), { resourceType: 'Patient', identifier: [identifier] }],
    ]);
    const run = await cli('import', file, ...client());
    expect(run.code).toBe(0);
    expect(run.out.join('\n')).toContain('2 entries: 1 created, 1 already there');
    const found = await t.fhir(
      'GET',
      `/Observation?identifier=${encodeURIComponent(`urn:ietf:rfc:3986|${FORWARD(1)}`)}`,
    );
    expect(found.body.entry).toHaveLength(1);
    expect(found.body.entry[0].resource.subject.reference).toBe(`Patient/${existing.id}`);
    expect((await counts()).resources).toBe(before.resources + 1);
    expect((await cli('import', file, ...client())).out.join('\n')).toContain('0 created, 2 already there');
  }, 120_000);

  it('verifies a page at a time with progress lines, then one summary; a damaged record is a problem', async () => {
    // Before any refused bundle: every blob on disk belongs to a record (a refused transaction leaves some
    // behind). One of them damaged: verify names it and exits 1.
    writeFileSync(findFile(join(t.dataDir, 'blobs')), 'damaged');
    const progress: string[] = [];
    const out: string[] = [];
    const call = async (method: string, path: string) => {
      const res = await t.fhir(method, path);
      expect(res.status).toBe(200);
      return res.body;
    };
    const { versions } = await counts();
    process.exitCode = undefined;
    let report: Awaited<ReturnType<typeof verifyRecords>>;
    try {
      report = await verifyRecords({
        call,
        pageSize: 40,
        progress: new Progress({ write: (s: string) => progress.push(s) }),
        out: (l) => out.push(l),
      });
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = undefined;
    }
    expect(report.checked).toBe(versions);
    expect(report.problems).toBe(1);
    // Not a terminal: whole lines, one per tenth reached (the last page prints the summary instead).
    const lines = progress.join('').split('\n').filter(Boolean);
    expect(lines[0]).toBe('verifying record versions …');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(
      lines.slice(1).every((l) => new RegExp(`^verified \\d+ of ${versions} record versions`).test(l)),
    ).toBe(true);
    expect(progress.join('')).not.toContain('\r');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^PROBLEM [A-Za-z]+\/[A-Za-z0-9\-.]+\/_history\/1: /);
    expect(out[1]).toBe(
      `verified ${versions} record versions: ${report.anchored} anchored, ${report.pending} not yet anchored, 1 problems`,
    );

    // A page with a cursor the node did not give out is refused.
    expect((await t.fhir('GET', '/$verify?_count=10&cursor=bm90LWEtY3Vyc29y')).status).toBe(400);
  }, 300_000);

  it('names the file and the entry of a bundle the node refuses, and stores nothing of it', async () => {
    const before = await counts();
    const file = join(dir, 'broken.json');
    writeTransaction(file, [
      [BROKEN(1), { resourceType: 'Patient', identifier: [{ system: 'urn:test:broken', value: '1' }] }],
      [BROKEN(2), observation('not-a-status', BROKEN(1))],
    ]);
    const run = await cli('import', file, ...client());
    expect(run.code).toBe(2);
    const line = run.err.at(-1)!;
    expect(line).toMatch(/^medledger: /);
    expect(line).toContain(`${file}: entry 1 (${BROKEN(2)}): Observation.status: `);
    expect(line).toContain('nothing of this file was stored');
    expect(await counts()).toEqual(before);
    const patients = await t.fhir('GET', '/Patient?identifier=urn:test:broken|1');
    expect(patients.body.entry ?? []).toHaveLength(0);

    // A batch: the failing entry is named, and the line says the others were processed.
    const batch = join(dir, 'batch.json');
    writeFileSync(
      batch,
      readFileSync(file, 'utf8')
        .replace('"transaction"', '"batch"')
        .replaceAll(`${BROKEN(1)}"}`, 'Patient/nowhere"}'),
    );
    const batchRun = await cli('import', batch, ...client());
    expect(batchRun.code).toBe(2);
    expect(batchRun.err.at(-1)).toContain(`${batch}: entry 1 (${BROKEN(2)}): `);
    expect(batchRun.err.at(-1)).toContain('a batch: its other entries were processed');
  }, 120_000);

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
  }, 120_000);
});

const FORWARD = (n: number) => `urn:uuid:0f0f0f0f-0000-4000-8000-00000000000${n}`;
const BROKEN = (n: number) => `urn:uuid:0e0e0e0e-0000-4000-8000-00000000000${n}`;

function observation(status: string, subject: string) {
  return { resourceType: 'Observation', status, code: { text: 'a note' }, subject: { reference: subject } };
}

/** A transaction bundle of POST entries: [fullUrl, resource] each. */
function writeTransaction(
  file: string,
  entries: [string, { resourceType: string; [element: string]: unknown }][],
) {
  const entry = entries.map(([fullUrl, resource]) => ({
    fullUrl,
    resource,
    request: { method: 'POST', url: resource.resourceType },
  }));
  writeFileSync(file, JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }));
}

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
