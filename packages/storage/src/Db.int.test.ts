import { afterAll, describe, expect, it } from 'vitest';
import { backends } from '../test/databases.js';
import { migrate } from './migrate.js';

const available = await backends();

describe.each(available)('index database on $name', (backend) => {
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
});
