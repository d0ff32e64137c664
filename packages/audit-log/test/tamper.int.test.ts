/**
 * Tamper tests: each edits the stored rows directly, as an attacker with database access would, and expects the
 * independent verifier to report the first divergence. The honest log: 10 entries, checkpoint #0 at size 6,
 * checkpoint #1 at size 10.
 */
import { CompositeSigner } from '@medledger/crypto';
import type { Db } from '@medledger/storage';
import { describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import { AuditLog } from '../src/AuditLog.js';
import { signCheckpoint } from '../src/checkpoint.js';
import { type VerifyAuditLogOptions, verifyAuditLog } from '../src/verifyAuditLog.js';
import { entries, entryFor, keys, openEvent, otherKeys, sharedDatabase, signer } from './fixture.js';

describe.each(await backends())('audit log tampering on $name', (backend) => {
  const fresh = sharedDatabase(backend);
  async function honestLog(): Promise<{ db: Db; anchors: Map<number, Uint8Array> }> {
    const db = await fresh();
    const log = await AuditLog.open(db, { logId: 'node-a' });
    const anchors = new Map<number, Uint8Array>();
    await log.append(db, entries(0, 6));
    await log.integrate();
    const cp0 = await log.checkpoint(signer, 1_000);
    anchors.set(cp0.size, cp0.root);
    await log.append(db, entries(6, 4));
    await log.integrate();
    const cp1 = await log.checkpoint(signer, 2_000);
    anchors.set(cp1.size, cp1.root);
    return { db, anchors };
  }

  async function check(
    tamper: (db: Db) => Promise<unknown>,
    options: (anchors: Map<number, Uint8Array>) => VerifyAuditLogOptions = () => ({}),
  ) {
    const { db, anchors } = await honestLog();
    const opts = options(anchors);
    expect((await verifyAuditLog(db, keys.publicKey, opts)).ok).toBe(true);
    await tamper(db);
    return await verifyAuditLog(db, keys.publicKey, opts);
  }

  const swap = async (db: Db, i: number, j: number) => {
    await db.query('UPDATE audit_entries SET leaf_index = 1000000 WHERE leaf_index = $1', [i]);
    await db.query('UPDATE audit_entries SET leaf_index = $1 WHERE leaf_index = $2', [i, j]);
    await db.query('UPDATE audit_entries SET leaf_index = $1 WHERE leaf_index = 1000000', [j]);
  };

  it('reports nothing on the honest log, and entries after the last checkpoint as unsigned', async () => {
    const { db } = await honestLog();
    const log = await AuditLog.open(db, { logId: 'node-a' });
    await log.append(db, entries(10, 3));
    await log.integrate();
    expect(await verifyAuditLog(db, keys.publicKey, { openEvent })).toEqual({
      ok: true,
      size: 13,
      checkpoints: 2,
      unsignedEntries: 3,
      anchors: 0,
    });
  });

  it('altering a stored commitment: the checkpoint covering it diverges', async () => {
    const r = await check((db) =>
      db.query('UPDATE audit_entries SET commitment = $1 WHERE leaf_index = 3', [entryFor(99).commitment]),
    );
    expect(r).toMatchObject({ ok: false, checkpoints: 0 });
    expect(r.divergence).toMatchObject({
      kind: 'checkpoint',
      position: 0,
      size: 6,
      reason: 'root',
      entriesFrom: 0,
    });
  });

  it('altering a stored event or salt: with openEvent, the entry itself is named', async () => {
    const withOpen = () => ({ openEvent });
    const r1 = await check(
      (db) =>
        db.query('UPDATE audit_entries SET sealed_event = $1 WHERE leaf_index = 8', [
          entryFor(8).sealedEvent.map((b, i) => (i === 20 ? b ^ 1 : b)),
        ]),
      withOpen,
    );
    expect(r1.divergence).toEqual({ kind: 'entry', index: 8, reason: 'commitment' });
    expect(r1.checkpoints).toBe(1);
    const r2 = await check(
      (db) => db.query('UPDATE audit_entries SET salt = $1 WHERE leaf_index = 2', [new Uint8Array(32)]),
      withOpen,
    );
    expect(r2.divergence).toEqual({ kind: 'entry', index: 2, reason: 'commitment' });
    expect(r2.checkpoints).toBe(0);
  });

  it('deleting an entry: a gap names the index; a deleted tail is caught by the checkpoint beyond it', async () => {
    const r1 = await check((db) => db.query('DELETE FROM audit_entries WHERE leaf_index = 4'));
    expect(r1.divergence).toEqual({ kind: 'entry', index: 4, reason: 'missing' });
    expect(r1).toMatchObject({ ok: false, size: 4, checkpoints: 0 });
    const r2 = await check((db) =>
      db.query('UPDATE audit_entries SET leaf_index = NULL WHERE leaf_index = 7'),
    );
    expect(r2.divergence).toEqual({ kind: 'entry', index: 7, reason: 'missing' });
    expect(r2.checkpoints).toBe(1);
    const r3 = await check((db) => db.query('DELETE FROM audit_entries WHERE leaf_index = 9'));
    expect(r3.divergence).toMatchObject({ kind: 'checkpoint', position: 1, size: 10, reason: 'beyond-log' });
  });

  it('deleting an entry and renumbering the rest: the covering checkpoint diverges', async () => {
    const r = await check(async (db) => {
      await db.query('DELETE FROM audit_entries WHERE leaf_index = 7');
      await db.query('UPDATE audit_entries SET leaf_index = leaf_index + 999 WHERE leaf_index > 7');
      await db.query('UPDATE audit_entries SET leaf_index = leaf_index - 1000 WHERE leaf_index > 1000');
    });
    expect(r.divergence).toMatchObject({ kind: 'checkpoint', position: 1, reason: 'beyond-log' });
  });

  it('inserting an entry in the middle: the covering checkpoint diverges', async () => {
    const r = await check(async (db) => {
      await db.query('UPDATE audit_entries SET leaf_index = leaf_index + 1001 WHERE leaf_index >= 7');
      await db.query('UPDATE audit_entries SET leaf_index = leaf_index - 1000 WHERE leaf_index > 1000');
      const e = entryFor(50);
      await db.query(
        'INSERT INTO audit_entries (leaf_index, commitment, salt, sealed_event) VALUES (7, $1, $2, $3)',
        [e.commitment, e.salt, e.sealedEvent],
      );
    });
    expect(r.divergence).toMatchObject({
      kind: 'checkpoint',
      position: 1,
      size: 10,
      reason: 'root',
      entriesFrom: 6,
    });
    expect(r.checkpoints).toBe(1);
  });

  it('reordering two entries: the covering checkpoint diverges', async () => {
    const r = await check((db) => swap(db, 1, 2));
    expect(r.divergence).toMatchObject({ kind: 'checkpoint', position: 0, reason: 'root', entriesFrom: 0 });
  });

  it('rewriting history after a checkpoint and re-signing with the node key: only the anchors catch it', async () => {
    const rewrite = async (db: Db) => {
      const e = entryFor(77);
      await db.query(
        'UPDATE audit_entries SET commitment = $1, salt = $2, sealed_event = $3 WHERE leaf_index = 4',
        [e.commitment, e.salt, e.sealedEvent],
      );
      // The attacker holds the node key and re-signs every checkpoint over the rewritten tree.
      await db.query('DELETE FROM audit_checkpoints');
      const log = await AuditLog.open(db, { logId: 'node-a' });
      const forged = signCheckpoint(signer, {
        logId: 'node-a',
        size: 6,
        root: log.root(6),
        timestamp: 1_000,
      });
      await db.query(
        'INSERT INTO audit_checkpoints (log_id, size, root, timestamp, signature) VALUES ($1, $2, $3, $4, $5)',
        [forged.logId, forged.size, forged.root, forged.timestamp, forged.signature],
      );
      await log.checkpoint(signer, 2_000);
    };
    // Without anchors the rewritten log is self-consistent (and its events open): the verifier cannot tell.
    expect((await check(rewrite, () => ({ openEvent }))).ok).toBe(true);
    const r = await check(rewrite, (anchors) => ({
      anchoredRoot: async (_logId, size) => anchors.get(size),
    }));
    expect(r.divergence).toMatchObject({
      kind: 'checkpoint',
      position: 0,
      size: 6,
      reason: 'anchor',
      entriesFrom: 0,
    });
  });

  it('rewriting history and every checkpoint row after anchoring: the chain’s anchors name the size', async () => {
    const r = await check(
      async (db) => {
        const e = entryFor(78);
        await db.query(
          'UPDATE audit_entries SET commitment = $1, salt = $2, sealed_event = $3 WHERE leaf_index = 8',
          [e.commitment, e.salt, e.sealedEvent],
        );
        await db.query('DELETE FROM audit_checkpoints');
        const log = await AuditLog.open(db, { logId: 'node-a' });
        await log.checkpoint(signer, 3_000);
      },
      (anchors) => ({
        openEvent,
        anchors: [...anchors].map(([size, root], i) => ({
          size,
          root,
          block: 10 + i,
          transaction: `0x0${i}`,
        })),
      }),
    );
    expect(r.divergence).toEqual({
      kind: 'anchor',
      size: 10,
      reason: 'root',
      block: 11,
      transaction: '0x01',
    });
    expect(r.anchors).toBe(1); // the anchor at size 6 still holds
  });

  it('deleting the anchored tail with its checkpoint: the chain’s anchor lies beyond the log', async () => {
    const r = await check(
      async (db) => {
        await db.query('DELETE FROM audit_entries WHERE leaf_index >= 8');
        await db.query('DELETE FROM audit_checkpoints WHERE size = 10');
      },
      (anchors) => ({ anchors: [...anchors].map(([size, root]) => ({ size, root })) }),
    );
    expect(r.divergence).toEqual({ kind: 'anchor', size: 10, reason: 'beyond-log' });
  });

  it('rewriting a checkpoint without the key: its signature fails', async () => {
    const r = await check(async (db) => {
      await db.query('DELETE FROM audit_entries WHERE leaf_index >= 5');
      await db.query('DELETE FROM audit_checkpoints WHERE size = 10');
      await db.query('UPDATE audit_checkpoints SET size = 5, root = $1', [new Uint8Array(32)]);
    });
    expect(r.divergence).toMatchObject({ kind: 'checkpoint', position: 0, reason: 'signature' });
  });

  it('truncating and appending other entries after a checkpoint: the old checkpoint root diverges', async () => {
    const r = await check(async (db) => {
      await db.query('DELETE FROM audit_entries WHERE leaf_index >= 3');
      await db.query('DELETE FROM audit_checkpoints WHERE size = 10');
      const rewritten = entries(100, 7);
      for (const [i, e] of rewritten.entries()) {
        await db.query(
          'INSERT INTO audit_entries (leaf_index, commitment, salt, sealed_event) VALUES ($1, $2, $3, $4)',
          [3 + i, e.commitment, e.salt, e.sealedEvent],
        );
      }
      const log = await AuditLog.open(db, { logId: 'node-a' }).catch(() => undefined);
      expect(log).toBeUndefined(); // the node itself refuses to extend the rewritten log
    });
    expect(r.divergence).toMatchObject({ kind: 'checkpoint', position: 0, size: 6, reason: 'root' });
  });

  it('foreign, other-log or reordered checkpoints are reported', async () => {
    const insert = (db: Db, cp: ReturnType<typeof signCheckpoint>) =>
      db.query(
        'INSERT INTO audit_checkpoints (log_id, size, root, timestamp, signature) VALUES ($1, $2, $3, $4, $5)',
        [cp.logId, cp.size, cp.root, cp.timestamp, cp.signature],
      );
    const rootAt = async (db: Db, size: number) => (await AuditLog.open(db, { logId: 'node-a' })).root(size);
    const foreign = new CompositeSigner(otherKeys.secretKey);
    const r1 = await check(async (db) =>
      insert(
        db,
        signCheckpoint(foreign, { logId: 'node-a', size: 10, root: await rootAt(db, 10), timestamp: 3_000 }),
      ),
    );
    expect(r1.divergence).toMatchObject({ kind: 'checkpoint', position: 2, reason: 'signature' });
    const r2 = await check(async (db) =>
      insert(
        db,
        signCheckpoint(signer, { logId: 'node-b', size: 10, root: await rootAt(db, 10), timestamp: 3_000 }),
      ),
    );
    expect(r2.divergence).toMatchObject({ kind: 'checkpoint', position: 2, reason: 'log-id' });
    const r3 = await check(async (db) =>
      insert(
        db,
        signCheckpoint(signer, { logId: 'node-a', size: 6, root: await rootAt(db, 6), timestamp: 3_000 }),
      ),
    );
    expect(r3.divergence).toMatchObject({ kind: 'checkpoint', position: 2, size: 6, reason: 'order' });
    const r4 = await check(async (db) =>
      insert(
        db,
        signCheckpoint(signer, { logId: 'node-a', size: 10, root: await rootAt(db, 10), timestamp: 1_500 }),
      ),
    );
    expect(r4.divergence).toMatchObject({ kind: 'checkpoint', position: 2, reason: 'order' });
  });
});
