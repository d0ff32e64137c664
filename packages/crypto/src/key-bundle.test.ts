import { isMdlError } from '@medledger/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flipBit } from '../test/fixtures.js';
import { compositeSign, compositeVerify } from './composite-signature.js';
import { sha256 } from './hash.js';
import {
  decodePublicKeyBundle,
  generateKeyBundle,
  keyBundleFromSecrets,
  publicBundleCommitment,
} from './key-bundle.js';

describe('key bundles', () => {
  const bundle = generateKeyBundle(1_790_000_000);

  it('publishes a self-signed public bundle whose key id and commitment are derived from it', () => {
    expect(bundle.keyId).toMatch(/^[0-9a-f]{32}$/);
    expect(bundle.kemSecretKey.length).toBe(32);
    expect(bundle.signingSecretKey.length).toBe(64);
    const decoded = decodePublicKeyBundle(bundle.publicBundle.encoded);
    expect(decoded.keyId).toBe(bundle.keyId);
    expect(decoded.createdAt).toBe(1_790_000_000);
    expect(decoded.kemPublicKey).toEqual(bundle.publicBundle.kemPublicKey);
    const signedPart = bundle.publicBundle.encoded.subarray(0, bundle.publicBundle.encoded.length - 3373);
    expect(publicBundleCommitment(decoded)).toEqual(sha256(signedPart));
  });

  it('keeps the registry commitment when the bundle is rebuilt (its self-signature is randomised)', () => {
    const again = keyBundleFromSecrets(bundle.kemSecretKey, bundle.signingSecretKey, bundle.createdAt);
    expect(again.publicBundle.encoded).not.toEqual(bundle.publicBundle.encoded);
    expect(publicBundleCommitment(again.publicBundle)).toEqual(publicBundleCommitment(bundle.publicBundle));
    const other = generateKeyBundle(1_790_000_000);
    expect(publicBundleCommitment(other.publicBundle)).not.toEqual(
      publicBundleCommitment(bundle.publicBundle),
    );
  });

  it('rebuilds the same key id and public keys from the stored secrets', () => {
    const again = keyBundleFromSecrets(bundle.kemSecretKey, bundle.signingSecretKey, bundle.createdAt);
    expect(again.keyId).toBe(bundle.keyId);
    expect(again.publicBundle.signingPublicKey).toEqual(bundle.publicBundle.signingPublicKey);
    const sig = compositeSign(again.signingSecretKey, new Uint8Array([1]), 'medledger/test/v1');
    expect(
      compositeVerify(bundle.publicBundle.signingPublicKey, new Uint8Array([1]), sig, 'medledger/test/v1'),
    ).toBe(true);
  });

  it('gives different bundles different ids', () => {
    expect(generateKeyBundle().keyId).not.toBe(bundle.keyId);
  });

  it('rejects a bundle with any single bit changed, truncated or extended', () => {
    const enc = bundle.publicBundle.encoded;
    fc.assert(
      fc.property(fc.nat(), (r) => {
        try {
          decodePublicKeyBundle(flipBit(enc, r % (enc.length * 8)));
          expect.unreachable();
        } catch (e) {
          expect(isMdlError(e, 'MDL_BAD_INPUT') || isMdlError(e, 'MDL_UNSUPPORTED')).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
    expect(() => decodePublicKeyBundle(enc.subarray(0, enc.length - 1))).toThrow(/truncated/);
    expect(() => decodePublicKeyBundle(new Uint8Array([...enc, 0]))).toThrow(/trailing/);
  });
});
