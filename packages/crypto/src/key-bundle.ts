/**
 * Key bundles: each organisation and each patient holds an X-Wing KEM pair (to receive wrapped category
 * keys) and a composite ML-DSA-65 + Ed25519 signing pair. The public half is a self-signed envelope whose
 * SHA-256 is the commitment organisations publish in the on-chain registry; its key id is derived from it.
 */

import type { Brand } from '@medledger/core';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { platform } from '#platform';
import { BinaryReader, BinaryWriter } from './binary.js';
import { bytesToHex, wipe } from './bytes.js';
import {
  COMPOSITE_SIGNATURE,
  CompositeSigner,
  compositeKeygen,
  compositeVerify,
} from './composite-signature.js';
import {
  EnvelopeType,
  KEM_XWING,
  KEY_ID_LENGTH,
  readPrefix,
  SIG_MLDSA65_ED25519,
  writePrefix,
} from './envelope.js';
import { XWING, XWingDecapsulationKey, xwingKeygen } from './x-wing.js';

/** 32 lower-case hex characters: the first 16 bytes of SHA-256 over the signed part of the public bundle. */
export type KeyId = Brand<string, 'KeyId'>;

const SELF_SIGNATURE_CONTEXT = 'medledger/key-bundle/v1';

export interface PublicKeyBundle {
  keyId: KeyId;
  /** Seconds since the Unix epoch. */
  createdAt: number;
  kemPublicKey: Uint8Array;
  signingPublicKey: Uint8Array;
  /** The canonical envelope bytes (signed part ‖ self-signature). */
  encoded: Uint8Array;
}

export interface KeyBundle {
  keyId: KeyId;
  createdAt: number;
  /** X-Wing secret key (32-byte seed). */
  kemSecretKey: Uint8Array;
  /** Composite secret key: ML-DSA-65 seed ‖ Ed25519 seed. */
  signingSecretKey: Uint8Array;
  publicBundle: PublicKeyBundle;
}

function signedPart(createdAt: number, kemPublicKey: Uint8Array, signingPublicKey: Uint8Array): Uint8Array {
  return writePrefix(new BinaryWriter(), EnvelopeType.PublicKeyBundle)
    .u32(createdAt)
    .u16(KEM_XWING)
    .bytes(kemPublicKey, XWING.publicKeyLength)
    .u16(SIG_MLDSA65_ED25519)
    .bytes(signingPublicKey, COMPOSITE_SIGNATURE.publicKeyLength)
    .finish();
}

function keyIdOf(signed: Uint8Array): KeyId {
  return bytesToHex(platform.sha256(signed).subarray(0, KEY_ID_LENGTH)) as KeyId;
}

function assemble(kemSecretKey: Uint8Array, signingSecretKey: Uint8Array, createdAt: number): KeyBundle {
  const kem = new XWingDecapsulationKey(kemSecretKey);
  const signer = new CompositeSigner(signingSecretKey);
  try {
    const signed = signedPart(createdAt, kem.publicKey, signer.publicKey);
    const encoded = new BinaryWriter()
      .bytes(signed)
      .bytes(signer.sign(signed, SELF_SIGNATURE_CONTEXT))
      .finish();
    const keyId = keyIdOf(signed);
    return {
      keyId,
      createdAt,
      kemSecretKey,
      signingSecretKey,
      publicBundle: {
        keyId,
        createdAt,
        kemPublicKey: kem.publicKey,
        signingPublicKey: signer.publicKey,
        encoded,
      },
    };
  } finally {
    kem.destroy();
    signer.destroy();
  }
}

/** Generates a fresh key bundle. `createdAt` defaults to now (seconds). */
export function generateKeyBundle(createdAt = Math.floor(Date.now() / 1000)): KeyBundle {
  return assemble(xwingKeygen().secretKey, compositeKeygen().secretKey, createdAt);
}

/** Rebuilds a bundle from its secret keys (as stored in a keystore); the public half is recomputed. */
export function keyBundleFromSecrets(
  kemSecretKey: Uint8Array,
  signingSecretKey: Uint8Array,
  createdAt: number,
) {
  return assemble(kemSecretKey, signingSecretKey, createdAt);
}

/**
 * Decodes a public bundle and checks its self-signature. Throws MDL_BAD_INPUT on anything malformed or
 * unsigned, so a bundle fetched from a peer can be trusted to be internally consistent (whether it belongs to
 * that peer is decided by comparing `publicBundleCommitment` with the registry).
 */
export function decodePublicKeyBundle(encoded: Uint8Array): PublicKeyBundle {
  const r = new BinaryReader(encoded);
  readPrefix(r, EnvelopeType.PublicKeyBundle);
  const createdAt = r.u32();
  if (r.u16() !== KEM_XWING) throw new MdlError(MdlErrorCode.Unsupported, 'unsupported KEM in key bundle');
  const kemPublicKey = r.bytes(XWING.publicKeyLength).slice();
  if (r.u16() !== SIG_MLDSA65_ED25519) {
    throw new MdlError(MdlErrorCode.Unsupported, 'unsupported signature algorithm in key bundle');
  }
  const signingPublicKey = r.bytes(COMPOSITE_SIGNATURE.publicKeyLength).slice();
  const signed = r.consumed().slice();
  const signature = r.bytes(COMPOSITE_SIGNATURE.signatureLength);
  r.end();
  if (!compositeVerify(signingPublicKey, signed, signature, SELF_SIGNATURE_CONTEXT)) {
    throw new MdlError(MdlErrorCode.BadInput, 'key bundle self-signature does not verify');
  }
  return { keyId: keyIdOf(signed), createdAt, kemPublicKey, signingPublicKey, encoded: encoded.slice() };
}

/** SHA-256 of the encoded public bundle: the value published on-chain. */
/**
 * The registry's commitment to a bundle: SHA-256 of its signed part (everything but the self-signature). The
 * self-signature is randomised (ML-DSA hedged signing), so the bundle rebuilt from the same secrets after a
 * restart encodes differently; the commitment must not change with it. Pair with decodePublicKeyBundle, which
 * refuses a bundle whose self-signature does not verify.
 */
export function publicBundleCommitment(bundle: PublicKeyBundle): Uint8Array {
  return platform.sha256(
    bundle.encoded.subarray(0, bundle.encoded.length - COMPOSITE_SIGNATURE.signatureLength),
  );
}

export function destroyKeyBundle(bundle: KeyBundle): void {
  wipe(bundle.kemSecretKey, bundle.signingSecretKey);
}
