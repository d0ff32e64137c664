/**
 * @medledger/crypto — the cryptographic core of medledger. Isomorphic (Node 20 and browsers) and free of
 * I/O; Node gets node:crypto underneath, browsers @noble/*, through the package's `#platform` import.
 * docs/crypto.md explains the choices; docs/spec/ specifies the byte formats.
 */

// Symmetric encryption with key commitment
export { AEAD_OVERHEAD, AeadKey, aeadOpen, aeadSeal } from './aead.js';
export { BinaryReader, BinaryWriter } from './binary.js';
// Bytes and encodings
export {
  base64urlToBytes,
  bytesToBase64url,
  bytesToHex,
  bytesToUtf8,
  concatBytes,
  equalBytes,
  hexToBytes,
  utf8ToBytes,
  wipe,
} from './bytes.js';
// Content identifiers (CIDv1, raw, sha2-256)
export { assertCid, type Cid, cidDigest, computeCid, parseCid, verifyCid } from './cid.js';
// Composite ML-DSA-65 + Ed25519 signatures
export {
  COMPOSITE_SIGNATURE,
  CompositeSigner,
  compositeKeygen,
  compositeSign,
  compositeVerify,
} from './composite-signature.js';
// Keyed derivations
export {
  type BlindIndexToken,
  blindIndexToken,
  derivePatientPseudonym,
  deriveSubkey,
  type PatientPseudonym,
  type SubkeyPurpose,
} from './derivation.js';
export { type CategoryKeyRef, EnvelopeType, type RecordHeader } from './envelope.js';
// Hashes and KDFs
export { hkdf, hkdfExpand, hkdfExtract, hmacSha256, sha3_256, sha256, sha512, shake256 } from './hash.js';
// HPKE (RFC 9180) with X-Wing
export {
  HPKE_XWING_SUITE,
  HpkeContext,
  type HpkeSuite,
  hpkeKeySchedule,
  hpkeOpen,
  hpkeSeal,
  hpkeSetupRecipient,
  hpkeSetupSender,
} from './hpke.js';
// Key bundles and the key hierarchy
export {
  decodePublicKeyBundle,
  destroyKeyBundle,
  generateKeyBundle,
  type KeyBundle,
  type KeyId,
  keyBundleFromSecrets,
  type PublicKeyBundle,
  publicBundleCommitment,
} from './key-bundle.js';
export {
  CategoryKey,
  type CategoryKeyResolver,
  openRecord,
  readRecordHeader,
  readWrappedKeyHeader,
  sealRecord,
  unwrapCategoryKey,
  type WrapRecipient,
  wrapCategoryKey,
} from './key-hierarchy.js';
export {
  type AsyncScrypt,
  DEFAULT_SCRYPT,
  type KeyInfo,
  type KeyStatus,
  Keystore,
  type ScryptParams,
} from './keystore.js';
// Canonical JSON (RFC 8785)
export { canonicalBytes, canonicalize, canonicalizeJson } from './rfc8785.js';
// Merkle trees (RFC 9162)
export {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  MERKLE_HASH_LENGTH,
  MerkleTree,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from './rfc9162.js';
// X-Wing hybrid KEM
export { XWING, XWingDecapsulationKey, xwingDecapsulate, xwingEncapsulate, xwingKeygen } from './x-wing.js';
