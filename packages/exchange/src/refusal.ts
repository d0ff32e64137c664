/**
 * The errors a receiver answers with when an exchange message fails a check. One fixed message per message
 * kind and outcome: a peer learns that it was refused, never which signature, key, binding or hash failed
 * (that would be an oracle for forging). The node logs the refusal; the detail stays out of the error.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';

export type ExchangeMessageKind = 'request' | 'response' | 'receipt';

/** MDL_INVALID_CREDENTIAL: a signature, key, address or binding check failed. */
export function refused(kind: ExchangeMessageKind): MdlError {
  return new MdlError(MdlErrorCode.InvalidCredential, `exchange ${kind} refused`);
}

/** MDL_REPLAY: expired, not yet valid, or seen before — deliberately the same message for all three. */
export function replayRefused(): MdlError {
  return new MdlError(
    MdlErrorCode.Replay,
    'exchange request is outside its validity window or was seen before',
  );
}
