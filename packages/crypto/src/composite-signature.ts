/**
 * Composite ML-DSA-65 + Ed25519 signatures, as id-MLDSA65-Ed25519-SHA512 of draft-ietf-lamps-pq-composite-sigs:
 * both component signatures are made over
 *   M' = "CompositeAlgorithmSignatures2025" ‖ Label ‖ len(ctx) ‖ ctx ‖ SHA-512(M)
 * with Label = "COMPSIG-MLDSA65-Ed25519-SHA512" also passed to ML-DSA as its FIPS 204 context. A signature is
 * valid only if BOTH verify, so it stands while either ML-DSA-65 or Ed25519 is unbroken.
 *
 * medledger uses the application context `ctx` for domain separation: every signed object type has its own
 * context string (e.g. "medledger/record-batch/v1"), so a signature can never be replayed as another type.
 *
 * Keys follow the draft's serialisation: secret = ML-DSA seed (32) ‖ Ed25519 seed (32);
 * public = ML-DSA-65 public key (1952) ‖ Ed25519 public key (32); signature = ML-DSA (3309) ‖ Ed25519 (64).
 * ML-DSA signing in pure TypeScript is slow (60–100 per second on the 2-core CI machine, varying with the
 * number of rejection-sampling rounds), so medledger signs Merkle roots of batches, never single records.
 */

import { MdlError, MdlErrorCode } from '@medledger/core';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { platform } from '#platform';
import { concatBytes, utf8ToBytes, wipe } from './bytes.js';

export const COMPOSITE_SIGNATURE = {
  algorithm: 'id-MLDSA65-Ed25519-SHA512',
  secretKeyLength: 64,
  publicKeyLength: 1984,
  signatureLength: 3373,
} as const;

const PREFIX = utf8ToBytes('CompositeAlgorithmSignatures2025');
const LABEL = utf8ToBytes('COMPSIG-MLDSA65-Ed25519-SHA512');
const MLDSA_PK = 1952;
const MLDSA_SIG = 3309;

function toBytes(ctx: Uint8Array | string): Uint8Array {
  return typeof ctx === 'string' ? utf8ToBytes(ctx) : ctx;
}

/** The message representative M' of the draft (§ Sign, step 2). */
export function compositeMessageRepresentative(message: Uint8Array, ctx: Uint8Array | string): Uint8Array {
  const c = toBytes(ctx);
  if (c.length > 255)
    throw new MdlError(MdlErrorCode.BadInput, 'signature context must be at most 255 bytes');
  return concatBytes(PREFIX, LABEL, Uint8Array.of(c.length), c, platform.sha512(message));
}

/** A signing key with its ML-DSA secret expanded once (expansion costs a key generation). */
export class CompositeSigner {
  readonly publicKey: Uint8Array;
  readonly #mldsaSecret: Uint8Array;
  readonly #edSeed: Uint8Array;

  constructor(secretKey: Uint8Array) {
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== COMPOSITE_SIGNATURE.secretKeyLength) {
      throw new MdlError(MdlErrorCode.BadInput, 'composite signing key must be 64 bytes');
    }
    const { publicKey, secretKey: mldsaSecret } = ml_dsa65.keygen(secretKey.subarray(0, 32));
    this.#mldsaSecret = mldsaSecret;
    this.#edSeed = secretKey.slice(32);
    this.publicKey = concatBytes(publicKey, platform.ed25519PublicKey(this.#edSeed));
  }

  sign(message: Uint8Array, ctx: Uint8Array | string): Uint8Array {
    const mPrime = compositeMessageRepresentative(message, ctx);
    return concatBytes(
      ml_dsa65.sign(mPrime, this.#mldsaSecret, { context: LABEL }),
      platform.ed25519Sign(this.#edSeed, mPrime),
    );
  }

  destroy(): void {
    wipe(this.#mldsaSecret, this.#edSeed);
  }
}

/** Generates a composite key pair; with a 64-byte `seed`, deterministically. */
export function compositeKeygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = seed ? Uint8Array.from(seed) : platform.randomBytes(COMPOSITE_SIGNATURE.secretKeyLength);
  const signer = new CompositeSigner(secretKey);
  signer.destroy();
  return { secretKey, publicKey: signer.publicKey };
}

export function compositeSign(
  secretKey: Uint8Array,
  message: Uint8Array,
  ctx: Uint8Array | string,
): Uint8Array {
  const signer = new CompositeSigner(secretKey);
  try {
    return signer.sign(message, ctx);
  } finally {
    signer.destroy();
  }
}

/** True only if both component signatures verify. Returns false, never throws, on malformed input. */
export function compositeVerify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  ctx: Uint8Array | string,
): boolean {
  try {
    if (
      !(publicKey instanceof Uint8Array) ||
      !(signature instanceof Uint8Array) ||
      !(message instanceof Uint8Array) ||
      publicKey.length !== COMPOSITE_SIGNATURE.publicKeyLength ||
      signature.length !== COMPOSITE_SIGNATURE.signatureLength
    ) {
      return false;
    }
    const mPrime = compositeMessageRepresentative(message, ctx);
    // Evaluate both halves unconditionally so timing does not reveal which component failed.
    const mldsaOk = ml_dsa65.verify(
      signature.subarray(0, MLDSA_SIG),
      mPrime,
      publicKey.subarray(0, MLDSA_PK),
      {
        context: LABEL,
      },
    );
    const edOk = platform.ed25519Verify(signature.subarray(MLDSA_SIG), mPrime, publicKey.subarray(MLDSA_PK));
    return mldsaOk && edOk;
  } catch {
    return false;
  }
}
