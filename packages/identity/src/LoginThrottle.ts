/**
 * Login throttling, per account and per client address, counted in the database so it survives a restart
 * and holds across several node processes sharing one PostgreSQL.
 *
 * Every attempt is counted *before* the password is checked (and the account counter cleared again on
 * success), under a row lock: a burst of parallel guesses cannot slip through while the first ones are still
 * being verified. After `freeFailures` the next attempt must wait base·2^(n−free) (capped); from
 * `lockoutAfter` failures on, each attempt waits the lock-out window. Failures older than `forgetAfterMs` no
 * longer count. Refused attempts are not counted, so hammering a locked account does not extend the lock for
 * its owner.
 *
 * The account key is the username's keyed hash, not the account id: unknown usernames are throttled exactly
 * like real ones, so the answer never reveals whether an account exists. Success clears the account counter
 * but only takes its own attempt back off the address counter, so one valid account does not reset the
 * address budget. IPv6 clients are counted per /64 (one subscriber's allocation).
 */

import { isIPv4, isIPv6 } from 'node:net';
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { Db } from '@medledger/storage';

export interface ThrottlePolicy {
  /** Failures allowed without any wait. */
  freeFailures: number;
  /** Wait after the first failure beyond the free ones; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** From this many failures on, every attempt waits `lockoutMs` after the previous one. */
  lockoutAfter: number;
  lockoutMs: number;
  /** Failures older than this are forgotten. */
  forgetAfterMs: number;
}

export const ACCOUNT_THROTTLE: Readonly<ThrottlePolicy> = Object.freeze({
  freeFailures: 3,
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  lockoutAfter: 10,
  lockoutMs: 15 * 60_000,
  forgetAfterMs: 24 * 60 * 60_000,
});

/**
 * Passphrases that open a patient's key file (a step-up when signing consent): typed rarely, by one person, so
 * a few slips are free and then the wait starts at a minute — far slower guessing than at the login form.
 */
export const KEY_PASSPHRASE_THROTTLE: Readonly<ThrottlePolicy> = Object.freeze({
  freeFailures: 3,
  baseDelayMs: 60_000,
  maxDelayMs: 60 * 60_000,
  lockoutAfter: 10,
  lockoutMs: 60 * 60_000,
  forgetAfterMs: 24 * 60 * 60_000,
});

/** Looser: many people can share one address (NAT, a hospital's proxy). */
export const ADDRESS_THROTTLE: Readonly<ThrottlePolicy> = Object.freeze({
  freeFailures: 20,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  lockoutAfter: 100,
  lockoutMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
});

/** Milliseconds until another attempt is allowed (0: now), given the failures so far and the last attempt. */
export function throttleWait(policy: ThrottlePolicy, failures: number, lastAttemptMs: number, nowMs: number) {
  if (nowMs - lastAttemptMs >= policy.forgetAfterMs || failures < policy.freeFailures) return 0;
  const delay =
    failures >= policy.lockoutAfter
      ? policy.lockoutMs
      : Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - policy.freeFailures));
  return Math.max(0, lastAttemptMs + delay - nowMs);
}

/** The bucket an address is counted in: IPv4 as is, IPv6 by its /64, anything unparseable in one bucket. */
export function addressBucket(ip: string): string {
  let s = String(ip).trim().toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.startsWith('::ffff:') && isIPv4(s.slice(7))) return s.slice(7);
  if (isIPv4(s)) return s;
  if (!isIPv6(s)) return 'unknown';
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const tailGroups = t.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tailGroups).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** MDL_RATE_LIMITED carrying the seconds to wait (for a Retry-After header). */
export type RateLimitedError = MdlError & { retryAfterSeconds: number };

export function rateLimited(retryAfterSeconds: number): RateLimitedError {
  return Object.assign(new MdlError(MdlErrorCode.RateLimited, 'too many failed attempts; try again later'), {
    retryAfterSeconds,
  });
}

/** The Retry-After seconds of a rate-limit error, or undefined for any other error. */
export function retryAfterSeconds(error: unknown): number | undefined {
  const value = (error as { retryAfterSeconds?: unknown })?.retryAfterSeconds;
  return error instanceof MdlError && typeof value === 'number' ? value : undefined;
}

/** An attempt that was let through; pass it to `succeeded` when the login succeeds. */
export interface ThrottleTicket {
  accountKey: string;
  addressKey: string;
}

export class LoginThrottle {
  readonly #db: Db;
  readonly #account: ThrottlePolicy;
  readonly #address: ThrottlePolicy;
  readonly #clock: () => number;

  constructor(
    db: Db,
    options: { account?: ThrottlePolicy; address?: ThrottlePolicy; clock?: () => number } = {},
  ) {
    this.#db = db;
    this.#account = options.account ?? ACCOUNT_THROTTLE;
    this.#address = options.address ?? ADDRESS_THROTTLE;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Admits and counts one attempt for `accountKey` (the username's keyed hash, any stable string) from `ip`,
   * or throws MDL_RATE_LIMITED with `retryAfterSeconds` and counts nothing.
   */
  async begin(accountKey: string, ip: string): Promise<ThrottleTicket> {
    const ticket = { accountKey: `a:${accountKey}`, addressKey: `ip:${addressBucket(ip)}` };
    const checks: [string, ThrottlePolicy][] = [
      [ticket.accountKey, this.#account],
      [ticket.addressKey, this.#address],
    ];
    // A fixed lock order, so two attempts never wait for each other's rows.
    checks.sort(([a], [b]) => (a < b ? -1 : 1));
    const now = this.#clock();
    const wait = await this.#db.transaction(async (tx) => {
      const seen: [string, number][] = [];
      let longest = 0;
      for (const [key, policy] of checks) {
        await tx.query(
          `INSERT INTO identity_login_throttle (key, failures, last_attempt_ms) VALUES ($1, 0, $2)
           ON CONFLICT (key) DO NOTHING`,
          [key, now],
        );
        const { rows } = await tx.query<{ failures: number; last_attempt_ms: number }>(
          'SELECT failures, last_attempt_ms FROM identity_login_throttle WHERE key = $1 FOR UPDATE',
          [key],
        );
        const row = rows[0]!;
        const last = Number(row.last_attempt_ms);
        const forgotten = now - last >= policy.forgetAfterMs;
        const failures = forgotten ? 0 : row.failures;
        longest = Math.max(longest, throttleWait(policy, failures, last, now));
        seen.push([key, failures]);
      }
      if (longest > 0) return longest;
      for (const [key, failures] of seen) {
        await tx.query(
          'UPDATE identity_login_throttle SET failures = $2, last_attempt_ms = $3 WHERE key = $1',
          [key, failures + 1, now],
        );
      }
      return 0;
    });
    if (wait > 0) throw rateLimited(Math.ceil(wait / 1000));
    return ticket;
  }

  /** A successful login: the account's counter is cleared and this attempt taken off the address's. */
  async succeeded(ticket: ThrottleTicket): Promise<void> {
    await this.#db.query('DELETE FROM identity_login_throttle WHERE key = $1', [ticket.accountKey]);
    await this.#db.query(
      'UPDATE identity_login_throttle SET failures = GREATEST(failures - 1, 0) WHERE key = $1',
      [ticket.addressKey],
    );
  }

  /** Deletes counters nobody has touched for longer than both policies remember (call periodically). */
  async prune(): Promise<number> {
    const horizon = Math.max(this.#account.forgetAfterMs, this.#address.forgetAfterMs);
    const { rowCount } = await this.#db.query(
      'DELETE FROM identity_login_throttle WHERE last_attempt_ms < $1',
      [this.#clock() - horizon],
    );
    return rowCount;
  }
}
