/**
 * The JSON parts of exchange messages are RFC 8785 canonical text, signed as bytes. A receiver accepts only
 * the canonical form: it parses, re-canonicalises and compares, so one message has exactly one byte string
 * (duplicate member names, whitespace, escapes or number spellings that JSON.parse would tolerate are refused).
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { bytesToUtf8, canonicalBytes, canonicalize } from '@medledger/crypto';

export function encodeCanonicalJson(value: unknown): Uint8Array {
  return canonicalBytes(value);
}

/** Parses canonical JSON bytes; MDL_BAD_INPUT for invalid UTF-8, invalid JSON or a non-canonical form. */
export function parseCanonicalJson(bytes: Uint8Array, what: string): unknown {
  const malformed = () => new MdlError(MdlErrorCode.BadInput, `${what} is not canonical JSON`);
  let text: string;
  let value: unknown;
  try {
    text = bytesToUtf8(bytes);
    value = JSON.parse(text);
  } catch {
    throw malformed();
  }
  let canonical: string;
  try {
    canonical = canonicalize(value);
  } catch {
    throw malformed();
  }
  if (canonical !== text) throw malformed();
  return value;
}
