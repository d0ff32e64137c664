/**
 * The primitive operations medledger's cryptography is built from, behind one synchronous interface with two
 * implementations: `node.ts` (node:crypto / OpenSSL, an order of magnitude faster on the server) and `web.ts`
 * (audited pure-JS @noble/* libraries, for browsers). Which one a build gets is decided by the package's
 * `#platform` import condition; tests run both against the same external vectors.
 *
 * Contracts every implementation keeps:
 * - decryption returns `undefined` on any authentication failure and never says why;
 * - verification returns `false` on any malformed input and never throws;
 * - X25519 throws on an all-zero shared secret (a low-order peer key), as RFC 7748 §6.1 allows;
 * - AES-GCM takes IVs of 8 to 128 bytes (medledger uses 12). NIST SP 800-38D lets an implementation restrict IV
 *   lengths; this range is what both OpenSSL (≤ 128) and noble (≥ 8) accept, so the platforms agree exactly:
 *   encryption throws a RangeError outside it, decryption returns `undefined`.
 */
export const AES_GCM_MIN_IV = 8;
export const AES_GCM_MAX_IV = 128;

export function isSupportedGcmIv(iv: Uint8Array): boolean {
  return iv.length >= AES_GCM_MIN_IV && iv.length <= AES_GCM_MAX_IV;
}

export interface Platform {
  readonly name: 'node' | 'web';
  randomBytes(length: number): Uint8Array;

  sha256(data: Uint8Array): Uint8Array;
  sha512(data: Uint8Array): Uint8Array;
  sha3_256(data: Uint8Array): Uint8Array;
  shake256(data: Uint8Array, outputLength: number): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  hmacSha512(key: Uint8Array, data: Uint8Array): Uint8Array;
  hmacSha3_256(key: Uint8Array, data: Uint8Array): Uint8Array;

  /** AES-GCM with a 16-byte tag; key of 16, 24 or 32 bytes; IV of 8–128 bytes. Returns ciphertext ‖ tag. */
  aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Returns the plaintext, or `undefined` if the tag does not verify. */
  aesGcmDecrypt(
    key: Uint8Array,
    iv: Uint8Array,
    ciphertextAndTag: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array | undefined;

  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;

  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;

  scrypt(
    password: Uint8Array,
    salt: Uint8Array,
    params: { N: number; r: number; p: number; dkLen: number },
  ): Uint8Array;
}
