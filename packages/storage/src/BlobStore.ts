/**
 * Content-addressed blob storage: every blob is named by the CIDv1 (raw, sha2-256) of its bytes, so a name
 * can be checked against the content on every read and a blob can be served by an IPFS node unchanged.
 * Blobs are sealed record envelopes (ciphertext); the store neither knows nor needs keys.
 *
 * Implementations: FsBlobStore (a directory, the default); an IPFS backend can follow behind this interface.
 */
import type { Cid } from '@medledger/crypto';

export interface BlobStore {
  /** Stores `bytes` and returns their CID. Idempotent: storing bytes that are already present is a no-op. */
  put(bytes: Uint8Array): Promise<Cid>;
  /**
   * The bytes named by `cid`, re-hashed before they are returned. Throws MdlError: MDL_BAD_INPUT (text is not a
   * CID), MDL_UNSUPPORTED (a CID of another version, codec or hash), MDL_NOT_FOUND (absent), MDL_CID_MISMATCH
   * (stored bytes no longer match their name), MDL_UNAVAILABLE (the storage itself failed).
   */
  get(cid: string): Promise<Uint8Array>;
  /** Whether a blob of that name is present (its content is not re-hashed). Throws like `get` for a bad CID. */
  has(cid: string): Promise<boolean>;
  /** Removes a blob; true if it was present. Purging is an operator's choice: crypto-shredding already makes
   * ciphertext unreadable once its keys are gone. */
  delete(cid: string): Promise<boolean>;
  /** Every stored CID, in no particular order (for `medledger verify`). */
  list(): AsyncIterable<Cid>;
}
