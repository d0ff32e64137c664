/**
 * Byte helpers shared by every module: concatenation, constant-time comparison, encodings and wiping.
 * Thin re-exports of @noble/hashes utilities where one exists.
 */
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export { bytesToHex, concatBytes, hexToBytes, utf8ToBytes };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 decoding: throws on malformed input rather than inserting U+FFFD. */
export function bytesToUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Constant-time equality for equal-length inputs; different lengths compare unequal at once. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Overwrites secret bytes with zeros. JavaScript gives no guarantee that no other copy exists (the garbage
 * collector may have moved the buffer, strings are immutable), so this narrows exposure rather than ending it.
 */
export function wipe(...arrays: (Uint8Array | undefined)[]): void {
  for (const a of arrays) a?.fill(0);
}

/** Big-endian encoding of an unsigned integer into `length` bytes (I2OSP of RFC 8017). */
export function i2osp(value: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** (8 * Math.min(length, 6))) {
    throw new RangeError(`value does not fit in ${length} bytes`);
  }
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0 && v > 0; i--) {
    out[i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  return out;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

export function bytesToBase64url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Strict base64url (no padding, no other alphabet); throws RangeError on anything else. */
export function base64urlToBytes(text: string): Uint8Array {
  if (!B64URL.test(text) || text.length % 4 === 1) throw new RangeError('invalid base64url');
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (bytesToBase64url(out) !== text) throw new RangeError('invalid base64url (non-canonical)');
  return out;
}
