/**
 * Runs a suite against both index-database backends: PGlite (in memory) and the PostgreSQL server at
 * MEDLEDGER_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), each test in a fresh schema.
 * Without a reachable server the PostgreSQL half is skipped loudly — unless MEDLEDGER_REQUIRE_POSTGRES=1 (set by
 * CI), which makes it fail.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../src/Db.js';
import { openPgliteDb } from '../src/PgliteDb.js';
import { openPgliteWorkerDb } from '../src/PgliteWorkerDb.js';
import { openPostgresDb } from '../src/PostgresDb.js';

export const POSTGRES_URL =
  process.env.MEDLEDGER_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** A fresh, empty database (schema); `close()` it when done (PostgreSQL schemas are dropped). */
  open(): Promise<Db>;
}

let postgresReachable: Promise<boolean> | undefined;

async function probePostgres(): Promise<boolean> {
  try {
    const db = await openPostgresDb({ connectionString: POSTGRES_URL, max: 1 });
    await db.close();
    return true;
  } catch (error) {
    if (process.env.MEDLEDGER_REQUIRE_POSTGRES === '1') {
      throw new Error(
        `PostgreSQL at ${POSTGRES_URL} is required (MEDLEDGER_REQUIRE_POSTGRES=1) but unreachable: ${error}`,
      );
    }
    console.warn(
      `PostgreSQL at ${POSTGRES_URL} unreachable — its half of the storage suite is SKIPPED (${error})`,
    );
    return false;
  }
}

export const pgliteBackend: Backend = { name: 'pglite', open: () => openPgliteDb() };

/** PGlite on its own thread (what the node runs with embedded storage); the Db suite covers it too. */
export const pgliteWorkerBackend: Backend = { name: 'pglite', open: () => openPgliteWorkerDb() };

export const postgresBackend: Backend = {
  name: 'postgres',
  async open() {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const db = await openPostgresDb({ connectionString: POSTGRES_URL, schema, max: 4 });
    return {
      ...db,
      async close() {
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.close();
      },
    };
  },
};

/** The backends available here: PGlite always, PostgreSQL when reachable (or required). */
export async function backends(): Promise<Backend[]> {
  postgresReachable ??= probePostgres();
  return (await postgresReachable) ? [pgliteBackend, postgresBackend] : [pgliteBackend];
}
