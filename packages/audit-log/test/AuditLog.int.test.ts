import { isMdlError } from '@medledger/core';
import { MerkleTree } from '@medledger/crypto';
import { describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import { AuditLog } from '../src/AuditLog.js';
import { verifyCheckpointSignature } from '../src/checkpoint.js';
import { verifyAuditInclusion, verifyCheckpointConsistency, verifyEntryInclusion } from '../src/proofs.js';
import { verifyAuditLog } from '../src/verifyAuditLog.js';
import { entries, entryFor, keys, openEvent, otherKeys, sharedDatabase, signer } from './fixture.js';

describe.each(await backends())('AuditLog on $name', (backend) => {
  const fresh = sharedDatabase(backend);
  it('queues in the caller transaction: a rolled-back request leaves no audit entry, a committed one does', async () => {
    const db = await fresh();
    const log = await AuditLog.open(db, { logId: 'node-a' });
    await expect(
      db.transaction(async (tx) => {
        await log.append(tx, entries(0, 2));
        throw new Error('request failed');
      }),
    ).rejects.toThrow('request failed');
    expect(await log.integrate()).toBe(0);
    const batch = entries(0, 3);
    await db.transaction((tx) => log.append(tx, batch));
    expect(await log.integrate()).toBe(3);
    expect(await log.integrate()).toBe(3);
    const e = await log.entry(1);
    expect(e.commitment).toEqual(batch[1]!.commitment);
    expect(e.salt).toEqual(batch[1]!.salt);
    expect(e.sealedEvent).toEqual(batch[1]!.sealedEvent);
    await expect(log.entry(3)).rejects.toSatisfy((err) => isMdlError(err, 'MDL_BAD_INPUT'));
  });

  it('integrates in queue order across batches, proves inclusion and consistency against signed checkpoints', async () => {
    const db = await fresh();
    const log = await AuditLog.open(db, { logId: 'node-a' });
    const all = entries(0, 2500);
    await log.append(db, all.slice(0, 1200));
    expect(await log.integrate()).toBe(1200);
    const cp1 = await log.checkpoint(signer, 1_000);
    await log.append(db, all.slice(1200));
    expect(await log.integrate()).toBe(2500);
    const cp2 = await log.checkpoint(signer, 500); // clock went back: timestamp stays monotonic
    expect(cp2.timestamp).toBe(1_000);

    const reference = new MerkleTree();
    for (const e of all) reference.append(e.commitment);
    expect(cp2.root).toEqual(reference.root());
    expect(cp1.root).toEqual(reference.root(1200));
    expect(verifyCheckpointSignature(cp1, keys.publicKey)).toBe(true);
    expect(verifyCheckpointSignature(cp1, otherKeys.publicKey)).toBe(false);
    expect(verifyCheckpointSignature({ ...cp1, size: 1199 }, keys.publicKey)).toBe(false);

    for (const i of [0, 777, 1199]) {
      const proof = log.inclusionProof(i, cp1.size);
      expect(verifyEntryInclusion(all[i]!.commitment, i, cp1.size, proof, cp1.root)).toBe(true);
      expect(verifyEntryInclusion(all[i]!.commitment, i + 1, cp1.size, proof, cp1.root)).toBe(false);
    }
    const claim = {
      event: all[2222]!.event,
      salt: all[2222]!.salt,
      commitment: all[2222]!.commitment,
      index: 2222,
      proof: log.inclusionProof(2222, cp2.size),
      checkpoint: cp2,
    };
    expect(verifyAuditInclusion(claim, keys.publicKey)).toBe(true);
    expect(verifyAuditInclusion({ ...claim, event: all[2221]!.event }, keys.publicKey)).toBe(false);
    expect(verifyAuditInclusion(claim, otherKeys.publicKey)).toBe(false);

    const consistency = log.consistencyProof(cp1.size, cp2.size);
    expect(verifyCheckpointConsistency(cp1, cp2, consistency)).toBe(true);
    expect(verifyCheckpointConsistency(cp1, { ...cp2, root: cp1.root }, consistency)).toBe(false);
    expect(verifyCheckpointConsistency(cp1, { ...cp2, logId: 'node-b' }, consistency)).toBe(false);

    // Reopening rebuilds the same tree from the table.
    const reopened = await AuditLog.open(db, { logId: 'node-a' });
    expect(reopened.size).toBe(2500);
    expect(reopened.root()).toEqual(cp2.root);
    expect(reopened.latestCheckpoint()?.id).toBe(cp2.id);
    expect((await reopened.checkpoints()).map((c) => c.size)).toEqual([1200, 2500]);

    const report = await verifyAuditLog(db, keys.publicKey, { openEvent });
    expect(report).toEqual({ ok: true, size: 2500, checkpoints: 2, unsignedEntries: 0, anchors: 0 });
  });

  it('finds a subject’s entries by index, pages them, and serves only integrated ones', async () => {
    const db = await fresh();
    const log = await AuditLog.open(db, { logId: 'node-a' });
    const alice = new Uint8Array(32).fill(0xa1);
    const bob = new Uint8Array(32).fill(0xb0);
    const batch = entries(0, 9).map((e, i) => ({
      ...e,
      ...(i % 3 === 0 ? {} : { subject: i % 3 === 1 ? alice : bob }),
    }));
    await log.append(db, batch);
    await log.append(db, [{ ...entryFor(9), subject: alice }]); // queued, not integrated
    expect(await log.entries({ subject: alice, limit: 100 })).toEqual([]);
    await log.integrate();
    await log.append(db, [{ ...entryFor(10), subject: alice }]);
    const mine = await log.entries({ subject: alice, limit: 100 });
    expect(mine.map((e) => e.index)).toEqual([1, 4, 7, 9]);
    expect(mine[1]!.salt).toEqual(batch[4]!.salt);
    expect(mine[1]!.subject).toEqual(alice);
    expect((await log.entries({ subject: alice, from: 5, limit: 1 })).map((e) => e.index)).toEqual([7]);
    expect((await log.entries({ from: 8, limit: 10 })).map((e) => e.index)).toEqual([8, 9]);
    for (const bad of [{ limit: 0 }, { limit: 10_001 }, { from: -1, limit: 5 }, { from: 0.5, limit: 5 }]) {
      await expect(log.entries(bad)).rejects.toSatisfy((e) => isMdlError(e, 'MDL_BAD_INPUT'));
    }
    await expect(log.append(db, [{ ...entryFor(11), subject: new Uint8Array(65) }])).rejects.toSatisfy((e) =>
      isMdlError(e, 'MDL_BAD_INPUT'),
    );
  });

  it('stores a checkpoint and what onStored writes in one transaction, or neither', async () => {
    const db = await fresh();
    const log = await AuditLog.open(db, { logId: 'node-a' });
    await log.append(db, entries(0, 3));
    await log.integrate();
    await db.exec('CREATE TABLE IF NOT EXISTS test_outbox (checkpoint_id bigint, size bigint)');
    await db.exec('TRUNCATE test_outbox');
    await expect(
      log.checkpoint(signer, 1_000, async (tx, cp) => {
        await tx.query('INSERT INTO test_outbox VALUES ($1, $2)', [cp.id, cp.size]);
        throw new Error('outbox full');
      }),
    ).rejects.toThrow('outbox full');
    expect(await log.checkpoints()).toEqual([]);
    expect(log.latestCheckpoint()).toBeUndefined();
    const cp = await log.checkpoint(signer, 1_000, async (tx, c) => {
      await tx.query('INSERT INTO test_outbox VALUES ($1, $2)', [c.id, c.size]);
    });
    expect((await db.query('SELECT checkpoint_id, size FROM test_outbox')).rows).toEqual([
      { checkpoint_id: cp.id, size: 3 },
    ]);
    expect(await log.findCheckpoint({ id: cp.id })).toEqual(cp);
    expect(await log.findCheckpoint({ size: 2 })).toEqual(cp);
    expect(await log.findCheckpoint({ size: 4 })).toBeUndefined();
  });

  it('refuses to open a log whose entries no longer reproduce its latest checkpoint', async () => {
    const db = await fresh();
    const log = await AuditLog.open(db, { logId: 'node-a' });
    await log.append(db, entries(0, 5));
    await log.integrate();
    await log.checkpoint(signer);
    await db.query('UPDATE audit_entries SET commitment = $1 WHERE leaf_index = 2', [new Uint8Array(32)]);
    await expect(AuditLog.open(db, { logId: 'node-a' })).rejects.toSatisfy((e) =>
      isMdlError(e, 'MDL_CONFLICT'),
    );
    await db.query('DELETE FROM audit_entries WHERE leaf_index = 1');
    await expect(AuditLog.open(db, { logId: 'node-a' })).rejects.toSatisfy((e) =>
      isMdlError(e, 'MDL_CONFLICT'),
    );
  });

  it('catches up with entries another writer integrated, and serialises concurrent integrations', async () => {
    const db = await fresh();
    const a = await AuditLog.open(db, { logId: 'node-a' });
    const b = await AuditLog.open(db, { logId: 'node-a' });
    await a.append(db, entries(0, 4));
    expect(await a.integrate()).toBe(4);
    await b.append(db, entries(4, 3));
    expect(await b.integrate()).toBe(7);
    expect(b.root()).toEqual((await AuditLog.open(db, { logId: 'node-a' })).root());
    await a.append(db, entries(7, 30));
    const sizes = await Promise.all([a.integrate(), a.integrate(), a.integrate()]);
    expect(sizes).toEqual([37, 37, 37]);
    expect((await verifyAuditLog(db, keys.publicKey, { openEvent })).ok).toBe(true);
  });

  it('rejects malformed entries before touching the database', async () => {
    const db = await fresh();
    const log = await AuditLog.open(db, { logId: 'node-a' });
    const [e] = entries(0, 1);
    await expect(log.append(db, [{ ...e!, salt: new Uint8Array(31) }])).rejects.toThrow(/salt/);
    await expect(log.append(db, [{ ...e!, commitment: new Uint8Array(33) }])).rejects.toThrow(/commitment/);
    expect(await log.integrate()).toBe(0);
  });
});
