import { isMdlError } from '@medledger/core';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { describe, expect, it } from 'vitest';
import { fixture, flipBit } from '../test/fixtures.js';
import { bytesToHex, hexToBytes } from './bytes.js';
import { sha256 } from './hash.js';
import { XWING, XWingDecapsulationKey, xwingDecapsulate, xwingEncapsulate, xwingKeygen } from './x-wing.js';

interface XWingVector {
  seed: string;
  sk: string;
  pk: string;
  eseed: string;
  ct: string;
  ss: string;
}
const { vectors } = fixture<{ vectors: XWingVector[] }>('xwing-draft-10.json');

describe('X-Wing (draft-connolly-cfrg-xwing-kem-10)', () => {
  it('has the published test vectors to check', () => {
    expect(vectors.length).toBe(3);
  });

  it.each(vectors.map((v, i) => [i, v] as const))('matches Appendix C vector %i', (_, v) => {
    const { secretKey, publicKey } = xwingKeygen(hexToBytes(v.seed));
    expect(bytesToHex(secretKey)).toBe(v.sk);
    expect(bytesToHex(publicKey)).toBe(v.pk);
    const { cipherText, sharedSecret } = xwingEncapsulate(publicKey, hexToBytes(v.eseed));
    expect(bytesToHex(cipherText)).toBe(v.ct);
    expect(bytesToHex(sharedSecret)).toBe(v.ss);
    expect(bytesToHex(xwingDecapsulate(cipherText, secretKey))).toBe(v.ss);
  });

  it('agrees with an independent implementation (@noble/post-quantum ml_kem768_x25519)', () => {
    for (let i = 0; i < 5; i++) {
      const seed = sha256(Uint8Array.of(1, i));
      const eseed = new Uint8Array(64);
      eseed.set(sha256(Uint8Array.of(2, i)));
      eseed.set(sha256(Uint8Array.of(3, i)), 32);
      const ours = xwingKeygen(seed);
      const theirs = ml_kem768_x25519.keygen(seed);
      expect(ours.publicKey).toEqual(theirs.publicKey);
      const enc = xwingEncapsulate(ours.publicKey, eseed);
      const ref = ml_kem768_x25519.encapsulate(theirs.publicKey, eseed);
      expect(enc.cipherText).toEqual(ref.cipherText);
      expect(enc.sharedSecret).toEqual(ref.sharedSecret);
      expect(ml_kem768_x25519.decapsulate(enc.cipherText, theirs.secretKey)).toEqual(enc.sharedSecret);
    }
  });

  it('round-trips with random keys through a cached decapsulation key', () => {
    const { secretKey, publicKey } = xwingKeygen();
    const dk = new XWingDecapsulationKey(secretKey);
    expect(dk.publicKey).toEqual(publicKey);
    for (let i = 0; i < 3; i++) {
      const { cipherText, sharedSecret } = xwingEncapsulate(publicKey);
      expect(cipherText.length).toBe(XWING.cipherTextLength);
      expect(dk.decapsulate(cipherText)).toEqual(sharedSecret);
    }
  });

  it('yields an unrelated secret for a tampered ciphertext (implicit rejection) in either half', () => {
    const { secretKey, publicKey } = xwingKeygen();
    const { cipherText, sharedSecret } = xwingEncapsulate(publicKey);
    for (const bit of [0, 4000, 1088 * 8 + 9]) {
      expect(xwingDecapsulate(flipBit(cipherText, bit), secretKey)).not.toEqual(sharedSecret);
    }
  });

  it('refuses malformed keys and ciphertexts with MDL_BAD_INPUT', () => {
    const { secretKey, publicKey } = xwingKeygen();
    const bad = [
      () => xwingEncapsulate(publicKey.subarray(1)),
      () => xwingEncapsulate(new Uint8Array(1216).fill(0xff)), // coefficients >= q fail the ML-KEM key check
      () => xwingEncapsulate(publicKey, new Uint8Array(32)),
      () => xwingDecapsulate(new Uint8Array(1119), secretKey),
      () => xwingKeygen(new Uint8Array(31)),
    ];
    for (const f of bad) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isMdlError(e, 'MDL_BAD_INPUT')).toBe(true);
      }
    }
  });
});
