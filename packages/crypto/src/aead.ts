/**
 * Key-committing AES-256-GCM: every medledger ciphertext opens under exactly one key.
 *
 * Plain GCM is not key-committing: an attacker who chooses two keys can craft one ciphertext that decrypts
 * validly under both ("invisible salamanders", partitioning-oracle attacks). We therefore derive, from the
 * caller's 256-bit key K, an encryption key and a 32-byte commitment — the two halves of one domain-separated
 * HMAC-SHA512 output — store the commitment in front of the ciphertext, and check it in constant time before
 * decrypting (the "CMT-1 via PRF" construction used by e.g. the AWS Encryption SDK's committing suites).
 *
 * Wire form: nonce (12) ‖ commitment (32) ‖ ciphertext ‖ tag (16). Nonces are random: with 96-bit random
 * nonces a single key must not seal more than 2^32 messages (NIST SP 800-38D §8.3); medledger's keys seal far
 * fewer (a data key seals one record version; a category key wraps one data key per record version).
 */

import { MdlError, MdlErrorCode } from '@medledger/core';
import { platform } from '#platform';
import { concatBytes, equalBytes, utf8ToBytes, wipe } from './bytes.js';

export const AEAD_KEY_LENGTH = 32;
export const AEAD_NONCE_LENGTH = 12;
export const AEAD_COMMITMENT_LENGTH = 32;
export const AEAD_TAG_LENGTH = 16;
/** Bytes a sealed message adds to its plaintext. */
export const AEAD_OVERHEAD = AEAD_NONCE_LENGTH + AEAD_COMMITMENT_LENGTH + AEAD_TAG_LENGTH;

const DERIVE_LABEL = utf8ToBytes('medledger/aead/v1/derive');
const EMPTY = new Uint8Array(0);

/**
 * A 256-bit key with its derived encryption key and commitment computed once, for keys that seal or open
 * many messages (category keys). Call `destroy()` when done.
 */
export class AeadKey {
  readonly #encKey: Uint8Array;
  readonly #commitment: Uint8Array;

  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_LENGTH) {
      throw new MdlError(MdlErrorCode.BadInput, 'AEAD key must be 32 bytes');
    }
    // One PRF call, two independent halves: the first keys AES-256-GCM, the second is the public commitment.
    const derived = platform.hmacSha512(key, DERIVE_LABEL);
    this.#encKey = derived.subarray(0, 32);
    this.#commitment = derived.subarray(32, 64);
  }

  /** Seals `plaintext`, binding `aad`. Output: nonce ‖ commitment ‖ ciphertext ‖ tag. */
  seal(plaintext: Uint8Array, aad: Uint8Array = EMPTY, nonce?: Uint8Array): Uint8Array {
    const iv = nonce ?? platform.randomBytes(AEAD_NONCE_LENGTH);
    if (iv.length !== AEAD_NONCE_LENGTH) throw new MdlError(MdlErrorCode.BadInput, 'nonce must be 12 bytes');
    return concatBytes(iv, this.#commitment, platform.aesGcmEncrypt(this.#encKey, iv, plaintext, aad));
  }

  /** Opens a sealed message; `undefined` if it was not sealed under this key with this `aad`. */
  open(sealed: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array | undefined {
    if (!(sealed instanceof Uint8Array) || sealed.length < AEAD_OVERHEAD) return undefined;
    const commitment = sealed.subarray(AEAD_NONCE_LENGTH, AEAD_NONCE_LENGTH + AEAD_COMMITMENT_LENGTH);
    if (!equalBytes(commitment, this.#commitment)) return undefined;
    return platform.aesGcmDecrypt(
      this.#encKey,
      sealed.subarray(0, AEAD_NONCE_LENGTH),
      sealed.subarray(AEAD_NONCE_LENGTH + AEAD_COMMITMENT_LENGTH),
      aad,
    );
  }

  destroy(): void {
    wipe(this.#encKey, this.#commitment);
  }
}

/** One-shot seal under a 32-byte key. */
export function aeadSeal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  const k = new AeadKey(key);
  try {
    return k.seal(plaintext, aad);
  } finally {
    k.destroy();
  }
}

/** One-shot open; `undefined` on any failure (wrong key, tampering, wrong aad, malformed input). */
export function aeadOpen(
  key: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array | undefined {
  if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_LENGTH) return undefined;
  const k = new AeadKey(key);
  try {
    return k.open(sealed, aad);
  } finally {
    k.destroy();
  }
}
