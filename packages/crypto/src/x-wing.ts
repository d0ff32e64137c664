/**
 * X-Wing hybrid KEM (draft-connolly-cfrg-xwing-kem-10): ML-KEM-768 + X25519 combined with SHA3-256, secure if
 * either component is. ML-KEM comes from @noble/post-quantum on every platform; X25519 from the platform
 * (node:crypto on the server, ~30x faster than pure JS), so this file is the one X-Wing for Node and browsers.
 *
 * Keys: the 32-byte secret key is a seed, expanded with SHAKE256 to the ML-KEM seed (d‖z) and the X25519
 * secret. Expanding costs an ML-KEM key generation, so holders that decapsulate often keep an
 * `XWingDecapsulationKey` (the draft's "expanded decapsulation key"), which must never leave the process.
 */

import { MdlError, MdlErrorCode } from '@medledger/core';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { platform } from '#platform';
import { concatBytes, wipe } from './bytes.js';

export const XWING = {
  secretKeyLength: 32,
  publicKeyLength: 1216,
  cipherTextLength: 1120,
  sharedSecretLength: 32,
  /** Randomness consumed by one encapsulation: 32 bytes for ML-KEM, 32 for the ephemeral X25519 key. */
  encapsulationSeedLength: 64,
} as const;

const MLKEM_PK = 1184;
const MLKEM_CT = 1088;
// "\.//^\" — the draft's domain-separation label, appended last in the combiner.
const LABEL = Uint8Array.of(0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c);

function combiner(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  return platform.sha3_256(concatBytes(ssM, ssX, ctX, pkX, LABEL));
}

/** The expanded form of an X-Wing secret key, cached for repeated decapsulation. */
export class XWingDecapsulationKey {
  readonly publicKey: Uint8Array;
  readonly #skM: Uint8Array;
  readonly #skX: Uint8Array;
  readonly #pkX: Uint8Array;

  constructor(secretKey: Uint8Array) {
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== XWING.secretKeyLength) {
      throw new MdlError(MdlErrorCode.BadInput, 'X-Wing secret key must be 32 bytes');
    }
    const expanded = platform.shake256(secretKey, 96);
    const { publicKey: pkM, secretKey: skM } = ml_kem768.keygen(expanded.subarray(0, 64));
    this.#skM = skM;
    this.#skX = expanded.slice(64, 96);
    this.#pkX = platform.x25519PublicKey(this.#skX);
    this.publicKey = concatBytes(pkM, this.#pkX);
    wipe(expanded);
  }

  /**
   * Recovers the shared secret. ML-KEM rejects implicitly (a forged ciphertext yields an unrelated secret,
   * so the caller's AEAD fails); only a wrongly sized ciphertext or a low-order X25519 point throws.
   */
  decapsulate(cipherText: Uint8Array): Uint8Array {
    if (!(cipherText instanceof Uint8Array) || cipherText.length !== XWING.cipherTextLength) {
      throw new MdlError(MdlErrorCode.BadInput, 'X-Wing ciphertext must be 1120 bytes');
    }
    const ctX = cipherText.subarray(MLKEM_CT);
    const ssM = ml_kem768.decapsulate(cipherText.subarray(0, MLKEM_CT), this.#skM);
    const ssX = platform.x25519(this.#skX, ctX);
    try {
      return combiner(ssM, ssX, ctX, this.#pkX);
    } finally {
      wipe(ssM, ssX);
    }
  }

  destroy(): void {
    wipe(this.#skM, this.#skX);
  }
}

/** Generates a key pair; with `seed` (32 bytes) deterministically (GenerateKeyPairDerand). */
export function xwingKeygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = seed ? Uint8Array.from(seed) : platform.randomBytes(XWING.secretKeyLength);
  const dk = new XWingDecapsulationKey(secretKey);
  dk.destroy();
  return { secretKey, publicKey: dk.publicKey };
}

/**
 * Encapsulates a fresh shared secret to `publicKey`. `eseed` (64 bytes) makes it deterministic, for test
 * vectors only. Throws MDL_BAD_INPUT if the public key is malformed (the ML-KEM encapsulation key check).
 */
export function xwingEncapsulate(
  publicKey: Uint8Array,
  eseed?: Uint8Array,
): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== XWING.publicKeyLength) {
    throw new MdlError(MdlErrorCode.BadInput, 'X-Wing public key must be 1216 bytes');
  }
  const seed = eseed ?? platform.randomBytes(XWING.encapsulationSeedLength);
  if (seed.length !== XWING.encapsulationSeedLength) {
    throw new MdlError(MdlErrorCode.BadInput, 'X-Wing encapsulation seed must be 64 bytes');
  }
  const pkX = publicKey.subarray(MLKEM_PK);
  const ekX = seed.subarray(32, 64);
  let ctM: Uint8Array;
  let ssM: Uint8Array;
  try {
    ({ cipherText: ctM, sharedSecret: ssM } = ml_kem768.encapsulate(
      publicKey.subarray(0, MLKEM_PK),
      seed.subarray(0, 32),
    ));
  } catch (cause) {
    throw new MdlError(MdlErrorCode.BadInput, 'X-Wing public key failed the ML-KEM key check', { cause });
  }
  const ctX = platform.x25519PublicKey(ekX);
  const ssX = platform.x25519(ekX, pkX);
  try {
    return { cipherText: concatBytes(ctM, ctX), sharedSecret: combiner(ssM, ssX, ctX, pkX) };
  } finally {
    wipe(ssM, ssX);
    if (!eseed) wipe(seed);
  }
}

/** One-shot decapsulation from the 32-byte secret key (expands it each call). */
export function xwingDecapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const dk = new XWingDecapsulationKey(secretKey);
  try {
    return dk.decapsulate(cipherText);
  } finally {
    dk.destroy();
  }
}
