import { randomBytes } from 'node:crypto';
import { CompositeSigner, verifyInclusion } from '@medledger/crypto';
import { type Db, migrate } from '@medledger/storage';
import { bytesToHex, keccak256 } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import { leafOf, type NodeLedger, startNodeLedger } from '../test/fixture.js';
import {
  Anchorer,
  type AnchorerEvent,
  anchorStats,
  anchorStatus,
  batchSignatureMessage,
  enqueueLeaf,
  RECORD_BATCH_CONTEXT,
} from './Anchorer.js';
import { ledgerMigrations } from './migrations.js';

const available = await backends();
let node: NodeLedger;
beforeAll(async () => {
  node = await startNodeLedger();
});
afterAll(async () => {
  await node?.close();
});

const N = 2_500;
const key = (i: number) => `Observation/${i}/_history/1`;

describe.each(available)('Anchorer on $name', (backend) => {
  let db: Db;
  let anchorer: Anchorer;
  const events: AnchorerEvent[] = [];
  beforeAll(async () => {
    db = await backend.open();
    await migrate(db, ledgerMigrations);
  });
  afterAll(async () => {
    await anchorer?.stop();
    await db?.close();
  });

  it('queues leaves only with the write that commits them, idempotently', async () => {
    await expect(
      db.transaction(async (tx) => {
        await enqueueLeaf(tx, { kind: 'record', sourceKey: 'Patient/rolled-back', leafHash: leafOf(-1) });
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    expect(await anchorStatus(db, 'Patient/rolled-back')).toBeNull();

    await db.transaction(async (tx) => {
      await enqueueLeaf(tx, { kind: 'record', sourceKey: 'Patient/1/_history/1', leafHash: leafOf(-2) });
      // Same key, same hash: a retried write. Same key, other hash: refused without aborting the transaction.
      await enqueueLeaf(tx, { kind: 'record', sourceKey: 'Patient/1/_history/1', leafHash: leafOf(-2) });
      await expect(
        enqueueLeaf(tx, { kind: 'record', sourceKey: 'Patient/1/_history/1', leafHash: leafOf(-3) }),
      ).rejects.toMatchObject({ code: 'MDL_BAD_INPUT' });
      await expect(
        enqueueLeaf(tx, { kind: 'record', sourceKey: 'Patient/2', leafHash: new Uint8Array(31) }),
      ).rejects.toMatchObject({ code: 'MDL_BAD_INPUT' });
      await expect(
        enqueueLeaf(tx, { kind: 'record', sourceKey: '', leafHash: leafOf(-4) }),
      ).rejects.toMatchObject({ code: 'MDL_BAD_INPUT' });
    });
    expect(await anchorStatus(db, 'Patient/1/_history/1')).toMatchObject({ state: 'queued' });
  });

  it(`anchors ${N} leaves in batches, each leaf in exactly one confirmed batch, with proofs`, async () => {
    const before = await node.ledger.anchorChain();
    const started = performance.now();
    for (let chunk = 0; chunk < N; chunk += 500) {
      await db.transaction(async (tx) => {
        for (let i = chunk; i < Math.min(N, chunk + 500); i++) {
          await enqueueLeaf(tx, { kind: 'record', sourceKey: key(i), leafHash: leafOf(i) });
        }
      });
    }
    const enqueued = performance.now();
    expect((await anchorStats(db)).queuedLeaves).toBe(N + 1);

    anchorer = new Anchorer({
      db,
      ledger: node.ledger,
      signer: node.signer,
      maxBatch: 1000,
      onEvent: (e) => events.push(e),
    });
    await anchorer.start();
    await anchorer.drain(60_000);
    const done = performance.now();

    const batches = await db.query<{ id: number; size: number; status: string; tx_hash: string }>(
      'SELECT id, size, status, tx_hash FROM ledger_batches ORDER BY id',
    );
    expect(batches.rows.map((b) => b.size)).toEqual([1000, 1000, 501]);
    expect(batches.rows.every((b) => b.status === 'confirmed')).toBe(true);
    const leaves = await db.query<{ n: number; distinct_slots: number }>(
      `SELECT count(*)::int8 AS n, count(DISTINCT (batch_id, leaf_index))::int8 AS distinct_slots
         FROM ledger_outbox o JOIN ledger_batches b ON b.id = o.batch_id WHERE b.status = 'confirmed'`,
    );
    expect(leaves.rows[0]).toEqual({ n: N + 1, distinct_slots: N + 1 });
    const after = await node.ledger.anchorChain();
    expect(after.count - before.count).toBe(3n);
    expect(events.filter((e) => e.type === 'confirmed')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);

    const stats = await anchorer.stats();
    expect(stats).toMatchObject({
      queuedLeaves: 0,
      inFlightLeaves: 0,
      pendingBatches: 0,
      submittedBatches: 0,
    });
    expect(stats.anchorLagMs).toBe(0);

    const seconds = (done - enqueued) / 1000;
    console.info(
      `[${backend.name}] enqueue ${N} leaves: ${(enqueued - started).toFixed(0)} ms; enqueue→all confirmed: ` +
        `${(done - enqueued).toFixed(0)} ms (${(N / seconds).toFixed(0)} leaves/s, ${(3 / seconds).toFixed(2)} batches/s)`,
    );

    for (const i of [0, 1, 999, 1000, 1777, N - 1]) {
      const status = await anchorStatus(db, key(i));
      expect(status).toMatchObject({ state: 'anchored' });
      expect(
        verifyInclusion(leafOf(i), status!.leafIndex!, status!.treeSize!, status!.proof!, status!.root!),
      ).toBe(true);
      expect(status!.txHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(status!.blockNumber).toBeGreaterThan(0);
      expect(await anchorer.verifyAnchored(db, key(i), leafOf(i))).toBe(true);
    }
  });

  it('verifyAnchored refuses an altered leaf hash, a wrong root, a forged signature and an unknown key', async () => {
    const i = 1234;
    expect(await anchorer.verifyAnchored(db, key(i), leafOf(i))).toBe(true);
    const altered = leafOf(i);
    altered[0]! ^= 1;
    expect(await anchorer.verifyAnchored(db, key(i), altered)).toBe(false);
    expect(await anchorer.verifyAnchored(db, key(i), leafOf(i + 1))).toBe(false);
    expect(await anchorer.verifyAnchored(db, 'Observation/none', leafOf(i))).toBe(false);

    const status = (await anchorStatus(db, key(i)))!;
    const original = await db.query<{
      root: Uint8Array;
      signature: Uint8Array;
      signature_digest: Uint8Array;
    }>('SELECT root, signature, signature_digest FROM ledger_batches WHERE id = $1', [status.batchId]);
    const row = original.rows[0]!;

    // A wrong root (as if the DB were tampered with): the proof no longer leads to it.
    const wrongRoot = Uint8Array.from(row.root);
    wrongRoot[5]! ^= 0x80;
    await db.query('UPDATE ledger_batches SET root = $2 WHERE id = $1', [status.batchId, wrongRoot]);
    expect(await anchorer.verifyAnchored(db, key(i), leafOf(i))).toBe(false);
    await db.query('UPDATE ledger_batches SET root = $2 WHERE id = $1', [status.batchId, row.root]);

    // A forged signature: a valid composite signature over the same message, by another key.
    const forger = new CompositeSigner(new Uint8Array(randomBytes(64)));
    const forged = forger.sign(
      batchSignatureMessage(row.root, status.treeSize!, node.ledger.chainId, node.ledger.recordRegistry),
      RECORD_BATCH_CONTEXT,
    );
    await db.query('UPDATE ledger_batches SET signature = $2, signature_digest = $3 WHERE id = $1', [
      status.batchId,
      forged,
      Buffer.from(keccak256(forged).slice(2), 'hex'),
    ]);
    expect(await anchorer.verifyAnchored(db, key(i), leafOf(i))).toBe(false);
    // A signature by our key that is not the one anchored on chain (digest mismatch).
    const other = node.signer.sign(
      batchSignatureMessage(row.root, status.treeSize!, node.ledger.chainId, node.ledger.recordRegistry),
      RECORD_BATCH_CONTEXT,
    );
    const sameAsAnchored = bytesToHex(other) === bytesToHex(row.signature);
    await db.query('UPDATE ledger_batches SET signature = $2 WHERE id = $1', [status.batchId, other]);
    expect(await anchorer.verifyAnchored(db, key(i), leafOf(i))).toBe(sameAsAnchored);
    await db.query('UPDATE ledger_batches SET signature = $2, signature_digest = $3 WHERE id = $1', [
      status.batchId,
      row.signature,
      row.signature_digest,
    ]);
    expect(await anchorer.verifyAnchored(db, key(i), leafOf(i))).toBe(true);
  });

  it('reports queue depth and anchor lag while leaves wait', async () => {
    await anchorer.stop();
    await enqueueLeaf(db, { kind: 'record', sourceKey: 'Observation/late', leafHash: leafOf(99_999) });
    await new Promise((r) => setTimeout(r, 60));
    const waiting = await anchorStats(db);
    expect(waiting.queuedLeaves).toBe(1);
    expect(waiting.oldestUnanchoredAt).toBeInstanceOf(Date);
    expect(waiting.anchorLagMs).toBeGreaterThanOrEqual(50);
    await anchorer.batchQueued();
    expect(await anchorStatus(db, 'Observation/late')).toMatchObject({
      state: 'batched',
      treeSize: 1,
      leafIndex: 0,
    });
    expect((await anchorStats(db)).pendingBatches).toBe(1);
    await anchorer.start();
    await anchorer.drain(30_000);
    expect(await anchorer.verifyAnchored(db, 'Observation/late', leafOf(99_999))).toBe(true);
  });
});
