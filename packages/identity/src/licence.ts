/**
 * Practitioner licence credentials: issued and signed by a regulator organisation, committed to on-chain.
 *
 * A credential is the JSON object
 *   { format: "medledger.licence/1", issuer: <organisation id>, subject: <member address>, name,
 *     qualification: { system, code, display? }, issuedAt, expiresAt }          (times: Unix seconds)
 * canonicalised with RFC 8785 (JCS). The regulator signs those bytes with its composite ML-DSA-65 + Ed25519
 * key under the context "medledger/licence/v1", so no other medledger signature can pass as a licence. The
 * credential's SHA-256 (of the same canonical bytes) is the `credentialHash` the regulator passes to
 * ConsortiumRegistry.issueLicence(member, credentialHash, expiresAt).
 *
 * A signed licence travels as { credential, proof: { type, keyId, signature } }. `verifyLicence` checks the
 * shape, the issuer key, the signature and the validity period, and answers only true or false. Whether the
 * licence is still on-chain (not revoked, not expired there, hash matching) is the node's check through the
 * registry; the practitioner's identity (the subject address) is proved by their membership, not here.
 */

import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  base64urlToBytes,
  bytesToBase64url,
  bytesToHex,
  COMPOSITE_SIGNATURE,
  canonicalBytes,
  canonicalize,
  compositeSign,
  compositeVerify,
  type KeyBundle,
  type PublicKeyBundle,
  sha256,
} from '@medledger/crypto';
import { type Address, getAddress, type Hex, isAddress } from 'viem';

export const LICENCE_FORMAT = 'medledger.licence/1';
export const LICENCE_SIGNATURE_CONTEXT = 'medledger/licence/v1';
const PROOF_TYPE = 'medledger.composite-signature/1';
/** The registry stores expiry as uint40. */
const MAX_TIME = 2 ** 40 - 1;

export interface Qualification {
  /** The code system (e.g. the regulator's register URI, or http://terminology.hl7.org/CodeSystem/v2-0360). */
  system: string;
  code: string;
  display?: string;
}

export interface LicenceCredential {
  format: typeof LICENCE_FORMAT;
  /** On-chain id of the issuing (regulator) organisation. */
  issuer: number;
  /** The practitioner's on-chain member address (checksummed). */
  subject: Address;
  /** The practitioner's name as registered. */
  name: string;
  qualification: Qualification;
  issuedAt: number;
  expiresAt: number;
}

export interface SignedLicence {
  credential: LicenceCredential;
  proof: {
    type: typeof PROOF_TYPE;
    /** Key id of the issuer's key bundle. */
    keyId: string;
    /** Composite signature over the canonical credential, base64url. */
    signature: string;
  };
}

function bad(message: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, message);
}

const isText = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max && v === v.trim();
const isTime = (v: unknown): v is number =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_TIME;

/** Shape check: exactly the fields of the format, each well-formed. Unknown fields are refused. */
function isCredential(c: unknown): c is LicenceCredential {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return false;
  const o = c as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys !== 'expiresAt,format,issuedAt,issuer,name,qualification,subject') return false;
  const q = o.qualification as Record<string, unknown> | null;
  if (typeof q !== 'object' || q === null || Array.isArray(q)) return false;
  const qKeys = Object.keys(q).sort().join(',');
  if (qKeys !== 'code,system' && qKeys !== 'code,display,system') return false;
  return (
    o.format === LICENCE_FORMAT &&
    Number.isInteger(o.issuer) &&
    (o.issuer as number) > 0 &&
    (o.issuer as number) <= 0xffffffff &&
    typeof o.subject === 'string' &&
    isAddress(o.subject, { strict: true }) &&
    o.subject === getAddress(o.subject) &&
    isText(o.name, 200) &&
    isText(q.system, 500) &&
    isText(q.code, 100) &&
    (q.display === undefined || isText(q.display, 200)) &&
    isTime(o.issuedAt) &&
    isTime(o.expiresAt) &&
    (o.expiresAt as number) > (o.issuedAt as number)
  );
}

/** SHA-256 of the canonical credential, 0x-hex: ConsortiumRegistry's credentialHash. */
export function licenceHash(licence: LicenceCredential | SignedLicence): Hex {
  const credential = 'proof' in licence ? licence.credential : licence;
  if (!isCredential(credential)) throw bad('not a licence credential');
  return `0x${bytesToHex(sha256(canonicalBytes(credential)))}`;
}

export interface LicenceTerms {
  issuer: number;
  subject: Address;
  name: string;
  qualification: Qualification;
  /** Unix seconds; default now. */
  issuedAt?: number;
  expiresAt: number;
}

/** Issues and signs a licence with the regulator's key bundle. Throws MDL_BAD_INPUT on malformed terms. */
export function issueLicence(terms: LicenceTerms, issuerBundle: KeyBundle): SignedLicence {
  const qualification: Qualification = {
    system: terms.qualification?.system,
    code: terms.qualification?.code,
  };
  if (terms.qualification?.display !== undefined) qualification.display = terms.qualification.display;
  const credential = {
    format: LICENCE_FORMAT,
    issuer: terms.issuer,
    subject:
      typeof terms.subject === 'string' && isAddress(terms.subject)
        ? getAddress(terms.subject)
        : terms.subject,
    name: typeof terms.name === 'string' ? terms.name.normalize('NFC') : terms.name,
    qualification,
    issuedAt: terms.issuedAt ?? Math.floor(Date.now() / 1000),
    expiresAt: terms.expiresAt,
  };
  if (!isCredential(credential))
    throw bad('licence terms are malformed (issuer, subject, name, qualification, period)');
  const signature = compositeSign(
    issuerBundle.signingSecretKey,
    canonicalBytes(credential),
    LICENCE_SIGNATURE_CONTEXT,
  );
  return {
    credential,
    proof: { type: PROOF_TYPE, keyId: issuerBundle.keyId, signature: bytesToBase64url(signature) },
  };
}

/**
 * True only if `licence` is a well-formed credential signed by `issuerPublicBundle` under the licence context,
 * and `now` (Unix seconds) lies in [issuedAt, expiresAt). False — never an exception — otherwise, without
 * saying why.
 */
export function verifyLicence(licence: unknown, issuerPublicBundle: PublicKeyBundle, now: number): boolean {
  try {
    if (typeof licence !== 'object' || licence === null) return false;
    const { credential, proof } = licence as Partial<SignedLicence>;
    if (!isCredential(credential) || typeof proof !== 'object' || proof === null) return false;
    if (proof.type !== PROOF_TYPE || proof.keyId !== issuerPublicBundle.keyId) return false;
    if (typeof proof.signature !== 'string') return false;
    const signature = base64urlToBytes(proof.signature);
    if (signature.length !== COMPOSITE_SIGNATURE.signatureLength) return false;
    const signed = compositeVerify(
      issuerPublicBundle.signingPublicKey,
      canonicalBytes(credential),
      signature,
      LICENCE_SIGNATURE_CONTEXT,
    );
    return signed && Number.isFinite(now) && now >= credential.issuedAt && now < credential.expiresAt;
  } catch {
    return false;
  }
}

/** `verifyLicence`, throwing MDL_INVALID_CREDENTIAL instead of returning false. */
export function assertLicenceValid(
  licence: unknown,
  issuerPublicBundle: PublicKeyBundle,
  now: number,
): SignedLicence {
  if (!verifyLicence(licence, issuerPublicBundle, now)) {
    throw new MdlError(MdlErrorCode.InvalidCredential, 'licence credential refused');
  }
  return licence as SignedLicence;
}

/** The signed licence as canonical JSON text (what is stored and exchanged). */
export function encodeLicence(licence: SignedLicence): string {
  return canonicalize(licence);
}

/** Parses signed licence text; MDL_BAD_INPUT if it is not JSON of the right shape. Does not verify. */
export function decodeLicence(text: string): SignedLicence {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('licence is not JSON');
  }
  const v = value as Partial<SignedLicence> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    !isCredential(v.credential) ||
    typeof v.proof !== 'object' ||
    v.proof === null ||
    v.proof.type !== PROOF_TYPE ||
    typeof v.proof.keyId !== 'string' ||
    typeof v.proof.signature !== 'string'
  ) {
    throw bad('not a signed licence');
  }
  return {
    credential: v.credential,
    proof: { type: PROOF_TYPE, keyId: v.proof.keyId, signature: v.proof.signature },
  };
}
