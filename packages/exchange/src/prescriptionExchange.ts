/**
 * The prescription variant of the exchange protocol: a pharmacy's node asks the prescriber's node (the
 * custodian) for ONE prescription, named by its on-chain id, for one of its pharmacists — either because the
 * prescription was routed to the pharmacy on-chain (no token) or with the one-time token the patient handed
 * over. The custodian answers with exactly that MedicationRequest, as the canonical bytes the prescriber's
 * commitment covers, with the salt and the canonical hash, so the pharmacy can recompute the on-chain id; or
 * with a denial. Nothing else of the patient's travels: no category key, no other record.
 *
 * Same protections as the record exchange (exchangeRequest.ts, exchangeResponse.ts): RFC 8785 bodies signed
 * with the organisations' composite ML-DSA-65 + Ed25519 keys under their own contexts, fixed-size padding, HPKE
 * (X-Wing) sealing to the recipient, the request id bound into the answer. Formats
 * "medledger.exchange.prescription-request/1" and "medledger.exchange.prescription-release/1" are distinct from
 * the record exchange's, and so are the HPKE infos, so neither message can be replayed as the other.
 *
 * A release and a denial have the same size on the wire (one padded bucket), and a denial says nothing more:
 * unknown id, not routed to the requester, wrong or used token all look alike. Limits: the released resource is
 * at most PRESCRIPTION_LIMITS.maxResourceBytes of canonical JSON.
 */
import {
  BinaryReader,
  BinaryWriter,
  bytesToHex,
  COMPOSITE_SIGNATURE,
  compositeVerify,
  EnvelopeType,
  hexToBytes,
  type PublicKeyBundle,
  sha256,
  utf8ToBytes,
} from '@medledger/crypto';
import { encodeCanonicalJson, parseCanonicalJson } from './canonicalJson.js';
import { openExchangeEnvelope, readExchangeEnvelope, sealExchangeEnvelope } from './exchangeEnvelope.js';
import {
  type Bytes32Hex,
  badInput,
  checkCanonicalHex,
  checkHex,
  checkOrganisationId,
  checkParty,
  checkRequestId,
  checkSeconds,
  type ExchangeRequestId,
  type MemberAddress,
  normaliseBytes32,
  normaliseMemberAddress,
  type OrganisationId,
  objectWith,
  type PartyRef,
} from './exchangeFields.js';
import { exchangeRequestId } from './exchangeRequest.js';
import { EXCHANGE_LIMITS } from './limits.js';
import {
  checkOrganisationKeys,
  EXCHANGE_SIGNATURE_CONTEXTS,
  type OrganisationKeys,
} from './OrganisationKeys.js';
import { pad, unpad } from './padding.js';
import { refused, replayRefused } from './refusal.js';

export const PRESCRIPTION_REQUEST_FORMAT = 'medledger.exchange.prescription-request/1';
export const PRESCRIPTION_RELEASE_FORMAT = 'medledger.exchange.prescription-release/1';
const REQUEST_INFO = utf8ToBytes('medledger/prescription-request/v1/seal');
const RELEASE_INFO = utf8ToBytes('medledger/prescription-release/v1/seal');
const NO_EXTRA_AAD = new Uint8Array(0);
const NONCE_BYTES = 16;
/** A prescription token: 32 random bytes, as lower-case hex. */
export const PRESCRIPTION_TOKEN_BYTES = 32;

export const PRESCRIPTION_LIMITS = Object.freeze({
  /** Every request is padded to exactly this size. */
  requestPaddedBytes: 4096,
  /** Every answer, release or denial, is padded to exactly this size. */
  releasePaddedBytes: 32 * 1024,
  /** Largest canonical MedicationRequest released. */
  maxResourceBytes: 24 * 1024,
});

/** What a pharmacy asks for: one prescription, for one pharmacist, routed to it or with a token. */
export interface PrescriptionRequest {
  /** SHA-256 of the signed body (hex): replay key and the answer's binding. */
  readonly id: ExchangeRequestId;
  readonly requester: PartyRef;
  readonly custodian: PartyRef;
  /** The pharmacist's ledger account. */
  readonly pharmacist: MemberAddress;
  /** The on-chain prescription id (0x, 32 bytes). */
  readonly prescription: Bytes32Hex;
  /** The one-time token the patient gave (64 lower-case hex), when the prescription is not routed. */
  readonly token?: string;
  readonly nonce: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export interface ReceivedPrescriptionRequest extends PrescriptionRequest {
  readonly requesterBundle: PublicKeyBundle;
}

/** What the custodian releases: the canonical MedicationRequest and what its commitment was made of. */
export interface PrescriptionReleaseContent {
  /** RFC 8785 bytes of the MedicationRequest as prescribed (what canonicalHash covers). */
  resource: Uint8Array;
  /** The commitment's salt (0x, 32 bytes). */
  salt: string;
}

export interface OpenedPrescriptionRelease {
  readonly status: 'released' | 'denied';
  readonly prescription: Bytes32Hex;
  readonly issuedAt: number;
  /** Present when released; canonicalHash is checked to be SHA-256 of `resource`. */
  readonly release?: { resource: Uint8Array; salt: Bytes32Hex; canonicalHash: Bytes32Hex };
}

type RequestBody = Omit<PrescriptionRequest, 'id'>;

function requestJson(b: RequestBody): Record<string, unknown> {
  return {
    format: PRESCRIPTION_REQUEST_FORMAT,
    requester: { organisation: b.requester.organisation, keyId: b.requester.keyId },
    custodian: { organisation: b.custodian.organisation, keyId: b.custodian.keyId },
    pharmacist: b.pharmacist,
    prescription: b.prescription,
    ...(b.token === undefined ? {} : { token: b.token }),
    nonce: b.nonce,
    issuedAt: b.issuedAt,
    expiresAt: b.expiresAt,
  };
}

function checkWindow(issuedAt: number, expiresAt: number): void {
  if (expiresAt <= issuedAt) throw badInput('request expiresAt must be after issuedAt');
  if (expiresAt - issuedAt > EXCHANGE_LIMITS.maxRequestLifetimeSeconds) {
    throw badInput(`request lifetime must be at most ${EXCHANGE_LIMITS.maxRequestLifetimeSeconds} s`);
  }
}

function parsePrescriptionRequestBody(bytes: Uint8Array): RequestBody {
  const o = objectWith(
    parseCanonicalJson(bytes, 'prescription request'),
    'request',
    ['format', 'requester', 'custodian', 'pharmacist', 'prescription', 'nonce', 'issuedAt', 'expiresAt'],
    ['token'],
  );
  if (o.format !== PRESCRIPTION_REQUEST_FORMAT) throw badInput('request format is not supported');
  const requester = checkParty(o.requester, 'request.requester');
  const custodian = checkParty(o.custodian, 'request.custodian');
  if (requester.organisation === custodian.organisation) throw badInput('request is addressed to its sender');
  const issuedAt = checkSeconds(o.issuedAt, 'request.issuedAt');
  const expiresAt = checkSeconds(o.expiresAt, 'request.expiresAt');
  checkWindow(issuedAt, expiresAt);
  return {
    requester: Object.freeze(requester),
    custodian: Object.freeze(custodian),
    pharmacist: checkCanonicalHex(o.pharmacist, 'request.pharmacist', normaliseMemberAddress),
    prescription: checkCanonicalHex(o.prescription, 'request.prescription', normaliseBytes32),
    ...(o.token === undefined ? {} : { token: checkHex(o.token, 'request.token', PRESCRIPTION_TOKEN_BYTES) }),
    nonce: checkHex(o.nonce, 'request.nonce', NONCE_BYTES),
    issuedAt,
    expiresAt,
  };
}

export interface CreatePrescriptionRequestInput {
  requester: OrganisationKeys;
  custodian: { organisation: OrganisationId; bundle: PublicKeyBundle };
  pharmacist: string;
  prescription: string;
  token?: string;
  issuedAt?: number;
  expiresAt?: number;
}

/** Builds, signs and seals a prescription request; keep `request` to open the answer. */
export function createPrescriptionRequest(input: CreatePrescriptionRequestInput): {
  bytes: Uint8Array;
  request: PrescriptionRequest;
} {
  const requester = checkOrganisationKeys(input.requester, 'requester');
  const custodianOrg = checkOrganisationId(input.custodian?.organisation, 'custodian.organisation');
  if (custodianOrg === requester.organisation) throw badInput('request is addressed to its sender');
  const issuedAt = checkSeconds(input.issuedAt ?? Math.floor(Date.now() / 1000), 'issuedAt');
  const expiresAt = checkSeconds(
    input.expiresAt ?? issuedAt + EXCHANGE_LIMITS.defaultRequestLifetimeSeconds,
    'expiresAt',
  );
  checkWindow(issuedAt, expiresAt);
  const body: RequestBody = {
    requester: { organisation: requester.organisation, keyId: requester.keyId },
    custodian: { organisation: custodianOrg, keyId: input.custodian.bundle.keyId },
    pharmacist: normaliseMemberAddress(input.pharmacist, 'pharmacist'),
    prescription: normaliseBytes32(input.prescription, 'prescription'),
    ...(input.token === undefined ? {} : { token: checkHex(input.token, 'token', PRESCRIPTION_TOKEN_BYTES) }),
    nonce: bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES))),
    issuedAt,
    expiresAt,
  };
  const signed = encodeCanonicalJson(requestJson(body));
  const signature = requester.sign(signed, EXCHANGE_SIGNATURE_CONTEXTS.prescriptionRequest);
  const plaintext = pad(
    new BinaryWriter().block(signed).bytes(signature).finish(),
    PRESCRIPTION_LIMITS.requestPaddedBytes,
    PRESCRIPTION_LIMITS.requestPaddedBytes,
  );
  const bytes = sealExchangeEnvelope(
    EnvelopeType.ExchangeRequest,
    requester.organisation,
    { organisation: custodianOrg, bundle: input.custodian.bundle },
    REQUEST_INFO,
    NO_EXTRA_AAD,
    plaintext,
  );
  const request: PrescriptionRequest = Object.freeze({
    ...parsePrescriptionRequestBody(signed),
    id: exchangeRequestId(signed),
  });
  return { bytes, request };
}

export interface OpenPrescriptionRequestOptions {
  custodian: OrganisationKeys;
  resolveRequesterBundle: (
    organisation: OrganisationId,
  ) => PublicKeyBundle | undefined | Promise<PublicKeyBundle | undefined>;
  now: number;
  /** As for openExchangeRequest: true iff the id is new (and now remembered). */
  replay: (requestId: ExchangeRequestId, expiresAt: number) => boolean | Promise<boolean>;
  clockSkewSeconds?: number;
}

/**
 * Opens and verifies a prescription request addressed to `custodian`. Throws as openExchangeRequest does:
 * MDL_BAD_INPUT (malformed), MDL_INVALID_CREDENTIAL (not for us, does not decrypt, unknown requester, bad
 * signature, re-addressed — one message) or MDL_REPLAY (outside its window, seen before).
 */
export async function openPrescriptionRequest(
  bytes: Uint8Array,
  options: OpenPrescriptionRequestOptions,
): Promise<ReceivedPrescriptionRequest> {
  const custodian = checkOrganisationKeys(options.custodian, 'custodian');
  const now = checkSeconds(options.now, 'now');
  const skew = options.clockSkewSeconds ?? EXCHANGE_LIMITS.defaultClockSkewSeconds;
  const parsed = readExchangeEnvelope(bytes, EnvelopeType.ExchangeRequest);
  if (parsed.ciphertext.length !== PRESCRIPTION_LIMITS.requestPaddedBytes + 16) {
    throw badInput('prescription request has the wrong size');
  }
  const { header } = parsed;
  if (header.recipient !== custodian.organisation || header.recipientKeyId !== custodian.keyId) {
    throw refused('request');
  }
  const plaintext = openExchangeEnvelope(parsed, custodian.decapsulationKey, REQUEST_INFO, NO_EXTRA_AAD);
  if (!plaintext || header.sender === 0) throw refused('request');
  const r = new BinaryReader(
    unpad(plaintext, PRESCRIPTION_LIMITS.requestPaddedBytes, PRESCRIPTION_LIMITS.requestPaddedBytes),
  );
  const signed = r.block().slice();
  const signature = r.bytes(COMPOSITE_SIGNATURE.signatureLength).slice();
  if (r.remaining !== 0) throw badInput('prescription request has trailing bytes');
  const requesterBundle = await options.resolveRequesterBundle(header.sender);
  if (
    !requesterBundle ||
    !compositeVerify(
      requesterBundle.signingPublicKey,
      signed,
      signature,
      EXCHANGE_SIGNATURE_CONTEXTS.prescriptionRequest,
    )
  ) {
    throw refused('request');
  }
  const body = parsePrescriptionRequestBody(signed);
  if (
    body.requester.organisation !== header.sender ||
    body.requester.keyId !== requesterBundle.keyId ||
    body.custodian.organisation !== custodian.organisation ||
    body.custodian.keyId !== custodian.keyId
  ) {
    throw refused('request');
  }
  if (now >= body.expiresAt || body.issuedAt > now + skew) throw replayRefused();
  const id = exchangeRequestId(signed);
  if ((await options.replay(id, body.expiresAt)) !== true) throw replayRefused();
  return Object.freeze({ ...body, id, requesterBundle });
}

function releaseJson(
  request: PrescriptionRequest,
  issuedAt: number,
  release: { salt: string; canonicalHash: string } | undefined,
): Record<string, unknown> {
  return {
    format: PRESCRIPTION_RELEASE_FORMAT,
    requestId: request.id,
    requester: { organisation: request.requester.organisation, keyId: request.requester.keyId },
    custodian: { organisation: request.custodian.organisation, keyId: request.custodian.keyId },
    prescription: request.prescription,
    status: release ? 'released' : 'denied',
    issuedAt,
    ...(release ? { salt: release.salt, canonicalHash: release.canonicalHash } : {}),
  };
}

/**
 * The custodian's answer to a verified request: `content` releases the prescription, undefined denies. Both
 * are padded to releasePaddedBytes and sealed to the requester with the request id as associated data.
 */
export function createPrescriptionRelease(input: {
  request: ReceivedPrescriptionRequest;
  custodian: OrganisationKeys;
  content: PrescriptionReleaseContent | undefined;
  issuedAt?: number;
}): Uint8Array {
  const custodian = checkOrganisationKeys(input.custodian, 'custodian');
  const { request, content } = input;
  if (request.custodian.organisation !== custodian.organisation) throw badInput('request is not ours');
  const issuedAt = checkSeconds(input.issuedAt ?? Math.floor(Date.now() / 1000), 'issuedAt');
  let release: { salt: string; canonicalHash: string } | undefined;
  let resource: Uint8Array = new Uint8Array(0);
  if (content) {
    if (content.resource.length > PRESCRIPTION_LIMITS.maxResourceBytes) {
      throw badInput('the prescription is too large to release');
    }
    resource = content.resource;
    release = {
      salt: normaliseBytes32(content.salt, 'salt'),
      canonicalHash: `0x${bytesToHex(sha256(resource))}`,
    };
  }
  const signed = encodeCanonicalJson(releaseJson(request, issuedAt, release));
  const signature = custodian.sign(signed, EXCHANGE_SIGNATURE_CONTEXTS.prescriptionRelease);
  const plaintext = pad(
    new BinaryWriter().block(signed).bytes(signature).block(resource).finish(),
    PRESCRIPTION_LIMITS.releasePaddedBytes,
    PRESCRIPTION_LIMITS.releasePaddedBytes,
  );
  return sealExchangeEnvelope(
    EnvelopeType.ExchangeResponse,
    custodian.organisation,
    { organisation: request.requester.organisation, bundle: request.requesterBundle },
    RELEASE_INFO,
    hexToBytes(request.id),
    plaintext,
  );
}

/**
 * Opens the custodian's answer to `request`: MDL_INVALID_CREDENTIAL for anything not bound to the request,
 * not signed by the custodian asked, or whose resource does not match its canonical hash.
 */
export function openPrescriptionRelease(
  bytes: Uint8Array,
  options: { requester: OrganisationKeys; request: PrescriptionRequest; custodianBundle: PublicKeyBundle },
): OpenedPrescriptionRelease {
  const requester = checkOrganisationKeys(options.requester, 'requester');
  const { request, custodianBundle } = options;
  const parsed = readExchangeEnvelope(bytes, EnvelopeType.ExchangeResponse);
  if (parsed.ciphertext.length !== PRESCRIPTION_LIMITS.releasePaddedBytes + 16) throw refused('response');
  if (
    parsed.header.sender !== request.custodian.organisation ||
    parsed.header.recipient !== requester.organisation ||
    parsed.header.recipientKeyId !== requester.keyId
  ) {
    throw refused('response');
  }
  const plaintext = openExchangeEnvelope(
    parsed,
    requester.decapsulationKey,
    RELEASE_INFO,
    hexToBytes(request.id),
  );
  if (!plaintext) throw refused('response');
  const r = new BinaryReader(
    unpad(plaintext, PRESCRIPTION_LIMITS.releasePaddedBytes, PRESCRIPTION_LIMITS.releasePaddedBytes),
  );
  const signed = r.block().slice();
  const signature = r.bytes(COMPOSITE_SIGNATURE.signatureLength).slice();
  const resource = r.block().slice();
  if (
    !compositeVerify(
      custodianBundle.signingPublicKey,
      signed,
      signature,
      EXCHANGE_SIGNATURE_CONTEXTS.prescriptionRelease,
    )
  ) {
    throw refused('response');
  }
  const o = objectWith(
    parseCanonicalJson(signed, 'prescription release'),
    'release',
    ['format', 'requestId', 'requester', 'custodian', 'prescription', 'status', 'issuedAt'],
    ['salt', 'canonicalHash'],
  );
  if (o.format !== PRESCRIPTION_RELEASE_FORMAT) throw refused('response');
  const requesterRef = checkParty(o.requester, 'release.requester');
  const custodianRef = checkParty(o.custodian, 'release.custodian');
  if (
    checkRequestId(o.requestId, 'release.requestId') !== request.id ||
    requesterRef.organisation !== request.requester.organisation ||
    requesterRef.keyId !== request.requester.keyId ||
    custodianRef.organisation !== request.custodian.organisation ||
    custodianRef.keyId !== custodianBundle.keyId ||
    o.prescription !== request.prescription
  ) {
    throw refused('response');
  }
  const issuedAt = checkSeconds(o.issuedAt, 'release.issuedAt');
  if (o.status === 'denied') {
    if (o.salt !== undefined || o.canonicalHash !== undefined || resource.length !== 0) {
      throw refused('response');
    }
    return Object.freeze({ status: 'denied', prescription: request.prescription, issuedAt });
  }
  if (o.status !== 'released') throw refused('response');
  const salt = normaliseBytes32(o.salt, 'release.salt');
  const canonicalHash = normaliseBytes32(o.canonicalHash, 'release.canonicalHash');
  if (canonicalHash !== `0x${bytesToHex(sha256(resource))}`) throw refused('response');
  return Object.freeze({
    status: 'released',
    prescription: request.prescription,
    issuedAt,
    release: { resource, salt, canonicalHash },
  });
}
