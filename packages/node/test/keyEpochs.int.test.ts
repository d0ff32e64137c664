/**
 * The key ring's epochs on a real index database (PGlite) with real keys: a grant that covered a category and
 * has ended starts one new epoch — once, however often it is seen again, by this ring or by a restarted one —
 * the rotation row and the new epoch's key commit together or not at all, and old epochs still open.
 */
import { randomBytes } from 'node:crypto';
import { DataCategory } from '@medledger/core';
import {
  generateKeyBundle,
  openRecord,
  sealRecord,
  utf8ToBytes,
  XWingDecapsulationKey,
} from '@medledger/crypto';
import { type Db, migrate, openPgliteDb, type Queryable, RecordIndex } from '@medledger/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CategoryKeyRing, type CustodianKeys } from '../src/services/CategoryKeyRing.js';
import { keyEpochMigrations } from '../src/services/keyEpochs.js';

const index = new RecordIndex();
const consentId = () => `0x${randomBytes(32).toString('hex')}`;
const pseudonym = () => new Uint8Array(randomBytes(32));

describe('category key epochs', () => {
  let db: Db;
  let custodian: CustodianKeys;
  /** The grants that have ended, per test: what the consent index would answer. */
  const ended = new Map<string, string[]>();
  const endings = async (_q: Queryable, p: Uint8Array) => ended.get(Buffer.from(p).toString('hex')) ?? [];
  const end = (p: Uint8Array, id: string) => {
    const key = Buffer.from(p).toString('hex');
    ended.set(key, [...(ended.get(key) ?? []), id]);
  };
  const ring = (on: Db = db) => new CategoryKeyRing(index, custodian, { db: on, endings });
  const rotations = async (p: Uint8Array) =>
    (
      await db.query<{ epoch: number; n: number }>(
        `SELECT epoch, count(*)::int8 AS n FROM category_key_rotations WHERE pseudonym = $1
         GROUP BY epoch ORDER BY epoch`,
        [p],
      )
    ).rows;
  const seal = (key: Awaited<ReturnType<CategoryKeyRing['current']>>, text: string) =>
    sealRecord(key, { recordId: 'Observation/x', recordVersion: 1 }, utf8ToBytes(text));

  beforeAll(async () => {
    db = await openPgliteDb();
    await migrate(db, [...RecordIndex.migrations, ...keyEpochMigrations]);
    const bundle = generateKeyBundle();
    custodian = {
      keyId: bundle.keyId,
      kemPublicKey: bundle.publicBundle.kemPublicKey,
      decapsulationKey: new XWingDecapsulationKey(bundle.kemSecretKey),
    };
  });
  afterAll(async () => {
    await db?.close();
  });

  it('starts one new epoch per ended grant, however often the end is seen', async () => {
    const p = pseudonym();
    const keys = ring();
    const first = await keys.current(db, p, DataCategory.Observations);
    expect(first.ref.epoch).toBe(0);
    const old = seal(first, 'sealed before the revocation');
    expect((await keys.current(db, p, DataCategory.Observations)).ref.epoch).toBe(0);

    const revoked = consentId();
    end(p, revoked);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => keys.current(db, p, DataCategory.Observations)),
    );
    expect(concurrent.map((k) => k.ref.epoch)).toEqual([1, 1, 1, 1, 1]);
    expect((await keys.current(db, p, DataCategory.Observations)).ref.epoch).toBe(1);
    // A restarted node (a new ring, nothing cached) finds the grant accounted for.
    const restarted = ring();
    expect((await restarted.current(db, p, DataCategory.Observations)).ref.epoch).toBe(1);
    expect(await rotations(p)).toEqual([{ epoch: 1, n: 1 }]);
    // Other categories of the patient are untouched until a grant covering them ends (endings are per call).
    expect(await index.latestEpoch(db, p, DataCategory.Conditions)).toBeUndefined();

    // The old epoch still opens, by either ring; the new key is another key.
    for (const k of [keys, restarted]) {
      const opened = openRecord(old, (ref) => (ref.epoch === 0 ? first : undefined));
      expect(new TextDecoder().decode(opened.plaintext)).toBe('sealed before the revocation');
      expect(
        (await k.resolve(db, { pseudonym: p, category: DataCategory.Observations, epoch: 0 }))?.ref.epoch,
      ).toBe(0);
    }
    const newer = seal(await restarted.current(db, p, DataCategory.Observations), 'sealed after');
    expect(() => openRecord(newer, () => first)).toThrow(/no category key/);

    // Two more grants end: one more epoch accounts for both.
    end(p, consentId());
    end(p, consentId());
    expect((await restarted.current(db, p, DataCategory.Observations)).ref.epoch).toBe(2);
    expect((await keys.current(db, p, DataCategory.Observations)).ref.epoch).toBe(2);
    expect(await rotations(p)).toEqual([
      { epoch: 1, n: 1 },
      { epoch: 2, n: 2 },
    ]);
  });

  it('a grant that ended before the first key is accounted for by epoch 0', async () => {
    const p = pseudonym();
    end(p, consentId());
    const keys = ring();
    expect((await keys.current(db, p, DataCategory.Conditions)).ref.epoch).toBe(0);
    expect((await ring().current(db, p, DataCategory.Conditions)).ref.epoch).toBe(0);
    expect(await rotations(p)).toEqual([{ epoch: 0, n: 1 }]);
  });

  it('a crash inside the rotation leaves neither the rotation row nor the epoch; the next try rotates once', async () => {
    const p = pseudonym();
    await ring().current(db, p, DataCategory.Medications);
    end(p, consentId());
    // The database fails between the rotation row and the new epoch's key, inside the rotation's transaction.
    const crashing: Db = {
      ...db,
      transaction: (fn) =>
        db.transaction((tx) =>
          fn({
            query: (sql, params) => {
              if (sql.includes('INSERT INTO wrapped_keys')) throw new Error('the node lost its database');
              return tx.query(sql, params);
            },
            exec: (sql) => tx.exec(sql),
          }),
        ),
    };
    await expect(ring(crashing).current(db, p, DataCategory.Medications)).rejects.toThrow(
      /lost its database/,
    );
    expect(await rotations(p)).toEqual([]);
    expect(await index.latestEpoch(db, p, DataCategory.Medications)).toBe(0);

    const after = ring();
    expect((await after.current(db, p, DataCategory.Medications)).ref.epoch).toBe(1);
    expect((await after.current(db, p, DataCategory.Medications)).ref.epoch).toBe(1);
    expect(await rotations(p)).toEqual([{ epoch: 1, n: 1 }]);
  });

  it('without GrantEndings the first epoch is kept', async () => {
    const p = pseudonym();
    end(p, consentId());
    const keys = new CategoryKeyRing(index, custodian);
    expect((await keys.current(db, p, DataCategory.Allergies)).ref.epoch).toBe(0);
    expect((await keys.current(db, p, DataCategory.Allergies)).ref.epoch).toBe(0);
  });
});
