/**
 * The record key hierarchy (docs/architecture.md, *Keys and consent*; docs/crypto.md):
 *
 *   holder's X-Wing key ──HPKE──► category key (patient × category × epoch) ──AEAD──► data key ──AEAD──► record
 *
 * Post-quantum work is paid per grant (one HPKE wrap of a category key per holder), not per record: sealing a
 * record version costs only symmetric operations. Revoking a grantee starts a new epoch for the category:
 * records written afterwards use a key the revoked party never receives. Erasure is crypto-shredding: destroy
 * every wrapped copy of the category keys.
 *
 * Both AEAD layers bind the record header (record id, version, patient pseudonym, category, epoch) as
 * associated data, so an envelope cannot be replayed as another record, version or patient.
 */

import { MdlError, MdlErrorCode } from '@medledger/core';
import { platform } from '#platform';
import { AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH, AeadKey } from './aead.js';
import { BinaryReader, BinaryWriter } from './binary.js';
import { concatBytes, equalBytes, hexToBytes, utf8ToBytes, wipe } from './bytes.js';
import {
  type CategoryKeyRef,
  decodeRecordEnvelope,
  EnvelopeType,
  encodeRecordHeader,
  KEY_ID_LENGTH,
  type RecordHeader,
  readCategoryKeyRef,
  readPrefix,
  writeCategoryKeyRef,
  writePrefix,
} from './envelope.js';
import { HPKE_XWING_SUITE, hpkeOpen, hpkeSeal } from './hpke.js';
import type { KeyId } from './key-bundle.js';
import { XWING, type XWingDecapsulationKey } from './x-wing.js';

const WRAP_INFO_LABEL = utf8ToBytes('medledger/category-key/v1');

/** A symmetric key for one (patient, data category, epoch). */
export class CategoryKey {
  readonly ref: Readonly<CategoryKeyRef>;
  readonly #key: Uint8Array;
  readonly #aead: AeadKey;

  private constructor(ref: CategoryKeyRef, key: Uint8Array) {
    encodeRecordHeader({ ...ref, recordId: 'x', recordVersion: 1 }); // validates the reference
    if (key.length !== AEAD_KEY_LENGTH)
      throw new MdlError(MdlErrorCode.BadInput, 'category key must be 32 bytes');
    this.ref = Object.freeze({ ...ref, pseudonym: ref.pseudonym.slice() });
    this.#key = key;
    this.#aead = new AeadKey(key);
  }

  /** A fresh random key. */
  static generate(ref: CategoryKeyRef): CategoryKey {
    return new CategoryKey(ref, platform.randomBytes(AEAD_KEY_LENGTH));
  }

  /** Restores a key from its 32 bytes (e.g. after unwrapping); takes ownership of `key`. */
  static fromBytes(ref: CategoryKeyRef, key: Uint8Array): CategoryKey {
    return new CategoryKey(ref, key);
  }

  /** The next epoch's key for the same patient and category (used on revocation). */
  rotate(): CategoryKey {
    return CategoryKey.generate({ ...this.ref, epoch: this.ref.epoch + 1 });
  }

  /** @internal the AEAD under which data keys are wrapped. */
  get aead(): AeadKey {
    return this.#aead;
  }

  /** @internal raw bytes, only for HPKE wrapping. */
  exportBytes(): Uint8Array {
    return this.#key.slice();
  }

  destroy(): void {
    this.#aead.destroy();
    wipe(this.#key);
  }
}

/** Finds the category key an envelope needs, or `undefined` if the caller holds none for it. */
export type CategoryKeyResolver = (ref: Readonly<CategoryKeyRef>) => CategoryKey | undefined;

/**
 * Seals one record version: a fresh data key encrypts the (already canonicalised) plaintext, and is itself
 * wrapped under the category key. Returns the sealed-record envelope.
 */
export function sealRecord(
  categoryKey: CategoryKey,
  record: { recordId: string; recordVersion: number },
  plaintext: Uint8Array,
): Uint8Array {
  const header = encodeRecordHeader({ ...categoryKey.ref, ...record });
  // One call to the CSPRNG for the data key and both nonces: it costs as much as a GCM operation here.
  const random = platform.randomBytes(AEAD_KEY_LENGTH + 2 * AEAD_NONCE_LENGTH);
  const dataKeyBytes = random.subarray(0, AEAD_KEY_LENGTH);
  const dataKey = new AeadKey(dataKeyBytes);
  try {
    const wrappedDataKey = categoryKey.aead.seal(
      dataKeyBytes,
      header,
      random.subarray(AEAD_KEY_LENGTH, AEAD_KEY_LENGTH + AEAD_NONCE_LENGTH),
    );
    const payload = dataKey.seal(plaintext, header, random.subarray(AEAD_KEY_LENGTH + AEAD_NONCE_LENGTH));
    return new BinaryWriter().bytes(header).varBytes(wrappedDataKey).bytes(payload).finish();
  } finally {
    dataKey.destroy();
    wipe(random);
  }
}

/** Reads a record envelope's header without decrypting it (to learn which category key it needs). */
export function readRecordHeader(envelope: Uint8Array): RecordHeader {
  return decodeRecordEnvelope(envelope).header;
}

/**
 * Opens a sealed record. Throws MDL_BAD_INPUT for a malformed envelope, MDL_KEY_NOT_FOUND if no key for its
 * (patient, category, epoch) is held, and MDL_DECRYPT_FAILED — saying no more — if authentication fails.
 */
export function openRecord(
  envelope: Uint8Array,
  resolve: CategoryKeyResolver,
): { header: RecordHeader; plaintext: Uint8Array } {
  const { header, headerBytes, wrappedDataKey, payload } = decodeRecordEnvelope(envelope);
  const categoryKey = resolve(header);
  if (
    !categoryKey ||
    !equalBytes(categoryKey.ref.pseudonym, header.pseudonym) ||
    categoryKey.ref.category !== header.category ||
    categoryKey.ref.epoch !== header.epoch
  ) {
    throw new MdlError(MdlErrorCode.KeyNotFound, 'no category key held for this record');
  }
  const dataKeyBytes = categoryKey.aead.open(wrappedDataKey, headerBytes);
  if (!dataKeyBytes || dataKeyBytes.length !== AEAD_KEY_LENGTH) {
    throw new MdlError(MdlErrorCode.DecryptFailed, 'record could not be decrypted');
  }
  const dataKey = new AeadKey(dataKeyBytes);
  try {
    const plaintext = dataKey.open(payload, headerBytes);
    if (!plaintext) throw new MdlError(MdlErrorCode.DecryptFailed, 'record could not be decrypted');
    return { header, plaintext };
  } finally {
    dataKey.destroy();
    wipe(dataKeyBytes);
  }
}

/** A holder of category keys: its key id and X-Wing public key (from its public key bundle). */
export interface WrapRecipient {
  keyId: KeyId;
  kemPublicKey: Uint8Array;
}

function wrappedKeyHeader(ref: CategoryKeyRef, recipientKeyId: KeyId): Uint8Array {
  const keyIdBytes = hexToBytes(recipientKeyId);
  if (keyIdBytes.length !== KEY_ID_LENGTH)
    throw new MdlError(MdlErrorCode.BadInput, 'key id must be 16 bytes');
  const w = writePrefix(new BinaryWriter(), EnvelopeType.WrappedCategoryKey)
    .u16(HPKE_XWING_SUITE.kemId)
    .u16(HPKE_XWING_SUITE.kdfId)
    .u16(HPKE_XWING_SUITE.aeadId)
    .bytes(keyIdBytes);
  return writeCategoryKeyRef(w, ref).finish();
}

/** Wraps a category key to one holder with HPKE (X-Wing); the header is bound through HPKE's `info`. */
export function wrapCategoryKey(categoryKey: CategoryKey, recipient: WrapRecipient): Uint8Array {
  const header = wrappedKeyHeader(categoryKey.ref, recipient.keyId);
  const key = categoryKey.exportBytes();
  try {
    const { enc, ciphertext } = hpkeSeal(
      recipient.kemPublicKey,
      concatBytes(WRAP_INFO_LABEL, header),
      new Uint8Array(0),
      key,
    );
    return concatBytes(header, enc, ciphertext);
  } finally {
    wipe(key);
  }
}

export interface ParsedWrappedKey {
  ref: CategoryKeyRef;
  recipientKeyId: KeyId;
}

function parseWrappedKey(envelope: Uint8Array) {
  const r = new BinaryReader(envelope);
  readPrefix(r, EnvelopeType.WrappedCategoryKey);
  const kem = r.u16();
  const kdf = r.u16();
  const aead = r.u16();
  if (kem !== HPKE_XWING_SUITE.kemId || kdf !== HPKE_XWING_SUITE.kdfId || aead !== HPKE_XWING_SUITE.aeadId) {
    throw new MdlError(MdlErrorCode.Unsupported, 'unsupported HPKE suite in wrapped key');
  }
  const keyIdBytes = r.bytes(KEY_ID_LENGTH);
  const ref = readCategoryKeyRef(r);
  const header = r.consumed();
  const enc = r.bytes(XWING.cipherTextLength);
  const ciphertext = r.rest();
  const recipientKeyId = Array.from(keyIdBytes, (b) => b.toString(16).padStart(2, '0')).join('') as KeyId;
  return { ref, recipientKeyId, header, enc, ciphertext };
}

/** Reads which key a wrapped-key envelope carries and for whom, without unwrapping it. */
export function readWrappedKeyHeader(envelope: Uint8Array): ParsedWrappedKey {
  const { ref, recipientKeyId } = parseWrappedKey(envelope);
  return { ref, recipientKeyId };
}

/**
 * Unwraps a category key with the holder's X-Wing decapsulation key. Throws MDL_BAD_INPUT for a malformed
 * envelope, MDL_KEY_NOT_FOUND if it is addressed to another key id, MDL_DECRYPT_FAILED if it does not open.
 */
export function unwrapCategoryKey(
  envelope: Uint8Array,
  recipient: { keyId: KeyId; decapsulationKey: XWingDecapsulationKey },
): CategoryKey {
  const { ref, recipientKeyId, header, enc, ciphertext } = parseWrappedKey(envelope);
  if (recipientKeyId !== recipient.keyId) {
    throw new MdlError(MdlErrorCode.KeyNotFound, 'wrapped key is addressed to another key');
  }
  const key = hpkeOpen(
    recipient.decapsulationKey,
    enc,
    concatBytes(WRAP_INFO_LABEL, header),
    new Uint8Array(0),
    ciphertext,
  );
  if (!key || key.length !== AEAD_KEY_LENGTH) {
    throw new MdlError(MdlErrorCode.DecryptFailed, 'wrapped key could not be opened');
  }
  return CategoryKey.fromBytes(ref, key);
}
