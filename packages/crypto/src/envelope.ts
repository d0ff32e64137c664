/**
 * medledger's self-describing binary envelopes (specified in docs/spec/envelopes.md): every envelope starts
 * with the magic "MDL", a format version and a type, so a reader never guesses what it holds. This module only
 * encodes and decodes; the cryptography is in key-hierarchy.ts and key-bundle.ts.
 */
import { isRecordCategory, MdlError, MdlErrorCode, type RecordCategory } from '@medledger/core';
import { BinaryReader, BinaryWriter } from './binary.js';

export const ENVELOPE_MAGIC = Uint8Array.of(0x4d, 0x44, 0x4c); // "MDL"
export const ENVELOPE_VERSION = 1;

export const EnvelopeType = {
  SealedRecord: 0x01,
  WrappedCategoryKey: 0x02,
  PublicKeyBundle: 0x03,
  /** Node-to-node exchange (packages/exchange, docs/exchange.md): a sealed, signed request for records. */
  ExchangeRequest: 0x04,
  /** The custodian's sealed, signed answer to an exchange request (a release or a denial). */
  ExchangeResponse: 0x05,
  /** Both signed halves of one exchange, kept by both nodes for their audit logs. */
  ExchangeReceipt: 0x06,
  /** A sealed, signed workflow call between nodes (packages/exchange workflowMessage.ts), e.g. eligibility. */
  WorkflowRequest: 0x07,
  /** The answering node's sealed, signed reply to a workflow request. */
  WorkflowResponse: 0x08,
} as const;
export type EnvelopeType = (typeof EnvelopeType)[keyof typeof EnvelopeType];

/** Suite byte of a sealed record: key-committing AES-256-GCM of aead.ts for both the data key and payload. */
export const RECORD_SUITE_AES256GCM_COMMITTING = 0x01;
/** Algorithm codes in public key bundles. */
export const KEM_XWING = 0x647a;
export const SIG_MLDSA65_ED25519 = 0x0001;

export const PSEUDONYM_LENGTH = 32;
export const KEY_ID_LENGTH = 16;

/** Which category key, of which patient, at which epoch. */
export interface CategoryKeyRef {
  pseudonym: Uint8Array;
  category: RecordCategory;
  epoch: number;
}

export interface RecordHeader extends CategoryKeyRef {
  recordId: string;
  recordVersion: number;
}

export function writePrefix(w: BinaryWriter, type: EnvelopeType): BinaryWriter {
  return w.bytes(ENVELOPE_MAGIC).u8(ENVELOPE_VERSION).u8(type);
}

/** Reads and checks the 5-byte prefix; MDL_BAD_INPUT if it is not an envelope, MDL_UNSUPPORTED if newer. */
export function readPrefix(r: BinaryReader, expected: EnvelopeType): void {
  const magic = r.bytes(3);
  if (magic[0] !== 0x4d || magic[1] !== 0x44 || magic[2] !== 0x4c) {
    throw new MdlError(MdlErrorCode.BadInput, 'not a medledger envelope');
  }
  const version = r.u8();
  if (version !== ENVELOPE_VERSION) {
    throw new MdlError(MdlErrorCode.Unsupported, `unsupported envelope format version ${version}`);
  }
  const type = r.u8();
  if (type !== expected)
    throw new MdlError(MdlErrorCode.BadInput, `expected envelope type ${expected}, got ${type}`);
}

function checkRef(ref: CategoryKeyRef): void {
  if (!(ref.pseudonym instanceof Uint8Array) || ref.pseudonym.length !== PSEUDONYM_LENGTH) {
    throw new MdlError(MdlErrorCode.BadInput, 'patient pseudonym must be 32 bytes');
  }
  if (!isRecordCategory(ref.category)) throw new MdlError(MdlErrorCode.BadInput, 'unknown data category');
  if (!Number.isInteger(ref.epoch) || ref.epoch < 0 || ref.epoch > 0xffffffff) {
    throw new MdlError(MdlErrorCode.BadInput, 'epoch must be a 32-bit unsigned integer');
  }
}

export function writeCategoryKeyRef(w: BinaryWriter, ref: CategoryKeyRef): BinaryWriter {
  checkRef(ref);
  return w.bytes(ref.pseudonym, PSEUDONYM_LENGTH).u8(ref.category).u32(ref.epoch);
}

export function readCategoryKeyRef(r: BinaryReader): CategoryKeyRef {
  const pseudonym = r.bytes(PSEUDONYM_LENGTH).slice();
  const category = r.u8();
  if (!isRecordCategory(category)) throw new MdlError(MdlErrorCode.BadInput, 'unknown data category');
  return { pseudonym, category, epoch: r.u32() };
}

/** Header of a sealed record; its bytes are the associated data of both AEAD layers. */
export function encodeRecordHeader(h: RecordHeader): Uint8Array {
  if (!Number.isInteger(h.recordVersion) || h.recordVersion < 1 || h.recordVersion > 0xffffffff) {
    throw new MdlError(MdlErrorCode.BadInput, 'record version must be a positive 32-bit integer');
  }
  if (typeof h.recordId !== 'string' || h.recordId.length === 0) {
    throw new MdlError(MdlErrorCode.BadInput, 'record id must be a non-empty string');
  }
  const w = writePrefix(new BinaryWriter(), EnvelopeType.SealedRecord).u8(RECORD_SUITE_AES256GCM_COMMITTING);
  writeCategoryKeyRef(w, h).u32(h.recordVersion);
  try {
    w.shortString(h.recordId);
  } catch {
    throw new MdlError(MdlErrorCode.BadInput, 'record id must be at most 255 UTF-8 bytes');
  }
  return w.finish();
}

export interface ParsedRecordEnvelope {
  header: RecordHeader;
  headerBytes: Uint8Array;
  wrappedDataKey: Uint8Array;
  payload: Uint8Array;
}

export function decodeRecordEnvelope(envelope: Uint8Array): ParsedRecordEnvelope {
  const r = new BinaryReader(envelope);
  readPrefix(r, EnvelopeType.SealedRecord);
  const suite = r.u8();
  if (suite !== RECORD_SUITE_AES256GCM_COMMITTING) {
    throw new MdlError(MdlErrorCode.Unsupported, `unsupported record suite ${suite}`);
  }
  const ref = readCategoryKeyRef(r);
  const recordVersion = r.u32();
  const recordId = r.shortString();
  if (recordId.length === 0 || recordVersion === 0)
    throw new MdlError(MdlErrorCode.BadInput, 'malformed record header');
  const headerBytes = r.consumed();
  const wrappedDataKey = r.varBytes();
  const payload = r.rest();
  return { header: { ...ref, recordId, recordVersion }, headerBytes, wrappedDataKey, payload };
}
