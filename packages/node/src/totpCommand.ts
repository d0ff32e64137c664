/**
 * `medledger totp <otpauth URI | base32 secret>`: the current one-time code of a TOTP secret and how many
 * seconds it stays valid — what an authenticator app shows, for the demo's synthetic accounts and for an
 * administrator who has just created the first account on a fresh node. Parsing is strict: an otpauth://totp/
 * URI with a base32 `secret` (and optional algorithm, digits, period), or a bare base32 secret (spaces and
 * padding allowed) with the defaults every authenticator uses (SHA-1, 6 digits, 30 s).
 *
 * Limits: a code is accepted once per account (the node refuses a replayed step): after a sign-in with it,
 * wait for the next one.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { DEFAULT_TOTP, type TotpSecret, totpCode } from '@medledger/identity';

const BASE32 = /^[A-Z2-7]+=*$/;

const bad = (why: string) => new MdlError(MdlErrorCode.BadInput, why);

/** The secret of an otpauth://totp/ URI or a bare base32 secret; throws MDL_BAD_INPUT saying what is wrong. */
export function parseTotpInput(input: string): TotpSecret {
  const text = input.trim();
  if (text === '') throw bad('give an otpauth://totp/… URI or a base32 secret');
  if (/^otpauth:/i.test(text)) {
    let uri: URL;
    try {
      uri = new URL(text);
    } catch {
      throw bad('not a valid otpauth:// URI');
    }
    if (uri.host.toLowerCase() !== 'totp') throw bad('only otpauth://totp/ URIs are supported');
    const secret = (uri.searchParams.get('secret') ?? '').replace(/\s/g, '').toUpperCase();
    if (!secret) throw bad('the otpauth URI has no secret= parameter');
    if (!BASE32.test(secret)) throw bad('the secret is not base32 (letters A–Z and digits 2–7)');
    const algorithm = (uri.searchParams.get('algorithm') ?? DEFAULT_TOTP.algorithm).toUpperCase();
    if (!['SHA1', 'SHA256', 'SHA512'].includes(algorithm)) throw bad(`unsupported algorithm ${algorithm}`);
    const digits = Number(uri.searchParams.get('digits') ?? DEFAULT_TOTP.digits);
    if (![6, 7, 8].includes(digits)) throw bad('digits must be 6, 7 or 8');
    const period = Number(uri.searchParams.get('period') ?? DEFAULT_TOTP.period);
    if (!Number.isInteger(period) || period < 15 || period > 300) throw bad('period must be 15..300 seconds');
    return {
      secret,
      algorithm: algorithm as TotpSecret['algorithm'],
      digits: digits as TotpSecret['digits'],
      period,
    };
  }
  const secret = text.replace(/[\s-]/g, '').toUpperCase();
  if (!BASE32.test(secret)) {
    throw bad('not an otpauth:// URI nor a base32 secret (letters A–Z and digits 2–7)');
  }
  return { ...DEFAULT_TOTP, secret };
}

/** The code valid at `nowMs` and the whole seconds left in its time step. */
export function currentTotp(secret: TotpSecret, nowMs: number): { code: string; secondsLeft: number } {
  const periodMs = secret.period * 1000;
  return {
    code: totpCode(secret, nowMs),
    secondsLeft: Math.ceil((periodMs - (nowMs % periodMs)) / 1000),
  };
}

/** The command's one line of output. */
export function totpLine(input: string, nowMs: number): string {
  const { code, secondsLeft } = currentTotp(parseTotpInput(input), nowMs);
  return `${code}  (valid for ${secondsLeft} s more; a code signs in once — after that, wait for the next)`;
}
