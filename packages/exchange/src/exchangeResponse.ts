/**
 * Exchange responses: the custodian's answer to a verified request — a release (records with their category
 * keys) or a denial. The signed part is a small RFC 8785 manifest (format "medledger.exchange.response/1")
 * naming the request id, both parties, the status, each released category key (category, epoch, SHA-256 of its
 * wrapped-key envelope) and each record (CID, resource type). The blobs travel after it: each category key
 * HPKE-wrapped to the requester's X-Wing key (crypto's wrapCategoryKey: the requester stores these as its
 * grants), and each record exactly as stored, sealed under its category key. Manifest, signature and blobs are
 * padded to a power-of-two bucket and HPKE-sealed to the requester with the request id bound as associated data,
 * so in transit nothing — not the status, the categories or the number of records — is readable, and a denial
 * differs from a release only by its size bucket.
 *
 * The signature covers the manifest, not the blobs; the manifest pins each blob by hash (SHA-256 or CID). This
 * keeps the evidence a receipt must store small and lets an auditor verify it without the records.
 *
 * The requester refuses, as a whole, a response that is not bound to its request, not signed by the custodian
 * it asked, carries a key it cannot unwrap or outside the requested categories or of more than one patient, or a
 * record whose bytes do not match its CID or that no delivered key opens.
 */
import { type DataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import {
  BinaryReader,
  BinaryWriter,
  bytesToHex,
  CategoryKey,
  type Cid,
  COMPOSITE_SIGNATURE,
  compositeVerify,
  computeCid,
  EnvelopeType,
  equalBytes,
  hexToBytes,
  openRecord as openSealedRecord,
  type PublicKeyBundle,
  parseCid,
  type RecordHeader,
  readRecordHeader,
  sha256,
  unwrapCategoryKey,
  utf8ToBytes,
  verifyCid,
  wrapCategoryKey,
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
  checkCategory,
  checkHex,
  checkList,
  checkParty,
  checkRequestId,
  checkResourceType,
  checkSeconds,
  type ExchangeRequestId,
  objectWith,
  type PartyRef,
  type SignedPart,
} from './exchangeFields.js';
import {
  type ExchangeRequest,
  isReceivedExchangeRequest,
  type ReceivedExchangeRequest,
} from './exchangeRequest.js';
import { EXCHANGE_LIMITS, type ResponseLimits, resolveResponseLimits } from './limits.js';
import {
  checkOrganisationKeys,
  EXCHANGE_SIGNATURE_CONTEXTS,
  type OrganisationKeys,
} from './OrganisationKeys.js';
import { pad, unpad } from './padding.js';
import { refused } from './refusal.js';

export const EXCHANGE_RESPONSE_FORMAT = 'medledger.exchange.response/1';
const HPKE_INFO = utf8ToBytes('medledger/exchange-response/v1/seal');

export type ExchangeStatus = 'released' | 'denied';

/** A released category key as the manifest names it; `sha256` pins its wrapped-key envelope. */
export interface ReleasedCategoryKey {
  readonly category: DataCategory;
  readonly epoch: number;
  readonly sha256: string;
}

export interface ReleasedRecordRef {
  readonly cid: Cid;
  readonly resourceType?: string;
}

/** What the custodian signs. */
export interface ExchangeResponseManifest {
  readonly requestId: ExchangeRequestId;
  readonly requester: PartyRef;
  readonly custodian: PartyRef;
  /** 'denied' says nothing more: no consent, unknown patient, unlicensed practitioner all look the same. */
  readonly status: ExchangeStatus;
  /** Custodian's clock, seconds. */
  readonly issuedAt: number;
  readonly categoryKeys: readonly ReleasedCategoryKey[];
  readonly records: readonly ReleasedRecordRef[];
}

export interface ExchangeResponse extends ExchangeResponseManifest {
  /** The manifest bytes and the custodian's signature: evidence for the exchange receipt. */
  readonly evidence: SignedPart;
}

/** One record to release, as the custodian's blob store holds it. */
export interface ExchangeRecordInput {
  /** The sealed-record envelope (type 01), unchanged. */
  envelope: Uint8Array;
  /** Its CID; checked against the bytes (storage is not trusted to return what was asked for). */
  cid: string;
  /** FHIR resource type, e.g. "Observation" (travels only inside the encryption). */
  resourceType?: string;
}

export interface CreateExchangeResponseInput {
  /** As returned by openExchangeRequest, after the node's ledger checks passed. */
  request: ReceivedExchangeRequest;
  custodian: OrganisationKeys;
  records: readonly ExchangeRecordInput[];
  /** The custodian's category keys the records are sealed under; each is wrapped to the requester. */
  categoryKeys: readonly CategoryKey[];
  /** Seconds; defaults to now. */
  issuedAt?: number;
  /** Pad to at least this many bytes (a power of two ≥ 4 KiB), e.g. to make small releases and denials alike. */
  minPaddedBytes?: number;
  limits?: ResponseLimits;
}

export interface CreateExchangeDenialInput {
  request: ReceivedExchangeRequest;
  custodian: OrganisationKeys;
  issuedAt?: number;
  minPaddedBytes?: number;
}

export interface OpenExchangeResponseOptions {
  requester: OrganisationKeys;
  /** The request this response must answer (as returned by createExchangeRequest). */
  request: ExchangeRequest;
  /** The custodian's public bundle from the registry: the one the request was sealed to. */
  custodianBundle: PublicKeyBundle;
  limits?: ResponseLimits;
}

/** A released record, CID-checked and known to be openable with one of the released keys. */
export interface ReleasedRecord extends ReleasedRecordRef {
  /** The sealed-record envelope, to store under its CID. */
  readonly envelope: Uint8Array;
  /** Its clear header: record id, version, the custodian's patient pseudonym, category, epoch. */
  readonly header: RecordHeader;
}

export interface OpenedExchangeResponse {
  readonly response: ExchangeResponse;
  readonly records: readonly ReleasedRecord[];
  /** Unwrapped category keys, in manifest order. Call destroy() when done with them. */
  readonly categoryKeys: readonly CategoryKey[];
  /** The wrapped-key envelopes (type 02) addressed to the requester, in manifest order, to persist as grants. */
  readonly wrappedCategoryKeys: readonly Uint8Array[];
  /** Decrypts one released record (re-checking its CID); MDL_NOT_FOUND if the response has no such CID. */
  openRecord(cid: string): { cid: Cid; resourceType?: string; header: RecordHeader; plaintext: Uint8Array };
  /** Wipes the unwrapped category keys. */
  destroy(): void;
}

const STATUSES: readonly string[] = ['released', 'denied'];
/** A wrapped category key (envelope type 02): 64-byte header, X-Wing ciphertext, 48-byte HPKE ciphertext. */
const WRAPPED_KEY_BYTES = 64 + 1120 + 48;
const MAX_EPOCH = 0xffffffff;

function manifestJson(m: ExchangeResponseManifest): Record<string, unknown> {
  return {
    format: EXCHANGE_RESPONSE_FORMAT,
    requestId: m.requestId,
    requester: { organisation: m.requester.organisation, keyId: m.requester.keyId },
    custodian: { organisation: m.custodian.organisation, keyId: m.custodian.keyId },
    status: m.status,
    issuedAt: m.issuedAt,
    categoryKeys: m.categoryKeys.map((k) => ({ category: k.category, epoch: k.epoch, sha256: k.sha256 })),
    records: m.records.map((r) =>
      r.resourceType === undefined ? { cid: r.cid } : { cid: r.cid, resourceType: r.resourceType },
    ),
  };
}

/** Parses and validates a signed manifest (strict), within `maxRecords`. */
export function parseResponseManifest(bytes: Uint8Array, maxRecords: number): ExchangeResponseManifest {
  if (bytes.length > EXCHANGE_LIMITS.maxManifestBytes) throw badInput('response manifest is too large');
  const o = objectWith(parseCanonicalJson(bytes, 'response manifest'), 'response', [
    'format',
    'requestId',
    'requester',
    'custodian',
    'status',
    'issuedAt',
    'categoryKeys',
    'records',
  ]);
  if (o.format !== EXCHANGE_RESPONSE_FORMAT) throw badInput('response format is not supported');
  if (typeof o.status !== 'string' || !STATUSES.includes(o.status))
    throw badInput('response status is unknown');
  const status = o.status as ExchangeStatus;
  const seenKeys = new Set<string>();
  const categoryKeys = checkList(
    o.categoryKeys,
    'response.categoryKeys',
    EXCHANGE_LIMITS.maxCategoryKeys,
  ).map((entry) => {
    const k = objectWith(entry, 'response.categoryKeys[]', ['category', 'epoch', 'sha256']);
    const category = checkCategory(k.category, 'response.categoryKeys[].category');
    if (typeof k.epoch !== 'number' || !Number.isInteger(k.epoch) || k.epoch < 0 || k.epoch > MAX_EPOCH) {
      throw badInput('response.categoryKeys[].epoch must be a u32');
    }
    const slot = `${category}/${k.epoch}`;
    if (seenKeys.has(slot)) throw badInput('response names a category key twice');
    seenKeys.add(slot);
    return Object.freeze({ category, epoch: k.epoch, sha256: checkHex(k.sha256, 'response key hash', 32) });
  });
  const seenCids = new Set<string>();
  const records = checkList(o.records, 'response.records', maxRecords).map((entry) => {
    const r = objectWith(entry, 'response.records[]', ['cid'], ['resourceType']);
    let cid: Cid;
    try {
      cid = parseCid(r.cid as string);
    } catch {
      throw badInput('response.records[].cid must be a CIDv1 (raw, sha2-256, base32)');
    }
    if (seenCids.has(cid)) throw badInput('response names a record twice');
    seenCids.add(cid);
    return Object.freeze(
      r.resourceType === undefined
        ? { cid }
        : { cid, resourceType: checkResourceType(r.resourceType, 'response.records[].resourceType') },
    );
  });
  if (status === 'denied' && (categoryKeys.length > 0 || records.length > 0)) {
    throw badInput('a denial carries no keys or records');
  }
  return {
    requestId: checkRequestId(o.requestId, 'response.requestId'),
    requester: Object.freeze(checkParty(o.requester, 'response.requester')),
    custodian: Object.freeze(checkParty(o.custodian, 'response.custodian')),
    status,
    issuedAt: checkSeconds(o.issuedAt, 'response.issuedAt'),
    categoryKeys: Object.freeze(categoryKeys),
    records: Object.freeze(records),
  };
}

function checkMinPadded(minPaddedBytes: number | undefined, maxResponseBytes: number): number {
  const floor = minPaddedBytes ?? EXCHANGE_LIMITS.responseMinPaddedBytes;
  if (
    !Number.isInteger(floor) ||
    floor < EXCHANGE_LIMITS.responseMinPaddedBytes ||
    floor > maxResponseBytes ||
    (floor & (floor - 1)) !== 0
  ) {
    throw badInput('minPaddedBytes must be a power of two from 4 KiB to the response size limit');
  }
  return floor;
}

/**
 * @internal Signs a manifest and seals it with its blobs to the requester. Nodes call createExchangeResponse
 * or createExchangeDenial, which build consistent manifests; tests call this directly to play a custodian
 * that signs an inconsistent one (the requester must refuse it).
 */
export function sealExchangeResponse(parts: {
  custodian: OrganisationKeys;
  requesterBundle: PublicKeyBundle;
  manifest: ExchangeResponseManifest;
  /** The request id bound as associated data (the manifest's, unless a test wants them to differ). */
  boundRequestId?: string;
  wrappedKeys: readonly Uint8Array[];
  recordEnvelopes: readonly Uint8Array[];
  minPaddedBytes: number;
  maxResponseBytes: number;
}): { bytes: Uint8Array; response: ExchangeResponse } {
  const { custodian, manifest } = parts;
  const signed = encodeCanonicalJson(manifestJson(manifest));
  if (signed.length > EXCHANGE_LIMITS.maxManifestBytes) throw badInput('response manifest is too large');
  const signature = custodian.sign(signed, EXCHANGE_SIGNATURE_CONTEXTS.response);
  const w = new BinaryWriter().block(signed).bytes(signature);
  for (const k of parts.wrappedKeys) w.block(k);
  for (const r of parts.recordEnvelopes) w.block(r);
  const plaintext = pad(w.finish(), parts.minPaddedBytes, parts.maxResponseBytes);
  const bytes = sealExchangeEnvelope(
    EnvelopeType.ExchangeResponse,
    custodian.organisation,
    { organisation: manifest.requester.organisation, bundle: parts.requesterBundle },
    HPKE_INFO,
    hexToBytes(parts.boundRequestId ?? manifest.requestId),
    plaintext,
  );
  return { bytes, response: Object.freeze({ ...manifest, evidence: Object.freeze({ signed, signature }) }) };
}

function checkAnswerable(request: ReceivedExchangeRequest, custodian: OrganisationKeys): void {
  checkOrganisationKeys(custodian, 'custodian');
  if (!isReceivedExchangeRequest(request)) {
    throw badInput('request must be one returned by openExchangeRequest');
  }
  if (
    request.custodian.organisation !== custodian.organisation ||
    request.custodian.keyId !== custodian.keyId
  ) {
    throw badInput('request is not addressed to this custodian key');
  }
}

function refOf(ref: { pseudonym: Uint8Array; category: number; epoch: number }): string {
  return `${bytesToHex(ref.pseudonym)}/${ref.category}/${ref.epoch}`;
}

/**
 * Releases records to the requester of a verified request. The node must have made its ledger checks first
 * (docs/exchange.md); this function checks what it can see: the request was verified here, every key is of a
 * requested category and of one patient, every record matches its CID and is sealed under one of the keys,
 * and the limits. Costs one ML-DSA signature plus one X-Wing encapsulation per key (and one for the envelope).
 */
export function createExchangeResponse(input: CreateExchangeResponseInput): {
  bytes: Uint8Array;
  response: ExchangeResponse;
} {
  const { request, custodian } = input;
  checkAnswerable(request, custodian);
  const { maxRecords, maxResponseBytes } = resolveResponseLimits(input.limits);
  const minPaddedBytes = checkMinPadded(input.minPaddedBytes, maxResponseBytes);
  if (!Array.isArray(input.records) || !Array.isArray(input.categoryKeys)) {
    throw badInput('records and categoryKeys must be lists');
  }
  if (input.records.length > maxRecords) throw badInput(`a response holds at most ${maxRecords} records`);
  if (input.categoryKeys.length > EXCHANGE_LIMITS.maxCategoryKeys) {
    throw badInput(`a response holds at most ${EXCHANGE_LIMITS.maxCategoryKeys} category keys`);
  }
  // Refuse an oversized release before paying for key wraps and a signature; pad() checks the exact size.
  const blobBytes =
    input.records.reduce((n, r) => n + 4 + (r?.envelope?.length ?? 0), 0) +
    input.categoryKeys.length * (4 + WRAPPED_KEY_BYTES);
  if (blobBytes + COMPOSITE_SIGNATURE.signatureLength > maxResponseBytes) {
    throw badInput(`exchange message exceeds the size limit of ${maxResponseBytes} bytes`);
  }
  if (!input.categoryKeys.every((k) => k instanceof CategoryKey)) {
    throw badInput('categoryKeys must be CategoryKey objects');
  }
  const keys = [...input.categoryKeys].sort(
    (a, b) => a.ref.category - b.ref.category || a.ref.epoch - b.ref.epoch,
  );
  const byRef = new Set<string>();
  for (const key of keys) {
    // Uncategorised records' keys are never released: no request can name that class.
    if (!(request.categories as readonly number[]).includes(key.ref.category)) {
      throw badInput("a category key is outside the request's categories");
    }
    if (!equalBytes(key.ref.pseudonym, keys[0]!.ref.pseudonym)) {
      throw badInput('category keys must all be of one patient');
    }
    if (byRef.has(refOf(key.ref))) throw badInput('a category key is given twice');
    byRef.add(refOf(key.ref));
  }
  const seenCids = new Set<string>();
  const records = input.records.map((record, i) => {
    if (!(record?.envelope instanceof Uint8Array)) throw badInput(`records[${i}].envelope must be bytes`);
    const cid = parseCid(record.cid);
    if (computeCid(record.envelope) !== cid) {
      throw new MdlError(MdlErrorCode.CidMismatch, `records[${i}] does not match its CID`);
    }
    if (seenCids.has(cid)) throw badInput(`records[${i}] is given twice`);
    seenCids.add(cid);
    if (!byRef.has(refOf(readRecordHeader(record.envelope)))) {
      throw badInput(`records[${i}] is sealed under a category key that is not released`);
    }
    return Object.freeze(
      record.resourceType === undefined
        ? { cid }
        : { cid, resourceType: checkResourceType(record.resourceType, `records[${i}].resourceType`) },
    );
  });
  const wrappedKeys = keys.map((k) => wrapCategoryKey(k, request.requesterBundle));
  const manifest: ExchangeResponseManifest = {
    requestId: request.id,
    requester: request.requester,
    custodian: request.custodian,
    status: 'released',
    issuedAt: checkSeconds(input.issuedAt ?? Math.floor(Date.now() / 1000), 'issuedAt'),
    categoryKeys: Object.freeze(
      keys.map((k, i) =>
        Object.freeze({
          category: k.ref.category as DataCategory, // checked above: one of the request's categories
          epoch: k.ref.epoch,
          sha256: bytesToHex(sha256(wrappedKeys[i]!)),
        }),
      ),
    ),
    records: Object.freeze(records),
  };
  return sealExchangeResponse({
    custodian,
    requesterBundle: request.requesterBundle,
    manifest,
    wrappedKeys,
    recordEnvelopes: input.records.map((r) => r.envelope),
    minPaddedBytes,
    maxResponseBytes,
  });
}

/**
 * Answers a verified request with a denial: signed and sealed like a release, with no keys, no records and no
 * reason beyond the status. Use it for every refusal after the request verified (no consent, unknown patient,
 * suspended organisation, unlicensed practitioner), so the requester cannot tell them apart.
 */
export function createExchangeDenial(input: CreateExchangeDenialInput): {
  bytes: Uint8Array;
  response: ExchangeResponse;
} {
  const { request, custodian } = input;
  checkAnswerable(request, custodian);
  const maxResponseBytes = EXCHANGE_LIMITS.maxResponseBytes;
  return sealExchangeResponse({
    custodian,
    requesterBundle: request.requesterBundle,
    manifest: {
      requestId: request.id,
      requester: request.requester,
      custodian: request.custodian,
      status: 'denied',
      issuedAt: checkSeconds(input.issuedAt ?? Math.floor(Date.now() / 1000), 'issuedAt'),
      categoryKeys: Object.freeze([]),
      records: Object.freeze([]),
    },
    wrappedKeys: [],
    recordEnvelopes: [],
    minPaddedBytes: checkMinPadded(input.minPaddedBytes, maxResponseBytes),
    maxResponseBytes,
  });
}

function sameParty(a: PartyRef, b: PartyRef): boolean {
  return a.organisation === b.organisation && a.keyId === b.keyId;
}

/**
 * Opens and verifies the custodian's response to `request`. Throws MDL_BAD_INPUT (malformed or over the
 * limits), MDL_UNSUPPORTED (newer format) or MDL_INVALID_CREDENTIAL (everything else — not for us, does not
 * decrypt, bad signature, another request, wrong custodian, a key or record that does not check out; one
 * message for all). The requester should accept at most one response per request id.
 */
export function openExchangeResponse(
  bytes: Uint8Array,
  options: OpenExchangeResponseOptions,
): OpenedExchangeResponse {
  const { request, custodianBundle } = options;
  const requester = checkOrganisationKeys(options.requester, 'requester');
  const { maxRecords, maxResponseBytes } = resolveResponseLimits(options.limits);
  if (!sameParty(request.requester, requester))
    throw badInput('request was not made with these requester keys');
  if (custodianBundle?.keyId !== request.custodian.keyId) {
    throw badInput('custodianBundle is not the bundle the request was sealed to');
  }
  const parsed = readExchangeEnvelope(bytes, EnvelopeType.ExchangeResponse);
  const paddedLength = parsed.ciphertext.length - 16;
  if (paddedLength < EXCHANGE_LIMITS.responseMinPaddedBytes || paddedLength > maxResponseBytes) {
    throw badInput(
      `exchange response exceeds the size limit of ${maxResponseBytes + EXCHANGE_ENVELOPE_OVERHEAD} bytes`,
    );
  }
  const { header } = parsed;
  if (
    header.recipient !== requester.organisation ||
    header.recipientKeyId !== requester.keyId ||
    header.sender !== request.custodian.organisation
  ) {
    throw refused('response');
  }
  const plaintext = openExchangeEnvelope(
    parsed,
    requester.decapsulationKey,
    HPKE_INFO,
    hexToBytes(request.id),
  );
  if (!plaintext) throw refused('response');
  const r = new BinaryReader(unpad(plaintext, EXCHANGE_LIMITS.responseMinPaddedBytes, maxResponseBytes));
  const signed = r.block().slice();
  const signature = r.bytes(COMPOSITE_SIGNATURE.signatureLength).slice();
  if (
    !compositeVerify(
      custodianBundle.signingPublicKey,
      signed,
      signature,
      EXCHANGE_SIGNATURE_CONTEXTS.response,
    )
  ) {
    throw refused('response');
  }
  const manifest = parseResponseManifest(signed, maxRecords);
  if (
    manifest.requestId !== request.id ||
    !sameParty(manifest.requester, request.requester) ||
    !sameParty(manifest.custodian, request.custodian)
  ) {
    throw refused('response');
  }
  const wrappedCategoryKeys = manifest.categoryKeys.map(() => r.block().slice());
  const envelopes = manifest.records.map(() => r.block().slice());
  r.end();

  const categoryKeys: CategoryKey[] = [];
  const destroyKeys = () => {
    for (const k of categoryKeys) k.destroy();
  };
  try {
    manifest.categoryKeys.forEach((entry, i) => {
      const wrapped = wrappedCategoryKeys[i]!;
      if (bytesToHex(sha256(wrapped)) !== entry.sha256) throw refused('response');
      let key: CategoryKey;
      try {
        key = unwrapCategoryKey(wrapped, {
          keyId: requester.keyId,
          decapsulationKey: requester.decapsulationKey,
        });
      } catch {
        throw refused('response');
      }
      categoryKeys.push(key);
      if (
        key.ref.category !== entry.category ||
        key.ref.epoch !== entry.epoch ||
        !request.categories.includes(key.ref.category) ||
        !equalBytes(key.ref.pseudonym, categoryKeys[0]!.ref.pseudonym)
      ) {
        throw refused('response');
      }
    });
    const held = new Set(categoryKeys.map((k) => refOf(k.ref)));
    const records: ReleasedRecord[] = manifest.records.map((entry, i) => {
      const envelope = envelopes[i]!;
      if (!verifyCid(entry.cid, envelope)) throw refused('response');
      let header: RecordHeader;
      try {
        header = readRecordHeader(envelope);
      } catch {
        throw refused('response');
      }
      if (!held.has(refOf(header))) throw refused('response');
      return Object.freeze({ ...entry, envelope, header });
    });
    const response: ExchangeResponse = Object.freeze({
      ...manifest,
      evidence: Object.freeze({ signed, signature }),
    });
    const byCid = new Map(records.map((rec) => [rec.cid as string, rec]));
    return Object.freeze({
      response,
      records: Object.freeze(records),
      categoryKeys: Object.freeze([...categoryKeys]),
      wrappedCategoryKeys: Object.freeze(wrappedCategoryKeys),
      openRecord(cid: string) {
        const rec = byCid.get(cid);
        if (!rec) throw new MdlError(MdlErrorCode.NotFound, 'no such record in this exchange response');
        // The envelope array is the caller's to mutate; check again that it is still what the custodian signed.
        if (!verifyCid(rec.cid, rec.envelope)) {
          throw new MdlError(MdlErrorCode.CidMismatch, 'record does not match its CID');
        }
        const { header, plaintext } = openSealedRecord(rec.envelope, (ref) =>
          categoryKeys.find((k) => k.ref.category === ref.category && k.ref.epoch === ref.epoch),
        );
        return rec.resourceType === undefined
          ? { cid: rec.cid, header, plaintext }
          : { cid: rec.cid, resourceType: rec.resourceType, header, plaintext };
      },
      destroy: destroyKeys,
    });
  } catch (e) {
    destroyKeys();
    throw e;
  }
}
