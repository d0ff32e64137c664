import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSealedNdjson, SealedNdjsonWriter } from './sealedNdjson.js';

const dir = mkdtempSync(join(tmpdir(), 'medledger-sealed-ndjson-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const wrapKey = new Uint8Array(randomBytes(32));
const resources = Array.from({ length: 400 }, (_, i) => ({
  resourceType: 'Patient',
  id: `p${i}`,
  name: [{ family: `Familyname${i}`, given: ['Given'] }],
  note: 'x'.repeat(300), // several 64 KiB chunks in all
}));

async function written(name: string, items: unknown[] = resources) {
  const path = join(dir, name);
  const writer = await SealedNdjsonWriter.create(path, name);
  for (const r of items) await writer.write(r);
  return { path, wrapped: await writer.close(wrapKey) };
}

async function read(path: string, fileId: string, wrapped: Uint8Array, key = wrapKey) {
  const chunks: Buffer[] = [];
  for await (const c of readSealedNdjson(path, fileId, wrapped, key)) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** The file's chunks as [length-prefixed] byte slices. */
function chunksOf(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = bytes.readUInt32BE(at);
    out.push(bytes.subarray(at, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

describe('sealed NDJSON export files', () => {
  it('round-trips every line, and holds no plaintext on disk', async () => {
    const { path, wrapped } = await written('a');
    const text = await read(path, 'a', wrapped);
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ).toEqual(resources);
    const bytes = readFileSync(path);
    expect(chunksOf(bytes).length).toBeGreaterThan(1);
    expect(bytes.includes(Buffer.from('Familyname1'))).toBe(false);
    expect(bytes.includes(Buffer.from('resourceType'))).toBe(false);
  });

  it('an empty file still has its sealed final chunk', async () => {
    const { path, wrapped } = await written('empty', []);
    expect(await read(path, 'empty', wrapped)).toBe('');
  });

  it('refuses a wrong key, another file id, a flipped bit, reordered, dropped or cut-off chunks', async () => {
    const { path, wrapped } = await written('b');
    const bytes = readFileSync(path);
    const chunks = chunksOf(bytes);
    const fails = async (content: Buffer, fileId = 'b', key = wrapKey) => {
      const p = join(dir, `tampered-${randomBytes(4).toString('hex')}`);
      writeFileSync(p, content);
      await expect(read(p, fileId, wrapped, key)).rejects.toMatchObject({ code: 'MDL_DECRYPT_FAILED' });
    };
    await fails(bytes, 'b', new Uint8Array(32));
    await fails(bytes, 'c');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 20]! ^= 1;
    await fails(flipped);
    await fails(Buffer.concat([chunks[1]!, chunks[0]!, ...chunks.slice(2)]));
    await fails(Buffer.concat([chunks[0]!, ...chunks.slice(2)]));
    await fails(Buffer.concat(chunks.slice(0, -1))); // the last chunk cut off
    await fails(Buffer.concat([...chunks, chunks[0]!])); // something appended
    await fails(bytes.subarray(0, bytes.length - 1));
    // The untouched file still opens.
    expect((await read(path, 'b', wrapped)).length).toBeGreaterThan(0);
  });
});
