/**
 * Workflow messages: a generic sealed request/response between two organisations' nodes for workflow calls
 * that are not record releases — e.g. a pharmacy asking a patient's insurer whether a drug is covered
 * (`kind` "coverage-eligibility", a FHIR CoverageEligibilityRequest in, a CoverageEligibilityResponse out).
 *
 * Built exactly like the record exchange (docs/exchange.md) and from its parts: an RFC 8785 canonical JSON
 * body (formats "medledger.exchange.workflow-request/1" and "medledger.exchange.workflow-response/1") signed
 * with the sending organisation's composite ML-DSA-65 + Ed25519 key under the workflow's own signature
 * contexts, padded into power-of-two size buckets and HPKE-sealed (X-Wing) to the recipient's registered
 * bundle in envelope types 07 (request) and 08 (response). A request carries a nonce and a validity window and
 * is replay-checked through the node's store; its id is the SHA-256 of its signed body, and a response is bound
 * to it twice (the id is HPKE associated data and a member of the signed response).
 *
 * What this module checks: envelope, signatures under the bundles the node resolves, parties, window, replay,
 * kind and size. What the node must decide: whether the sender may make this call at all (an active member
 * organisation; the handler for the kind; consent) — this module knows nothing about payloads but that they
 * are JSON objects with a `resourceType`.
 *
 * Limits: one payload per message, at most WORKFLOW_LIMITS.maxBodyBytes of canonical JSON; no streaming; the
 * receipt machinery of the record exchange is not used (the audit logs keep the request id).
 */
import {
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
import {
  EXCHANGE_ENVELOPE_OVERHEAD,
  openExchangeEnvelope,
  readExchangeEnvelope,
  sealExchangeEnvelope,
} from './exchangeEnvelope.js';
import {
  badInput,
  checkHex,
  checkOrganisationId,
  checkParty,
  checkRequestId,
  checkSeconds,
  type ExchangeRequestId,
  type OrganisationId,
  objectWith,
  type PartyRef,
  type SignedPart,
} from './exchangeFields.js';
import { EXCHANGE_LIMITS } from './limits.js';
import {
  checkOrganisationKeys,
  EXCHANGE_SIGNATURE_CONTEXTS,
  type ExchangeSignatureContext,
  type OrganisationKeys,
} from './OrganisationKeys.js';
import { pad, unpad } from './padding.js';
import { refused, replayRefused } from './refusal.js';

export const WORKFLOW_REQUEST_FORMAT = 'medledger.exchange.workflow-request/1';
export const WORKFLOW_RESPONSE_FORMAT = 'medledger.exchange.workflow-response/1';
const REQUEST_INFO = utf8ToBytes('medledger/exchange-workflow-request/v1/seal');
const RESPONSE_INFO = utf8ToBytes('medledger/exchange-workflow-response/v1/seal');
const NONCE_BYTES = 16;
const NO_EXTRA_AAD = new Uint8Array(0);

export const WORKFLOW_LIMITS = Object.freeze({
  /** Smallest padded plaintext: every small message (an eligibility request, an error) has one size. */
  minPaddedBytes: 8192,
  /** Largest padded plaintext of either direction (a power of two). */
  maxPaddedBytes: 64 * 1024,
  /** The canonical JSON body: it must fit the largest bucket with its length prefix and signature. */
  maxBodyBytes: 64 * 1024 - 4 - COMPOSITE_SIGNATURE.signatureLength,
  defaultLifetimeSeconds: EXCHANGE_LIMITS.defaultRequestLifetimeSeconds,
  maxLifetimeSeconds: EXCHANGE_LIMITS.maxRequestLifetimeSeconds,
  defaultClockSkewSeconds: EXCHANGE_LIMITS.defaultClockSkewSeconds,
});

/** A workflow's name: lower-case words joined by hyphens, e.g. "coverage-eligibility". */
export type WorkflowKind = string;
/** A JSON object with a `resourceType` (a FHIR resource); checked to be canonical JSON when signed. */
export type WorkflowPayload = Record<string, unknown> & { resourceType: string };
/** `ok` carries the answer's payload; `error` carries none and no reason (the same for every refusal). */
export type WorkflowStatus = 'ok' | 'error';

export interface WorkflowRequest {
  /** SHA-256 of the signed body (hex): replay key, the response's binding and the audit handle. */
  readonly id: ExchangeRequestId;
  readonly kind: WorkflowKind;
  readonly requester: PartyRef;
  readonly recipient: PartyRef;
  readonly payload: WorkflowPayload;
  readonly nonce: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly evidence: SignedPart;
}

/** A request openWorkflowRequest verified, with the requester's bundle it was verified under. */
export interface ReceivedWorkflowRequest extends WorkflowRequest {
  readonly requesterBundle: PublicKeyBundle;
}

export interface WorkflowResponse {
  readonly requestId: ExchangeRequestId;
  readonly kind: WorkflowKind;
  readonly requester: PartyRef;
  readonly recipient: PartyRef;
  readonly status: WorkflowStatus;
  readonly issuedAt: number;
  /** Present exactly when status is `ok`. */
  readonly payload?: WorkflowPayload;
  readonly evidence: SignedPart;
}

export interface CreateWorkflowRequestInput {
  requester: OrganisationKeys;
  /** The recipient's ledger id and its public bundle, as committed in the registry. */
  recipient: { organisation: OrganisationId; bundle: PublicKeyBundle };
  kind: WorkflowKind;
  payload: WorkflowPayload;
  /** 16 random bytes; drawn from the platform CSPRNG when absent (give one only to make tests repeatable). */
  nonce?: Uint8Array;
  /** Seconds; default now. */
  issuedAt?: number;
  /** Seconds; default issuedAt + 60, at most issuedAt + 300. */
  expiresAt?: number;
}

export interface OpenWorkflowRequestOptions {
  recipient: OrganisationKeys;
  /** The sender's public bundle as committed in the registry, or undefined if it is unknown. */
  resolveRequesterBundle: (
    organisation: OrganisationId,
  ) => PublicKeyBundle | undefined | Promise<PublicKeyBundle | undefined>;
  /** The recipient's clock, seconds. */
  now: number;
  /** True iff `requestId` is new (and now remembered until at least `expiresAt`); atomic across workers. */
  replay: (requestId: ExchangeRequestId, expiresAt: number) => boolean | Promise<boolean>;
  /** Accepted lead of issuedAt over `now` (default 30 s, at most 300 s). */
  clockSkewSeconds?: number;
}

export interface CreateWorkflowResponseInput {
  request: ReceivedWorkflowRequest;
  recipient: OrganisationKeys;
  status: WorkflowStatus;
  /** Required with `ok`, refused with `error`. */
  payload?: WorkflowPayload;
  /** Seconds; default now. */
  issuedAt?: number;
}

export interface OpenWorkflowResponseOptions {
  requester: OrganisationKeys;
  /** The request this answers (as createWorkflowRequest returned it). */
  request: WorkflowRequest;
  /** The recipient's bundle the request was sealed to. */
  recipientBundle: PublicKeyBundle;
}

const received = new WeakSet<object>();

/** True iff `request` came out of openWorkflowRequest in this process (its signature was verified). */
export function isReceivedWorkflowRequest(request: unknown): request is ReceivedWorkflowRequest {
  return typeof request === 'object' && request !== null && received.has(request);
}

function checkKind(value: unknown, what: string): WorkflowKind {
  if (typeof value !== 'string' || !/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(value) || value.length > 64) {
    throw badInput(`${what} must be a workflow kind (lower-case words joined by hyphens, ≤ 64 characters)`);
  }
  return value;
}

function checkPayload(value: unknown, what: string): WorkflowPayload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badInput(`${what} must be a JSON object`);
  }
  const type = (value as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !/^[A-Z][A-Za-z]{1,63}$/.test(type)) {
    throw badInput(`${what} must be a FHIR resource (resourceType)`);
  }
  return value as WorkflowPayload;
}

function checkWindow(issuedAt: number, expiresAt: number): void {
  if (expiresAt <= issuedAt) throw badInput('workflow request expiresAt must be after issuedAt');
  if (expiresAt - issuedAt > WORKFLOW_LIMITS.maxLifetimeSeconds) {
    throw badInput(`workflow request lifetime must be at most ${WORKFLOW_LIMITS.maxLifetimeSeconds} s`);
  }
}

/** Canonical bytes of `body`; MDL_BAD_INPUT when it cannot be canonicalised or is over the size limit. */
function encodeBody(body: Record<string, unknown>): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = encodeCanonicalJson(body);
  } catch {
    throw badInput('workflow payload is not representable as canonical JSON');
  }
  if (bytes.length > WORKFLOW_LIMITS.maxBodyBytes) {
    throw badInput(`workflow message exceeds the size limit of ${WORKFLOW_LIMITS.maxBodyBytes} bytes`);
  }
  return bytes;
}

function signAndPad(
  keys: OrganisationKeys,
  signed: Uint8Array,
  context: ExchangeSignatureContext,
): Uint8Array {
  const signature = keys.sign(signed, context);
  return pad(
    new BinaryWriter().bytes(signed).bytes(signature).finish(),
    WORKFLOW_LIMITS.minPaddedBytes,
    WORKFLOW_LIMITS.maxPaddedBytes,
  );
}

/** Splits a padded plaintext's content into body and composite signature. */
function splitSigned(content: Uint8Array, kind: 'request' | 'response'): SignedPart {
  if (content.length <= COMPOSITE_SIGNATURE.signatureLength) throw badInput(`workflow ${kind} is truncated`);
  const cut = content.length - COMPOSITE_SIGNATURE.signatureLength;
  return { signed: content.slice(0, cut), signature: content.slice(cut) };
}

/** The padded length of a sealed message of either direction, checked before any decryption. */
function checkSealedSize(ciphertextLength: number, kind: 'request' | 'response'): void {
  const padded = ciphertextLength - 16;
  if (
    padded < WORKFLOW_LIMITS.minPaddedBytes ||
    padded > WORKFLOW_LIMITS.maxPaddedBytes ||
    (padded & (padded - 1)) !== 0
  ) {
    throw badInput(
      `workflow ${kind} exceeds the size limit of ${WORKFLOW_LIMITS.maxPaddedBytes + EXCHANGE_ENVELOPE_OVERHEAD} bytes or is malformed`,
    );
  }
}

type RequestBody = Omit<WorkflowRequest, 'id' | 'evidence'>;

function requestJson(b: RequestBody): Record<string, unknown> {
  return {
    format: WORKFLOW_REQUEST_FORMAT,
    kind: b.kind,
    requester: { organisation: b.requester.organisation, keyId: b.requester.keyId },
    recipient: { organisation: b.recipient.organisation, keyId: b.recipient.keyId },
    payload: b.payload,
    nonce: b.nonce,
    issuedAt: b.issuedAt,
    expiresAt: b.expiresAt,
  };
}

function parseRequestBody(bytes: Uint8Array): RequestBody {
  const o = objectWith(parseCanonicalJson(bytes, 'workflow request body'), 'workflow request', [
    'format',
    'kind',
    'requester',
    'recipient',
    'payload',
    'nonce',
    'issuedAt',
    'expiresAt',
  ]);
  if (o.format !== WORKFLOW_REQUEST_FORMAT) throw badInput('workflow request format is not supported');
  const requester = checkParty(o.requester, 'workflow request.requester');
  const recipient = checkParty(o.recipient, 'workflow request.recipient');
  if (requester.organisation === recipient.organisation)
    throw badInput('workflow request is addressed to its sender');
  const issuedAt = checkSeconds(o.issuedAt, 'workflow request.issuedAt');
  const expiresAt = checkSeconds(o.expiresAt, 'workflow request.expiresAt');
  checkWindow(issuedAt, expiresAt);
  return {
    kind: checkKind(o.kind, 'workflow request.kind'),
    requester: Object.freeze(requester),
    recipient: Object.freeze(recipient),
    payload: checkPayload(o.payload, 'workflow request.payload'),
    nonce: checkHex(o.nonce, 'workflow request.nonce', NONCE_BYTES),
    issuedAt,
    expiresAt,
  };
}

function requestIdOf(signed: Uint8Array): ExchangeRequestId {
  return bytesToHex(sha256(signed)) as ExchangeRequestId;
}

/**
 * Builds, signs, pads and seals a workflow request. Keep `request`: openWorkflowResponse needs it. Costs one
 * ML-DSA signature and one X-Wing encapsulation.
 */
export function createWorkflowRequest(input: CreateWorkflowRequestInput): {
  bytes: Uint8Array;
  request: WorkflowRequest;
} {
  const requester = checkOrganisationKeys(input.requester, 'requester');
  const recipientOrg = checkOrganisationId(input.recipient?.organisation, 'recipient.organisation');
  const bundle = input.recipient.bundle;
  if (!bundle || bundle.kemPublicKey?.length === undefined) {
    throw badInput('recipient.bundle must be a decoded public key bundle');
  }
  if (recipientOrg === requester.organisation) throw badInput('workflow request is addressed to its sender');
  const issuedAt = checkSeconds(input.issuedAt ?? Math.floor(Date.now() / 1000), 'issuedAt');
  const expiresAt = checkSeconds(
    input.expiresAt ?? issuedAt + WORKFLOW_LIMITS.defaultLifetimeSeconds,
    'expiresAt',
  );
  checkWindow(issuedAt, expiresAt);
  const nonce = input.nonce ?? globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES)
    throw badInput('nonce must be 16 bytes');
  const body: RequestBody = {
    kind: checkKind(input.kind, 'kind'),
    requester: { organisation: requester.organisation, keyId: requester.keyId },
    recipient: { organisation: recipientOrg, keyId: bundle.keyId },
    payload: checkPayload(input.payload, 'payload'),
    nonce: bytesToHex(nonce),
    issuedAt,
    expiresAt,
  };
  const signed = encodeBody(requestJson(body));
  const padded = signAndPad(requester, signed, EXCHANGE_SIGNATURE_CONTEXTS.workflowRequest);
  const bytes = sealExchangeEnvelope(
    EnvelopeType.WorkflowRequest,
    requester.organisation,
    { organisation: recipientOrg, bundle },
    REQUEST_INFO,
    NO_EXTRA_AAD,
    padded,
  );
  const parsed = parseRequestBody(signed); // the payload as the recipient will see it (a JSON round trip)
  const signature = padded.subarray(
    4 + signed.length,
    4 + signed.length + COMPOSITE_SIGNATURE.signatureLength,
  );
  return {
    bytes,
    request: Object.freeze({
      ...parsed,
      id: requestIdOf(signed),
      evidence: Object.freeze({ signed, signature: signature.slice() }),
    }),
  };
}

/**
 * Opens and verifies a workflow request addressed to `recipient`, in the record exchange's order: envelope and
 * size (MDL_BAD_INPUT / MDL_UNSUPPORTED), addressing and decryption, the sender's signature under its
 * registered bundle, the body, that the parties inside are the envelope's and us (MDL_INVALID_CREDENTIAL, one
 * message for all), then the window and the replay store (MDL_REPLAY, one message for both). `replay` is
 * consulted only for authentic, in-window requests. The kind is not judged here: the node answers an unknown
 * kind with a sealed error.
 */
export async function openWorkflowRequest(
  bytes: Uint8Array,
  options: OpenWorkflowRequestOptions,
): Promise<ReceivedWorkflowRequest> {
  const recipient = checkOrganisationKeys(options.recipient, 'recipient');
  const now = checkSeconds(options.now, 'now');
  const skew = options.clockSkewSeconds ?? WORKFLOW_LIMITS.defaultClockSkewSeconds;
  if (!Number.isInteger(skew) || skew < 0 || skew > EXCHANGE_LIMITS.maxClockSkewSeconds) {
    throw badInput('clockSkewSeconds must be an integer from 0 to 300');
  }
  const parsed = readExchangeEnvelope(bytes, EnvelopeType.WorkflowRequest);
  checkSealedSize(parsed.ciphertext.length, 'request');
  const { header } = parsed;
  if (header.recipient !== recipient.organisation || header.recipientKeyId !== recipient.keyId) {
    throw refused('request');
  }
  const plaintext = openExchangeEnvelope(parsed, recipient.decapsulationKey, REQUEST_INFO, NO_EXTRA_AAD);
  if (!plaintext) throw refused('request');
  const { signed, signature } = splitSigned(
    unpad(plaintext, WORKFLOW_LIMITS.minPaddedBytes, WORKFLOW_LIMITS.maxPaddedBytes),
    'request',
  );
  if (header.sender === 0) throw refused('request');
  const bundle = await options.resolveRequesterBundle(header.sender);
  if (
    !bundle ||
    !compositeVerify(bundle.signingPublicKey, signed, signature, EXCHANGE_SIGNATURE_CONTEXTS.workflowRequest)
  ) {
    throw refused('request');
  }
  const body = parseRequestBody(signed);
  if (
    body.requester.organisation !== header.sender ||
    body.requester.keyId !== bundle.keyId ||
    body.recipient.organisation !== recipient.organisation ||
    body.recipient.keyId !== recipient.keyId
  ) {
    throw refused('request');
  }
  if (now >= body.expiresAt || body.issuedAt > now + skew) throw replayRefused();
  const id = requestIdOf(signed);
  if ((await options.replay(id, body.expiresAt)) !== true) throw replayRefused();
  const out: ReceivedWorkflowRequest = Object.freeze({
    ...body,
    id,
    evidence: Object.freeze({ signed, signature }),
    requesterBundle: bundle,
  });
  received.add(out);
  return out;
}

type ResponseBody = Omit<WorkflowResponse, 'evidence'>;

function responseJson(b: ResponseBody): Record<string, unknown> {
  return {
    format: WORKFLOW_RESPONSE_FORMAT,
    requestId: b.requestId,
    kind: b.kind,
    requester: { organisation: b.requester.organisation, keyId: b.requester.keyId },
    recipient: { organisation: b.recipient.organisation, keyId: b.recipient.keyId },
    status: b.status,
    issuedAt: b.issuedAt,
    ...(b.payload === undefined ? {} : { payload: b.payload }),
  };
}

function parseResponseBody(bytes: Uint8Array): ResponseBody {
  const o = objectWith(
    parseCanonicalJson(bytes, 'workflow response body'),
    'workflow response',
    ['format', 'requestId', 'kind', 'requester', 'recipient', 'status', 'issuedAt'],
    ['payload'],
  );
  if (o.format !== WORKFLOW_RESPONSE_FORMAT) throw badInput('workflow response format is not supported');
  if (o.status !== 'ok' && o.status !== 'error')
    throw badInput('workflow response.status must be ok or error');
  if ((o.status === 'ok') !== (o.payload !== undefined)) {
    throw badInput('workflow response carries a payload exactly when its status is ok');
  }
  return {
    requestId: checkRequestId(o.requestId, 'workflow response.requestId'),
    kind: checkKind(o.kind, 'workflow response.kind'),
    requester: Object.freeze(checkParty(o.requester, 'workflow response.requester')),
    recipient: Object.freeze(checkParty(o.recipient, 'workflow response.recipient')),
    status: o.status,
    issuedAt: checkSeconds(o.issuedAt, 'workflow response.issuedAt'),
    ...(o.payload === undefined ? {} : { payload: checkPayload(o.payload, 'workflow response.payload') }),
  };
}

/**
 * Answers a verified request: `ok` with a payload, or `error` with none — use `error` for every refusal after
 * the request verified (unknown kind, a sender the node does not serve, a handler's refusal), so the requester
 * cannot tell them apart. Signed and sealed to the requester with the request id bound; MDL_BAD_INPUT when the
 * answer is over WORKFLOW_LIMITS.
 */
export function createWorkflowResponse(input: CreateWorkflowResponseInput): {
  bytes: Uint8Array;
  response: WorkflowResponse;
} {
  const { request } = input;
  const recipient = checkOrganisationKeys(input.recipient, 'recipient');
  if (!isReceivedWorkflowRequest(request)) {
    throw badInput('request must be a workflow request opened by openWorkflowRequest');
  }
  if (
    request.recipient.organisation !== recipient.organisation ||
    request.recipient.keyId !== recipient.keyId
  ) {
    throw badInput('request was not addressed to these keys');
  }
  if (input.status !== 'ok' && input.status !== 'error') throw badInput('status must be ok or error');
  if ((input.status === 'ok') !== (input.payload !== undefined)) {
    throw badInput('a workflow response carries a payload exactly when its status is ok');
  }
  const body: ResponseBody = {
    requestId: request.id,
    kind: request.kind,
    requester: request.requester,
    recipient: request.recipient,
    status: input.status,
    issuedAt: checkSeconds(input.issuedAt ?? Math.floor(Date.now() / 1000), 'issuedAt'),
    ...(input.payload === undefined ? {} : { payload: checkPayload(input.payload, 'payload') }),
  };
  const signed = encodeBody(responseJson(body));
  const padded = signAndPad(recipient, signed, EXCHANGE_SIGNATURE_CONTEXTS.workflowResponse);
  const bytes = sealExchangeEnvelope(
    EnvelopeType.WorkflowResponse,
    recipient.organisation,
    { organisation: request.requester.organisation, bundle: request.requesterBundle },
    RESPONSE_INFO,
    hexToBytes(request.id),
    padded,
  );
  const signature = padded.subarray(
    4 + signed.length,
    4 + signed.length + COMPOSITE_SIGNATURE.signatureLength,
  );
  return {
    bytes,
    response: Object.freeze({
      ...parseResponseBody(signed),
      evidence: Object.freeze({ signed, signature: signature.slice() }),
    }),
  };
}

function sameParty(a: PartyRef, b: PartyRef): boolean {
  return a.organisation === b.organisation && a.keyId === b.keyId;
}

/**
 * Opens and verifies the answer to `request`: size before decryption (MDL_BAD_INPUT), then addressing, HPKE
 * with the request id bound, the recipient's signature, and that the answer names this request, its kind and
 * both parties — anything else is MDL_INVALID_CREDENTIAL with one fixed message.
 */
export function openWorkflowResponse(
  bytes: Uint8Array,
  options: OpenWorkflowResponseOptions,
): WorkflowResponse {
  const requester = checkOrganisationKeys(options.requester, 'requester');
  const { request, recipientBundle } = options;
  if (!sameParty(request?.requester ?? ({} as PartyRef), requester)) {
    throw badInput('request was not made with these requester keys');
  }
  if (recipientBundle?.keyId !== request.recipient.keyId) {
    throw badInput('recipientBundle is not the bundle the request was sealed to');
  }
  const parsed = readExchangeEnvelope(bytes, EnvelopeType.WorkflowResponse);
  checkSealedSize(parsed.ciphertext.length, 'response');
  const { header } = parsed;
  if (
    header.recipient !== requester.organisation ||
    header.recipientKeyId !== requester.keyId ||
    header.sender !== request.recipient.organisation
  ) {
    throw refused('response');
  }
  const plaintext = openExchangeEnvelope(
    parsed,
    requester.decapsulationKey,
    RESPONSE_INFO,
    hexToBytes(request.id),
  );
  if (!plaintext) throw refused('response');
  const { signed, signature } = splitSigned(
    unpad(plaintext, WORKFLOW_LIMITS.minPaddedBytes, WORKFLOW_LIMITS.maxPaddedBytes),
    'response',
  );
  if (
    !compositeVerify(
      recipientBundle.signingPublicKey,
      signed,
      signature,
      EXCHANGE_SIGNATURE_CONTEXTS.workflowResponse,
    )
  ) {
    throw refused('response');
  }
  const body = parseResponseBody(signed);
  if (
    body.requestId !== request.id ||
    body.kind !== request.kind ||
    !sameParty(body.requester, request.requester) ||
    !sameParty(body.recipient, request.recipient)
  ) {
    throw refused('response');
  }
  return Object.freeze({ ...body, evidence: Object.freeze({ signed, signature }) });
}
