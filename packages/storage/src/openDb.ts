/**
 * Opens the index database the configuration asks for: PostgreSQL if a URL is given, else PGlite on a worker
 * thread (the database then uses the second core instead of the event loop's).
 */
import type { Db } from './Db.js';
import { openPgliteDb } from './PgliteDb.js';
import { initialisePgliteDir, openPgliteWorkerDb } from './PgliteWorkerDb.js';
import { openPostgresDb } from './PostgresDb.js';

export interface DbConfig {
  /** postgres://… — when set, the PostgreSQL server is used. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; omitted: in memory. */
  pgliteDir?: string | undefined;
  /** PostgreSQL schema (tests isolate themselves with one each). */
  schema?: string | undefined;
  /**
   * Where embedded PGlite runs: its own worker thread (default — bulk imports ~30 % faster, the database on the
   * second core) or the main thread (small concurrent transactions ~70 % faster: no message hop per statement
   * while a transaction holds the connection). Measured in docs/storage.md.
   */
  pgliteThread?: 'worker' | 'main' | undefined;
}

export async function openDb(config: DbConfig): Promise<Db> {
  if (config.databaseUrl) {
    return openPostgresDb({
      connectionString: config.databaseUrl,
      ...(config.schema ? { schema: config.schema } : {}),
    });
  }
  if (config.pgliteThread !== 'main') return openPgliteWorkerDb(config.pgliteDir);
  // A new data directory is created on a throwaway thread, so initdb's garbage never enters this one's heap.
  if (config.pgliteDir) await initialisePgliteDir(config.pgliteDir);
  return openPgliteDb(config.pgliteDir);
}
