/**
 * Content identifiers for stored blobs: CIDv1, raw codec (0x55), sha2-256 multihash, lower-case base32 multibase
 * ("b…") — byte-identical to what IPFS computes for a raw block (`ipfs add --raw-leaves --cid-version 1` of a
 * file smaller than one chunk, or `ipfs block put`), so blobs can be served by an IPFS node unchanged.
 *
 * Limits: only that one CID form is produced or accepted. Other CIDs (v0, other codecs, other hashes, other
 * multibases, upper case) are refused with MdlError(Unsupported); text that is no CID at all with BadInput.
 * A CID names one raw block: a large file chunked by IPFS into a DAG has a different (dag-pb) root CID.
 * Hashing stays synchronous (our platform SHA-256); multiformats only does the encoding.
 */
import type { Brand } from '@medledger/core';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { base32, base32upper } from 'multiformats/bases/base32';
import { base36 } from 'multiformats/bases/base36';
import { base58btc } from 'multiformats/bases/base58';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';
import { equalBytes } from './bytes.js';
import { sha256 } from './hash.js';

/** A CIDv1 (raw, sha2-256, base32) in its canonical text form. */
export type Cid = Brand<string, 'Cid'>;

/** Multicodec code of sha2-256 in a multihash. */
const SHA2_256 = 0x12;
const DIGEST_LENGTH = 32;
// 'b' + base32 of 36 bytes (version, codec, hash code, length, 32-byte digest), unpadded.
const CANONICAL_TEXT = /^b[a-z2-7]{58}$/;
// Longer text is refused before any decoding: base58 decoding is quadratic and no supported CID is that long.
const MAX_TEXT_LENGTH = 256;

// Multibases that CIDs are commonly written in; only used to tell "another kind of CID" from "not a CID".
const OTHER_BASES: Record<string, { encode(b: Uint8Array): string; decode(t: string): Uint8Array }> = {
  b: base32,
  B: base32upper,
  z: base58btc,
  k: base36,
};

/** True iff `text` is a CID canonically written in a common multibase (or as a CIDv0), whatever its kind. */
function isSomeOtherCid(text: string): boolean {
  // A CIDv0 is bare base58btc, without the multibase prefix.
  const prefixed = text.startsWith('Qm') ? `z${text}` : text;
  const base = OTHER_BASES[prefixed.charAt(0)];
  if (base === undefined) return false;
  try {
    // Re-encoding catches the decoders' leniency (padding, mixed case): such text is not a CID as written.
    return base.encode(CID.decode(base.decode(prefixed)).bytes) === prefixed;
  } catch {
    return false;
  }
}

/** The CID of `bytes` as a raw IPFS block. */
export function computeCid(bytes: Uint8Array): Cid {
  if (!(bytes instanceof Uint8Array)) throw new MdlError(MdlErrorCode.BadInput, 'CID input must be bytes');
  return CID.createV1(raw.code, createDigest(SHA2_256, sha256(bytes))).toString(base32) as Cid;
}

/**
 * Validates CID text and returns it branded. Throws MdlError(BadInput) for text that is not a CID (or not in
 * canonical form) and MdlError(Unsupported) for a well-formed CID of another version, codec, hash or multibase.
 */
export function parseCid(text: string): Cid {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT_LENGTH) {
    throw new MdlError(MdlErrorCode.BadInput, 'CID must be a non-empty string of at most 256 characters');
  }
  if (!CANONICAL_TEXT.test(text)) {
    if (isSomeOtherCid(text)) {
      throw new MdlError(
        MdlErrorCode.Unsupported,
        'only CIDv1 raw sha2-256 in lower-case base32 is supported',
      );
    }
    throw new MdlError(MdlErrorCode.BadInput, 'text is not a CID');
  }
  let cid: CID;
  try {
    cid = CID.decode(base32.decode(text));
  } catch {
    throw new MdlError(MdlErrorCode.BadInput, 'text is not a CID');
  }
  if (
    cid.version !== 1 ||
    cid.code !== raw.code ||
    cid.multihash.code !== SHA2_256 ||
    cid.multihash.size !== DIGEST_LENGTH
  ) {
    throw new MdlError(MdlErrorCode.Unsupported, 'only CIDv1 raw sha2-256 in lower-case base32 is supported');
  }
  // Re-encode from the bytes (CID.parse would cache and echo the input): rejects non-zero padding bits.
  if (base32.encode(cid.bytes) !== text)
    throw new MdlError(MdlErrorCode.BadInput, 'CID is not in canonical form');
  return text as Cid;
}

/** The 32-byte SHA-256 digest a CID names. Throws like parseCid. */
export function cidDigest(cid: string): Uint8Array {
  parseCid(cid);
  return CID.decode(base32.decode(cid)).multihash.digest.slice();
}

/** True iff `cid` is a supported CID and names exactly `bytes`. Never throws. */
export function verifyCid(cid: string, bytes: Uint8Array): boolean {
  try {
    if (!(bytes instanceof Uint8Array)) return false;
    return equalBytes(cidDigest(cid), sha256(bytes));
  } catch {
    return false;
  }
}

/**
 * Throws MdlError(CidMismatch) unless `cid` names exactly `bytes`; a malformed or unsupported CID throws as
 * parseCid does. Use on every blob read: storage is not trusted to return what was asked for.
 */
export function assertCid(cid: string, bytes: Uint8Array): void {
  const expected = cidDigest(cid);
  if (!(bytes instanceof Uint8Array) || !equalBytes(expected, sha256(bytes))) {
    throw new MdlError(MdlErrorCode.CidMismatch, 'blob content does not match its CID');
  }
}
