/**
 * The embedded backend: PGlite with its files in the node's data directory (or in memory for tests).
 * PGlite is a single connection; it serialises concurrent queries itself, and a transaction holds the
 * connection until it ends, which gives the same isolation a server transaction would.
 */
import { PGlite } from '@electric-sql/pglite';
import type { Db, Queryable, QueryResult } from './Db.js';
import { PGLITE_MEMORY } from './pgliteMemory.js';

const INT8 = 20;

function wrap(q: { query: PGlite['query']; exec: PGlite['exec'] }): Queryable {
  return {
    async exec(sql: string): Promise<void> {
      await q.exec(sql);
    },
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const r = await q.query<T>(sql, params as unknown[]);
      // PGlite reports affectedRows 0 for a SELECT; PostgreSQL's rowCount is the number of rows returned.
      return { rows: r.rows, rowCount: r.fields.length > 0 ? r.rows.length : (r.affectedRows ?? 0) };
    },
  };
}

export async function openPgliteDb(dataDir?: string): Promise<Db> {
  const pg = await PGlite.create(dataDir ?? 'memory://', {
    parsers: { [INT8]: (v: string) => Number(v) },
    startParams: [...PGlite.defaultStartParams, ...PGLITE_MEMORY.startParams],
  });
  const base = wrap(pg);
  return {
    kind: 'pglite',
    query: base.query,
    exec: base.exec,
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    close: () => pg.close(),
  };
}
