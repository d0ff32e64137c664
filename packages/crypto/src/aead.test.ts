import { isMdlError } from '@medledger/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flipBit } from '../test/fixtures.js';
import { AEAD_OVERHEAD, AeadKey, aeadOpen, aeadSeal } from './aead.js';
import { utf8ToBytes } from './bytes.js';
import { sha256 } from './hash.js';

const key = sha256(utf8ToBytes('aead test key'));
const aad = utf8ToBytes('Observation/obs-1|v3');

describe('key-committing AES-256-GCM', () => {
  it('round-trips and adds a fixed overhead', () => {
    const pt = utf8ToBytes('{"resourceType":"Observation"}');
    const sealed = aeadSeal(key, pt, aad);
    expect(sealed.length).toBe(pt.length + AEAD_OVERHEAD);
    expect(aeadOpen(key, sealed, aad)).toEqual(pt);
  });

  it('uses a fresh nonce each time', () => {
    const pt = utf8ToBytes('same');
    expect(aeadSeal(key, pt)).not.toEqual(aeadSeal(key, pt));
  });

  it('refuses the wrong key, the wrong aad, and truncated input', () => {
    const sealed = aeadSeal(key, utf8ToBytes('secret'), aad);
    expect(aeadOpen(sha256(key), sealed, aad)).toBeUndefined();
    expect(aeadOpen(key, sealed, utf8ToBytes('Observation/obs-1|v4'))).toBeUndefined();
    expect(aeadOpen(key, sealed)).toBeUndefined();
    expect(aeadOpen(key, sealed.subarray(0, AEAD_OVERHEAD - 1), aad)).toBeUndefined();
    expect(aeadOpen(key.subarray(0, 16), sealed, aad)).toBeUndefined();
  });

  it('checks the key commitment before decrypting: a foreign commitment fails even under the right key', () => {
    const a = new AeadKey(key);
    const b = new AeadKey(sha256(key));
    const sealed = a.seal(utf8ToBytes('x'), aad);
    const other = b.seal(utf8ToBytes('x'), aad);
    const swapped = Uint8Array.from(sealed);
    swapped.set(other.subarray(12, 44), 12);
    expect(a.open(swapped, aad)).toBeUndefined();
    expect(b.open(sealed, aad)).toBeUndefined();
  });

  it('rejects a single-bit change anywhere in the sealed message, the aad or the key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(), (pt, r) => {
        const sealed = aeadSeal(key, pt, aad);
        expect(aeadOpen(key, flipBit(sealed, r % (sealed.length * 8)), aad)).toBeUndefined();
        expect(aeadOpen(key, sealed, flipBit(aad, r % (aad.length * 8)))).toBeUndefined();
        expect(aeadOpen(flipBit(key, r % 256), sealed, aad)).toBeUndefined();
        expect(aeadOpen(key, sealed, aad)).toEqual(pt);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses keys that are not 32 bytes and nonces that are not 12 bytes', () => {
    expect(() => new AeadKey(new Uint8Array(16))).toThrow(/32 bytes/);
    try {
      new AeadKey(key).seal(new Uint8Array(1), aad, new Uint8Array(8));
      expect.unreachable();
    } catch (e) {
      expect(isMdlError(e, 'MDL_BAD_INPUT')).toBe(true);
    }
  });
});
