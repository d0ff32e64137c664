/**
 * Schema migrations: an ordered list of SQL scripts, each applied once, in a transaction, recorded in
 * `medledger_migrations`. Packages contribute their own lists (storage, ledger, …) under distinct names.
 * On PostgreSQL an advisory lock keeps two nodes starting at once from racing.
 */
import type { Db } from './Db.js';

export interface Migration {
  /** Unique and stable, e.g. "storage/001-records". Applied in array order. */
  name: string;
  sql: string;
}

const LOCK_ID = 0x6d646c; // "mdl"

export async function migrate(db: Db, migrations: readonly Migration[]): Promise<string[]> {
  const names = new Set<string>();
  for (const m of migrations) {
    if (names.has(m.name)) throw new Error(`duplicate migration name ${m.name}`);
    names.add(m.name);
  }
  return db.transaction(async (tx) => {
    if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS medledger_migrations (
         name text PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set(
      (await tx.query<{ name: string }>('SELECT name FROM medledger_migrations')).rows.map((r) => r.name),
    );
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO medledger_migrations (name) VALUES ($1)', [m.name]);
      applied.push(m.name);
    }
    return applied;
  });
}
