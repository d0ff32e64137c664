/**
 * The server backend: a node-postgres pool on DATABASE_URL. `searchPath` confines the node (or a test) to one
 * schema of a shared database.
 */
import pg from 'pg';
import type { Db, Queryable, QueryResult } from './Db.js';

const INT8 = 20;

export interface PostgresOptions {
  connectionString: string;
  /** Schema to use (created if missing); default: the server's search_path. */
  schema?: string;
  max?: number;
}

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const r = await client.query(sql, params as unknown[]);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
  };
}

export async function openPostgresDb(options: PostgresOptions): Promise<Db> {
  const { schema } = options;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new RangeError('invalid schema name');
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as never,
    },
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // Fail fast with the server's own message if it is unreachable or the credentials are wrong.
  const probe = await pool.connect();
  try {
    if (schema) await probe.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } finally {
    probe.release();
  }
  const base = wrap(pool);
  return {
    kind: 'postgres',
    query: base.query,
    exec: base.exec,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
