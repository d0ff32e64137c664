/**
 * TOTP second factor (RFC 6238) over otpauth: secrets, the otpauth:// enrolment URI, and matching a code
 * within ±1 time step with replay refusal — a code is accepted only for a step after the last step accepted
 * for that account, so a code (or an older one still inside the window) cannot be used twice. The caller
 * persists the returned step atomically (AccountStore.verifyTotp does, with a conditional UPDATE, so two
 * nodes racing with one code cannot both win).
 *
 * Limits: TOTP is phishable (a relayed code works within its window); WebAuthn is the stronger factor.
 * Secrets are 160 bits (RFC 4226 §4 recommends at least 128, 160 is what authenticator apps expect).
 */

import { MdlError, MdlErrorCode } from '@medledger/core';
import { Secret, TOTP } from 'otpauth';

export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

export interface TotpParams {
  algorithm: TotpAlgorithm;
  digits: 6 | 7 | 8;
  /** Seconds per step. */
  period: number;
}

/** What every authenticator app supports. */
export const DEFAULT_TOTP: Readonly<TotpParams> = Object.freeze({ algorithm: 'SHA1', digits: 6, period: 30 });

export interface TotpSecret extends TotpParams {
  /** The shared key, base32 (RFC 4648) as in the otpauth URI. */
  secret: string;
}

const ALGORITHMS: readonly string[] = ['SHA1', 'SHA256', 'SHA512'];

function checkParams(p: TotpParams): void {
  if (
    !ALGORITHMS.includes(p.algorithm) ||
    ![6, 7, 8].includes(p.digits) ||
    !Number.isInteger(p.period) ||
    p.period < 15 ||
    p.period > 300
  ) {
    throw new MdlError(MdlErrorCode.BadInput, 'unsupported TOTP parameters');
  }
}

function secretOf(s: TotpSecret): Secret {
  checkParams(s);
  try {
    return Secret.fromBase32(s.secret);
  } catch (cause) {
    throw new MdlError(MdlErrorCode.BadInput, 'TOTP secret is not base32', { cause });
  }
}

/** A fresh random 160-bit secret with the given parameters. */
export function generateTotpSecret(params: TotpParams = DEFAULT_TOTP): TotpSecret {
  checkParams(params);
  return { ...params, secret: new Secret({ size: 20 }).base32 };
}

/** The otpauth:// URI an authenticator app scans (as a QR code) to enrol. */
export function totpUri(secret: TotpSecret, who: { issuer: string; label: string }): string {
  return new TOTP({
    issuer: who.issuer,
    label: who.label,
    secret: secretOf(secret),
    algorithm: secret.algorithm,
    digits: secret.digits,
    period: secret.period,
  }).toString();
}

/** The time step a moment falls in. */
export function totpStep(period: number, nowMs: number): number {
  return TOTP.counter({ period, timestamp: nowMs });
}

/** The code for a moment (for enrolment checks and tests; a server never needs to show one). */
export function totpCode(secret: TotpSecret, nowMs: number): string {
  return TOTP.generate({
    secret: secretOf(secret),
    algorithm: secret.algorithm,
    digits: secret.digits,
    period: secret.period,
    timestamp: nowMs,
  });
}

/**
 * The step `code` belongs to, if it is valid within ±`window` steps of `nowMs` AND later than `lastUsedStep`;
 * undefined otherwise (wrong, expired, malformed, or replayed — deliberately not told apart).
 */
export function matchTotp(
  secret: TotpSecret,
  code: string,
  options: { nowMs: number; lastUsedStep?: number | undefined; window?: number },
): number | undefined {
  if (typeof code !== 'string') return undefined;
  const token = code.replace(/[\s-]/g, '');
  if (!/^\d+$/.test(token) || token.length !== secret.digits) return undefined;
  const window = options.window ?? 1;
  const key = secretOf(secret);
  const current = totpStep(secret.period, options.nowMs);
  const last = options.lastUsedStep ?? -1;
  // Check every step in the window rather than stopping at the first match, so that a code which also
  // happens to be valid for a later, unused step is not refused because an earlier, used step matched.
  let matched: number | undefined;
  for (let step = current - window; step <= current + window; step++) {
    if (step <= last || step < 0) continue;
    const delta = TOTP.validate({
      token,
      secret: key,
      algorithm: secret.algorithm,
      digits: secret.digits,
      period: secret.period,
      timestamp: step * secret.period * 1000,
      window: 0,
    });
    if (delta === 0 && matched === undefined) matched = step;
  }
  return matched;
}
