/**
 * Hashes, MACs and key derivation: SHA-256, SHA-512, SHA3-256, SHAKE256, HMAC-SHA256 and HKDF-SHA256 (RFC 5869).
 * Hashing and HMAC come from the platform (OpenSSL on Node, noble in browsers); HKDF is the RFC's two steps
 * over that HMAC so that HPKE (RFC 9180) can call Extract and Expand separately.
 */
import { platform } from '#platform';
import { concatBytes } from './bytes.js';
import type { Platform } from './platform/Platform.js';

const HASH_LEN = 32;

/** The hash functions over a given platform; the module's exports are these over the default platform. */
export function hashFunctions(p: Platform) {
  /** HKDF-Extract (RFC 5869 §2.2). An empty salt means HashLen zero bytes. */
  function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
    return p.hmacSha256(salt.length === 0 ? new Uint8Array(HASH_LEN) : salt, ikm);
  }

  /** HKDF-Expand (RFC 5869 §2.3); `length` at most 255·32 bytes. */
  function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > 255 * HASH_LEN) {
      throw new RangeError('HKDF-SHA256 output length must be 0..8160 bytes');
    }
    const out = new Uint8Array(length);
    let t: Uint8Array = new Uint8Array(0);
    for (let i = 1, offset = 0; offset < length; i++) {
      t = p.hmacSha256(prk, concatBytes(t, info, Uint8Array.of(i)));
      out.set(t.subarray(0, Math.min(HASH_LEN, length - offset)), offset);
      offset += HASH_LEN;
    }
    t.fill(0);
    return out;
  }

  /** HKDF-SHA256 (RFC 5869): Extract then Expand. */
  function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    const prk = hkdfExtract(salt, ikm);
    try {
      return hkdfExpand(prk, info, length);
    } finally {
      prk.fill(0);
    }
  }

  return {
    sha256: (data: Uint8Array): Uint8Array => p.sha256(data),
    sha512: (data: Uint8Array): Uint8Array => p.sha512(data),
    sha3_256: (data: Uint8Array): Uint8Array => p.sha3_256(data),
    shake256: (data: Uint8Array, outputLength: number): Uint8Array => p.shake256(data, outputLength),
    hmacSha256: (key: Uint8Array, data: Uint8Array): Uint8Array => p.hmacSha256(key, data),
    hkdfExtract,
    hkdfExpand,
    hkdf,
  };
}

export const { sha256, sha512, sha3_256, shake256, hmacSha256, hkdfExtract, hkdfExpand, hkdf } =
  hashFunctions(platform);
