/**
 * Big-endian framing for the exchange envelopes (docs/exchange.md). Like crypto's envelope codec, but with u32
 * length prefixes: a response carries many records, each of which may exceed the u16 lengths of crypto's
 * envelopes. The reader is strict — truncation and trailing bytes are MDL_BAD_INPUT — and never copies.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { concatBytes } from '@medledger/crypto';

export class ByteWriter {
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

  bytes(b: Uint8Array, expectedLength?: number): this {
    if (expectedLength !== undefined && b.length !== expectedLength) {
      throw new RangeError(`expected ${expectedLength} bytes`);
    }
    this.#parts.push(b);
    return this;
  }

  /** Bytes with a u32 length prefix. */
  block(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }

  finish(): Uint8Array {
    return concatBytes(...this.#parts);
  }
}

export class ByteReader {
  #offset = 0;
  readonly #buf: Uint8Array;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  get remaining(): number {
    return this.#buf.length - this.#offset;
  }

  #take(n: number): Uint8Array {
    if (n > this.remaining) throw new MdlError(MdlErrorCode.BadInput, 'exchange message is truncated');
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

  /** Bytes with a u32 length prefix. */
  block(): Uint8Array {
    return this.#take(this.u32());
  }

  rest(): Uint8Array {
    return this.#take(this.remaining);
  }

  /** The bytes read so far (a header to bind as associated data). */
  consumed(): Uint8Array {
    return this.#buf.subarray(0, this.#offset);
  }

  end(): void {
    if (this.remaining !== 0)
      throw new MdlError(MdlErrorCode.BadInput, 'exchange message has trailing bytes');
  }
}
