/**
 * Export files at rest: NDJSON written and read as a sequence of sealed chunks, so that no plaintext PHI ever
 * reaches the disk and a file can be written and served without holding it whole in memory.
 *
 * Each file has its own fresh 256-bit data key (the node's key-committing AES-256-GCM, crypto `AeadKey`); the
 * data key is stored only wrapped under the node's export-file key (derived from its sealing key), in the
 * job's database row. On disk:
 *
 *   file  = chunk*            chunk = u32 big-endian length ‖ sealed(plaintext, aad)
 *   aad   = "medledger/bulk-export/v1|<file id>|<chunk index>|<1 if last else 0>"
 *
 * The associated data binds every chunk to its file and position, and marks the last one: chunks cannot be
 * reordered, moved to another file, or cut off at the end without the read failing. A reader that meets a bad
 * chunk throws (the HTTP response is then aborted, never completed with partial data).
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { AeadKey, aeadOpen, aeadSeal, utf8ToBytes, wipe } from '@medledger/crypto';

/** Plaintext bytes per sealed chunk. */
const CHUNK = 64 * 1024;
const MAX_SEALED_CHUNK = CHUNK + 1024 * 1024; // a single resource line may exceed CHUNK

const chunkAad = (fileId: string, index: number, last: boolean) =>
  utf8ToBytes(`medledger/bulk-export/v1|${fileId}|${index}|${last ? 1 : 0}`);
const keyAad = (fileId: string) => utf8ToBytes(`medledger/bulk-export/v1/data-key|${fileId}`);

const corrupt = () => new MdlError(MdlErrorCode.DecryptFailed, 'an export file does not open');

/** Writes one sealed NDJSON file; `close` returns its data key wrapped under `wrapKey`. */
export class SealedNdjsonWriter {
  readonly #file: FileHandle;
  readonly #fileId: string;
  readonly #dataKey: Uint8Array;
  readonly #key: AeadKey;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #index = 0;
  lines = 0;

  private constructor(file: FileHandle, fileId: string) {
    this.#file = file;
    this.#fileId = fileId;
    this.#dataKey = new Uint8Array(randomBytes(32));
    this.#key = new AeadKey(this.#dataKey);
  }

  static async create(path: string, fileId: string): Promise<SealedNdjsonWriter> {
    return new SealedNdjsonWriter(await open(path, 'wx', 0o600), fileId);
  }

  /** Appends one NDJSON line (a resource). */
  async write(resource: unknown): Promise<void> {
    const line = Buffer.from(`${JSON.stringify(resource)}\n`, 'utf8');
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    this.lines++;
    if (this.#pendingBytes >= CHUNK) await this.#flush(false);
  }

  async #flush(last: boolean): Promise<void> {
    const plaintext = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    const sealed = this.#key.seal(plaintext, chunkAad(this.#fileId, this.#index++, last));
    plaintext.fill(0);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(sealed.length);
    await this.#file.write(Buffer.concat([length, sealed]));
  }

  /** Seals the last chunk, syncs and closes the file; the wrapped data key is what opens it. */
  async close(wrapKey: Uint8Array): Promise<Uint8Array> {
    try {
      await this.#flush(true);
      await this.#file.sync();
      return aeadSeal(wrapKey, this.#dataKey, keyAad(this.#fileId));
    } finally {
      await this.#file.close();
      this.#key.destroy();
      wipe(this.#dataKey);
    }
  }

  /** Closes without finishing (the job failed or was cancelled; the caller deletes the file). */
  async abandon(): Promise<void> {
    this.#pending = [];
    await this.#file.close().catch(() => undefined);
    this.#key.destroy();
    wipe(this.#dataKey);
  }
}

/** The plaintext of a sealed NDJSON file, chunk by chunk; throws if any chunk does not open or the end is cut. */
export async function* readSealedNdjson(
  path: string,
  fileId: string,
  wrappedKey: Uint8Array,
  wrapKey: Uint8Array,
): AsyncGenerator<Buffer> {
  const dataKey = aeadOpen(wrapKey, wrappedKey, keyAad(fileId));
  if (!dataKey) throw corrupt();
  const key = new AeadKey(dataKey);
  const file = await open(path, 'r');
  try {
    let position = 0;
    let last = false;
    for (let index = 0; !last; index++) {
      const head = Buffer.alloc(4);
      if ((await file.read(head, 0, 4, position)).bytesRead !== 4) throw corrupt();
      const length = head.readUInt32BE(0);
      if (length > MAX_SEALED_CHUNK) throw corrupt();
      const sealed = Buffer.alloc(length);
      if ((await file.read(sealed, 0, length, position + 4)).bytesRead !== length) throw corrupt();
      position += 4 + length;
      let plaintext = key.open(sealed, chunkAad(fileId, index, false));
      if (!plaintext) {
        plaintext = key.open(sealed, chunkAad(fileId, index, true));
        if (!plaintext) throw corrupt();
        last = true;
      }
      yield Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
    }
    if ((await file.stat()).size !== position) throw corrupt();
  } finally {
    await file.close();
    key.destroy();
    wipe(dataKey);
  }
}
