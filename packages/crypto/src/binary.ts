/**
 * A minimal big-endian binary writer/reader for medledger's envelope formats (docs/spec/envelopes.md) and the
 * exchange messages (docs/exchange.md). The reader throws MDL_BAD_INPUT on truncation or trailing bytes, so every
 * decoder is strict by default, and never copies.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { bytesToUtf8, concatBytes, utf8ToBytes } from './bytes.js';

export class BinaryWriter {
  readonly #parts: Uint8Array[] = [];

  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError('u8 out of range');
    this.#parts.push(Uint8Array.of(v));
    return this;
  }

  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError('u16 out of range');
    this.#parts.push(Uint8Array.of(v >>> 8, v & 0xff));
    return this;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError('u32 out of range');
    this.#parts.push(Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
    return this;
  }

  /** Fixed-length bytes: the format, not the encoding, says how long. */
  bytes(b: Uint8Array, expectedLength?: number): this {
    if (expectedLength !== undefined && b.length !== expectedLength) {
      throw new RangeError(`expected ${expectedLength} bytes`);
    }
    this.#parts.push(b);
    return this;
  }

  /** Bytes with a u16 length prefix. */
  varBytes(b: Uint8Array): this {
    return this.u16(b.length).bytes(b);
  }

  /** Bytes with a u32 length prefix (exchange messages carry records longer than 64 KiB). */
  block(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }

  /** UTF-8 string with a u8 length prefix (at most 255 bytes). */
  shortString(s: string): this {
    const b = utf8ToBytes(s);
    if (b.length > 0xff) throw new RangeError('string longer than 255 bytes');
    return this.u8(b.length).bytes(b);
  }

  finish(): Uint8Array {
    return concatBytes(...this.#parts);
  }
}

export class BinaryReader {
  #offset = 0;
  readonly #buf: Uint8Array;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#buf.length - this.#offset;
  }

  #take(n: number): Uint8Array {
    if (this.#offset + n > this.#buf.length)
      throw new MdlError(MdlErrorCode.BadInput, 'envelope is truncated');
    const out = this.#buf.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return out;
  }

  u8(): number {
    return this.#take(1)[0]!;
  }

  u16(): number {
    const b = this.#take(2);
    return (b[0]! << 8) | b[1]!;
  }

  u32(): number {
    const b = this.#take(4);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  bytes(n: number): Uint8Array {
    return this.#take(n);
  }

  varBytes(): Uint8Array {
    return this.#take(this.u16());
  }

  /** Bytes with a u32 length prefix. */
  block(): Uint8Array {
    return this.#take(this.u32());
  }

  shortString(): string {
    try {
      return bytesToUtf8(this.#take(this.u8()));
    } catch (e) {
      if (e instanceof MdlError) throw e;
      throw new MdlError(MdlErrorCode.BadInput, 'envelope string is not valid UTF-8');
    }
  }

  /** The bytes from the current offset to the end. */
  rest(): Uint8Array {
    return this.#take(this.#buf.length - this.#offset);
  }

  /** Bytes of the input before the current offset (e.g. a header to bind as associated data). */
  consumed(): Uint8Array {
    return this.#buf.subarray(0, this.#offset);
  }

  end(): void {
    if (this.#offset !== this.#buf.length)
      throw new MdlError(MdlErrorCode.BadInput, 'envelope has trailing bytes');
  }
}
