// Crash and chain-loss drills for the anchorer: every leaf ends in exactly one confirmed batch, and no batch
// is anchored twice (counted on the chain: BatchAnchored events per root and the anchor chain's count).

import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Db, migrate, openPgliteDb } from '@medledger/storage';
import { bytesToHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafOf, type NodeLedger, startNodeLedger } from '../test/fixture.js';
import { Anchorer, type AnchorerEvent, enqueueLeaf } from './Anchorer.js';
import { ledgerMigrations } from './migrations.js';

let node: NodeLedger;
let db: Db;
let next = 0;
beforeAll(async () => {
  [node, db] = await Promise.all([startNodeLedger(), openPgliteDb()]);
  await migrate(db, ledgerMigrations);
});
afterAll(async () => {
  await db?.close();
  await node?.close();
});

async function enqueue(n: number): Promise<void> {
  await db.transaction(async (tx) => {
    for (let i = 0; i < n; i++, next++) {
      await enqueueLeaf(tx, {
        kind: 'record',
        sourceKey: `Observation/${next}/_history/1`,
        leafHash: leafOf(next),
      });
    }
  });
}

function anchorer(
  events: AnchorerEvent[] = [],
  extra: Partial<ConstructorParameters<typeof Anchorer>[0]> = {},
) {
  return new Anchorer({
    db,
    ledger: node.ledger,
    signer: node.signer,
    maxBatch: 400,
    intervalMs: 100,
    lostAfterMs: 300,
    recheckEveryMs: 500,
    onEvent: (e) => events.push(e),
    ...extra,
  });
}

/** Every leaf in a confirmed batch, and every batch anchored exactly once on the chain. */
async function expectExactlyOnce(): Promise<void> {
  const open = await db.query<{ n: number }>(
    `SELECT count(*)::int8 AS n FROM ledger_outbox o LEFT JOIN ledger_batches b ON b.id = o.batch_id
      WHERE b.status IS DISTINCT FROM 'confirmed'`,
  );
  expect(open.rows[0]!.n).toBe(0);
  const batches = await db.query<{ id: number; root: Uint8Array; tx_hash: string }>(
    "SELECT id, root, tx_hash FROM ledger_batches WHERE status = 'confirmed' ORDER BY id",
  );
  for (const b of batches.rows) {
    const logs = await node.ledger.findBatchAnchored(bytesToHex(b.root));
    expect(
      logs.map((l) => l.transactionHash),
      `batch ${b.id}`,
    ).toEqual([b.tx_hash]);
  }
  // Nothing else anchors on this chain, so the contract's anchor count equals the number of batches.
  expect((await node.ledger.anchorChain()).count).toBe(BigInt(batches.rows.length));
}

describe('reconciliation', () => {
  it('confirms batches submitted before a crash, without sending them again', async () => {
    await enqueue(900);
    const crashed = anchorer();
    await crashed.prepare();
    expect(await crashed.batchQueued()).toBe(3);
    expect(await crashed.submitPending()).toBe(3);
    // The process dies here: transactions sent, receipts never read.
    await new Promise((r) => setTimeout(r, 1_500));

    const events: AnchorerEvent[] = [];
    const restarted = anchorer(events);
    await restarted.start();
    await restarted.drain(20_000);
    await restarted.stop();
    expect(events.filter((e) => e.type === 'submitted')).toEqual([]);
    expect(events.filter((e) => e.type === 'confirmed')).toHaveLength(3);
    await expectExactlyOnce();
  });

  it('sends a batch whose transaction was stored but never sent', async () => {
    await enqueue(10);
    const crashed = anchorer();
    await crashed.batchQueued();
    await crashed.submitPending({ broadcast: false });
    const events: AnchorerEvent[] = [];
    const restarted = anchorer(events);
    await restarted.start();
    await restarted.drain(20_000);
    await restarted.stop();
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['resubmit', 'submitted', 'confirmed']));
    await expectExactlyOnce();
  });

  it('finds a batch mined under a hash it never recorded instead of anchoring it again', async () => {
    await enqueue(10);
    const crashed = anchorer();
    await crashed.batchQueued();
    await crashed.submitPending();
    await new Promise((r) => setTimeout(r, 1_500));
    // The record of the transaction is wrong (e.g. it was replaced by another with the same nonce).
    await db.query(
      `UPDATE ledger_batches SET tx_hash = $1, submitted_at = now() - interval '1 minute' WHERE status = 'submitted'`,
      [`0x${'ab'.repeat(32)}`],
    );
    const events: AnchorerEvent[] = [];
    const restarted = anchorer(events);
    await restarted.start();
    await restarted.drain(20_000);
    await restarted.stop();
    expect(events.filter((e) => e.type === 'found')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'submitted')).toEqual([]);
    await expectExactlyOnce();
  });

  it('re-anchors, exactly once, the batches an embedded chain restored from an older state lost', async () => {
    // Snapshot the chain as it is now (everything so far confirmed).
    await node.chain.stop();
    const older = join(node.dataDir, 'chain', 'older.json');
    await copyFile(node.chain.stateFile, older);
    await node.chain.start();

    // More batches, confirmed on the chain that is about to be lost.
    await enqueue(1000);
    const before = anchorer();
    await before.start();
    await before.drain(20_000);
    await before.stop();
    const lostBatches = await db.query<{ id: number }>(
      "SELECT id FROM ledger_batches WHERE status = 'confirmed' ORDER BY block_number DESC LIMIT 3",
    );

    // The chain comes back from the older state: those blocks are gone.
    await node.chain.stop();
    await copyFile(older, node.chain.stateFile);
    await node.chain.start();
    await node.reconnect();
    expect(node.boot.action).toBe('reused');

    // A leaf queued while the node was down rides along.
    await enqueue(5);
    const events: AnchorerEvent[] = [];
    const after = anchorer(events);
    await after.start();
    await after.drain(30_000);
    await after.stop();
    const resubmitted = events
      .filter((e) => e.type === 'resubmit')
      .map((e) => (e as { batchId: number }).batchId);
    expect(resubmitted.sort()).toEqual(lostBatches.rows.map((r) => r.id).sort());
    await expectExactlyOnce();
  });

  it('notices while running that the chain lost confirmed batches', async () => {
    await node.chain.stop();
    const older = join(node.dataDir, 'chain', 'older2.json');
    await copyFile(node.chain.stateFile, older);
    await node.chain.start();
    const events: AnchorerEvent[] = [];
    const running = anchorer(events);
    await running.start();
    await enqueue(50);
    await running.drain(20_000);
    // The chain is restored underneath the running anchorer (same port).
    await node.chain.stop();
    await copyFile(older, node.chain.stateFile);
    await node.chain.start();
    await new Promise((r) => setTimeout(r, 800));
    await running.drain(30_000);
    await running.stop();
    expect(events.some((e) => e.type === 'resubmit')).toBe(true);
    await expectExactlyOnce();
  });
});
