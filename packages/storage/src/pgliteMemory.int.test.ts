import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from './openDb.js';

// The buffer pool PGlite keeps (pgliteMemory.ts) on both threads, on a data directory copied from the pristine
// cluster the throwaway initdb thread made and then opened again; and that every such copy starts empty.
describe('embedded PGlite memory settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-pglite-memory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['worker', 'main'] as const)(
    'a new data directory on the %s thread has the small buffer pool',
    async (thread) => {
      const pgliteDir = join(dir, thread);
      const db = await openDb({ pgliteDir, pgliteThread: thread });
      await db.query('CREATE TABLE kept (v int)');
      await db.query('INSERT INTO kept VALUES (7)');
      await db.close();
      const again = await openDb({ pgliteDir, pgliteThread: thread });
      try {
        const settings = await again.query<{ name: string; setting: string; unit: string | null }>(
          "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'maintenance_work_mem', 'max_connections') ORDER BY name",
        );
        expect(settings.rows).toEqual([
          { name: 'maintenance_work_mem', setting: '16384', unit: 'kB' },
          { name: 'max_connections', setting: '4', unit: null },
          { name: 'shared_buffers', setting: '4096', unit: '8kB' },
        ]);
        expect((await again.query<{ v: number }>('SELECT v FROM kept')).rows).toEqual([{ v: 7 }]);
      } finally {
        await again.close();
      }
    },
  );

  it('a new data directory is a fresh cluster, whatever other directories of this process hold', async () => {
    const first = await openDb({ pgliteDir: join(dir, 'first') });
    await first.query('CREATE TABLE only_first (v int)');
    await first.close();
    const second = await openDb({ pgliteDir: join(dir, 'second') });
    try {
      const tables = await second.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'",
      );
      expect(tables.rows).toEqual([{ n: 0 }]);
      await second.query('CREATE TABLE only_first (v int)'); // no clash: its own catalogue
    } finally {
      await second.close();
    }
  });
});
