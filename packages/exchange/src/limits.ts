/**
 * Size, count and time limits of the exchange protocol. Both sides enforce them: the creator refuses to build
 * an oversized message (MDL_BAD_INPUT naming the limit) and the receiver refuses one before doing any
 * expensive work, so a peer cannot make a node decrypt, hash or allocate without bound.
 */
import { badInput } from './exchangeFields.js';

export const EXCHANGE_LIMITS = Object.freeze({
  /** Every request plaintext is padded to exactly this many bytes, so all requests have one size on the wire. */
  requestPaddedBytes: 8192,
  /** The canonical JSON body of a request (it must fit the padded size with its 3,373-byte signature). */
  maxRequestBodyBytes: 4096,
  /** Lifetime given to a request when the caller names no expiry. */
  defaultRequestLifetimeSeconds: 60,
  /** Longest lifetime a request may have: it bounds how long a custodian must remember request ids. */
  maxRequestLifetimeSeconds: 300,
  /** How far a request's issuedAt may be ahead of the custodian's clock, by default. */
  defaultClockSkewSeconds: 30,
  maxClockSkewSeconds: 300,
  /** Smallest padded response plaintext: a denial and a small release look alike below this. */
  responseMinPaddedBytes: 4096,
  /** Default and largest record count of one response. */
  maxRecords: 1000,
  maxRecordsCap: 10_000,
  /** Category keys in one response: one per (category, epoch) actually released. */
  maxCategoryKeys: 256,
  /** Default and largest padded response plaintext (a power of two). */
  maxResponseBytes: 32 * 1024 * 1024,
  maxResponseBytesCap: 256 * 1024 * 1024,
  /** The signed manifest of a response (about 100 bytes per record). */
  maxManifestBytes: 2 * 1024 * 1024,
});

/** Per-call limits of a response; both the custodian and the requester may lower (or raise, to the caps) them. */
export interface ResponseLimits {
  /** At most this many records (default 1,000; at most 10,000). */
  maxRecords?: number;
  /** Padded plaintext at most this many bytes, a power of two (default 32 MiB; at most 256 MiB). */
  maxResponseBytes?: number;
}

export function resolveResponseLimits(limits: ResponseLimits | undefined): Required<ResponseLimits> {
  const maxRecords = limits?.maxRecords ?? EXCHANGE_LIMITS.maxRecords;
  const maxResponseBytes = limits?.maxResponseBytes ?? EXCHANGE_LIMITS.maxResponseBytes;
  if (!Number.isInteger(maxRecords) || maxRecords < 0 || maxRecords > EXCHANGE_LIMITS.maxRecordsCap) {
    throw badInput(`maxRecords must be an integer from 0 to ${EXCHANGE_LIMITS.maxRecordsCap}`);
  }
  if (
    !Number.isInteger(maxResponseBytes) ||
    maxResponseBytes < EXCHANGE_LIMITS.responseMinPaddedBytes ||
    maxResponseBytes > EXCHANGE_LIMITS.maxResponseBytesCap ||
    (maxResponseBytes & (maxResponseBytes - 1)) !== 0
  ) {
    throw badInput('maxResponseBytes must be a power of two from 4 KiB to 256 MiB');
  }
  return { maxRecords, maxResponseBytes };
}
