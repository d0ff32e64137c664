/**
 * Browser implementation of the primitives: the audited pure-JS @noble/* libraries. Synchronous like the Node
 * implementation, so every higher-level module is the same code on both sides. Randomness comes from
 * `crypto.getRandomValues`.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { sha3_256, shake256 } from '@noble/hashes/sha3.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { isSupportedGcmIv, type Platform } from './Platform.js';

function checkAesKey(key: Uint8Array): void {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new RangeError('AES-GCM key must be 16, 24 or 32 bytes');
  }
}

export const platform: Platform = {
  name: 'web',
  randomBytes: (length) => randomBytes(length),

  sha256: (data) => sha256(data),
  sha512: (data) => sha512(data),
  sha3_256: (data) => sha3_256(data),
  shake256: (data, outputLength) => shake256(data, { dkLen: outputLength }),
  hmacSha256: (key, data) => hmac(sha256, key, data),
  hmacSha512: (key, data) => hmac(sha512, key, data),
  hmacSha3_256: (key, data) => hmac(sha3_256, key, data),

  aesGcmEncrypt(key, iv, plaintext, aad) {
    checkAesKey(key);
    if (!isSupportedGcmIv(iv)) throw new RangeError('AES-GCM IV must be 8 to 128 bytes');
    return gcm(key, iv, aad).encrypt(plaintext);
  },

  aesGcmDecrypt(key, iv, ciphertextAndTag, aad) {
    checkAesKey(key);
    if (!isSupportedGcmIv(iv) || ciphertextAndTag.length < 16) return undefined;
    try {
      return gcm(key, iv, aad).decrypt(ciphertextAndTag);
    } catch {
      return undefined;
    }
  },

  x25519PublicKey(secretKey) {
    if (secretKey.length !== 32) throw new RangeError('expected a 32-byte secret key');
    return x25519.getPublicKey(secretKey);
  },
  x25519(secretKey, publicKey) {
    if (secretKey.length !== 32 || publicKey.length !== 32) throw new RangeError('expected 32-byte keys');
    // noble throws on an all-zero shared secret, like OpenSSL.
    return x25519.getSharedSecret(secretKey, publicKey);
  },

  ed25519PublicKey(seed) {
    if (seed.length !== 32) throw new RangeError('expected a 32-byte secret key');
    return ed25519.getPublicKey(seed);
  },
  ed25519Sign: (seed, message) => ed25519.sign(message, seed),
  ed25519Verify(signature, message, publicKey) {
    if (signature.length !== 64 || publicKey.length !== 32) return false;
    try {
      // zip215: false gives RFC 8032 / OpenSSL semantics (strict), so both platforms agree on edge cases.
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },

  scrypt: (password, salt, { N, r, p, dkLen }) =>
    scrypt(password, salt, { N, r, p, dkLen, maxmem: 128 * N * r * p + 64 * 1024 * 1024 }),
};
