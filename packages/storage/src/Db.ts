/**
 * The index database behind one small interface, with two interchangeable backends: embedded PGlite (real
 * PostgreSQL compiled to WASM, files in the data directory — the default) and a PostgreSQL server (when
 * DATABASE_URL is set). One SQL dialect, one schema, both tested by the same suite.
 *
 * Value types are normalised across the two drivers: int8 → number (safe up to 2^53), bytea → Uint8Array,
 * timestamptz → Date.
 */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** Runs a script of one or more statements without parameters (simple query protocol), e.g. a migration. */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in a transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
