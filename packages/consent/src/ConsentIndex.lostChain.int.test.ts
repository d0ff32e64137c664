// The embedded chain losing state under a running consent index: restored from an older dump (its last seconds
// gone — a grant and a revocation with them), and lost altogether (a fresh chain, the suite redeployed). The
// index must follow the chain back, never crash, and keep indexing afterwards. Both database backends.

import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Action, Purpose } from '@medledger/contracts';
import { DataCategory } from '@medledger/core';
import type { Db } from '@medledger/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import {
  observationReadTerms,
  relayGrant,
  startTestConsortium,
  type TestConsortium,
  type TestPatient,
} from '../test/testConsortium.js';
import { ConsentIndex, type ConsentIndexEvent } from './ConsentIndex.js';
import { ConsentRelayer } from './ConsentRelayer.js';

let c: TestConsortium;
beforeAll(async () => {
  c = await startTestConsortium();
});
afterAll(async () => {
  await c?.close();
});

async function until(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(await backends())('ConsentIndex after chain loss, on $name', (backend) => {
  let db: Db;
  let index: ConsentIndex;
  let relayer: ConsentRelayer;
  const events: ConsentIndexEvent[] = [];
  beforeAll(async () => {
    db = await backend.open();
    index = await ConsentIndex.open({ db, ledger: c.hospital, pollMs: 50, onEvent: (e) => events.push(e) });
    index.follow();
    relayer = new ConsentRelayer(c.hospital, { index });
  });
  afterAll(async () => {
    await index?.stop();
    await db?.close();
  });

  async function grant(patient: TestPatient, grantee: number) {
    const now = await c.chainNow();
    return relayGrant(c, relayer, patient, observationReadTerms(patient, grantee, now), now);
  }

  const query = (patient: TestPatient, organisation: number) => ({
    patient: patient.pseudonym,
    organisation,
    action: Action.Read,
    resourceClass: DataCategory.Observations,
    purpose: Purpose.Treatment,
  });

  it('follows an embedded chain restored from an older state: the lost grant and revocation are undone', async () => {
    const kept = c.newPatient();
    const keptGrant = await grant(kept, c.ids.hospital);
    // A dump of the chain as it is now (anvil writes it on a graceful stop).
    await c.chain.stop();
    const older = join(c.dataDir, 'chain', 'older.json');
    await copyFile(c.chain.stateFile, older);
    await c.chain.start();

    const lost = c.newPatient();
    const lostGrant = await grant(lost, c.ids.hospital);
    const deadline = BigInt((await c.chainNow()) + 600);
    await relayer.revoke({
      consentId: keptGrant.consentId,
      deadline,
      signature: await c.signRevoke(kept, keptGrant.consentId, deadline),
    });
    expect(await index.permits(query(lost, c.ids.hospital))).toBe(lostGrant.consentId);
    expect(await index.permits(query(kept, c.ids.hospital))).toBeUndefined();
    const seen = events.length;

    // The last seconds are lost: the chain comes back from the older dump and mines on from there.
    await c.chain.stop();
    await copyFile(older, c.chain.stateFile);
    await c.chain.start();
    await until(async () => events.slice(seen).some((e) => e.type === 'reorg' || e.type === 'reindex'));
    expect(events.slice(seen)).toContainEqual(expect.objectContaining({ type: 'reorg' }));
    expect(await index.permits(query(lost, c.ids.hospital))).toBeUndefined();
    expect(await index.grantsOf(lost.pseudonym)).toEqual([]);
    expect(await index.permits(query(kept, c.ids.hospital))).toBe(keptGrant.consentId);
    // Still indexing: the patient can revoke again on this chain.
    const again = BigInt((await c.chainNow()) + 600);
    await relayer.revoke({
      consentId: keptGrant.consentId,
      deadline: again,
      signature: await c.signRevoke(kept, keptGrant.consentId, again),
    });
    expect(await index.permits(query(kept, c.ids.hospital))).toBeUndefined();
  });

  it('survives losing the chain altogether and re-indexes the redeployed suite', async () => {
    const before = c.newPatient();
    await grant(before, c.ids.hospital);
    const seen = events.length;
    await c.chain.stop();
    // A chain that does not answer: a decision that has a newer block to reflect fails closed, not from cache.
    index.observeHead(index.knownHead + 1);
    await expect(index.permits(query(before, c.ids.hospital))).rejects.toMatchObject({
      code: 'MDL_UNAVAILABLE',
    });
    await rm(c.chain.stateFile, { force: true });
    await rm(join(c.dataDir, 'chain', 'state.prev.json'), { force: true });
    await c.chain.start();
    // No deployment on the chain yet: the index notices, starts over, and keeps running.
    await until(async () => events.slice(seen).some((e) => e.type === 'reindex'));
    expect(await index.grantsOf(before.pseudonym)).toEqual([]);
    expect(index.following).toBe(true);

    await c.rebootstrap(); // the node redeploys and admits itself again
    await index.setLedger(c.hospital);
    relayer = new ConsentRelayer(c.hospital, { index });
    const after = c.newPatient();
    const g = await grant(after, c.ids.hospital);
    expect(await index.permits(query(after, c.ids.hospital))).toBe(g.consentId);
    expect(index.consortium.organisationActive(c.ids.hospital)).toBe(true);
    expect(index.consortium.organisationActive(c.ids.lab)).toBe(false); // not re-admitted on the new chain
  });
});
