// RecordRegistry and AuditAnchor: only active organisations' node accounts anchor; the record anchor chain
// lets a verifier detect a missing or altered anchor; an audit log is opened once by its organisation, then its
// tree size only grows, per organisation and log.

import { encodeAbiParameters, encodePacked, type Hex, keccak256, toHex, zeroHash } from 'viem';
import { describe, expect, it } from 'vitest';
import { CLINIC, eventOf, expectRevert, HOSPITAL, useSuite } from './helpers/fixture.js';

const suite = useSuite();

const h = (s: string) => keccak256(toHex(s));
const MASK192 = (1n << 192n) - 1n;

/** Recomputes the anchor chain from events, as a verifier would. */
function nextHead(head: bigint, anchor: Hex): bigint {
  const packed = encodePacked(['bytes24', 'bytes'], [`0x${head.toString(16).padStart(48, '0')}`, anchor]);
  return BigInt(keccak256(packed)) >> 64n;
}

describe('RecordRegistry', () => {
  it('anchors batches and single records, chaining every anchor into one head', async () => {
    const { hospitalNode, clinicNode } = suite.accounts;
    const [initialHead, initialCount] = await suite.read<[Hex, bigint]>('RecordRegistry', 'anchorChain');
    expect(initialCount).toBe(0n);
    expect(BigInt(initialHead)).toBe(BigInt(h('medledger.record-anchors.v1')) >> 64n);

    const batch = await suite.send(hospitalNode, 'RecordRegistry', 'anchorBatch', [h('root'), 500, h('sig')]);
    const batchEvent = eventOf(batch, 'BatchAnchored');
    const t1 = (await suite.chain.publicClient.getBlock({ blockNumber: batch.blockNumber })).timestamp;
    let head = nextHead(
      BigInt(initialHead),
      encodeAbiParameters(
        [
          { type: 'uint8' },
          { type: 'uint32' },
          { type: 'bytes32' },
          { type: 'uint32' },
          { type: 'bytes32' },
          { type: 'uint256' },
        ],
        [1, HOSPITAL, h('root'), 500, h('sig'), t1],
      ),
    );
    expect(batchEvent).toEqual({
      organisation: HOSPITAL,
      root: h('root'),
      sequence: 1n,
      batchSize: 500,
      signatureDigest: h('sig'),
      head: `0x${head.toString(16).padStart(64, '0')}`,
    });

    const single = await suite.send(clinicNode, 'RecordRegistry', 'anchorRecord', [
      h('record'),
      h('record sig'),
    ]);
    const t2 = (await suite.chain.publicClient.getBlock({ blockNumber: single.blockNumber })).timestamp;
    head = nextHead(
      head,
      encodeAbiParameters(
        [
          { type: 'uint8' },
          { type: 'uint32' },
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'uint256' },
        ],
        [2, CLINIC, h('record'), h('record sig'), t2],
      ),
    );
    expect(eventOf(single, 'RecordAnchored')).toEqual({
      organisation: CLINIC,
      recordCommitment: h('record'),
      sequence: 2n,
      signatureDigest: h('record sig'),
      head: `0x${head.toString(16).padStart(64, '0')}`,
    });
    const [finalHead, count] = await suite.read<[Hex, bigint]>('RecordRegistry', 'anchorChain');
    expect(count).toBe(2n);
    expect(BigInt(finalHead)).toBe(head & MASK192);
  });

  it('refuses accounts that are not node accounts of an active organisation, and empty anchors', async () => {
    const { hospitalNode, practitioner, admin } = suite.accounts;
    await expectRevert(
      suite.send(practitioner, 'RecordRegistry', 'anchorBatch', [h('root'), 1, h('sig')]),
      'NotActiveNodeAccount',
      [practitioner.address],
    );
    await expectRevert(
      suite.send(admin, 'RecordRegistry', 'anchorRecord', [h('record'), h('sig')]),
      'NotActiveNodeAccount',
      [admin.address],
    );
    await expectRevert(
      suite.send(hospitalNode, 'RecordRegistry', 'anchorBatch', [zeroHash, 1, h('sig')]),
      'ZeroCommitment',
      [],
    );
    await expectRevert(
      suite.send(hospitalNode, 'RecordRegistry', 'anchorBatch', [h('root'), 0, h('sig')]),
      'EmptyBatch',
      [],
    );
    await expectRevert(
      suite.send(hospitalNode, 'RecordRegistry', 'anchorRecord', [zeroHash, h('sig')]),
      'ZeroCommitment',
      [],
    );
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [HOSPITAL, zeroHash]);
    await expectRevert(
      suite.send(hospitalNode, 'RecordRegistry', 'anchorBatch', [h('root'), 1, h('sig')]),
      'OrganisationNotActive',
      [HOSPITAL],
    );
    await expectRevert(
      suite.send(hospitalNode, 'RecordRegistry', 'anchorRecord', [h('record'), h('sig')]),
      'OrganisationNotActive',
      [HOSPITAL],
    );
  });
});

describe('AuditAnchor', () => {
  const blockTime = async (blockNumber: bigint) =>
    Number((await suite.chain.publicClient.getBlock({ blockNumber })).timestamp);

  it('opens a log once per organisation, with an event, before any checkpoint', async () => {
    const { hospitalNode, clinicNode } = suite.accounts;
    const log = h('access log');
    expect(await suite.read('AuditAnchor', 'logOpenedAt', [HOSPITAL, log])).toBe(0);
    await expectRevert(
      suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [log, 1n, h('root 1')]),
      'AuditLogNotOpen',
      [log],
    );
    const opened = await suite.send(hospitalNode, 'AuditAnchor', 'openLog', [log]);
    expect(opened.events.map((e) => e.eventName)).toEqual(['AuditLogOpened']);
    expect(eventOf(opened, 'AuditLogOpened')).toEqual({ organisation: HOSPITAL, logId: log });
    const openedAt = await blockTime(opened.blockNumber);
    expect(await suite.read('AuditAnchor', 'logOpenedAt', [HOSPITAL, log])).toBe(openedAt);
    // Opened but not yet checkpointed: no checkpoint shows (the root slot's sentinel is never returned).
    expect(await suite.read('AuditAnchor', 'latestCheckpoint', [HOSPITAL, log])).toEqual([0n, zeroHash, 0]);
    // Opening again would reset the tree size: refused, before and after checkpoints.
    await expectRevert(suite.send(hospitalNode, 'AuditAnchor', 'openLog', [log]), 'AuditLogAlreadyOpen', [
      log,
    ]);
    await suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [log, 5n, h('root 5')]);
    await expectRevert(suite.send(hospitalNode, 'AuditAnchor', 'openLog', [log]), 'AuditLogAlreadyOpen', [
      log,
    ]);
    expect(
      (await suite.read<[bigint, Hex, number]>('AuditAnchor', 'latestCheckpoint', [HOSPITAL, log]))[0],
    ).toBe(5n);
    // The hospital's log is not the clinic's: the clinic must open its own log of the same id.
    expect(await suite.read('AuditAnchor', 'logOpenedAt', [CLINIC, log])).toBe(0);
    await expectRevert(
      suite.send(clinicNode, 'AuditAnchor', 'anchorCheckpoint', [log, 1n, h('clinic root 1')]),
      'AuditLogNotOpen',
      [log],
    );
    const clinicOpened = await suite.send(clinicNode, 'AuditAnchor', 'openLog', [log]);
    expect(eventOf(clinicOpened, 'AuditLogOpened')).toEqual({ organisation: CLINIC, logId: log });
    expect(await suite.read('AuditAnchor', 'logOpenedAt', [HOSPITAL, log])).toBe(openedAt);
  });

  it('keeps the latest checkpoint per organisation and log, growing only', async () => {
    const { hospitalNode, clinicNode } = suite.accounts;
    const log = h('access log');
    await suite.send(hospitalNode, 'AuditAnchor', 'openLog', [log]);
    await expectRevert(
      suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [log, 0n, h('root 0')]),
      'TreeSizeNotIncreasing',
      [log, 0n, 0n],
    );
    const first = await suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [log, 10n, h('root 10')]);
    expect(eventOf(first, 'CheckpointAnchored')).toEqual({
      organisation: HOSPITAL,
      logId: log,
      treeSize: 10n,
      root: h('root 10'),
    });
    const t = await blockTime(first.blockNumber);
    expect(await suite.read('AuditAnchor', 'latestCheckpoint', [HOSPITAL, log])).toEqual([
      10n,
      h('root 10'),
      t,
    ]);
    await expectRevert(
      suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [log, 10n, h('other root 10')]),
      'TreeSizeNotIncreasing',
      [log, 10n, 10n],
    );
    await expectRevert(
      suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [log, 9n, h('root 9')]),
      'TreeSizeNotIncreasing',
      [log, 10n, 9n],
    );
    await suite.advance(60);
    const second = await suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [
      log,
      11n,
      h('root 11'),
    ]);
    expect(await suite.read('AuditAnchor', 'latestCheckpoint', [HOSPITAL, log])).toEqual([
      11n,
      h('root 11'),
      await blockTime(second.blockNumber),
    ]);
    // A checkpoint leaves the opening time alone.
    const openedAt = await suite.read<number>('AuditAnchor', 'logOpenedAt', [HOSPITAL, log]);
    expect(openedAt).toBeGreaterThan(0);
    expect(openedAt).toBeLessThanOrEqual(t);
    // Another organisation's log of the same id is its own.
    await suite.send(clinicNode, 'AuditAnchor', 'openLog', [log]);
    await suite.send(clinicNode, 'AuditAnchor', 'anchorCheckpoint', [log, 1n, h('clinic root 1')]);
    expect(
      (await suite.read<[bigint, Hex, number]>('AuditAnchor', 'latestCheckpoint', [CLINIC, log]))[0],
    ).toBe(1n);
    expect(
      (await suite.read<[bigint, Hex, number]>('AuditAnchor', 'latestCheckpoint', [HOSPITAL, log]))[0],
    ).toBe(11n);
    expect(await suite.read('AuditAnchor', 'latestCheckpoint', [CLINIC, h('never')])).toEqual([
      0n,
      zeroHash,
      0,
    ]);
  });

  it("refuses other organisations' accounts, suspended organisations and zero roots", async () => {
    const { hospitalNode, auditor, outsider, admin } = suite.accounts;
    await expectRevert(suite.send(auditor, 'AuditAnchor', 'openLog', [h('log')]), 'NotActiveNodeAccount', [
      auditor.address,
    ]);
    await expectRevert(suite.send(outsider, 'AuditAnchor', 'openLog', [h('log')]), 'NotActiveNodeAccount', [
      outsider.address,
    ]);
    await suite.send(hospitalNode, 'AuditAnchor', 'openLog', [h('log')]);
    await expectRevert(
      suite.send(auditor, 'AuditAnchor', 'anchorCheckpoint', [h('log'), 1n, h('root')]),
      'NotActiveNodeAccount',
      [auditor.address],
    );
    await expectRevert(
      suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [h('log'), 1n, zeroHash]),
      'ZeroRoot',
      [],
    );
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [HOSPITAL, zeroHash]);
    await expectRevert(
      suite.send(hospitalNode, 'AuditAnchor', 'openLog', [h('other log')]),
      'OrganisationNotActive',
      [HOSPITAL],
    );
    await expectRevert(
      suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [h('log'), 1n, h('root')]),
      'OrganisationNotActive',
      [HOSPITAL],
    );
  });
});
