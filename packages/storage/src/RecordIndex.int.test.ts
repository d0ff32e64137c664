import { randomBytes } from 'node:crypto';
import { DataCategory, isMdlError, type MdlErrorCode } from '@medledger/core';
import { computeCid } from '@medledger/crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../test/databases.js';
import { describePhiScan } from '../test/phiScan.js';
import type { Db } from './Db.js';
import { migrate } from './migrate.js';
import { type IndexedVersion, RecordIndex, type SearchFilter, type VersionWrite } from './RecordIndex.js';

const available = await backends();
const index = new RecordIndex();

/** A resource type name no other test uses (tests share one database per backend). */
function uniqueType(): string {
  return `T${Array.from(randomBytes(8), (b) => String.fromCharCode(97 + (b % 26))).join('')}`;
}
const uniqueId = () => randomBytes(8).toString('hex');
const token = () => randomBytes(16).toString('base64url');
const pseudonym = () => new Uint8Array(randomBytes(32));
const cid = () => computeCid(randomBytes(16));

function write(over: Partial<VersionWrite> & Pick<VersionWrite, 'type' | 'id'>): VersionWrite {
  return {
    expectedVersion: null,
    cid: cid(),
    lastUpdated: new Date(),
    pseudonym: null,
    category: null,
    epoch: null,
    deleted: false,
    tokens: [],
    ...over,
  };
}

async function rejectsWith(p: Promise<unknown>, code: MdlErrorCode): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isMdlError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
}

const ids = (rows: IndexedVersion[]) => rows.map((r) => r.id);

describe.each(available)('RecordIndex on $name', (backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await backend.open();
    expect(await migrate(db, RecordIndex.migrations)).toEqual(RecordIndex.migrations.map((m) => m.name));
  });
  afterAll(async () => {
    await db?.close();
  });

  it('migrates once', async () => {
    expect(await migrate(db, RecordIndex.migrations)).toEqual([]);
  });

  it('creates version 1, updates to 2, keeps every version, and reads them back', async () => {
    const type = uniqueType();
    const id = uniqueId();
    const p = pseudonym();
    const t1 = new Date('2024-01-02T03:04:05.678Z');
    const c1 = cid();
    expect(
      await index.writeVersion(
        db,
        write({
          type,
          id,
          cid: c1,
          lastUpdated: t1,
          pseudonym: p,
          category: DataCategory.Observations,
          epoch: 0,
        }),
      ),
    ).toEqual({ version: 1 });
    const v1: IndexedVersion = {
      type,
      id,
      version: 1,
      cid: c1,
      deleted: false,
      lastUpdated: t1,
      pseudonym: p,
      category: DataCategory.Observations,
      epoch: 0,
      systemOwned: false,
    };
    expect(await index.current(db, type, id)).toEqual(v1);
    expect(await index.version(db, type, id, 1)).toEqual(v1);

    const c2 = cid();
    const t2 = new Date('2024-01-03T00:00:00Z');
    expect(
      await index.writeVersion(
        db,
        write({
          type,
          id,
          expectedVersion: 1,
          cid: c2,
          lastUpdated: t2,
          pseudonym: p,
          category: 3,
          epoch: 1,
        }),
      ),
    ).toEqual({ version: 2 });
    const v2 = { ...v1, version: 2, cid: c2, lastUpdated: t2, epoch: 1 };
    expect(await index.current(db, type, id)).toEqual(v2);
    expect(await index.version(db, type, id, 1)).toEqual(v1);
    expect(await index.version(db, type, id, 2)).toEqual(v2);
    expect(await index.version(db, type, id, 3)).toBeUndefined();
    expect(await index.current(db, type, uniqueId())).toBeUndefined();
    expect(await index.current(db, uniqueType(), id)).toBeUndefined();
  });

  it('replaces search tokens with each version and removes them on delete', async () => {
    const type = uniqueType();
    const id = uniqueId();
    const [a, b, c] = [token(), token(), token()];
    const find = async (param: string, tok: string) =>
      ids(
        (
          await index.search(db, {
            type,
            filters: [{ param, tokens: [tok] }],
            sort: 'lastUpdated',
            count: 10,
            offset: 0,
          })
        ).rows,
      );

    await index.writeVersion(
      db,
      write({
        type,
        id,
        tokens: [
          { param: 'name', token: a },
          { param: 'name', token: b },
          { param: 'name', token: a },
        ],
      }),
    );
    expect(await find('name', a)).toEqual([id]);
    expect(await find('name', b)).toEqual([id]);
    expect(await find('identifier', a)).toEqual([]); // tokens are per parameter

    await index.writeVersion(
      db,
      write({ type, id, expectedVersion: 1, tokens: [{ param: 'name', token: c }] }),
    );
    expect(await find('name', a)).toEqual([]);
    expect(await find('name', c)).toEqual([id]);

    expect(
      await index.writeVersion(db, write({ type, id, expectedVersion: 2, cid: null, deleted: true })),
    ).toEqual({
      version: 3,
    });
    expect(await find('name', c)).toEqual([]);
    expect((await db.query('SELECT 1 FROM search_tokens WHERE type = $1', [type])).rows.length).toBe(0);
    const head = await index.current(db, type, id);
    expect(head).toMatchObject({ version: 3, deleted: true, cid: null });
    // Deleted: excluded from search even without token filters, and from the compartment.
    expect(
      (await index.search(db, { type, filters: [], sort: 'lastUpdated', count: 10, offset: 0 })).rows,
    ).toEqual([]);

    // Re-creating a deleted resource is an update based on the delete; "must not exist" conflicts.
    await rejectsWith(
      index.writeVersion(db, write({ type, id, expectedVersion: null })),
      'MDL_VERSION_CONFLICT',
    );
    expect(
      await index.writeVersion(
        db,
        write({ type, id, expectedVersion: 3, tokens: [{ param: 'name', token: a }] }),
      ),
    ).toEqual({
      version: 4,
    });
    expect(await find('name', a)).toEqual([id]);
  });

  it('rebuilds tokens: pages current versions, replaces only resources still at that version, records the scheme', async () => {
    const type = uniqueType();
    const [x, y, z] = ['a1', 'b2', 'c3'];
    const [old, fresh, raced, late] = [token(), token(), token(), token()];
    await index.writeVersions(db, [
      write({ type, id: x, tokens: [{ param: 'name', token: old }] }),
      write({ type, id: y, tokens: [{ param: 'name', token: old }] }),
      write({ type, id: z, tokens: [{ param: 'name', token: old }] }),
    ]);
    await index.writeVersion(db, write({ type, id: z, expectedVersion: 1, cid: null, deleted: true }));
    const find = async (tok: string) =>
      ids(
        (
          await index.search(db, {
            type,
            filters: [{ param: 'name', tokens: [tok] }],
            sort: 'lastUpdated',
            count: 10,
            offset: 0,
          })
        ).rows,
      ).sort();

    // Keyset pages in (type, id) order, deletes included.
    const first = await index.currentVersions(db, { type, id: '0' }, 2);
    expect(first.map((r) => [r.type, r.id, r.version, r.deleted])).toEqual([
      [type, x, 1, false],
      [type, y, 1, false],
    ]);
    const second = await index.currentVersions(db, first[1], 2);
    expect(second[0]).toMatchObject({ type, id: z, version: 2, deleted: true });

    // y was written after its tokens were computed from version 1: its own write's tokens stay.
    await index.writeVersion(
      db,
      write({ type, id: y, expectedVersion: 1, tokens: [{ param: 'name', token: late }] }),
    );
    expect(
      await index.replaceTokens(db, [
        { type, id: x, version: 1, tokens: [{ param: 'name', token: fresh }] },
        { type, id: y, version: 1, tokens: [{ param: 'name', token: raced }] },
        { type, id: z, version: 2, tokens: [] },
      ]),
    ).toBe(2);
    expect(await find(old)).toEqual([]);
    expect(await find(fresh)).toEqual([x]);
    expect(await find(raced)).toEqual([]);
    expect(await find(late)).toEqual([y]);
    // Malformed tokens are refused like on a write, and nothing is replaced.
    await rejectsWith(
      index.replaceTokens(db, [{ type, id: x, version: 1, tokens: [{ param: 'name', token: 'smith' }] }]),
      'MDL_BAD_INPUT',
    );
    expect(await find(fresh)).toEqual([x]);

    // The scheme row: absent, recorded, replaced, cleared.
    await index.clearTokenScheme(db);
    expect(await index.tokenScheme(db)).toBeUndefined();
    expect(await index.hasResources(db)).toBe(true);
    await index.setTokenScheme(db, 1);
    await index.setTokenScheme(db, 2);
    expect(await index.tokenScheme(db)).toBe(2);
    await rejectsWith(index.setTokenScheme(db, 0), 'MDL_BAD_INPUT');
    await index.clearTokenScheme(db);
    expect(await index.tokenScheme(db)).toBeUndefined();
  });

  it('refuses a write based on the wrong version and writes nothing', async () => {
    const type = uniqueType();
    const id = uniqueId();
    const tok = token();
    await index.writeVersion(db, write({ type, id, tokens: [{ param: 'code', token: tok }] }));
    const snapshot = async () => ({
      head: await index.current(db, type, id),
      versions: (
        await db.query('SELECT version FROM resource_versions WHERE type = $1 ORDER BY version', [type])
      ).rows,
      tokens: (await db.query('SELECT param, token FROM search_tokens WHERE type = $1', [type])).rows,
    });
    const before = await snapshot();
    await rejectsWith(index.writeVersion(db, write({ type, id })), 'MDL_VERSION_CONFLICT'); // exists
    await rejectsWith(
      index.writeVersion(db, write({ type, id, expectedVersion: 2, tokens: [] })),
      'MDL_VERSION_CONFLICT',
    );
    await rejectsWith(
      index.writeVersion(db, write({ type, id: uniqueId(), expectedVersion: 1 })),
      'MDL_VERSION_CONFLICT',
    );
    expect(await snapshot()).toEqual(before);
    expect((await db.query('SELECT 1 FROM resources WHERE type = $1', [type])).rows.length).toBe(1);
  });

  it('writes a batch with set-based statements, and nothing of a batch with one conflicting entry', async () => {
    const type = uniqueType();
    const batch = Array.from({ length: 50 }, (_, i) =>
      write({
        type,
        id: `b${i}`,
        pseudonym: pseudonym(),
        category: 3,
        epoch: 0,
        tokens: [{ param: 'code', token: token() }],
      }),
    );
    expect(await index.writeVersions(db, batch)).toEqual(batch.map(() => ({ version: 1 })));
    expect((await index.current(db, type, 'b7'))?.version).toBe(1);
    const updates = batch.slice(0, 10).map((w) => ({ ...w, expectedVersion: 1, cid: cid(), tokens: [] }));
    expect(await index.writeVersions(db, updates)).toEqual(updates.map(() => ({ version: 2 })));
    const count = async () =>
      (await db.query('SELECT count(*)::int8 AS n FROM resource_versions WHERE type = $1', [type])).rows[0];
    const before = await count();
    const mixed = [
      write({ type, id: 'fresh-1' }),
      write({ type, id: 'b20' }),
      write({ type, id: 'fresh-2' }),
    ];
    await rejectsWith(index.writeVersions(db, mixed), 'MDL_VERSION_CONFLICT');
    const stale = [
      { ...batch[30]!, expectedVersion: 1, cid: cid() },
      { ...batch[0]!, expectedVersion: 1, cid: cid() },
    ];
    await rejectsWith(index.writeVersions(db, stale), 'MDL_VERSION_CONFLICT');
    expect(await count()).toEqual(before);
    expect(await index.current(db, type, 'fresh-1')).toBeUndefined();
    expect((await index.current(db, type, 'b30'))?.version).toBe(1);
  });

  it('leaves a composing transaction usable after a conflict', async () => {
    const type = uniqueType();
    const [x, y] = [uniqueId(), uniqueId()];
    await index.writeVersion(db, write({ type, id: x }));
    await db.transaction(async (tx) => {
      await rejectsWith(index.writeVersion(tx, write({ type, id: x })), 'MDL_VERSION_CONFLICT');
      await index.writeVersion(tx, write({ type, id: y }));
    });
    expect(await index.current(db, type, y)).toMatchObject({ version: 1 });
  });

  it('rolls back with the composing transaction', async () => {
    const type = uniqueType();
    const id = uniqueId();
    await expect(
      db.transaction(async (tx) => {
        await index.writeVersion(tx, write({ type, id, tokens: [{ param: 'name', token: token() }] }));
        throw new Error('outbox write failed');
      }),
    ).rejects.toThrow('outbox write failed');
    expect(await index.current(db, type, id)).toBeUndefined();
    expect((await db.query('SELECT 1 FROM search_tokens WHERE type = $1', [type])).rows.length).toBe(0);
  });

  it('is atomic when given the Db: a failure after the head row is claimed leaves nothing', async () => {
    const type = uniqueType();
    const id = uniqueId();
    const c1 = cid();
    await index.writeVersion(db, write({ type, id, cid: c1 }));
    // Sabotage: a stray row occupying version 2 makes the version insert fail after the head update.
    await db.query(
      `INSERT INTO resource_versions (type, id, version, deleted, cid, last_updated) VALUES ($1, $2, 2, false, $3, now())`,
      [type, id, cid()],
    );
    await expect(index.writeVersion(db, write({ type, id, expectedVersion: 1 }))).rejects.toThrow();
    expect(await index.current(db, type, id)).toMatchObject({ version: 1, cid: c1 });
  });

  it('lets exactly one of many concurrent writers based on the same version win', async () => {
    const type = uniqueType();
    const id = uniqueId();
    await index.writeVersion(db, write({ type, id }));
    const writers = 4;
    // On PostgreSQL every writer opens its transaction and waits until all have, so their updates truly race
    // (the losers block on the winner's row lock). PGlite runs transactions one at a time: no barrier there.
    let arrived = 0;
    let release!: () => void;
    const barrier = new Promise<void>((r) => {
      release = r;
    });
    const attempt = (expectedVersion: number | null, theId: string) =>
      db.transaction(async (tx) => {
        await tx.query('SELECT 1');
        if (db.kind === 'postgres') {
          if (++arrived === writers) release();
          await barrier;
        }
        return index.writeVersion(
          tx,
          write({ type, id: theId, expectedVersion, tokens: [{ param: 'p', token: token() }] }),
        );
      });
    const updates = await Promise.allSettled(Array.from({ length: writers }, () => attempt(1, id)));
    expect(updates.filter((r) => r.status === 'fulfilled')).toEqual([
      { status: 'fulfilled', value: { version: 2 } },
    ]);
    for (const r of updates.filter((r) => r.status === 'rejected'))
      expect(isMdlError(r.reason, 'MDL_VERSION_CONFLICT'), String(r.reason)).toBe(true);
    expect(
      (await db.query('SELECT version FROM resource_versions WHERE type = $1', [type])).rows.length,
    ).toBe(2);
    expect((await db.query('SELECT 1 FROM search_tokens WHERE type = $1', [type])).rows.length).toBe(1);

    arrived = 0;
    const barrier2 = new Promise<void>((r) => {
      release = r;
    });
    const attempt2 = (theId: string) =>
      db.transaction(async (tx) => {
        await tx.query('SELECT 1');
        if (db.kind === 'postgres') {
          if (++arrived === writers) release();
          await barrier2;
        }
        return index.writeVersion(tx, write({ type, id: theId, expectedVersion: null }));
      });
    const fresh = uniqueId();
    const creates = await Promise.allSettled(Array.from({ length: writers }, () => attempt2(fresh)));
    expect(creates.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      creates
        .filter((r) => r.status === 'rejected')
        .every((r) => isMdlError(r.reason, 'MDL_VERSION_CONFLICT')),
    ).toBe(true);
  });

  it.runIf(backend.name === 'postgres')(
    'lets a waiting writer win when the first one rolls back',
    async () => {
      const type = uniqueType();
      const id = uniqueId();
      await index.writeVersion(db, write({ type, id }));
      let claimed!: () => void;
      const firstClaimed = new Promise<void>((r) => {
        claimed = r;
      });
      const first = db.transaction(async (tx) => {
        await index.writeVersion(tx, write({ type, id, expectedVersion: 1 }));
        claimed();
        await new Promise((r) => setTimeout(r, 300)); // the second writer is now blocked on our row lock
        throw new Error('first writer aborts');
      });
      await firstClaimed;
      const second = index.writeVersion(db, write({ type, id, expectedVersion: 1 }));
      await expect(first).rejects.toThrow('first writer aborts');
      expect(await second).toEqual({ version: 2 });
    },
  );

  it('refuses malformed writes with MDL_BAD_INPUT, writing nothing', async () => {
    const type = uniqueType();
    const id = uniqueId();
    const cases: Partial<VersionWrite>[] = [
      { type: 'observation' },
      { type: 'Observation; DROP TABLE resources' },
      { id: 'has space' },
      { id: 'x'.repeat(65) },
      { id: '' },
      { expectedVersion: 0 },
      { expectedVersion: 1.5 },
      { cid: 'not-a-cid' },
      { cid: null }, // not a delete
      { deleted: true }, // a delete with a cid
      { deleted: true, cid: null, tokens: [{ param: 'name', token: token() }] },
      { lastUpdated: new Date(Number.NaN) },
      { pseudonym: new Uint8Array(31) },
      { pseudonym: '0x00' as unknown as Uint8Array },
      { category: 99 },
      { category: -1 },
      { epoch: -1 },
      { epoch: 2 ** 31 },
      // Plaintext where a blind token belongs is refused, not stored.
      { tokens: [{ param: 'family', token: 'Smith' }] },
      { tokens: [{ param: 'birthdate', token: '1963-10-05' }] },
      { tokens: [{ param: 'name', token: `${token().slice(0, 21)} ` }] },
      { tokens: [{ param: 'bad param', token: token() }] },
      { tokens: 'x' as unknown as [] },
    ];
    for (const c of cases)
      await rejectsWith(index.writeVersion(db, write({ type, id, ...c })), 'MDL_BAD_INPUT');
    expect((await db.query('SELECT 1 FROM resources WHERE type = $1', [type])).rows.length).toBe(0);
  });

  it('searches: AND of ORs, ids, lastUpdated, patient, categories, sort and paging — never a total', async () => {
    const type = uniqueType();
    const [red, green, blue, small, large] = [token(), token(), token(), token(), token()];
    const alice = pseudonym();
    const bob = pseudonym();
    const base = Date.parse('2030-01-01T00:00:00Z');
    const at = (i: number) => new Date(base + i * 60_000);
    // id  colour  size   patient  category   minute
    const spec = [
      ['a', red, small, alice, DataCategory.Observations, 1],
      ['b', green, small, alice, DataCategory.Conditions, 2],
      ['c', blue, large, bob, DataCategory.Observations, 3],
      ['d', red, large, bob, DataCategory.Observations, 4],
      ['e', green, large, alice, DataCategory.Observations, 5],
    ] as const;
    for (const [id, colour, size, p, category, minute] of spec) {
      await index.writeVersion(
        db,
        write({
          type,
          id,
          lastUpdated: at(minute),
          pseudonym: p,
          category,
          epoch: 0,
          tokens: [
            { param: 'colour', token: colour },
            { param: 'size', token: size },
          ],
        }),
      );
    }
    // A sixth, deleted: never found.
    await index.writeVersion(
      db,
      write({ type, id: 'f', lastUpdated: at(6), tokens: [{ param: 'colour', token: red }] }),
    );
    await index.writeVersion(
      db,
      write({ type, id: 'f', expectedVersion: 1, deleted: true, cid: null, lastUpdated: at(7) }),
    );

    const search = async (q: Partial<Parameters<RecordIndex['search']>[1]>) => {
      const r = await index.search(db, {
        type,
        filters: [],
        sort: 'lastUpdated',
        count: 100,
        offset: 0,
        ...q,
      });
      expect(Object.keys(r).sort()).toEqual(['hasMore', 'rows']);
      return r;
    };
    // Every search below is also counted: the count covers exactly what the search would list.
    const found = async (q: Partial<Parameters<RecordIndex['search']>[1]>) => {
      const listed = ids((await search(q)).rows);
      const query = { type, filters: [], sort: 'lastUpdated' as const, count: 100, offset: 0, ...q };
      expect(await index.count(db, query)).toBe(listed.length);
      return listed;
    };

    expect(await found({})).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await found({ sort: '-lastUpdated' })).toEqual(['e', 'd', 'c', 'b', 'a']);
    expect(await found({ filters: [{ param: 'colour', tokens: [red] }] })).toEqual(['a', 'd']);
    expect(await found({ filters: [{ param: 'colour', tokens: [red, green] }] })).toEqual([
      'a',
      'b',
      'd',
      'e',
    ]);
    expect(
      await found({
        filters: [
          { param: 'colour', tokens: [red, green] },
          { param: 'size', tokens: [large] },
        ],
      }),
    ).toEqual(['d', 'e']);
    expect(await found({ filters: [{ param: 'size', tokens: [red] }] })).toEqual([]); // right token, wrong param
    expect(await found({ filters: [{ param: 'colour', tokens: [] }] })).toEqual([]);
    expect(await found({ ids: ['e', 'a', 'f', 'zz'] })).toEqual(['a', 'e']);
    expect(await found({ ids: [] })).toEqual([]);
    expect(await found({ pseudonym: alice })).toEqual(['a', 'b', 'e']);
    expect(await found({ pseudonym: alice, categories: [DataCategory.Observations] })).toEqual(['a', 'e']);
    expect(await found({ categories: [DataCategory.Conditions, DataCategory.Medications] })).toEqual(['b']);
    expect(await found({ categories: [] })).toEqual([]);
    expect(await found({ lastUpdated: [{ op: 'gt', at: at(2) }] })).toEqual(['c', 'd', 'e']);
    expect(await found({ lastUpdated: [{ op: 'ge', at: at(2) }] })).toEqual(['b', 'c', 'd', 'e']);
    expect(await found({ lastUpdated: [{ op: 'lt', at: at(2) }] })).toEqual(['a']);
    expect(await found({ lastUpdated: [{ op: 'le', at: at(2) }] })).toEqual(['a', 'b']);
    expect(await found({ lastUpdated: [{ op: 'eq', at: at(3) }] })).toEqual(['c']);
    expect(
      await found({
        lastUpdated: [
          { op: 'ge', at: at(2) },
          { op: 'lt', at: at(5) },
        ],
        filters: [{ param: 'size', tokens: [large] }],
      }),
    ).toEqual(['c', 'd']);

    // Access filters: per pseudonym, a mask of visible categories; applied before paging.
    const obs = 1 << DataCategory.Observations;
    const cond = 1 << DataCategory.Conditions;
    const only = (pseudonyms: Uint8Array[], categoryMasks: number[]) => ({
      access: { pseudonyms, categoryMasks },
    });
    expect(await found(only([alice], [obs]))).toEqual(['a', 'e']);
    expect(await found(only([alice, bob], [cond, obs]))).toEqual(['b', 'c', 'd']);
    expect(await found(only([bob], [cond]))).toEqual([]);
    expect(await found(only([], []))).toEqual([]);
    // Pages of a filtered search are full and say nothing about hidden rows.
    expect(await search({ ...only([alice, bob], [cond, obs]), count: 2 })).toMatchObject({ hasMore: true });
    expect(ids((await search({ ...only([alice, bob], [cond, obs]), count: 2, offset: 2 })).rows)).toEqual([
      'd',
    ]);
    expect(await search({ ...only([alice, bob], [cond, obs]), count: 2, offset: 2 })).toMatchObject({
      hasMore: false,
    });
    expect(
      ids((await index.compartment(db, alice, { count: 10, offset: 0, ...only([alice], [obs]) })).rows),
    ).toEqual(['a', 'e']);

    expect(await search({ count: 2 })).toMatchObject({ hasMore: true });
    expect(ids((await search({ count: 2 })).rows)).toEqual(['a', 'b']);
    expect(ids((await search({ count: 2, offset: 2 })).rows)).toEqual(['c', 'd']);
    expect(await search({ count: 2, offset: 4 })).toMatchObject({ hasMore: false });
    expect(ids((await search({ count: 2, offset: 4 })).rows)).toEqual(['e']);
    expect(await search({ count: 5 })).toMatchObject({ hasMore: false });
    expect(await search({ count: 0 })).toEqual({ rows: [], hasMore: true });
    expect((await search({ ids: ['a'] })).rows[0]).toMatchObject({
      type,
      id: 'a',
      version: 1,
      pseudonym: alice,
      epoch: 0,
    });

    for (const bad of [
      { count: -1 },
      { count: 1001 },
      { offset: -1 },
      { offset: 0.5 },
      { sort: 'name' as 'lastUpdated' },
      { type: 'bad type' },
      { ids: ['no spaces'] },
      { filters: [{ param: 'name', tokens: ['smith'] }] },
      { filters: [{ param: '', tokens: [token()] }] },
      { lastUpdated: [{ op: 'ne' as 'eq', at: at(1) }] },
      { lastUpdated: [{ op: 'eq' as const, at: new Date('x') }] },
      { pseudonym: new Uint8Array(8) },
      { categories: [42] },
      { access: { pseudonyms: [alice], categoryMasks: [] } },
      { access: { pseudonyms: [new Uint8Array(3)], categoryMasks: [1] } },
      { access: { pseudonyms: [alice], categoryMasks: [-1] } },
    ])
      await rejectsWith(search(bad), 'MDL_BAD_INPUT');
  });

  it('searches with alternatives of AND-ed tests, presence tests and negation (:missing, :not, ne)', async () => {
    const type = uniqueType();
    const [s2020, e2020, e2021, red] = [token(), token(), token(), token()];
    // id  date start / end tokens   colour
    const spec: [string, { param: string; token: string }[]][] = [
      [
        'a',
        [
          { param: 'date', token: s2020 },
          { param: 'date', token: e2020 },
        ],
      ],
      [
        'b',
        [
          { param: 'date', token: s2020 },
          { param: 'date', token: e2021 },
          { param: 'colour', token: red },
        ],
      ],
      ['c', [{ param: 'colour', token: red }]],
      ['d', []],
    ];
    for (const [id, tokens] of spec) await index.writeVersion(db, write({ type, id, tokens }));
    const found = async (filters: SearchFilter[]) =>
      ids((await index.search(db, { type, filters, sort: 'lastUpdated', count: 10, offset: 0 })).rows).sort();
    const contained = {
      anyOf: [
        [
          { param: 'date', tokens: [s2020] },
          { param: 'date', tokens: [e2020] },
        ],
      ],
    };
    expect(await found([contained])).toEqual(['a']);
    expect(await found([{ anyOf: [[{ param: 'date', tokens: [e2021] }], ...contained.anyOf] }])).toEqual([
      'a',
      'b',
    ]);
    expect(await found([{ anyOf: [[{ param: 'date' }]] }])).toEqual(['a', 'b']);
    expect(await found([{ anyOf: [[{ param: 'date' }]], not: true }])).toEqual(['c', 'd']);
    expect(await found([{ anyOf: [[{ param: 'colour', tokens: [red] }]], not: true }])).toEqual(['a', 'd']);
    // ne: present and not contained.
    expect(await found([{ anyOf: [[{ param: 'date' }]] }, { ...contained, not: true }])).toEqual(['b']);
    // A test with no tokens is false: its alternative fails, its negation holds.
    expect(await found([{ anyOf: [[{ param: 'date', tokens: [] }]] }])).toEqual([]);
    expect(await found([{ anyOf: [[{ param: 'date', tokens: [] }]], not: true }])).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
    for (const bad of [
      [{ anyOf: [[]] }],
      [{ anyOf: [[{ param: 'date', tokens: ['plaintext'] }]] }],
      [{ anyOf: [[{ param: 'bad param!' }]] }],
      [{ anyOf: [[{ param: 'date' }]], not: 'yes' as unknown as boolean }],
    ] as SearchFilter[][])
      await rejectsWith(found(bad), 'MDL_BAD_INPUT');
  });

  it('pages instance, type and system history newest first, deletes included', async () => {
    const type = uniqueType();
    const other = uniqueType();
    const base = Date.parse('2031-06-01T00:00:00Z') + Math.floor(Math.random() * 1e9);
    const at = (i: number) => new Date(base + i * 1000);
    await index.writeVersion(db, write({ type, id: 'x', lastUpdated: at(1) }));
    await index.writeVersion(db, write({ type, id: 'y', lastUpdated: at(2) }));
    await index.writeVersion(db, write({ type, id: 'x', expectedVersion: 1, lastUpdated: at(3) }));
    await index.writeVersion(db, write({ type: other, id: 'x', lastUpdated: at(4) }));
    await index.writeVersion(
      db,
      write({ type, id: 'x', expectedVersion: 2, deleted: true, cid: null, lastUpdated: at(5) }),
    );

    const key = (r: IndexedVersion) => `${r.type === type ? 'T' : 'O'}/${r.id}/${r.version}`;
    const hist = async (h: Partial<Parameters<RecordIndex['history']>[1]>) => {
      const r = await index.history(db, { count: 100, offset: 0, ...h });
      return { keys: r.rows.map(key), hasMore: r.hasMore, rows: r.rows };
    };
    expect((await hist({ type, id: 'x' })).keys).toEqual(['T/x/3', 'T/x/2', 'T/x/1']);
    expect((await hist({ type, id: 'x' })).rows[0]).toMatchObject({ deleted: true, cid: null });
    expect((await hist({ type })).keys).toEqual(['T/x/3', 'T/x/2', 'T/y/1', 'T/x/1']);
    expect((await hist({ since: at(1) })).keys).toEqual(['T/x/3', 'O/x/1', 'T/x/2', 'T/y/1', 'T/x/1']);
    expect((await hist({ since: at(3) })).keys).toEqual(['T/x/3', 'O/x/1', 'T/x/2']);
    expect((await hist({ type, since: at(3) })).keys).toEqual(['T/x/3', 'T/x/2']);
    expect(await hist({ type, count: 2 })).toMatchObject({ keys: ['T/x/3', 'T/x/2'], hasMore: true });
    expect(await hist({ type, count: 2, offset: 2 })).toMatchObject({
      keys: ['T/y/1', 'T/x/1'],
      hasMore: false,
    });
    expect((await hist({ type, id: 'nope' })).keys).toEqual([]);
    await rejectsWith(index.history(db, { id: 'x', count: 1, offset: 0 }), 'MDL_BAD_INPUT');
    await rejectsWith(index.history(db, { count: 1, offset: -1 }), 'MDL_BAD_INPUT');
  });

  it("lists a patient's current resources (Patient/$everything)", async () => {
    const p = pseudonym();
    const [obs, cond] = [uniqueType(), uniqueType()];
    const since = new Date('2032-01-01T00:00:00Z');
    await index.writeVersion(
      db,
      write({
        type: obs,
        id: 'o1',
        pseudonym: p,
        category: 3,
        epoch: 0,
        lastUpdated: new Date('2031-01-01T00:00:00Z'),
      }),
    );
    await index.writeVersion(
      db,
      write({ type: obs, id: 'o2', pseudonym: p, category: 3, epoch: 0, lastUpdated: since }),
    );
    await index.writeVersion(db, write({ type: cond, id: 'c1', pseudonym: p, category: 2, epoch: 0 }));
    await index.writeVersion(db, write({ type: cond, id: 'c2', pseudonym: p, category: 2, epoch: 0 }));
    await index.writeVersion(
      db,
      write({
        type: cond,
        id: 'c2',
        expectedVersion: 1,
        deleted: true,
        cid: null,
        pseudonym: p,
        category: 2,
        epoch: 0,
      }),
    );
    await index.writeVersion(
      db,
      write({ type: cond, id: 'c3', pseudonym: pseudonym(), category: 2, epoch: 0 }),
    );

    const all = await index.compartment(db, p, { count: 10, offset: 0 });
    expect(all.rows.map((r) => `${r.type}/${r.id}`).sort()).toEqual(
      [`${cond}/c1`, `${obs}/o1`, `${obs}/o2`].sort(),
    );
    expect(all.hasMore).toBe(false);
    const first = await index.compartment(db, p, { count: 2, offset: 0 });
    const rest = await index.compartment(db, p, { count: 2, offset: 2 });
    expect([...first.rows, ...rest.rows]).toEqual(all.rows);
    expect([first.hasMore, rest.hasMore]).toEqual([true, false]);
    expect(ids((await index.compartment(db, p, { count: 10, offset: 0, types: [obs] })).rows)).toEqual([
      'o1',
      'o2',
    ]);
    expect(ids((await index.compartment(db, p, { count: 10, offset: 0, categories: [2] })).rows)).toEqual([
      'c1',
    ]);
    expect(ids((await index.compartment(db, p, { count: 10, offset: 0, types: [obs], since })).rows)).toEqual(
      ['o2'],
    );
    expect((await index.compartment(db, pseudonym(), { count: 10, offset: 0 })).rows).toEqual([]);
    // An access filter listing only another patient shows nothing of this one, whatever its masks allow.
    const elsewhere = { pseudonyms: [pseudonym()], categoryMasks: [0xffff] };
    expect((await index.compartment(db, p, { count: 10, offset: 0, access: elsewhere })).rows).toEqual([]);
    expect(
      ids(
        (
          await index.compartment(db, p, {
            count: 10,
            offset: 0,
            access: { pseudonyms: [p], categoryMasks: [1 << 3] },
          })
        ).rows,
      ),
    ).toEqual(['o1', 'o2']);
    expect((await index.history(db, { type: obs, count: 10, offset: 0, access: elsewhere })).rows).toEqual(
      [],
    );
    await rejectsWith(index.compartment(db, new Uint8Array(3), { count: 1, offset: 0 }), 'MDL_BAD_INPUT');
  });

  it('stores wrapped category keys idempotently, finds the latest epoch, and shreds them', async () => {
    const p = pseudonym();
    const holderA = randomBytes(16).toString('hex');
    const holderB = randomBytes(16).toString('hex');
    const envelope = new Uint8Array(randomBytes(1200));
    const k = { pseudonym: p, category: DataCategory.Conditions, epoch: 0, holderKeyId: holderA, envelope };
    expect(await index.latestEpoch(db, p, DataCategory.Conditions)).toBeUndefined();
    expect(await index.putWrappedKey(db, k)).toBe(true);
    expect(await index.putWrappedKey(db, { ...k, envelope: new Uint8Array(randomBytes(1200)) })).toBe(false);
    expect(await index.wrappedKey(db, p, DataCategory.Conditions, 0, holderA)).toEqual(envelope); // first kept
    expect(await index.wrappedKey(db, p, DataCategory.Conditions, 0, holderB)).toBeUndefined();
    expect(await index.wrappedKey(db, p, DataCategory.Conditions, 1, holderA)).toBeUndefined();
    expect(await index.wrappedKey(db, p, DataCategory.Observations, 0, holderA)).toBeUndefined();
    await index.putWrappedKey(db, { ...k, holderKeyId: holderB });
    await index.putWrappedKey(db, { ...k, epoch: 1 });
    await index.putWrappedKey(db, { ...k, epoch: 7, category: DataCategory.Medications });
    expect(await index.latestEpoch(db, p, DataCategory.Conditions)).toBe(1);
    expect(await index.latestEpoch(db, p, DataCategory.Medications)).toBe(7);
    expect(await index.latestEpoch(db, pseudonym(), DataCategory.Conditions)).toBeUndefined();
    expect(await index.wrappedKeyHolders(db, p, DataCategory.Conditions, 0)).toEqual(
      [holderA, holderB].sort(),
    );
    expect(await index.wrappedKeyHolders(db, p, DataCategory.Conditions, 1)).toEqual([holderA]);

    expect(
      await index.deleteWrappedKeys(db, {
        pseudonym: p,
        category: DataCategory.Conditions,
        holderKeyId: holderB,
      }),
    ).toBe(1);
    expect(await index.wrappedKeyHolders(db, p, DataCategory.Conditions, 0)).toEqual([holderA]);
    expect(await index.deleteWrappedKeys(db, { pseudonym: p, category: DataCategory.Medications })).toBe(1);
    expect(await index.deleteWrappedKeys(db, { pseudonym: p })).toBe(2); // erasure: every remaining copy
    expect(await index.latestEpoch(db, p, DataCategory.Conditions)).toBeUndefined();

    for (const bad of [
      { ...k, holderKeyId: 'Not-A-Key-Id' },
      { ...k, holderKeyId: holderA.toUpperCase() },
      { ...k, envelope: new Uint8Array(0) },
      { ...k, pseudonym: new Uint8Array(33) },
      { ...k, category: 12 },
      { ...k, epoch: -1 },
    ])
      await rejectsWith(index.putWrappedKey(db, bad), 'MDL_BAD_INPUT');
  });

  it('streams every version in key order, a page at a time, and counts for metrics', async () => {
    const before = await index.stats(db);
    const type = uniqueType();
    for (const id of ['b', 'a', 'c'])
      await index.writeVersion(db, write({ type, id, tokens: [{ param: 'x', token: token() }] }));
    await index.writeVersion(db, write({ type, id: 'a', expectedVersion: 1 }));
    await index.writeVersion(db, write({ type, id: 'c', expectedVersion: 1, deleted: true, cid: null }));
    await index.putWrappedKey(db, {
      pseudonym: pseudonym(),
      category: 0,
      epoch: 0,
      holderKeyId: 'ab'.repeat(16),
      envelope: new Uint8Array([1]),
    });

    const after = await index.stats(db);
    expect(after).toMatchObject({
      resources: before.resources + 2,
      deletedResources: before.deletedResources + 1,
      versions: before.versions + 5,
      searchTokens: before.searchTokens + 1, // a: replaced by a token-less version; c: deleted
      wrappedKeys: before.wrappedKeys + 1,
    });
    expect(after.resourcesByType[type]).toBe(2);

    const seen: IndexedVersion[] = [];
    for await (const v of index.allVersions(db, 2)) seen.push(v);
    expect(seen).toHaveLength(after.versions);
    expect(seen.filter((v) => v.type === type).map((v) => `${v.id}/${v.version}`)).toEqual([
      'a/1',
      'a/2',
      'b/1',
      'c/1',
      'c/2',
    ]);
    const keys = seen.map((v) => [v.type, v.id, v.version] as const);
    expect(new Set(keys.map((k) => k.join('/'))).size).toBe(keys.length); // no duplicates across pages
  });

  it('agrees with a reference model over random create / update / delete sequences', async () => {
    const op = fc.record({
      id: fc.constantFrom('a', 'b', 'c'),
      kind: fc.constantFrom('write', 'delete'),
      // How the write's expectedVersion relates to the true current version.
      basis: fc.constantFrom('right', 'right', 'right', 'stale', 'ahead', 'absent'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 15 }), async (ops) => {
        const type = uniqueType();
        const tok = token();
        const model = new Map<string, { version: number; deleted: boolean }>();
        for (const o of ops) {
          const head = model.get(o.id);
          const expectedVersion =
            o.basis === 'absent'
              ? null
              : o.basis === 'right'
                ? (head?.version ?? null)
                : (head?.version ?? 0) + (o.basis === 'ahead' ? 1 : -1);
          const valid = expectedVersion === null ? head === undefined : expectedVersion >= 1;
          if (!valid && expectedVersion !== null) continue; // 0 or below is bad input, tested elsewhere
          const deleted = o.kind === 'delete';
          const result = index
            .writeVersion(
              db,
              write({
                type,
                id: o.id,
                expectedVersion,
                deleted,
                cid: deleted ? null : cid(),
                tokens: deleted ? [] : [{ param: 'k', token: tok }],
              }),
            )
            .then(
              (r) => r,
              (e: unknown) => e,
            );
          const wins = expectedVersion === (head?.version ?? null);
          const outcome = await result;
          if (wins) {
            const version = (head?.version ?? 0) + 1;
            expect(outcome).toEqual({ version });
            model.set(o.id, { version, deleted });
          } else {
            expect(isMdlError(outcome, 'MDL_VERSION_CONFLICT'), String(outcome)).toBe(true);
          }
        }
        for (const id of ['a', 'b', 'c']) {
          const m = model.get(id);
          const head = await index.current(db, type, id);
          expect(head && { version: head.version, deleted: head.deleted }).toEqual(m);
          const hist = await index.history(db, { type, id, count: 100, offset: 0 });
          expect(hist.rows.map((r) => r.version)).toEqual(
            m ? Array.from({ length: m.version }, (_, i) => m.version - i) : [],
          );
        }
        const live = [...model]
          .filter(([, m]) => !m.deleted)
          .map(([id]) => id)
          .sort();
        const found = await index.search(db, {
          type,
          filters: [{ param: 'k', tokens: [tok] }],
          sort: 'lastUpdated',
          count: 10,
          offset: 0,
        });
        expect(ids(found.rows).sort()).toEqual(live);
      }),
      { numRuns: 8 },
    );
  });

  describePhiScan(() => db);
});
