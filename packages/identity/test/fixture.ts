/**
 * Shared set-up for the identity tests that need a database: a migrated database on a backend from
 * storage's `backends()`, an account store with a controllable clock, and cheap scrypt parameters (the
 * production cost is exercised in passwords.test.ts).
 */

import { randomBytes } from 'node:crypto';
import { type Db, migrate } from '@medledger/storage';
import { afterAll, beforeAll } from 'vitest';
import type { Backend } from '../../storage/test/databases.js';
import { AccountStore } from '../src/AccountStore.js';
import { identityMigrations } from '../src/identityMigrations.js';
import type { ScryptCost } from '../src/passwords.js';

export const FAST_COST: ScryptCost = { ln: 10, r: 8, p: 1 };

/** A clock tests move by hand. */
export class TestClock {
  constructor(public ms = Date.UTC(2030, 0, 1)) {}
  readonly now = () => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * One migrated database on `backend` for a test file, opened on first use and closed after the file (a fresh
 * PGlite costs seconds; tests keep apart by using their own accounts, see `unique`).
 */
export function sharedDatabase(backend: Backend) {
  let db: Promise<Db> | undefined;
  const get = (): Promise<Db> => {
    db ??= backend.open().then(async (opened) => {
      await migrate(opened, identityMigrations);
      return opened;
    });
    return db;
  };
  // Opened before the first test, on a hook's time budget: starting PGlite (compiling its WebAssembly) takes a
  // minute on a loaded machine, which would otherwise count against whichever test happened to run first.
  beforeAll(async () => {
    await get();
  });
  afterAll(async () => {
    await (await db)?.close();
  });
  return get;
}

let counter = 0;
/** A name no other test of this process uses. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}.${randomBytes(3).toString('hex')}`;
}

export function newStore(db: Db, clock: TestClock, secretKey: Uint8Array = randomBytes(32)): AccountStore {
  return new AccountStore(db, { secretKey, passwordCost: FAST_COST, clock: clock.now });
}

export const PASSWORD = 'a long enough passphrase';
