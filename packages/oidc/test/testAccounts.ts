/**
 * A tiny in-test account table implementing AccountAuthority, standing in for @medledger/identity (which
 * provides the real one to the node): scrypt password hashes via node:crypto, an optional fixed one-time code
 * per account, a per-username failure counter that throttles after a few misses, and a switch to disable an
 * account. Enough to drive the authorisation server through real logins; not an account system.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { AccountAuthority, AccountClaims } from '../src/AccountAuthority.js';

export interface TestAccount {
  username: string;
  password: string;
  /** When set, logins must also give this one-time code. */
  otp?: string;
  accountId: string;
  claims: AccountClaims;
}

interface Row {
  salt: Buffer;
  hash: Buffer;
  otp?: string;
  accountId: string;
  claims: AccountClaims;
}

export interface TestAccountTable extends AccountAuthority {
  disable(accountId: string): void;
  /** How many logins were attempted (to show a refused form never reached the check). */
  readonly attempts: number;
}

const SCRYPT = { N: 1024, r: 8, p: 1 }; // cheap parameters: tests, not production

export function testAccounts(accounts: TestAccount[], maxFailures = 5): TestAccountTable {
  const byUsername = new Map<string, Row>();
  const byId = new Map<string, Row>();
  const disabled = new Set<string>();
  const failures = new Map<string, number>();
  let attempts = 0;
  for (const a of accounts) {
    const salt = randomBytes(16);
    const row: Row = {
      salt,
      hash: scryptSync(a.password, salt, 32, SCRYPT),
      ...(a.otp ? { otp: a.otp } : {}),
      accountId: a.accountId,
      claims: a.claims,
    };
    byUsername.set(a.username, row);
    byId.set(a.accountId, row);
  }
  return {
    get attempts() {
      return attempts;
    },
    disable(accountId) {
      disabled.add(accountId);
    },
    async authenticate(input) {
      attempts++;
      if ((failures.get(input.username) ?? 0) >= maxFailures) {
        throw new MdlError(MdlErrorCode.RateLimited, 'too many attempts');
      }
      const row = byUsername.get(input.username);
      const hash = scryptSync(input.password, row?.salt ?? randomBytes(16), 32, SCRYPT);
      const ok =
        row !== undefined &&
        timingSafeEqual(hash, row.hash) &&
        (row.otp === undefined || row.otp === input.otp) &&
        !disabled.has(row.accountId);
      if (!ok) {
        failures.set(input.username, (failures.get(input.username) ?? 0) + 1);
        throw new MdlError(MdlErrorCode.InvalidCredential, 'invalid credentials');
      }
      failures.delete(input.username);
      return { accountId: row.accountId, amr: row.otp ? ['pwd', 'otp'] : ['pwd'] };
    },
    async claims(accountId) {
      if (disabled.has(accountId)) return undefined;
      return byId.get(accountId)?.claims;
    },
  };
}
