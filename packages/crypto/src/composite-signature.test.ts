import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixture, flipBit } from '../test/fixtures.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from './bytes.js';
import {
  COMPOSITE_SIGNATURE,
  CompositeSigner,
  compositeKeygen,
  compositeMessageRepresentative,
  compositeSign,
  compositeVerify,
} from './composite-signature.js';

const v = fixture<Record<'m' | 'ctx' | 'pk' | 'sk' | 's' | 'sWithContext', string>>(
  'composite-mldsa65-ed25519.json',
);

describe('composite ML-DSA-65 + Ed25519 (draft-ietf-lamps-pq-composite-sigs)', () => {
  it('derives the published public key from the published secret key', () => {
    expect(bytesToHex(compositeKeygen(hexToBytes(v.sk)).publicKey)).toBe(v.pk);
  });

  it('verifies the published signatures, without and with context', () => {
    const pk = hexToBytes(v.pk);
    const m = hexToBytes(v.m);
    expect(compositeVerify(pk, m, hexToBytes(v.s), new Uint8Array(0))).toBe(true);
    expect(compositeVerify(pk, m, hexToBytes(v.sWithContext), hexToBytes(v.ctx))).toBe(true);
    // and refuses them under the other context or another message
    expect(compositeVerify(pk, m, hexToBytes(v.s), hexToBytes(v.ctx))).toBe(false);
    expect(compositeVerify(pk, m, hexToBytes(v.sWithContext), new Uint8Array(0))).toBe(false);
    expect(compositeVerify(pk, utf8ToBytes('another message'), hexToBytes(v.s), new Uint8Array(0))).toBe(
      false,
    );
  });

  it('builds M′ exactly as the draft’s message-format sample', () => {
    // src/messageFormatSample_ctx.md uses ML-DSA-65/P-256; the layout (prefix, label, len, ctx, SHA-512) is shared.
    const mPrime = compositeMessageRepresentative(
      hexToBytes('00010203040506070809'),
      hexToBytes('0813061205162623'),
    );
    const hex = bytesToHex(mPrime);
    expect(hex.startsWith('436f6d706f73697465416c676f726974686d5369676e61747572657332303235')).toBe(true);
    expect(hex).toContain(`${bytesToHex(utf8ToBytes('COMPSIG-MLDSA65-Ed25519-SHA512'))}080813061205162623`);
    expect(
      hex.endsWith(
        '0f89ee1fcb7b0a4f7809d1267a029719004c5a5e5ec323a7c3523a20974f9a3f202f56fadba4cd9e8d654ab9f2e96dc5c795ea176fa20ede8d854c342f903533',
      ),
    ).toBe(true);
  });

  const { secretKey, publicKey } = compositeKeygen();
  const signer = new CompositeSigner(secretKey);
  const msg = utf8ToBytes('batch root 0123');
  const sig = signer.sign(msg, 'medledger/test/v1');

  it('signs and verifies under a domain-separation context', () => {
    expect(sig.length).toBe(COMPOSITE_SIGNATURE.signatureLength);
    expect(signer.publicKey).toEqual(publicKey);
    expect(compositeVerify(publicKey, msg, sig, 'medledger/test/v1')).toBe(true);
    expect(compositeVerify(publicKey, msg, sig, 'medledger/other/v1')).toBe(false);
    expect(compositeVerify(publicKey, msg, compositeSign(secretKey, msg, 'x'), 'x')).toBe(true);
  });

  it('is false when either half alone is valid', () => {
    const other = compositeSign(secretKey, utf8ToBytes('different'), 'medledger/test/v1');
    const mixedA = Uint8Array.from(sig);
    mixedA.set(other.subarray(3309), 3309); // ML-DSA half valid, Ed25519 half for another message
    const mixedB = Uint8Array.from(sig);
    mixedB.set(other.subarray(0, 3309)); // Ed25519 half valid, ML-DSA half for another message
    expect(compositeVerify(publicKey, msg, mixedA, 'medledger/test/v1')).toBe(false);
    expect(compositeVerify(publicKey, msg, mixedB, 'medledger/test/v1')).toBe(false);
  });

  it('rejects any single-bit change to the signature, message or public key', () => {
    fc.assert(
      fc.property(fc.nat(), (r) => {
        expect(compositeVerify(publicKey, msg, flipBit(sig, r % (sig.length * 8)), 'medledger/test/v1')).toBe(
          false,
        );
        expect(compositeVerify(publicKey, flipBit(msg, r % (msg.length * 8)), sig, 'medledger/test/v1')).toBe(
          false,
        );
        expect(
          compositeVerify(flipBit(publicKey, r % (publicKey.length * 8)), msg, sig, 'medledger/test/v1'),
        ).toBe(false);
      }),
      { numRuns: 40 },
    );
  });

  it('returns false, never throws, on malformed input', () => {
    const junk: unknown[] = [
      undefined,
      null,
      'sig',
      new Uint8Array(0),
      sig.subarray(1),
      new Uint8Array(3373),
    ];
    for (const j of junk) {
      expect(compositeVerify(publicKey, msg, j as Uint8Array, 'medledger/test/v1')).toBe(false);
      expect(compositeVerify(j as Uint8Array, msg, sig, 'medledger/test/v1')).toBe(false);
    }
    expect(compositeVerify(publicKey, msg, sig, 'x'.repeat(300))).toBe(false);
    expect(() => signer.sign(msg, 'x'.repeat(256))).toThrow(/255 bytes/);
  });
});
