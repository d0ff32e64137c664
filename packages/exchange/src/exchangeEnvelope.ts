/**
 * The outer layer shared by exchange requests (type 04) and responses (type 05): a signed message, padded
 * (padding.ts), HPKE-sealed (RFC 9180 base mode, X-Wing / HKDF-SHA256 / AES-256-GCM) to the recipient
 * organisation's X-Wing key. Layout (docs/exchange.md, docs/spec/envelopes.md):
 *
 *   "MDL" ‖ 01 ‖ type ‖ kem u16 ‖ kdf u16 ‖ aead u16 ‖ sender org u32 ‖ recipient org u32 ‖ recipient key id [16]
 *   ‖ enc [1120] ‖ HPKE ciphertext
 *
 * The 35-byte header is the HPKE associated data (plus, for a response, the request id, which is never sent
 * in clear), so it cannot be changed without the open failing. The header is readable by anyone: which
 * organisation talks to which is visible on the network anyway; everything else is inside the ciphertext.
 * HPKE is not sender-authenticated (X-Wing has no Auth mode): the signature inside, which names both parties,
 * is what authenticates the sender — the header's sender id only says whose bundle to verify it with.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  BinaryReader,
  BinaryWriter,
  type EnvelopeType,
  HPKE_XWING_SUITE,
  hexToBytes,
  hpkeOpen,
  hpkeSeal,
  type KeyId,
  type PublicKeyBundle,
  XWING,
  type XWingDecapsulationKey,
} from '@medledger/crypto';
import type { OrganisationId } from './exchangeFields.js';

export type ExchangeEnvelopeType =
  | typeof EnvelopeType.ExchangeRequest
  | typeof EnvelopeType.ExchangeResponse
  | typeof EnvelopeType.WorkflowRequest
  | typeof EnvelopeType.WorkflowResponse;

const MAGIC = [0x4d, 0x44, 0x4c] as const;
const FORMAT_VERSION = 1;
const KEY_ID_LENGTH = 16;
export const EXCHANGE_HEADER_LENGTH = 35;
/** Bytes an envelope adds to its padded plaintext: header, X-Wing ciphertext, AES-GCM tag. */
export const EXCHANGE_ENVELOPE_OVERHEAD = EXCHANGE_HEADER_LENGTH + XWING.cipherTextLength + 16;

export interface ExchangeEnvelopeHeader {
  readonly type: ExchangeEnvelopeType;
  readonly sender: OrganisationId;
  readonly recipient: OrganisationId;
  readonly recipientKeyId: KeyId;
}

export interface ParsedExchangeEnvelope {
  readonly header: ExchangeEnvelopeHeader;
  readonly headerBytes: Uint8Array;
  readonly enc: Uint8Array;
  readonly ciphertext: Uint8Array;
}

function encodeHeader(h: ExchangeEnvelopeHeader): Uint8Array {
  return new BinaryWriter()
    .bytes(Uint8Array.from(MAGIC))
    .u8(FORMAT_VERSION)
    .u8(h.type)
    .u16(HPKE_XWING_SUITE.kemId)
    .u16(HPKE_XWING_SUITE.kdfId)
    .u16(HPKE_XWING_SUITE.aeadId)
    .u32(h.sender)
    .u32(h.recipient)
    .bytes(hexToBytes(h.recipientKeyId), KEY_ID_LENGTH)
    .finish();
}

/** Seals `plaintext` (already padded) to `recipient`; `extraAad` is bound but not sent. */
export function sealExchangeEnvelope(
  type: ExchangeEnvelopeType,
  sender: OrganisationId,
  recipient: { organisation: OrganisationId; bundle: PublicKeyBundle },
  info: Uint8Array,
  extraAad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const headerBytes = encodeHeader({
    type,
    sender,
    recipient: recipient.organisation,
    recipientKeyId: recipient.bundle.keyId,
  });
  const aad = new BinaryWriter().bytes(headerBytes).bytes(extraAad).finish();
  const { enc, ciphertext } = hpkeSeal(recipient.bundle.kemPublicKey, info, aad, plaintext);
  return new BinaryWriter().bytes(headerBytes).bytes(enc).bytes(ciphertext).finish();
}

/**
 * Parses the clear part of an envelope. MDL_BAD_INPUT if it is not an exchange envelope of `type` or is
 * truncated; MDL_UNSUPPORTED for a newer format version or another HPKE suite.
 */
export function readExchangeEnvelope(bytes: Uint8Array, type: ExchangeEnvelopeType): ParsedExchangeEnvelope {
  if (!(bytes instanceof Uint8Array))
    throw new MdlError(MdlErrorCode.BadInput, 'exchange message must be bytes');
  const r = new BinaryReader(bytes);
  const magic = r.bytes(3);
  if (magic[0] !== MAGIC[0] || magic[1] !== MAGIC[1] || magic[2] !== MAGIC[2]) {
    throw new MdlError(MdlErrorCode.BadInput, 'not a medledger envelope');
  }
  const version = r.u8();
  if (version !== FORMAT_VERSION) {
    throw new MdlError(MdlErrorCode.Unsupported, `unsupported envelope format version ${version}`);
  }
  const actualType = r.u8();
  if (actualType !== type) {
    throw new MdlError(MdlErrorCode.BadInput, `expected envelope type ${type}, got ${actualType}`);
  }
  if (
    r.u16() !== HPKE_XWING_SUITE.kemId ||
    r.u16() !== HPKE_XWING_SUITE.kdfId ||
    r.u16() !== HPKE_XWING_SUITE.aeadId
  ) {
    throw new MdlError(MdlErrorCode.Unsupported, 'unsupported HPKE suite in exchange message');
  }
  const sender = r.u32();
  const recipient = r.u32();
  const keyIdBytes = r.bytes(KEY_ID_LENGTH);
  const headerBytes = r.consumed();
  const enc = r.bytes(XWING.cipherTextLength);
  const ciphertext = r.rest();
  const recipientKeyId = Array.from(keyIdBytes, (b) => b.toString(16).padStart(2, '0')).join('') as KeyId;
  return { header: { type, sender, recipient, recipientKeyId }, headerBytes, enc, ciphertext };
}

/** The padded plaintext, or `undefined` if the envelope does not open with this key and associated data. */
export function openExchangeEnvelope(
  parsed: ParsedExchangeEnvelope,
  recipient: XWingDecapsulationKey,
  info: Uint8Array,
  extraAad: Uint8Array,
): Uint8Array | undefined {
  const aad = new BinaryWriter().bytes(parsed.headerBytes).bytes(extraAad).finish();
  return hpkeOpen(recipient, parsed.enc, info, aad, parsed.ciphertext);
}
