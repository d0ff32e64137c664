import { MdlErrorCode } from '@medledger/core';
import { utf8ToBytes } from '@medledger/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCanonicalJson } from '../src/canonicalJson.js';
import { pad, paddedLength, unpad } from '../src/padding.js';

describe('padding', () => {
  it('pads to the smallest power of two ≥ floor that holds length prefix and content, and back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), (content) => {
        const padded = pad(content, 4096, 1 << 20);
        expect(padded.length).toBe(paddedLength(content.length, 4096));
        expect(padded.length & (padded.length - 1)).toBe(0);
        expect(padded.length).toBeGreaterThanOrEqual(Math.max(4096, content.length + 4));
        expect(padded.length === 4096 || padded.length / 2 < content.length + 4).toBe(true);
        expect(unpad(padded, 4096, 1 << 20)).toEqual(content);
      }),
      { numRuns: 100 },
    );
    expect(paddedLength(4092, 4096)).toBe(4096);
    expect(paddedLength(4093, 4096)).toBe(8192);
  });

  it('refuses content over the limit and malformed padding', () => {
    expect(() => pad(new Uint8Array(8189), 4096, 8192)).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
    const padded = pad(utf8ToBytes('hello'), 4096, 8192);
    const nonZero = padded.slice();
    nonZero[4095] = 1;
    const overrun = padded.slice();
    overrun[0] = 0x10;
    for (const bad of [
      nonZero,
      overrun,
      padded.subarray(0, 4095),
      new Uint8Array(2048),
      new Uint8Array(16384),
    ]) {
      expect(() => unpad(bad, 4096, 8192)).toThrow(expect.objectContaining({ code: MdlErrorCode.BadInput }));
    }
    expect(() => pad(new Uint8Array(1), 3000, 8192)).toThrow(RangeError);
  });
});

describe('canonical JSON on the wire', () => {
  it('accepts only the RFC 8785 form', () => {
    expect(parseCanonicalJson(utf8ToBytes('{"a":1,"b":[true,null]}'), 'x')).toEqual({
      a: 1,
      b: [true, null],
    });
    for (const text of [
      '{"b":1,"a":2}',
      '{"a":1,"a":1}',
      '{ "a":1}',
      '{"a":1.0}',
      '{"a":"\\u0061"}',
      'nope',
      '',
    ]) {
      expect(() => parseCanonicalJson(utf8ToBytes(text), 'x'), text).toThrow(
        expect.objectContaining({ code: MdlErrorCode.BadInput, message: 'x is not canonical JSON' }),
      );
    }
    expect(() => parseCanonicalJson(Uint8Array.of(0x22, 0xff, 0x22), 'x')).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
  });
});
