import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMdlError, type MdlErrorCode } from '@medledger/core';
import { computeCid } from '@medledger/crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore, ORPHAN_AGE_MS } from './FsBlobStore.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mdl-blobs-'));
  dirs.push(d);
  return join(d, 'blobs'); // not yet created: the store creates it
}

async function rejectsWith(p: Promise<unknown>, code: MdlErrorCode): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isMdlError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const pathOf = (dir: string, cid: string) => join(dir, cid.slice(-3, -1), cid);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('FsBlobStore', () => {
  it('names blobs by the CID IPFS computes, under a next-to-last/2 shard', async () => {
    const dir = await freshDir();
    const store = new FsBlobStore(dir);
    // Known CIDs (raw codec, sha2-256), as `ipfs block put` / `ipfs add --raw-leaves --cid-version 1` give.
    const hello = await store.put(utf8('hello world'));
    expect(hello).toBe('bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e');
    const empty = await store.put(new Uint8Array(0));
    expect(empty).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
    expect(await readFile(join(dir, 'n5', hello), 'utf8')).toBe('hello world');
    expect((await stat(join(dir, 'yk', empty))).size).toBe(0);
    expect(await store.get(empty)).toEqual(new Uint8Array(0));
  });

  it('round-trips arbitrary bytes', async () => {
    const store = new FsBlobStore(await freshDir());
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
        const cid = await store.put(bytes);
        expect(cid).toBe(computeCid(bytes));
        expect(await store.has(cid)).toBe(true);
        const back = await store.get(cid);
        expect(back).toBeInstanceOf(Uint8Array);
        expect(Array.from(back)).toEqual(Array.from(bytes));
      }),
      { numRuns: 50 },
    );
    const big = randomBytes(3 << 20);
    expect(Buffer.from(await store.get(await store.put(big))).equals(big)).toBe(true);
  });

  it('is idempotent: a second put of present bytes rewrites nothing', async () => {
    const dir = await freshDir();
    const store = new FsBlobStore(dir);
    const bytes = randomBytes(1000);
    const cid = await store.put(bytes);
    const before = await stat(pathOf(dir, cid));
    expect(await store.put(bytes)).toBe(cid);
    const after = await stat(pathOf(dir, cid));
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(await readdir(join(dir, cid.slice(-3, -1)))).toEqual([cid]);
  });

  it('detects a tampered or truncated file on read, and a put repairs it', async () => {
    const dir = await freshDir();
    const store = new FsBlobStore(dir);
    const bytes = randomBytes(256);
    const cid = await store.put(bytes);
    const altered = Buffer.from(bytes);
    altered[100] = (altered[100] ?? 0) ^ 1;
    await writeFile(pathOf(dir, cid), altered);
    await rejectsWith(store.get(cid), 'MDL_CID_MISMATCH');
    expect(await store.put(bytes)).toBe(cid); // same size, different content: replaced
    expect(Buffer.from(await store.get(cid)).equals(bytes)).toBe(true);

    await writeFile(pathOf(dir, cid), bytes.subarray(0, 10));
    await rejectsWith(store.get(cid), 'MDL_CID_MISMATCH');
    await store.put(bytes);
    expect(Buffer.from(await store.get(cid)).equals(bytes)).toBe(true);

    // Another blob's bytes under this name (a swapped file) is a mismatch too.
    const other = randomBytes(256);
    await writeFile(pathOf(dir, cid), other);
    await rejectsWith(store.get(cid), 'MDL_CID_MISMATCH');
  });

  it('answers NOT_FOUND for an absent blob, and has/delete say false', async () => {
    const store = new FsBlobStore(await freshDir());
    const cid = computeCid(utf8('never stored'));
    await rejectsWith(store.get(cid), 'MDL_NOT_FOUND');
    expect(await store.has(cid)).toBe(false);
    expect(await store.delete(cid)).toBe(false);
  });

  it('deletes', async () => {
    const dir = await freshDir();
    const store = new FsBlobStore(dir);
    const cid = await store.put(utf8('to be purged'));
    expect(await store.delete(cid)).toBe(true);
    expect(await store.has(cid)).toBe(false);
    await rejectsWith(store.get(cid), 'MDL_NOT_FOUND');
    expect(await collect(store.list())).toEqual([]);
  });

  it('refuses text that is not a supported CID before touching the disk', async () => {
    const store = new FsBlobStore(await freshDir());
    const valid = computeCid(utf8('x'));
    for (const bad of [
      '',
      'not-a-cid',
      '../../../etc/passwd',
      `${valid.slice(0, 20)}/../${valid.slice(23)}`,
      `${valid}\n`,
      `${valid}x`,
      valid.slice(0, -1),
    ]) {
      await rejectsWith(store.get(bad), 'MDL_BAD_INPUT');
      await rejectsWith(store.has(bad), 'MDL_BAD_INPUT');
      await rejectsWith(store.delete(bad), 'MDL_BAD_INPUT');
    }
    await rejectsWith(store.get(123 as unknown as string), 'MDL_BAD_INPUT');
    // Well-formed CIDs of another kind: a CIDv0 (dag-pb) and upper-case base32.
    await rejectsWith(store.get('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'), 'MDL_UNSUPPORTED');
    await rejectsWith(store.get(valid.toUpperCase()), 'MDL_UNSUPPORTED');
    await rejectsWith(store.put('bytes' as unknown as Uint8Array), 'MDL_BAD_INPUT');
  });

  it('stores one complete copy when the same bytes are put concurrently', async () => {
    const dir = await freshDir();
    const store = new FsBlobStore(dir);
    const bytes = randomBytes(64 * 1024);
    const cids = await Promise.all(Array.from({ length: 16 }, () => store.put(bytes)));
    expect(new Set(cids).size).toBe(1);
    const cid = cids[0]!;
    expect(await readdir(join(dir, cid.slice(-3, -1)))).toEqual([cid]); // no temporary files left
    expect(Buffer.from(await store.get(cid)).equals(bytes)).toBe(true);
    // Two stores on the same directory (two racing processes, as far as the filesystem is concerned).
    const twin = new FsBlobStore(dir);
    const more = randomBytes(10_000);
    const [a, b] = await Promise.all([store.put(more), twin.put(more)]);
    expect(a).toBe(b);
    expect(Buffer.from(await twin.get(a)).equals(more)).toBe(true);
  });

  it('removes temporary files orphaned by a crash on start-up, and lists only blobs', async () => {
    const dir = await freshDir();
    const first = new FsBlobStore(dir);
    const cids = await Promise.all([1, 2, 3, 4, 5].map((n) => first.put(utf8(`blob ${n}`))));
    const shard = cids[0]!.slice(-3, -1);
    // What a crash mid-put leaves: a partial temporary file (never a partial file under a CID name).
    const crashed = new Date(Date.now() - ORPHAN_AGE_MS - 60_000);
    await writeFile(join(dir, shard, '.tmp-0123456789abcdef01234567'), randomBytes(10));
    await mkdir(join(dir, 'zz'), { recursive: true });
    await writeFile(join(dir, 'zz', '.tmp-deadbeef'), '');
    await writeFile(join(dir, '.tmp-root'), '');
    for (const orphan of [
      join(dir, shard, '.tmp-0123456789abcdef01234567'),
      join(dir, 'zz', '.tmp-deadbeef'),
      join(dir, '.tmp-root'),
    ])
      await utimes(orphan, crashed, crashed);
    // Another process's write in progress (a fresh temporary file) is not touched.
    await writeFile(join(dir, shard, '.tmp-inflight'), randomBytes(10));
    // Litter that is not ours is left alone and not listed.
    await writeFile(join(dir, shard, 'README'), 'x');
    await writeFile(join(dir, 'zz', cids[0]!), 'wrong shard');

    const restarted = new FsBlobStore(dir);
    expect(await restarted.init()).toBe(3);
    expect(await restarted.init()).toBe(3); // once per store
    expect((await readdir(join(dir, shard))).filter((n) => n.startsWith('.tmp-'))).toEqual(['.tmp-inflight']);
    expect(await readdir(join(dir, 'zz'))).toEqual([cids[0]]);
    expect((await collect(restarted.list())).sort()).toEqual([...cids].sort());
    for (const [i, cid] of cids.entries())
      expect(new TextDecoder().decode(await restarted.get(cid))).toBe(`blob ${i + 1}`);
  });

  it('refuses an empty directory name', () => {
    expect(() => new FsBlobStore('')).toThrow(/non-empty/);
  });
});
