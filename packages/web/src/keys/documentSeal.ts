/**
 * A patient's document or photo, encrypted in the browser before it leaves the device, under the patient's
 * key hierarchy (@medledger/crypto key-hierarchy.ts): a fresh category key for (patient pseudonym,
 * Documents, epoch 0) seals the file as a record envelope — a per-record data key, AES-256-GCM with key
 * commitment, the header (record id, version, pseudonym, category, epoch) bound as associated data — and is
 * itself wrapped with HPKE (X-Wing) to the patient's own public key bundle. Only the holder of the patient's
 * key bundle (their key file, unlocked with their passphrase) unwraps it; the node stores ciphertext.
 *
 * Limits: one category key per document (no shared Documents key and epochs yet), wrapped to the patient
 * alone — sharing an upload with a clinician would need a wrap to the grantee too. The whole file is held in
 * memory (the app caps uploads at MAX_DOCUMENT_BYTES).
 */
import { ResourceClass } from '@medledger/contracts/consent';
import {
  CategoryKey,
  hexToBytes,
  type KeyBundle,
  openRecord,
  type PublicKeyBundle,
  sealRecord,
  unwrapCategoryKey,
  wrapCategoryKey,
  XWingDecapsulationKey,
} from '@medledger/crypto';

/** The request body limit is 16 MiB and base64 adds a third: 8 MiB of file is safe. */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

export interface SealedDocumentParts {
  /** The record envelope (header, wrapped data key, AES-256-GCM payload). */
  envelope: Uint8Array;
  /** The category key, HPKE-wrapped to the patient's key bundle. */
  wrappedKey: Uint8Array;
  /** The record id bound into the envelope's header. */
  recordId: string;
}

/** Encrypts `bytes` for the patient whose pseudonym and public key bundle are given. */
export function sealDocument(
  bytes: Uint8Array,
  patient: { pseudonym: `0x${string}`; publicBundle: Pick<PublicKeyBundle, 'keyId' | 'kemPublicKey'> },
  recordId: string = crypto.randomUUID(),
): SealedDocumentParts {
  if (bytes.length > MAX_DOCUMENT_BYTES) throw new RangeError('The file is larger than 8 MB.');
  const key = CategoryKey.generate({
    pseudonym: hexToBytes(patient.pseudonym.slice(2)),
    category: ResourceClass.Documents,
    epoch: 0,
  });
  try {
    return {
      envelope: sealRecord(key, { recordId, recordVersion: 1 }, bytes),
      wrappedKey: wrapCategoryKey(key, patient.publicBundle),
      recordId,
    };
  } finally {
    key.destroy();
  }
}

/**
 * Decrypts a sealed document with the patient's key bundle. Throws when the key was wrapped to other keys,
 * or the envelope or key was altered (the AEAD refuses), or the envelope belongs to another record.
 */
export function openDocument(parts: SealedDocumentParts, bundle: KeyBundle): Uint8Array {
  const decapsulationKey = new XWingDecapsulationKey(bundle.kemSecretKey.slice());
  let key: CategoryKey | undefined;
  try {
    key = unwrapCategoryKey(parts.wrappedKey, { keyId: bundle.keyId, decapsulationKey });
    const opened = openRecord(parts.envelope, () => key);
    if (opened.header.recordId !== parts.recordId || opened.header.category !== ResourceClass.Documents) {
      throw new Error('This document’s encryption belongs to another record.');
    }
    return opened.plaintext;
  } finally {
    key?.destroy();
    decapsulationKey.destroy();
  }
}
