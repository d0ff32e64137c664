/**
 * Exchange requests: a node asks another node (the custodian) for a patient's records on behalf of one of its
 * practitioners. The request is RFC 8785 JSON (format "medledger.exchange.request/1") signed with the
 * requesting organisation's composite ML-DSA-65 + Ed25519 key, padded to a fixed 8 KiB and HPKE-sealed to the
 * custodian's X-Wing key, so the patient pseudonym, the practitioner and the purpose are unreadable in transit.
 *
 * What this module checks: the envelope, the requester's signature under the bundle the node resolves from the
 * registry, that both parties named inside are the ones on the envelope and that the custodian is us (so a
 * request cannot be forwarded to another custodian), the validity window, and — through the node's `replay`
 * callback — that the request is new. What it cannot check, and the custodian node must, on the ledger, before
 * releasing anything: that the requester organisation is an active member, that the practitioner is its member
 * with a valid, unrevoked licence whose credential hash is the one named, and that a consent covers the purpose
 * and every category (docs/exchange.md, *Custodian checklist*).
 */
import type { DataCategory } from '@medledger/core';
import {
  BinaryWriter,
  bytesToHex,
  COMPOSITE_SIGNATURE,
  compositeVerify,
  EnvelopeType,
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
  checkCategories,
  checkDisplayName,
  checkHex,
  checkOrganisationId,
  checkParty,
  checkPurpose,
  checkSeconds,
  checkSessionId,
  type ExchangeRequestId,
  normaliseBytes32,
  normaliseMemberAddress,
  type OrganisationId,
  objectWith,
  type PartyRef,
  type Practitioner,
  type SignedPart,
} from './exchangeFields.js';
import { EXCHANGE_LIMITS } from './limits.js';
import {
  checkOrganisationKeys,
  EXCHANGE_SIGNATURE_CONTEXTS,
  type OrganisationKeys,
} from './OrganisationKeys.js';
import { pad, unpad } from './padding.js';
import { refused, replayRefused } from './refusal.js';

export const EXCHANGE_REQUEST_FORMAT = 'medledger.exchange.request/1';
const HPKE_INFO = utf8ToBytes('medledger/exchange-request/v1/seal');
const NONCE_BYTES = 16;
const NO_EXTRA_AAD = new Uint8Array(0);

/** A request as signed: who asks whom, for which practitioner, patient, purpose and categories, until when. */
export interface ExchangeRequest {
  /** SHA-256 of the signed body (hex): the replay key, the response's binding and the audit handle. */
  readonly id: ExchangeRequestId;
  readonly requester: PartyRef;
  readonly custodian: PartyRef;
  readonly practitioner: Practitioner;
  /** The patient's ledger pseudonym (ConsentManager), the key consent is checked under. */
  readonly patient: Bytes32Hex;
  /** Purpose bit number as in the ledger's Purpose enum (Treatment 0, Payment 1, … Emergency 4). */
  readonly purpose: number;
  /** Requested categories, sorted, unique. */
  readonly categories: readonly DataCategory[];
  /** Only records last updated at or after this time (seconds), if present. */
  readonly since?: number;
  /** The ledger's break-glass session id, when the purpose is emergency access under one. */
  readonly breakGlass?: number;
  /** 128 random bits (hex), so two requests with the same terms differ. */
  readonly nonce: string;
  /** Seconds since the Unix epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** The signed body and the requester's signature: evidence for the exchange receipt. */
  readonly evidence: SignedPart;
}

/** A request that openExchangeRequest verified, with the requester's bundle it was verified under. */
export interface ReceivedExchangeRequest extends ExchangeRequest {
  readonly requesterBundle: PublicKeyBundle;
}

export interface CreateExchangeRequestInput {
  requester: OrganisationKeys;
  /** The custodian's ledger id and its public bundle, as committed in the registry. */
  custodian: { organisation: OrganisationId; bundle: PublicKeyBundle };
  /** member: ledger address; licence: the licence's credentialHash on the ledger (0x, 32 bytes). */
  practitioner: { member: string; licence: string; displayName?: string };
  /** The patient's ledger pseudonym (0x, 32 bytes). */
  patient: string;
  purpose: number;
  categories: readonly DataCategory[];
  since?: number;
  /** The on-chain break-glass session the practitioner opened, for emergency access. */
  breakGlass?: number;
  /** 16 random bytes; drawn from the platform CSPRNG when absent. Supply one only to make tests repeatable. */
  nonce?: Uint8Array;
  /** Seconds; defaults to now. */
  issuedAt?: number;
  /** Seconds; defaults to issuedAt + 60, at most issuedAt + 300. */
  expiresAt?: number;
}

export interface OpenExchangeRequestOptions {
  custodian: OrganisationKeys;
  /**
   * The requester's public bundle as committed in the registry (the node compares publicBundleCommitment with
   * the organisation's keyBundleHash), or undefined if the organisation is unknown.
   */
  resolveRequesterBundle: (
    organisation: OrganisationId,
  ) => PublicKeyBundle | undefined | Promise<PublicKeyBundle | undefined>;
  /** The custodian's clock, seconds since the Unix epoch. */
  now: number;
  /**
   * Called once per authentic, in-window request: true if `requestId` was not seen before, in which case the
   * node must remember it (at least until `expiresAt`) before answering true. Must be atomic across workers.
   */
  replay: (requestId: ExchangeRequestId, expiresAt: number) => boolean | Promise<boolean>;
  /** Accepted lead of issuedAt over `now` (default 30 s, at most 300 s). */
  clockSkewSeconds?: number;
}

const received = new WeakSet<object>();

/** True iff `request` came out of openExchangeRequest in this process (so its signature was verified). */
export function isReceivedExchangeRequest(request: unknown): request is ReceivedExchangeRequest {
  return typeof request === 'object' && request !== null && received.has(request);
}

type RequestBody = Omit<ExchangeRequest, 'id' | 'evidence'>;

function bodyJson(b: RequestBody): Record<string, unknown> {
  return {
    format: EXCHANGE_REQUEST_FORMAT,
    requester: { organisation: b.requester.organisation, keyId: b.requester.keyId },
    custodian: { organisation: b.custodian.organisation, keyId: b.custodian.keyId },
    practitioner: {
      member: b.practitioner.member,
      licence: b.practitioner.licence,
      ...(b.practitioner.displayName === undefined ? {} : { displayName: b.practitioner.displayName }),
    },
    patient: b.patient,
    purpose: b.purpose,
    categories: [...b.categories],
    ...(b.since === undefined ? {} : { since: b.since }),
    ...(b.breakGlass === undefined ? {} : { breakGlass: b.breakGlass }),
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

/** Parses and validates a signed request body (strict: canonical JSON, exact members, canonical spellings). */
export function parseRequestBody(bytes: Uint8Array): RequestBody {
  if (bytes.length > EXCHANGE_LIMITS.maxRequestBodyBytes) throw badInput('request body is too large');
  const o = objectWith(
    parseCanonicalJson(bytes, 'request body'),
    'request',
    [
      'format',
      'requester',
      'custodian',
      'practitioner',
      'patient',
      'purpose',
      'categories',
      'nonce',
      'issuedAt',
      'expiresAt',
    ],
    ['since', 'breakGlass'],
  );
  if (o.format !== EXCHANGE_REQUEST_FORMAT) throw badInput('request format is not supported');
  const requester = checkParty(o.requester, 'request.requester');
  const custodian = checkParty(o.custodian, 'request.custodian');
  if (requester.organisation === custodian.organisation) throw badInput('request is addressed to its sender');
  const p = objectWith(o.practitioner, 'request.practitioner', ['member', 'licence'], ['displayName']);
  const practitioner: Practitioner = Object.freeze({
    member: checkCanonicalHex(p.member, 'request.practitioner.member', normaliseMemberAddress),
    licence: checkCanonicalHex(p.licence, 'request.practitioner.licence', normaliseBytes32),
    ...(p.displayName === undefined
      ? {}
      : { displayName: checkDisplayName(p.displayName, 'request.practitioner.displayName') }),
  });
  const issuedAt = checkSeconds(o.issuedAt, 'request.issuedAt');
  const expiresAt = checkSeconds(o.expiresAt, 'request.expiresAt');
  checkWindow(issuedAt, expiresAt);
  return {
    requester: Object.freeze(requester),
    custodian: Object.freeze(custodian),
    practitioner,
    patient: checkCanonicalHex(o.patient, 'request.patient', normaliseBytes32),
    purpose: checkPurpose(o.purpose, 'request.purpose'),
    categories: checkCategories(o.categories, 'request.categories', true),
    ...(o.since === undefined ? {} : { since: checkSeconds(o.since, 'request.since') }),
    ...(o.breakGlass === undefined ? {} : { breakGlass: checkSessionId(o.breakGlass, 'request.breakGlass') }),
    nonce: checkHex(o.nonce, 'request.nonce', NONCE_BYTES),
    issuedAt,
    expiresAt,
  };
}

/** The id of a request: lower-case hex SHA-256 of its signed body. */
export function exchangeRequestId(body: Uint8Array): ExchangeRequestId {
  return bytesToHex(sha256(body)) as ExchangeRequestId;
}

function freezeRequest(body: RequestBody, evidence: SignedPart): ExchangeRequest {
  return Object.freeze({
    ...body,
    id: exchangeRequestId(evidence.signed),
    evidence: Object.freeze({ signed: evidence.signed, signature: evidence.signature }),
  });
}

/**
 * Builds, signs and seals a request. Returns the bytes to send and the request (keep it: openExchangeResponse
 * needs it, and the receipt needs its evidence). Costs one ML-DSA signature and one X-Wing encapsulation.
 */
export function createExchangeRequest(input: CreateExchangeRequestInput): {
  bytes: Uint8Array;
  request: ExchangeRequest;
} {
  const requester = checkOrganisationKeys(input.requester, 'requester');
  const { custodian } = input;
  const custodianOrg = checkOrganisationId(custodian?.organisation, 'custodian.organisation');
  if (!custodian.bundle || custodian.bundle.kemPublicKey?.length === undefined) {
    throw badInput('custodian.bundle must be a decoded public key bundle');
  }
  const issuedAt = checkSeconds(input.issuedAt ?? Math.floor(Date.now() / 1000), 'issuedAt');
  const expiresAt = checkSeconds(
    input.expiresAt ?? issuedAt + EXCHANGE_LIMITS.defaultRequestLifetimeSeconds,
    'expiresAt',
  );
  checkWindow(issuedAt, expiresAt);
  const nonce = input.nonce ?? globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES)
    throw badInput('nonce must be 16 bytes');
  if (custodianOrg === requester.organisation) throw badInput('request is addressed to its sender');
  const body: RequestBody = {
    requester: { organisation: requester.organisation, keyId: requester.keyId },
    custodian: { organisation: custodianOrg, keyId: custodian.bundle.keyId },
    practitioner: {
      member: normaliseMemberAddress(input.practitioner?.member, 'practitioner.member'),
      licence: normaliseBytes32(input.practitioner?.licence, 'practitioner.licence'),
      ...(input.practitioner.displayName === undefined
        ? {}
        : { displayName: checkDisplayName(input.practitioner.displayName, 'practitioner.displayName') }),
    },
    patient: normaliseBytes32(input.patient, 'patient'),
    purpose: checkPurpose(input.purpose, 'purpose'),
    categories: checkCategories(input.categories, 'categories', false),
    ...(input.since === undefined ? {} : { since: checkSeconds(input.since, 'since') }),
    ...(input.breakGlass === undefined ? {} : { breakGlass: checkSessionId(input.breakGlass, 'breakGlass') }),
    nonce: bytesToHex(nonce),
    issuedAt,
    expiresAt,
  };
  const signed = encodeCanonicalJson(bodyJson(body));
  if (signed.length > EXCHANGE_LIMITS.maxRequestBodyBytes) throw badInput('request body is too large');
  const signature = requester.sign(signed, EXCHANGE_SIGNATURE_CONTEXTS.request);
  const plaintext = pad(
    new BinaryWriter().bytes(signed).bytes(signature).finish(),
    EXCHANGE_LIMITS.requestPaddedBytes,
    EXCHANGE_LIMITS.requestPaddedBytes,
  );
  const bytes = sealExchangeEnvelope(
    EnvelopeType.ExchangeRequest,
    requester.organisation,
    { organisation: custodianOrg, bundle: custodian.bundle },
    HPKE_INFO,
    NO_EXTRA_AAD,
    plaintext,
  );
  return { bytes, request: freezeRequest(parseRequestBody(signed), { signed, signature }) };
}

/** Splits a signed part (body ‖ fixed-length composite signature). */
function splitSigned(content: Uint8Array): SignedPart {
  if (content.length <= COMPOSITE_SIGNATURE.signatureLength) throw badInput('exchange request is truncated');
  const cut = content.length - COMPOSITE_SIGNATURE.signatureLength;
  return { signed: content.slice(0, cut), signature: content.slice(cut) };
}

/**
 * Opens and verifies a request addressed to `custodian`. Throws MDL_BAD_INPUT (malformed), MDL_UNSUPPORTED
 * (newer format), MDL_INVALID_CREDENTIAL (not for us, does not decrypt, unknown requester, bad signature,
 * re-addressed — one message for all) or MDL_REPLAY (expired, not yet valid, seen before). Work before the
 * signature check is bounded (fixed size, one X-Wing decapsulation); `replay` is consulted only for authentic,
 * in-window requests, so forgeries cannot fill the node's replay store.
 */
export async function openExchangeRequest(
  bytes: Uint8Array,
  options: OpenExchangeRequestOptions,
): Promise<ReceivedExchangeRequest> {
  const custodian = checkOrganisationKeys(options.custodian, 'custodian');
  const now = checkSeconds(options.now, 'now');
  const skew = options.clockSkewSeconds ?? EXCHANGE_LIMITS.defaultClockSkewSeconds;
  if (!Number.isInteger(skew) || skew < 0 || skew > EXCHANGE_LIMITS.maxClockSkewSeconds) {
    throw badInput('clockSkewSeconds must be an integer from 0 to 300');
  }
  const parsed = readExchangeEnvelope(bytes, EnvelopeType.ExchangeRequest);
  if (parsed.ciphertext.length !== EXCHANGE_LIMITS.requestPaddedBytes + 16) {
    throw badInput('exchange request has the wrong size');
  }
  const { header } = parsed;
  if (header.recipient !== custodian.organisation || header.recipientKeyId !== custodian.keyId) {
    throw refused('request');
  }
  const plaintext = openExchangeEnvelope(parsed, custodian.decapsulationKey, HPKE_INFO, NO_EXTRA_AAD);
  if (!plaintext) throw refused('request');
  const { signed, signature } = splitSigned(
    unpad(plaintext, EXCHANGE_LIMITS.requestPaddedBytes, EXCHANGE_LIMITS.requestPaddedBytes),
  );
  if (header.sender === 0) throw refused('request');
  const requesterBundle = await options.resolveRequesterBundle(header.sender);
  if (
    !requesterBundle ||
    !compositeVerify(requesterBundle.signingPublicKey, signed, signature, EXCHANGE_SIGNATURE_CONTEXTS.request)
  ) {
    throw refused('request');
  }
  const body = parseRequestBody(signed);
  // The signature covers both parties; they must be the ones on the envelope, the one whose bundle verified,
  // and us — otherwise this is a genuine request for someone else, forwarded or re-addressed.
  if (
    body.requester.organisation !== header.sender ||
    body.requester.keyId !== requesterBundle.keyId ||
    body.custodian.organisation !== custodian.organisation ||
    body.custodian.keyId !== custodian.keyId
  ) {
    throw refused('request');
  }
  if (now >= body.expiresAt || body.issuedAt > now + skew) throw replayRefused();
  const request = freezeRequest(body, { signed, signature });
  if ((await options.replay(request.id, request.expiresAt)) !== true) throw replayRefused();
  const out: ReceivedExchangeRequest = Object.freeze({ ...request, requesterBundle });
  received.add(out);
  return out;
}
