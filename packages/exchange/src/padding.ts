/**
 * Length-hiding padding for the plaintext inside an exchange envelope. HPKE hides content but not length, and
 * the length of a response would otherwise tell an observer how many records (and so roughly which patient)
 * a node released, or whether it released anything. Padded form:
 *
 *   u32 contentLength ‖ content ‖ zero bytes, to a total length that is a power of two ≥ a floor
 *
 * so an observer learns only the bucket: at most log2(max/floor) + 1 distinct sizes (4 KiB, 8 KiB, …). Powers
 * of two cost up to 2× in bytes (Padmé would cost ≤ 12 % but leak more distinct sizes); exchange messages are
 * small next to the X-Wing and ML-DSA work per message, so we spend bytes to leak less. The padding sits inside
 * the AEAD, so it cannot be altered in transit; opening is strict anyway (non-zero padding, a length that is
 * not a power of two in range, or a content length that overruns are MDL_BAD_INPUT).
 */
import { MdlError, MdlErrorCode } from '@medledger/core';

const LENGTH_PREFIX = 4;

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function checkBounds(floor: number, max: number): void {
  if (!isPowerOfTwo(floor) || !isPowerOfTwo(max) || floor > max || max > 2 ** 30) {
    throw new RangeError('padding bounds must be powers of two with floor ≤ max ≤ 1 GiB');
  }
}

/** The padded size of `contentLength` bytes: the smallest power of two ≥ floor that holds them. */
export function paddedLength(contentLength: number, floor: number): number {
  let size = floor;
  while (size < contentLength + LENGTH_PREFIX) size *= 2;
  return size;
}

/** Pads `content` into its bucket; MDL_BAD_INPUT if the bucket would exceed `max`. */
export function pad(content: Uint8Array, floor: number, max: number): Uint8Array {
  checkBounds(floor, max);
  if (content.length + LENGTH_PREFIX > max) {
    throw new MdlError(MdlErrorCode.BadInput, `exchange message exceeds the size limit of ${max} bytes`);
  }
  const out = new Uint8Array(paddedLength(content.length, floor));
  new DataView(out.buffer).setUint32(0, content.length);
  out.set(content, LENGTH_PREFIX);
  return out;
}

/** Recovers the content of a padded plaintext (a view into it); MDL_BAD_INPUT if it is not padded as above. */
export function unpad(padded: Uint8Array, floor: number, max: number): Uint8Array {
  checkBounds(floor, max);
  const malformed = () => new MdlError(MdlErrorCode.BadInput, 'exchange message padding is malformed');
  if (!isPowerOfTwo(padded.length) || padded.length < floor || padded.length > max) throw malformed();
  const length = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0);
  if (length > padded.length - LENGTH_PREFIX) throw malformed();
  let nonZero = 0;
  for (let i = LENGTH_PREFIX + length; i < padded.length; i++) nonZero |= padded[i]!;
  if (nonZero !== 0) throw malformed();
  return padded.subarray(LENGTH_PREFIX, LENGTH_PREFIX + length);
}
