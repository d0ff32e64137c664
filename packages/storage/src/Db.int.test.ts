import { afterAll, describe, expect, it } from 'vitest';
import { backends, pgliteWorkerBackend } from '../test/databases.js';
import { migrate } from './migrate.js';

const available = [...(await backends()), { ...pgliteWorkerBackend, label: 'pglite (worker thread)' }];

describe.each(available.map((b) => ({ label: b.name, ...b })))('index database on $label', (backend) => {
  const opened: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const db of opened) await db.close();
  });
  async function fresh() {
    const db = await backend.open();
    opened.push(db);
    return db;
  }

  it('runs parameterised queries with normalised value types', async () => {
    const db = await fresh();
    const { rows } = await db.query<{ n: number; b: Uint8Array; t: Date; s: string }>(
      "SELECT 9007199254740991::int8 AS n, '\\x0102ff'::bytea AS b, now() AS t, $1::text AS s",
      ['x'],
    );
    expect(rows[0]!.n).toBe(Number.MAX_SAFE_INTEGER);
    expect(Array.from(rows[0]!.b)).toEqual([1, 2, 255]);
    expect(rows[0]!.t).toBeInstanceOf(Date);
    expect(rows[0]!.s).toBe('x');
  });

  it('commits transactions that resolve and rolls back those that throw', async () => {
    const db = await fresh();
    await db.query('CREATE TABLE t (v int)');
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1)');
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (2)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await db.query<{ v: number }>('SELECT v FROM t')).rows).toEqual([{ v: 1 }]);
  });

  it('applies migrations once, in order, atomically', async () => {
    const db = await fresh();
    const ms = [
      { name: 'test/001', sql: 'CREATE TABLE a (x int)' },
      { name: 'test/002', sql: 'ALTER TABLE a ADD COLUMN y int' },
    ];
    expect(await migrate(db, ms)).toEqual(['test/001', 'test/002']);
    expect(await migrate(db, ms)).toEqual([]);
    await expect(migrate(db, [...ms, { name: 'test/003', sql: 'CREATE TABLE broken (' }])).rejects.toThrow();
    expect((await db.query('SELECT name FROM medledger_migrations')).rows).toHaveLength(2);
    await expect(migrate(db, [ms[0]!, ms[0]!])).rejects.toThrow(/duplicate/);
  });

  it('keeps statements issued outside a transaction out of it', async () => {
    const db = await fresh();
    await db.query('CREATE TABLE t (v int)');
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const tx = db.transaction(async (q) => {
      await q.query('INSERT INTO t VALUES (1)');
      await held;
      throw new Error('roll back');
    });
    // Issued while the transaction is open: must neither see its row nor be rolled back with it.
    const outside = db.query<{ n: number }>(
      'INSERT INTO t VALUES (2) RETURNING (SELECT count(*) FROM t)::int AS n',
    );
    await new Promise((r) => setTimeout(r, 30));
    release();
    await expect(tx).rejects.toThrow('roll back');
    expect((await outside).rows[0]!.n).toBe(0);
    expect((await db.query<{ v: number }>('SELECT v FROM t')).rows).toEqual([{ v: 2 }]);
  });

  it('reports SQL errors with their SQLSTATE and stays usable', async () => {
    const db = await fresh();
    await db.query('CREATE TABLE u (v int PRIMARY KEY)');
    await db.query('INSERT INTO u VALUES (1)');
    await expect(db.query('INSERT INTO u VALUES (1)')).rejects.toMatchObject({ code: '23505' });
    await expect(db.transaction((q) => q.query('SELECT * FROM missing'))).rejects.toMatchObject({
      code: '42P01',
    });
    expect((await db.query<{ v: number }>('SELECT v FROM u')).rows).toEqual([{ v: 1 }]);
  });
});
