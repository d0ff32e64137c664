/**
 * Exchange receipts: what each node keeps of an exchange, so that "both nodes record the exchange" and the
 * audit log can commit to it. A receipt is the two signed halves of the exchange — the requester's signed
 * request body and the custodian's signed response manifest — in one envelope (type 06):
 *
 *   "MDL" ‖ 01 ‖ 06 ‖ u32 len ‖ request body ‖ request signature [3373] ‖ u32 len ‖ manifest ‖
 *   manifest signature [3373]
 *
 * Each node can build it (the custodian after answering, the requester after opening the answer), and both
 * build the same bytes, so both audit logs commit to the same receipt id (SHA-256 of the receipt) and an
 * auditor can match the two sides' entries. It is signed twice over by the two parties, not by the node that
 * keeps it: a keeper's own signature would add nothing to what its audit log's signed checkpoints already
 * prove, and would cost each side one more ML-DSA signature per exchange. It holds no record content — only
 * pseudonyms, the practitioner, the purpose, categories and record CIDs — about 7.5 KiB plus ~100 bytes a record.
 *
 * Verification re-derives every field from the signed evidence; nothing in the summary is taken on trust.
 */
import type { Brand } from '@medledger/core';
import { type DataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import {
  BinaryReader,
  BinaryWriter,
  bytesToHex,
  COMPOSITE_SIGNATURE,
  compositeVerify,
  EnvelopeType,
  type KeyId,
  type PublicKeyBundle,
  sha256,
} from '@medledger/crypto';
import {
  type Bytes32Hex,
  badInput,
  type ExchangeRequestId,
  type OrganisationId,
  type PartyRef,
  type Practitioner,
} from './exchangeFields.js';
import { type ExchangeRequest, exchangeRequestId, parseRequestBody } from './exchangeRequest.js';
import {
  type ExchangeResponse,
  type ExchangeResponseManifest,
  type ExchangeStatus,
  parseResponseManifest,
  type ReleasedRecordRef,
} from './exchangeResponse.js';
import { EXCHANGE_LIMITS } from './limits.js';
import { EXCHANGE_SIGNATURE_CONTEXTS } from './OrganisationKeys.js';
import { refused } from './refusal.js';

/** Lower-case hex SHA-256 of the receipt bytes: what an audit-log entry commits to. */
export type ExchangeReceiptId = Brand<string, 'ExchangeReceiptId'>;

/** The facts of one exchange, as both signatures vouch for them. */
export interface ExchangeReceipt {
  readonly receiptId: ExchangeReceiptId;
  readonly requestId: ExchangeRequestId;
  readonly requester: PartyRef;
  readonly custodian: PartyRef;
  readonly patient: Bytes32Hex;
  readonly practitioner: Practitioner;
  readonly purpose: number;
  /** Categories asked for. */
  readonly categories: readonly DataCategory[];
  readonly since?: number;
  readonly breakGlass?: number;
  /** Request issuedAt (requester's clock), seconds. */
  readonly requestedAt: number;
  /** Response issuedAt (custodian's clock), seconds. */
  readonly respondedAt: number;
  readonly outcome: ExchangeStatus;
  /** Category keys released (category, epoch). */
  readonly releasedKeys: readonly { readonly category: DataCategory; readonly epoch: number }[];
  readonly records: readonly ReleasedRecordRef[];
}

export interface VerifyExchangeReceiptOptions {
  /**
   * The public bundle an organisation had under `keyId` (the auditor's registry history), or undefined. A
   * receipt outlives key rotations, so the lookup is by key id, not "the current bundle".
   */
  resolveBundle: (
    organisation: OrganisationId,
    keyId: KeyId,
  ) => PublicKeyBundle | undefined | Promise<PublicKeyBundle | undefined>;
}

const MAGIC = [0x4d, 0x44, 0x4c] as const;

function summarise(
  bytes: Uint8Array,
  request: ReturnType<typeof parseRequestBody>,
  requestId: ExchangeRequestId,
  manifest: ExchangeResponseManifest,
): ExchangeReceipt {
  return Object.freeze({
    receiptId: bytesToHex(sha256(bytes)) as ExchangeReceiptId,
    requestId,
    requester: request.requester,
    custodian: request.custodian,
    patient: request.patient,
    practitioner: request.practitioner,
    purpose: request.purpose,
    categories: request.categories,
    ...(request.since === undefined ? {} : { since: request.since }),
    ...(request.breakGlass === undefined ? {} : { breakGlass: request.breakGlass }),
    requestedAt: request.issuedAt,
    respondedAt: manifest.issuedAt,
    outcome: manifest.status,
    releasedKeys: Object.freeze(
      manifest.categoryKeys.map((k) => Object.freeze({ category: k.category, epoch: k.epoch })),
    ),
    records: manifest.records,
  });
}

function bound(
  requestId: ExchangeRequestId,
  request: { requester: PartyRef; custodian: PartyRef },
  m: ExchangeResponseManifest,
) {
  const same = (a: PartyRef, b: PartyRef) => a.organisation === b.organisation && a.keyId === b.keyId;
  return (
    m.requestId === requestId && same(m.requester, request.requester) && same(m.custodian, request.custodian)
  );
}

/**
 * Builds the receipt of an exchange from the request and the response (the custodian: the request from
 * openExchangeRequest and the response it created; the requester: the request it created and the response from
 * openExchangeResponse). Both sides get the same bytes. MDL_BAD_INPUT if the two do not belong together.
 */
export function createExchangeReceipt(exchange: { request: ExchangeRequest; response: ExchangeResponse }): {
  bytes: Uint8Array;
  receipt: ExchangeReceipt;
} {
  const { request, response } = exchange;
  if (!bound(request.id, request, response)) throw badInput('response does not answer this request');
  const bytes = new BinaryWriter()
    .bytes(Uint8Array.from(MAGIC))
    .u8(1)
    .u8(EnvelopeType.ExchangeReceipt)
    .block(request.evidence.signed)
    .bytes(request.evidence.signature, COMPOSITE_SIGNATURE.signatureLength)
    .block(response.evidence.signed)
    .bytes(response.evidence.signature, COMPOSITE_SIGNATURE.signatureLength)
    .finish();
  return { bytes, receipt: summarise(bytes, request, request.id, response) };
}

async function verifiedBy(
  options: VerifyExchangeReceiptOptions,
  party: PartyRef,
  signed: Uint8Array,
  signature: Uint8Array,
  context: string,
): Promise<boolean> {
  const bundle = await options.resolveBundle(party.organisation, party.keyId);
  return (
    bundle !== undefined &&
    bundle.keyId === party.keyId &&
    compositeVerify(bundle.signingPublicKey, signed, signature, context)
  );
}

/**
 * Verifies a receipt: both signatures under the parties' bundles (resolved by key id), and that the response
 * answers the request. Returns the facts; throws MDL_BAD_INPUT (malformed), MDL_UNSUPPORTED (newer format) or
 * MDL_INVALID_CREDENTIAL (a signature or binding does not verify, an unknown key — one message for all).
 */
export async function verifyExchangeReceipt(
  bytes: Uint8Array,
  options: VerifyExchangeReceiptOptions,
): Promise<ExchangeReceipt> {
  if (!(bytes instanceof Uint8Array)) throw badInput('exchange receipt must be bytes');
  const r = new BinaryReader(bytes);
  const magic = r.bytes(3);
  if (magic[0] !== MAGIC[0] || magic[1] !== MAGIC[1] || magic[2] !== MAGIC[2]) {
    throw badInput('not a medledger envelope');
  }
  const version = r.u8();
  if (version !== 1)
    throw new MdlError(MdlErrorCode.Unsupported, `unsupported envelope format version ${version}`);
  const type = r.u8();
  if (type !== EnvelopeType.ExchangeReceipt) {
    throw badInput(`expected envelope type ${EnvelopeType.ExchangeReceipt}, got ${type}`);
  }
  const requestBody = r.block();
  const requestSignature = r.bytes(COMPOSITE_SIGNATURE.signatureLength);
  const manifestBytes = r.block();
  const manifestSignature = r.bytes(COMPOSITE_SIGNATURE.signatureLength);
  r.end();
  // Parse before verifying: the parties named inside say whose bundles to verify with. Parsing is strict and
  // bounded, and nothing parsed is trusted until both signatures verify.
  const request = parseRequestBody(requestBody);
  const manifest = parseResponseManifest(manifestBytes, EXCHANGE_LIMITS.maxRecordsCap);
  const requestId = exchangeRequestId(requestBody);
  if (!bound(requestId, request, manifest)) throw refused('receipt');
  const requesterOk = await verifiedBy(
    options,
    request.requester,
    requestBody,
    requestSignature,
    EXCHANGE_SIGNATURE_CONTEXTS.request,
  );
  const custodianOk = await verifiedBy(
    options,
    request.custodian,
    manifestBytes,
    manifestSignature,
    EXCHANGE_SIGNATURE_CONTEXTS.response,
  );
  if (!requesterOk || !custodianOk) throw refused('receipt');
  return summarise(bytes, request, requestId, manifest);
}
