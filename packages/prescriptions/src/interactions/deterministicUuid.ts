/**
 * Card and suggestion identifiers derived from what they are about (rule, orders, suggestion), so that the same
 * request always yields the same cards — tests compare them, and a client can tell a repeated card. The uuid is
 * a SHA-256 of the parts shaped as an RFC 9562 version-8 (custom) UUID.
 */
import { createHash } from 'node:crypto';

export function deterministicUuid(...parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:${part}`);
  const b = hash.digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
