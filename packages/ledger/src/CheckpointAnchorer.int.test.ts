// Audit-log checkpoints anchored in AuditAnchor through the outbox, on a real anvil and on both index-database
// backends: the queue's rules, the newest-checkpoint policy, what ends on the chain, and the crash drills.

import { auditAnchorAbi } from '@medledger/contracts';
import { type Db, migrate } from '@medledger/storage';
import { bytesToHex, encodeFunctionData, type Hash, type Hex, keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import { leafOf, type NodeLedger, startNodeLedger } from '../test/fixture.js';
import {
  auditLogKey,
  CheckpointAnchorer,
  type CheckpointAnchorerEvent,
  checkpointAnchorOf,
  checkpointAnchorStats,
  enqueueCheckpointAnchor,
  latestConfirmedCheckpointAnchor,
} from './CheckpointAnchorer.js';
import { ledgerMigrations } from './migrations.js';

const available = await backends();
let node: NodeLedger;
let organisation: number;
const gas = { openLog: [] as number[], firstCheckpoint: [] as number[], laterCheckpoint: [] as number[] };

beforeAll(async () => {
  node = await startNodeLedger();
  organisation = await node.ledger.organisationId();
});
afterAll(async () => {
  if (gas.openLog.length > 0) {
    console.info(
      `[gas] openLog: ${gas.openLog.join(', ')}; first anchorCheckpoint of a log: ${gas.firstCheckpoint.join(', ')}; ` +
        `later anchorCheckpoint: ${gas.laterCheckpoint.join(', ')} (receipt gasUsed, transaction included)`,
    );
  }
  await node?.close();
});

/** A distinct, non-zero 32-byte root per (log, size). */
const rootOf = (logId: string, size: number) => leafOf(size, `root of ${logId}`);

const ofType = <T extends CheckpointAnchorerEvent['type']>(events: CheckpointAnchorerEvent[], type: T) =>
  events.filter((e): e is Extract<CheckpointAnchorerEvent, { type: T }> => e.type === type);

/** Signs and sends anchorCheckpoint with a fixed gas limit (no estimation), so a refused call is mined reverted. */
async function sendUnestimatedAnchor(logId: string, size: number, root: Uint8Array) {
  const ledger = node.ledger;
  const data = encodeFunctionData({
    abi: auditAnchorAbi,
    functionName: 'anchorCheckpoint',
    args: [auditLogKey(logId), BigInt(size), bytesToHex(root)],
  });
  return ledger.withNonceLock(async () => {
    const nonce = await ledger.pendingNonce();
    const fees = await ledger.publicClient.estimateFeesPerGas();
    const raw = await ledger.account.signTransaction({
      type: 'eip1559',
      chainId: ledger.chainId,
      nonce,
      to: ledger.auditAnchor,
      data,
      gas: 200_000n,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const hash = await ledger.sendRaw(raw);
    return { hash, nonce, raw };
  });
}

async function auditLogOpenings(logId: string) {
  return node.ledger.publicClient.getContractEvents({
    address: node.ledger.auditAnchor,
    abi: auditAnchorAbi,
    eventName: 'AuditLogOpened',
    args: { organisation, logId: auditLogKey(logId) },
    fromBlock: 0n,
  });
}

describe.each(available)('CheckpointAnchorer on $name', (backend) => {
  let db: Db;
  let nextId = 1;
  const logA = `${backend.name}/node-audit`;
  const checkpointIds = new Map<string, number>(); // `${logId}#${size}` → checkpoint id

  beforeAll(async () => {
    db = await backend.open();
    await migrate(db, ledgerMigrations);
  });
  afterAll(async () => {
    await db?.close();
  });

  function anchorer(events: CheckpointAnchorerEvent[] = [], target: Db = db, intervalMs = 50) {
    return new CheckpointAnchorer({
      db: target,
      ledger: node.ledger,
      intervalMs,
      lostAfterMs: 300,
      recheckEveryMs: 200,
      onEvent: (e) => events.push(e),
    });
  }

  /** Queues checkpoints of a log in one transaction, as the audit log does when it stores them. */
  async function enqueue(logId: string, ...sizes: number[]): Promise<number[]> {
    const ids: number[] = [];
    await db.transaction(async (tx) => {
      for (const size of sizes) {
        const checkpointId = nextId++;
        await enqueueCheckpointAnchor(tx, { logId, checkpointId, size, root: rootOf(logId, size) });
        checkpointIds.set(`${logId}#${size}`, checkpointId);
        ids.push(checkpointId);
      }
    });
    return ids;
  }

  const idOf = (logId: string, size: number) => checkpointIds.get(`${logId}#${size}`)!;

  it('derives the on-chain log id from the UTF-8 name', () => {
    expect(auditLogKey('node-audit')).toBe(keccak256(toHex('node-audit')));
    expect(auditLogKey('journal-é')).toBe(keccak256(new Uint8Array([...Buffer.from('journal-é', 'utf8')])));
    expect(() => auditLogKey('')).toThrow(expect.objectContaining({ code: 'MDL_BAD_INPUT' }));
  });

  it('queues a checkpoint only with the transaction that stores it, idempotently, and refuses bad input', async () => {
    await expect(
      db.transaction(async (tx) => {
        await enqueueCheckpointAnchor(tx, {
          logId: logA,
          checkpointId: 9_999,
          size: 1,
          root: rootOf(logA, 1),
        });
        throw new Error('the checkpoint write failed');
      }),
    ).rejects.toThrow('the checkpoint write failed');
    expect(await checkpointAnchorOf(db, 9_999)).toBeNull();

    const id = nextId++;
    const c = { logId: logA, checkpointId: id, size: 2, root: rootOf(logA, 2) };
    await db.transaction(async (tx) => {
      await enqueueCheckpointAnchor(tx, c);
      // The same checkpoint again (a retried write) is a no-op; another content for the id is refused without
      // aborting the transaction.
      await enqueueCheckpointAnchor(tx, { ...c, root: Uint8Array.from(c.root) });
      for (const conflicting of [
        { ...c, root: rootOf(logA, 3) },
        { ...c, size: 3 },
        { ...c, logId: `${logA}-other` },
      ]) {
        await expect(enqueueCheckpointAnchor(tx, conflicting)).rejects.toMatchObject({
          code: 'MDL_BAD_INPUT',
          message: `audit checkpoint ${id} is already queued with another log, size or root`,
        });
      }
      const refused: [unknown, string][] = [
        [{ ...c, checkpointId: nextId, size: 0 }, 'audit checkpoint size must be a positive integer'],
        [{ ...c, checkpointId: nextId, size: 1.5 }, 'audit checkpoint size must be a positive integer'],
        [{ ...c, checkpointId: nextId, root: new Uint8Array(31) }, 'audit checkpoint root must be 32 bytes'],
        [{ ...c, checkpointId: nextId, root: new Uint8Array(32) }, 'audit checkpoint root must not be zero'],
        [{ ...c, checkpointId: nextId, logId: '' }, 'audit log id must be 1 to 200 characters'],
        [{ ...c, checkpointId: nextId, logId: 'x'.repeat(201) }, 'audit log id must be 1 to 200 characters'],
        [{ ...c, checkpointId: 0 }, 'audit checkpoint id must be a positive integer'],
        [{ ...c, checkpointId: '7' }, 'audit checkpoint id must be a positive integer'],
        [null, 'audit checkpoint must be an object'],
      ];
      for (const [input, message] of refused) {
        await expect(enqueueCheckpointAnchor(tx, input as never)).rejects.toMatchObject({
          code: 'MDL_BAD_INPUT',
          message,
        });
      }
    });
    expect(await checkpointAnchorOf(db, id)).toMatchObject({
      status: 'queued',
      logId: logA,
      logKey: auditLogKey(logA),
      size: 2,
      root: rootOf(logA, 2),
      attempts: 0,
    });
    expect((await checkpointAnchorStats(db)).queued).toBe(1);
    checkpointIds.set(`${logA}#2`, id);
    await expect(checkpointAnchorOf(db, -1)).rejects.toMatchObject({ code: 'MDL_BAD_INPUT' });
  });

  it('opens the log before its first anchor, then anchors only the newest queued checkpoint', async () => {
    await enqueue(logA, 3, 5);
    await enqueue(logA, 8);
    const key = auditLogKey(logA);
    expect(await node.ledger.auditLogOpenedAt(organisation, key)).toBe(0);

    const events: CheckpointAnchorerEvent[] = [];
    const a = anchorer(events);
    expect(await a.submitQueued()).toBe(1);
    // One transaction for the newest; the older ones are covered by it.
    expect(ofType(events, 'opened')).toEqual([expect.objectContaining({ logId: logA })]);
    expect(ofType(events, 'superseded')).toEqual([
      expect.objectContaining({ logId: logA, checkpointIds: [idOf(logA, 2), idOf(logA, 3), idOf(logA, 5)] }),
    ]);
    expect(ofType(events, 'submitted')).toEqual([
      expect.objectContaining({ checkpointId: idOf(logA, 8), logId: logA, size: 8 }),
    ]);
    expect(await node.ledger.auditLogOpenedAt(organisation, key)).toBeGreaterThan(0);
    expect(await auditLogOpenings(logA)).toHaveLength(1);
    expect((await checkpointAnchorOf(db, idOf(logA, 8)))?.status).toBe('submitted');
    // One anchoring transaction in flight per log: nothing else to send until it is confirmed.
    await enqueue(logA, 9);
    expect(await a.submitQueued()).toBe(0);
    expect((await checkpointAnchorOf(db, idOf(logA, 9)))?.status).toBe('queued');

    await a.start();
    await a.drain(30_000);
    await a.stop();
    expect(ofType(events, 'error')).toEqual([]);
    expect(ofType(events, 'opened')).toHaveLength(1);
    for (const size of [2, 3, 5]) {
      const anchor = await checkpointAnchorOf(db, idOf(logA, size));
      expect(anchor?.status, `size ${size}`).toBe('superseded');
      expect(anchor?.txHash).toBeUndefined();
    }
    const first = (await checkpointAnchorOf(db, idOf(logA, 8)))!;
    const second = (await checkpointAnchorOf(db, idOf(logA, 9)))!;
    for (const anchor of [first, second]) {
      expect(anchor).toMatchObject({
        status: 'confirmed',
        chainId: node.ledger.chainId,
        contract: node.ledger.auditAnchor,
        attempts: 1,
      });
      expect(anchor.txHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(anchor.blockHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(anchor.blockNumber).toBeGreaterThan(0);
      const receipt = (await node.ledger.receipt(anchor.txHash!))!;
      expect(receipt.status).toBe('success');
      expect(receipt.blockHash).toBe(anchor.blockHash);
      expect(anchor.gasUsed).toBe(Number(receipt.gasUsed));
    }
    expect(await node.ledger.latestAuditCheckpoint(organisation, key)).toMatchObject({
      treeSize: 9,
      root: bytesToHex(rootOf(logA, 9)),
    });
    expect(await node.ledger.findCheckpointsAnchored(organisation, key)).toEqual([
      {
        organisation,
        logKey: key,
        treeSize: 8,
        root: bytesToHex(rootOf(logA, 8)),
        transactionHash: first.txHash,
        blockNumber: BigInt(first.blockNumber!),
        blockHash: first.blockHash,
      },
      {
        organisation,
        logKey: key,
        treeSize: 9,
        root: bytesToHex(rootOf(logA, 9)),
        transactionHash: second.txHash,
        blockNumber: BigInt(second.blockNumber!),
        blockHash: second.blockHash,
      },
    ]);
    expect(await latestConfirmedCheckpointAnchor(db, logA)).toMatchObject({ checkpointId: idOf(logA, 9) });
    expect(await latestConfirmedCheckpointAnchor(db, `${logA}-never`)).toBeNull();
    gas.openLog.push(ofType(events, 'opened')[0]!.gasUsed);
    gas.firstCheckpoint.push(first.gasUsed!);
    gas.laterCheckpoint.push(second.gasUsed!);
  });

  it('anchors several logs side by side, one transaction per log per round', async () => {
    const logB = `${backend.name}/break-glass`;
    await enqueue(logA, 13, 21);
    await enqueue(logB, 1, 2, 4);
    const events: CheckpointAnchorerEvent[] = [];
    const a = anchorer(events);
    await a.start();
    await a.drain(30_000);
    await a.stop();
    expect(ofType(events, 'error')).toEqual([]);
    expect(ofType(events, 'opened').map((e) => e.logId)).toEqual([logB]);
    expect(
      ofType(events, 'submitted')
        .map((e) => `${e.logId}#${e.size}`)
        .sort(),
    ).toEqual([`${logB}#4`, `${logA}#21`].sort());
    expect(
      (await node.ledger.findCheckpointsAnchored(organisation, auditLogKey(logA))).map((l) => l.treeSize),
    ).toEqual([8, 9, 21]);
    expect(
      (await node.ledger.findCheckpointsAnchored(organisation, auditLogKey(logB))).map((l) => l.treeSize),
    ).toEqual([4]);
    const stats = await a.stats();
    expect(stats).toMatchObject({ queued: 0, submitted: 0, anchorLagMs: 0, oldestUnanchoredAt: null });
    gas.laterCheckpoint.push((await checkpointAnchorOf(db, idOf(logA, 21)))!.gasUsed!);
  });

  it('supersedes a stale checkpoint queued after a larger one was anchored, without a transaction', async () => {
    await enqueue(logA, 17);
    const events: CheckpointAnchorerEvent[] = [];
    expect(await anchorer(events).submitQueued()).toBe(0);
    expect((await checkpointAnchorOf(db, idOf(logA, 17)))?.status).toBe('superseded');
    expect(ofType(events, 'superseded')).toEqual([
      expect.objectContaining({
        checkpointIds: [idOf(logA, 17)],
        why: 'a confirmed anchor of the log covers them',
      }),
    ]);
    expect(ofType(events, 'submitted')).toEqual([]);
  });

  it('settles what the chain refuses: its own checkpoint → confirmed, a larger one there → superseded', async () => {
    // Another index DB of the same node (e.g. restored from a backup) that does not know what was anchored.
    const other = await backend.open();
    try {
      await migrate(other, ledgerMigrations);
      const anchored = (await checkpointAnchorOf(db, idOf(logA, 21)))!;
      await enqueueCheckpointAnchor(other, {
        logId: logA,
        checkpointId: 1,
        size: 21,
        root: rootOf(logA, 21),
      });
      await enqueueCheckpointAnchor(other, {
        logId: logA,
        checkpointId: 2,
        size: 18,
        root: rootOf(logA, 18),
      });
      const events: CheckpointAnchorerEvent[] = [];
      // Driven round by round (never started): the interval only sets the back-off after a refusal, here at its
      // 30 s cap — so "backed off" below does not depend on the next call coming within 100 ms.
      const a = anchorer(events, other, 600_000);
      // The newest (21) is the chain's own latest: confirmed from its event, no transaction; 18 is covered.
      expect(await a.submitQueued()).toBe(0);
      expect(await checkpointAnchorOf(other, 1)).toMatchObject({
        status: 'confirmed',
        txHash: anchored.txHash,
        blockHash: anchored.blockHash,
        gasUsed: anchored.gasUsed,
      });
      expect(ofType(events, 'found')).toEqual([
        expect.objectContaining({ checkpointId: 1, why: 'the chain already holds this checkpoint' }),
      ]);
      expect((await checkpointAnchorOf(other, 2))?.status).toBe('superseded');

      // A smaller checkpoint the chain never saw, when the chain holds a larger one: superseded, not retried.
      await enqueueCheckpointAnchor(other, {
        logId: logA,
        checkpointId: 3,
        size: 20,
        root: rootOf(logA, 20),
      });
      await other.query("DELETE FROM ledger_checkpoint_anchors WHERE status <> 'queued'");
      expect(await a.submitQueued()).toBe(0);
      expect((await checkpointAnchorOf(other, 3))?.status).toBe('superseded');
      expect(ofType(events, 'superseded').at(-1)).toMatchObject({
        checkpointIds: [3],
        why: 'the chain holds a larger checkpoint of the log (size 21)',
      });
      expect(ofType(events, 'error')).toEqual([]);

      // The same tree size with another root (a forked log): kept queued with the reason, backed off.
      await enqueueCheckpointAnchor(other, {
        logId: logA,
        checkpointId: 4,
        size: 21,
        root: rootOf(logA, 99),
      });
      expect(await a.submitQueued()).toBe(0);
      expect(await checkpointAnchorOf(other, 4)).toMatchObject({
        status: 'queued',
        lastError: 'the chain refused its tree size: the chain holds another root at tree size 21',
      });
      expect(ofType(events, 'error')).toHaveLength(1);
      expect(await a.submitQueued()).toBe(0); // backed off: not even tried
      expect(ofType(events, 'error')).toHaveLength(1);
      expect(ofType(events, 'submitted')).toEqual([]);
    } finally {
      await other.close();
    }
    expect(
      (await node.ledger.findCheckpointsAnchored(organisation, auditLogKey(logA))).map((l) => l.treeSize),
    ).toEqual([8, 9, 21]);
  });

  it('settles a reverted transaction against the chain instead of retrying it', async () => {
    // Checkpoint 30 is anchored by another transaction (a previous incarnation), and the one on record for it
    // is a duplicate that reverted: confirmed from the chain's event.
    await enqueue(logA, 30);
    const elsewhere = await sendUnestimatedAnchor(logA, 30, rootOf(logA, 30));
    expect((await node.ledger.waitForReceipt(elsewhere.hash)).status).toBe('success');
    const duplicate = await sendUnestimatedAnchor(logA, 30, rootOf(logA, 30));
    expect((await node.ledger.waitForReceipt(duplicate.hash)).status).toBe('reverted');
    const markSubmitted = (checkpointId: number, tx: { hash: Hash; nonce: number; raw: Hex }) =>
      db.query(
        `UPDATE ledger_checkpoint_anchors
            SET status = 'submitted', tx_hash = $2, nonce = $3, raw_tx = $4, submitted_at = now(), chain_id = $5,
                contract = $6, attempts = attempts + 1
          WHERE checkpoint_id = $1`,
        [checkpointId, tx.hash, tx.nonce, tx.raw, node.ledger.chainId, node.ledger.auditAnchor],
      );
    await markSubmitted(idOf(logA, 30), duplicate);
    const events: CheckpointAnchorerEvent[] = [];
    const a = anchorer(events);
    expect(await a.pollSubmitted()).toBe(1);
    expect(await checkpointAnchorOf(db, idOf(logA, 30))).toMatchObject({
      status: 'confirmed',
      txHash: elsewhere.hash,
    });

    // Checkpoint 25's transaction reverted because the chain holds 30 by then: superseded.
    await enqueue(logA, 25);
    const stale = await sendUnestimatedAnchor(logA, 25, rootOf(logA, 25));
    expect((await node.ledger.waitForReceipt(stale.hash)).status).toBe('reverted');
    await markSubmitted(idOf(logA, 25), stale);
    expect(await a.pollSubmitted()).toBe(0);
    expect(await checkpointAnchorOf(db, idOf(logA, 25))).toMatchObject({ status: 'superseded' });
    expect(await a.submitQueued()).toBe(0);
    expect(ofType(events, 'submitted')).toEqual([]);
    expect(ofType(events, 'error')).toEqual([]);
  });

  it('crash drill: a transaction stored but never sent is found lost, looked for, and sent again', async () => {
    const [id] = await enqueue(logA, 34);
    const crashed = anchorer();
    expect(await crashed.submitQueued({ broadcast: false })).toBe(1);
    const stored = (await checkpointAnchorOf(db, id!))!;
    expect(stored.status).toBe('submitted');
    expect(await node.ledger.transactionState(stored.txHash!)).toBe('unknown');

    const events: CheckpointAnchorerEvent[] = [];
    const restarted = anchorer(events);
    await restarted.start();
    await restarted.drain(30_000);
    await restarted.stop();
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['requeued', 'submitted', 'confirmed']));
    expect(ofType(events, 'requeued')[0]?.why).toBe(`transaction ${stored.txHash} is unknown to the chain`);
    expect(await checkpointAnchorOf(db, id!)).toMatchObject({ status: 'confirmed', attempts: 2 });
    const onChain = await node.ledger.findCheckpointsAnchored(organisation, auditLogKey(logA));
    expect(onChain.filter((l) => l.treeSize === 34)).toHaveLength(1);
  });

  it('crash drill: a transaction mined but never recorded as confirmed is confirmed, not sent again', async () => {
    const [id] = await enqueue(logA, 55);
    const crashed = anchorer();
    expect(await crashed.submitQueued()).toBe(1);
    const sent = (await checkpointAnchorOf(db, id!))!;
    await node.ledger.waitForReceipt(sent.txHash!);
    // The process died before reading the receipt: the row still says submitted.
    const events: CheckpointAnchorerEvent[] = [];
    const restarted = anchorer(events);
    await restarted.reconcile();
    expect(ofType(events, 'submitted')).toEqual([]);
    expect(ofType(events, 'confirmed')).toEqual([
      expect.objectContaining({ checkpointId: id, txHash: sent.txHash, size: 55 }),
    ]);

    // Mined under a hash the DB never recorded (e.g. replaced in the pool): found by its event.
    const [id2] = await enqueue(logA, 89);
    expect(await crashed.submitQueued()).toBe(1);
    const real = (await checkpointAnchorOf(db, id2!))!.txHash!;
    await node.ledger.waitForReceipt(real);
    await db.query(
      `UPDATE ledger_checkpoint_anchors SET tx_hash = $2, submitted_at = now() - interval '1 minute'
        WHERE checkpoint_id = $1`,
      [id2, `0x${'ab'.repeat(32)}`],
    );
    const again: CheckpointAnchorerEvent[] = [];
    await anchorer(again).reconcile();
    expect(ofType(again, 'found')).toEqual([
      expect.objectContaining({ checkpointId: id2, txHash: real, why: 'anchored by another transaction' }),
    ]);
    expect(ofType(again, 'submitted')).toEqual([]);
    expect(await checkpointAnchorOf(db, id2!)).toMatchObject({ status: 'confirmed', txHash: real });
    const onChain = await node.ledger.findCheckpointsAnchored(organisation, auditLogKey(logA));
    expect(onChain.filter((l) => l.treeSize === 55 || l.treeSize === 89)).toHaveLength(2);
  });

  it('re-opens the log and re-anchors when the chain loses confirmed anchors', async () => {
    const logC = `${backend.name}/lost`;
    // The chain as it is before log C exists; restoring it loses the opening and the anchor of log C.
    const snapshot = await node.ledger.publicClient.request({ method: 'evm_snapshot' } as never);
    const [id] = await enqueue(logC, 5);
    const events: CheckpointAnchorerEvent[] = [];
    const a = anchorer(events);
    await a.start();
    await a.drain(30_000);
    await a.stop();
    const before = (await checkpointAnchorOf(db, id!))!;
    expect(before.status).toBe('confirmed');
    expect(ofType(events, 'opened')).toHaveLength(1);

    await node.ledger.publicClient.request({ method: 'evm_revert', params: [snapshot] } as never);
    expect(await node.ledger.auditLogOpenedAt(organisation, auditLogKey(logC))).toBe(0);
    expect(await a.recheckConfirmed()).toBe(1);
    expect(await checkpointAnchorOf(db, id!)).toMatchObject({
      status: 'queued',
      lastError: `block ${before.blockNumber} is no longer on the chain`,
    });
    await a.start();
    await a.drain(30_000);
    await a.stop();
    expect(ofType(events, 'error')).toEqual([]);
    expect(ofType(events, 'opened')).toHaveLength(2);
    expect(await auditLogOpenings(logC)).toHaveLength(1);
    const after = (await checkpointAnchorOf(db, id!))!;
    expect(after).toMatchObject({ status: 'confirmed', attempts: 2 });
    expect(await node.ledger.findCheckpointsAnchored(organisation, auditLogKey(logC))).toEqual([
      expect.objectContaining({ treeSize: 5, transactionHash: after.txHash, blockHash: after.blockHash }),
    ]);
    gas.openLog.push(ofType(events, 'opened')[1]!.gasUsed);
    gas.firstCheckpoint.push(after.gasUsed!);
  });
});
