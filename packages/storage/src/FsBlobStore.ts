/**
 * The default blob store: one file per blob in a directory, named by its CID and sharded by the two characters
 * before the CID's last one (IPFS flatfs "next-to-last/2": the end of a CID is hash output, so the 1024 shard
 * directories fill evenly; the last character alone carries only 3 bits).
 *
 *   <dir>/<cid[-3..-1)>/<cid>            a blob
 *   <dir>/<shard>/.tmp-<random>          a write in progress (or orphaned by a crash)
 *
 * Crash safety: a blob is written to a temporary file in its shard directory, fsynced, renamed onto its CID
 * name (atomic within one directory) and the directory is fsynced, so a CID name only ever holds complete
 * bytes, and a `put` that returned survives a power loss. Temporary files orphaned by a crash are removed when
 * the store is first used, if they are older than an hour: a put never takes that long, so a younger one may
 * belong to another process writing to the same directory right now, and is left for the next start.
 * Reads re-hash the content: the disk is not trusted to return what was asked for.
 *
 * Limits: blobs are read whole into memory (large binaries are chunked above this layer).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { assertCid, type Cid, computeCid, parseCid } from '@medledger/crypto';
import type { BlobStore } from './BlobStore.js';

const TEMP_PREFIX = '.tmp-';
/** A temporary file older than this was orphaned by a crash; a younger one may be another process's write. */
export const ORPHAN_AGE_MS = 60 * 60 * 1000;
const SHARD = /^[a-z2-7]{2}$/;

function shardOf(cid: string): string {
  return cid.slice(-3, -1);
}

function errorCode(error: unknown): string | undefined {
  return (error as { code?: unknown } | null)?.code as string | undefined;
}

function unavailable(error: unknown): MdlError {
  return new MdlError(MdlErrorCode.Unavailable, 'blob store I/O failed', { cause: error });
}

/** Makes a directory's entries (a rename, a new file or subdirectory) durable. */
async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) cannot fsync a directory; there, rename durability is the OS's business.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes(errorCode(error) ?? '')) throw error;
  } finally {
    await handle.close();
  }
}

export class FsBlobStore implements BlobStore {
  readonly dir: string;
  #ready: Promise<number> | undefined;

  constructor(dir: string) {
    if (typeof dir !== 'string' || dir.length === 0)
      throw new MdlError(MdlErrorCode.Config, 'blob directory must be a non-empty path');
    this.dir = dir;
  }

  /**
   * Creates the directory if needed and removes temporary files orphaned by a crash (older than ORPHAN_AGE_MS);
   * resolves to how many were removed. Runs once, on first use (every method awaits it); call it at start-up to surface errors early.
   */
  init(): Promise<number> {
    this.#ready ??= this.#init().catch((error) => {
      this.#ready = undefined;
      throw error instanceof MdlError ? error : unavailable(error);
    });
    return this.#ready;
  }

  async #init(): Promise<number> {
    const created = await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) await fsyncDir(dirname(created));
    let removed = 0;
    const orphanedBefore = Date.now() - ORPHAN_AGE_MS;
    const removeTemps = async (dir: string) => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (!entry.name.startsWith(TEMP_PREFIX)) continue;
        const path = join(dir, entry.name);
        try {
          if ((await stat(path)).mtimeMs > orphanedBefore) continue;
          await unlink(path);
          removed++;
        } catch (error) {
          if (errorCode(error) !== 'ENOENT') throw error; // finished (renamed) or removed meanwhile
        }
      }
    };
    await removeTemps(this.dir);
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      if (entry.isDirectory() && SHARD.test(entry.name)) await removeTemps(join(this.dir, entry.name));
    }
    return removed;
  }

  #path(cid: Cid): { shardDir: string; path: string } {
    const shardDir = join(this.dir, shardOf(cid));
    return { shardDir, path: join(shardDir, cid) };
  }

  async put(bytes: Uint8Array): Promise<Cid> {
    if (!(bytes instanceof Uint8Array)) throw new MdlError(MdlErrorCode.BadInput, 'blob must be bytes');
    const cid = computeCid(bytes);
    await this.init();
    const { shardDir, path } = this.#path(cid);
    try {
      // Already present and intact: done. An altered copy is replaced, so a put also repairs. (Fresh data keys
      // make every sealed record unique, so re-putting present bytes is rare and this read is cheap overall.)
      const existing = await stat(path).catch((error) => {
        if (errorCode(error) === 'ENOENT') return undefined;
        throw error;
      });
      if (existing?.isFile() && existing.size === bytes.length) {
        const stored = await readFile(path).catch(() => undefined);
        if (stored !== undefined && Buffer.compare(stored, bytes) === 0) return cid;
      }

      const created = await mkdir(shardDir, { recursive: true, mode: 0o700 });
      if (created !== undefined) await fsyncDir(this.dir);

      const temp = join(shardDir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
      const handle = await open(temp, 'wx', 0o600);
      try {
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
        // Concurrent puts of the same bytes each rename their own complete copy: the last one wins, harmlessly.
        await rename(temp, path);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw error;
      }
      await fsyncDir(shardDir);
      return cid;
    } catch (error) {
      throw error instanceof MdlError ? error : unavailable(error);
    }
  }

  async get(cid: string): Promise<Uint8Array> {
    const parsed = parseCid(cid);
    await this.init();
    let buffer: Buffer;
    try {
      buffer = await readFile(this.#path(parsed).path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'EISDIR')
        throw new MdlError(MdlErrorCode.NotFound, `blob ${parsed} not found`);
      throw unavailable(error);
    }
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    assertCid(parsed, bytes);
    return bytes;
  }

  async has(cid: string): Promise<boolean> {
    const parsed = parseCid(cid);
    await this.init();
    try {
      return (await stat(this.#path(parsed).path)).isFile();
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw unavailable(error);
    }
  }

  async delete(cid: string): Promise<boolean> {
    const parsed = parseCid(cid);
    await this.init();
    const { shardDir, path } = this.#path(parsed);
    try {
      await unlink(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw unavailable(error);
    }
    try {
      await fsyncDir(shardDir);
    } catch (error) {
      throw unavailable(error);
    }
    return true;
  }

  async *list(): AsyncGenerator<Cid> {
    await this.init();
    let shards: string[];
    try {
      shards = (await readdir(this.dir, { withFileTypes: true }))
        .filter((e) => e.isDirectory() && SHARD.test(e.name))
        .map((e) => e.name)
        .sort();
    } catch (error) {
      throw unavailable(error);
    }
    for (const shard of shards) {
      let names: string[];
      try {
        names = await readdir(join(this.dir, shard));
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue;
        throw unavailable(error);
      }
      for (const name of names.sort()) {
        if (name.startsWith(TEMP_PREFIX) || shardOf(name) !== shard) continue;
        let cid: Cid;
        try {
          cid = parseCid(name);
        } catch {
          continue; // not ours (an editor's backup, a stray file): verify reports blobs, not litter
        }
        yield cid;
      }
    }
  }
}
