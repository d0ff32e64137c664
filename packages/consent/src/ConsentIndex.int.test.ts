// The consent index against a real chain and both index-database backends: grants and revocations indexed and
// decided to the second, every kind of mismatch refused, break-glass sessions and reviews, a restart from the
// persisted cursor, an idempotent re-sync, and a reorg rolled back.

import { Action, type ConsentTerms, consentIdOf, mask, Purpose } from '@medledger/contracts';
import { DataCategory, isMdlError, MdlErrorCode } from '@medledger/core';
import type { Db } from '@medledger/storage';
import { type Address, type Hex, keccak256, toHex, zeroAddress } from 'viem';
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
import type { ConsentQuery } from './permittingGrant.js';

let c: TestConsortium;
let relayer: ConsentRelayer;
beforeAll(async () => {
  c = await startTestConsortium();
});
afterAll(async () => {
  await c?.close();
});

const HOUR = 3600;

async function expectRefused(promise: Promise<unknown>, code: string, name?: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(isMdlError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (name) expect((error as Error).message).toContain(name);
    return;
  }
  throw new Error('expected a refusal');
}

describe.each(await backends())('ConsentIndex on $name', (backend) => {
  let db: Db;
  let index: ConsentIndex;
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

  async function grant(patient: TestPatient, overrides: Partial<ConsentTerms> = {}) {
    const now = await c.chainNow();
    const terms = observationReadTerms(patient, c.ids.lab, now, { validUntil: now + HOUR, ...overrides });
    const relayed = await relayGrant(c, relayer, patient, terms, now);
    expect(relayed.consentId).toBe(consentIdOf(terms));
    return { terms, ...relayed };
  }

  async function revoke(patient: TestPatient, consentId: Hex) {
    const deadline = BigInt((await c.chainNow()) + 600);
    return relayer.revoke({
      consentId,
      deadline,
      signature: await c.signRevoke(patient, consentId, deadline),
    });
  }

  async function blockTime(blockNumber: bigint): Promise<number> {
    return Number((await c.hospital.publicClient.getBlock({ blockNumber })).timestamp);
  }

  const labQuery = (patient: TestPatient, extra: Partial<ConsentQuery> = {}): ConsentQuery => ({
    patient: patient.pseudonym,
    organisation: c.ids.lab,
    action: Action.Read,
    resourceClass: DataCategory.Observations,
    purpose: Purpose.Treatment,
    ...extra,
  });

  it('indexes a grant and permits what it covers from the block it was mined in', async () => {
    const patient = c.newPatient();
    expect(await index.permits(labQuery(patient))).toBeUndefined();
    const g = await grant(patient);
    // The relayer told the index about the block: the very next decision sees the grant.
    expect(await index.permits(labQuery(patient))).toBe(g.consentId);
    const grantedAt = await blockTime(g.blockNumber);
    expect(await index.permits(labQuery(patient, { at: grantedAt }))).toBe(g.consentId);
    expect(await index.permits(labQuery(patient, { at: grantedAt - 1 }))).toBeUndefined();
    const [indexed] = await index.grantsOf(patient.pseudonym);
    expect(indexed).toMatchObject({
      ...g.terms,
      id: g.consentId,
      grantedAt,
      grantedBlock: Number(g.blockNumber),
      grantedTx: g.transactionHash,
    });
    expect(indexed?.revokedAt).toBeUndefined();
    expect(events).toContainEqual(expect.objectContaining({ type: 'granted', id: g.consentId }));
    // The grantee's view (what its members' searches draw on) lists it; another organisation's does not.
    expect((await index.grantsTo(c.ids.lab)).map((x) => x.id)).toContain(g.consentId);
    expect((await index.grantsTo(c.ids.hospital)).map((x) => x.id)).not.toContain(g.consentId);
  });

  it('refuses a revoked grant from the block the revocation was mined in, never before', async () => {
    const patient = c.newPatient();
    const g = await grant(patient);
    await new Promise((r) => setTimeout(r, 1100)); // so that the revocation lands in a later second
    const r = await revoke(patient, g.consentId);
    expect(await index.permits(labQuery(patient))).toBeUndefined();
    const revokedAt = await blockTime(r.blockNumber);
    expect(await index.permits(labQuery(patient, { at: revokedAt }))).toBeUndefined();
    expect(await index.permits(labQuery(patient, { at: revokedAt - 1 }))).toBe(g.consentId);
    expect((await index.grantsTo(c.ids.lab)).map((x) => x.id)).not.toContain(g.consentId);
    const [indexed] = await index.grantsOf(patient.pseudonym);
    expect(indexed).toMatchObject({
      revokedAt,
      revokedBlock: Number(r.blockNumber),
      revokedTx: r.transactionHash,
    });
    // Refused again with the contract's reason; the index is unchanged.
    const deadline = BigInt((await c.chainNow()) + 600);
    await expectRefused(
      relayer.revoke({
        consentId: g.consentId,
        deadline,
        signature: await c.signRevoke(patient, g.consentId, deadline),
      }),
      MdlErrorCode.Conflict,
      'ConsentAlreadyRevoked',
    );
  });

  it('expires a grant exactly at validUntil and starts it exactly at validFrom', async () => {
    const patient = c.newPatient();
    const now = await c.chainNow();
    const g = await grant(patient, { validFrom: now + 3, validUntil: now + 6 });
    const at = (s: number) => index.permits(labQuery(patient, { at: s }));
    expect(await at(now + 2)).toBeUndefined();
    expect(await at(now + 3)).toBe(g.consentId);
    expect(await at(now + 5)).toBe(g.consentId);
    expect(await at(now + 6)).toBeUndefined();
    if (backend.name !== 'pglite') return; // the clock does not depend on the database: wait once
    // Live decisions follow the clock: wait for the last valid second to pass.
    while (index.now() < now + 6) {
      if (index.now() >= now + 3) expect(await index.permits(labQuery(patient))).toBe(g.consentId);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await index.permits(labQuery(patient))).toBeUndefined();
  });

  it('refuses every mismatch: organisation, member, action, class, purpose, data period', async () => {
    const patient = c.newPatient();
    const labTech = c.members.labTech.address;
    const now = await c.chainNow();
    const g = await grant(patient, {
      granteeMember: labTech,
      actions: mask(Action.Read),
      resourceClasses: mask(DataCategory.Observations, DataCategory.Conditions),
      purposes: mask(Purpose.Treatment, Purpose.Research),
      dataFrom: 1_000_000,
      dataUntil: 2_000_000,
    });
    const ok = labQuery(patient, { member: labTech, dataDate: 1_500_000, at: now + 60 });
    expect(await index.permits(ok)).toBe(g.consentId);
    expect(
      await index.permits({ ...ok, resourceClass: DataCategory.Conditions, purpose: Purpose.Research }),
    ).toBe(g.consentId);
    expect(await index.permits({ ...ok, dataDate: 1_000_000 })).toBe(g.consentId);
    expect(await index.permits({ ...ok, dataDate: 2_000_000 })).toBe(g.consentId);
    const refused: Partial<ConsentQuery>[] = [
      { organisation: c.ids.hospital },
      { member: c.members.auditor.address }, // another member of the grantee
      { member: undefined }, // the lab's node itself: the grant names a member
      { member: c.members.practitioner.address, organisation: c.ids.hospital },
      { action: Action.Write },
      { resourceClass: DataCategory.Medications },
      { purpose: Purpose.Payment },
      { purpose: Purpose.Emergency },
      { dataDate: 999_999 },
      { dataDate: 2_000_001 },
      { dataDate: undefined },
      { patient: c.newPatient().pseudonym },
    ];
    for (const change of refused) {
      expect(await index.permits({ ...ok, ...change }), JSON.stringify(change)).toBeUndefined();
    }
  });

  it('refuses a member who does not belong to the organisation, and a suspended organisation', async () => {
    const patient = c.newPatient();
    const g = await grant(patient);
    const q = labQuery(patient);
    expect(await index.permits({ ...q, member: c.members.labTech.address })).toBe(g.consentId);
    // The hospital's practitioner claims to act for the lab: the registry says otherwise.
    expect(await index.permits({ ...q, member: c.members.practitioner.address })).toBeUndefined();
    await c.registry(c.admin, 'suspendOrganisation', [c.ids.lab, keccak256(toHex('audit finding'))]);
    await index.waitForBlock(await c.hospital.blockNumber());
    expect(await index.permits(q)).toBeUndefined();
    expect(index.consortium.organisationActive(c.ids.lab)).toBe(false);
    await c.registry(c.admin, 'reinstateOrganisation', [c.ids.lab]);
    await index.waitForBlock(await c.hospital.blockNumber());
    expect(await index.permits(q)).toBe(g.consentId);
  });

  it('relays refusals with the contract reason and records nothing', async () => {
    const patient = c.newPatient();
    const other = c.newPatient();
    const now = await c.chainNow();
    const terms: ConsentTerms = {
      patient: patient.pseudonym,
      grantee: c.ids.lab,
      granteeMember: zeroAddress,
      actions: 1,
      resourceClasses: 1,
      purposes: 1,
      validFrom: 0,
      validUntil: now + HOUR,
      dataFrom: 0,
      dataUntil: 0,
      nonce: 9n,
    };
    const deadline = BigInt(now + 600);
    await expectRefused(
      relayer.grant({ terms, deadline, signature: await c.signGrant(other, terms, deadline) }),
      MdlErrorCode.InvalidCredential,
      'NotPatient',
    );
    const stale = BigInt(now - 10);
    await expectRefused(
      relayer.grant({ terms, deadline: stale, signature: await c.signGrant(patient, terms, stale) }),
      MdlErrorCode.Replay,
      'SignatureExpired',
    );
    const empty = { ...terms, purposes: 0 };
    await expectRefused(
      relayer.grant({ terms: empty, deadline, signature: await c.signGrant(patient, empty, deadline) }),
      MdlErrorCode.BadInput,
      'InvalidConsentScope',
    );
    await expectRefused(relayer.grant({ terms, deadline, signature: '0x1234' }), MdlErrorCode.BadInput);
    const over = { ...terms, validUntil: now - 1 };
    await expectRefused(
      relayer.grant({ terms: over, deadline, signature: await c.signGrant(patient, over, deadline) }),
      MdlErrorCode.BadInput,
      'InvalidConsentPeriod',
    );
    const unknown = consentIdOf(terms);
    await expectRefused(
      relayer.revoke({
        consentId: unknown,
        deadline,
        signature: await c.signRevoke(patient, unknown, deadline),
      }),
      MdlErrorCode.NotFound,
      'UnknownConsent',
    );
    expect(await index.grantsOf(patient.pseudonym)).toEqual([]);
    // A grant recorded once cannot be recorded again.
    const signature = await c.signGrant(patient, terms, deadline);
    await relayer.grant({ terms, deadline, signature });
    await expectRefused(
      relayer.grant({ terms, deadline, signature }),
      MdlErrorCode.Conflict,
      'ConsentAlreadyExists',
    );
    // Another patient's revocation of it is refused.
    await expectRefused(
      relayer.revoke({
        consentId: unknown,
        deadline,
        signature: await c.signRevoke(other, unknown, deadline),
      }),
      MdlErrorCode.InvalidCredential,
      'NotConsentController',
    );
    expect(await index.grantsOf(patient.pseudonym)).toHaveLength(1);
  });

  it('indexes break-glass sessions: opened, ended, reviewed; licence and holder enforced', async () => {
    const patient = c.newPatient();
    const practitioner = await relayer.memberClient(c.members.practitioner.privateKey);
    const unlicensed = await relayer.memberClient(c.members.unlicensed.privateKey);
    const auditor = await relayer.memberClient(c.members.auditor.privateKey);
    const reasonHash = keccak256(toHex('unconscious patient in the emergency room'));

    await expectRefused(
      relayer.openBreakGlass(unlicensed, { patient: patient.pseudonym, reasonHash, duration: 600 }),
      MdlErrorCode.Forbidden,
      'NotLicensedMember',
    );
    await expectRefused(
      relayer.openBreakGlass(practitioner, {
        patient: patient.pseudonym,
        reasonHash: `0x${'00'.repeat(32)}`,
        duration: 600,
      }),
      MdlErrorCode.BadInput,
      'EmptyReason',
    );
    const opened = await relayer.openBreakGlass(practitioner, {
      patient: patient.pseudonym,
      reasonHash,
      duration: 600,
    });
    const member = c.members.practitioner.address.toLowerCase() as Address;
    const active = await index.activeBreakGlass(patient.pseudonym, member);
    expect(active).toMatchObject({
      id: opened.id,
      patient: patient.pseudonym,
      member,
      organisation: c.ids.hospital,
      reasonHash,
      expiresAt: opened.expiresAt,
      openedBlock: Number(opened.blockNumber),
    });
    expect(active?.expiresAt).toBe(active!.openedAt + 600);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'breakGlassOpened',
        session: expect.objectContaining({ id: opened.id }),
      }),
    );
    // Not for another patient, another member, or after it expires.
    expect(await index.activeBreakGlass(c.newPatient().pseudonym, member)).toBeUndefined();
    expect(await index.activeBreakGlass(patient.pseudonym, c.members.labTech.address)).toBeUndefined();
    expect(await index.activeBreakGlass(patient.pseudonym, member, opened.expiresAt)).toBeUndefined();

    // Still running: no review yet; only the holder may end it.
    await expectRefused(
      relayer.closeBreakGlassReview(auditor, { id: opened.id, justified: true, findingHash: reasonHash }),
      MdlErrorCode.Conflict,
      'BreakGlassStillActive',
    );
    await expectRefused(
      relayer.endBreakGlass(unlicensed, opened.id),
      MdlErrorCode.Forbidden,
      'NotBreakGlassHolder',
    );
    const ended = await relayer.endBreakGlass(practitioner, opened.id);
    expect(await index.activeBreakGlass(patient.pseudonym, member)).toBeUndefined();
    const endedAt = await blockTime(ended.blockNumber);
    expect(await index.breakGlassSession(opened.id)).toMatchObject({ endedAt, expiresAt: endedAt });
    expect((await index.breakGlassSessions({ unreviewed: true })).map((s) => s.id)).toContain(opened.id);

    // The practitioner cannot review; the auditor can, once.
    await expectRefused(
      relayer.closeBreakGlassReview(practitioner, {
        id: opened.id,
        justified: true,
        findingHash: reasonHash,
      }),
      MdlErrorCode.Forbidden,
      'NotAuditor',
    );
    const findingHash = keccak256(toHex('justified: cardiac arrest'));
    const reviewed = await relayer.closeBreakGlassReview(auditor, {
      id: opened.id,
      justified: true,
      findingHash,
    });
    await expectRefused(
      relayer.closeBreakGlassReview(auditor, { id: opened.id, justified: false, findingHash }),
      MdlErrorCode.Conflict,
      'BreakGlassAlreadyReviewed',
    );
    const session = await index.breakGlassSession(opened.id);
    expect(session?.review).toEqual({
      auditor: c.members.auditor.address.toLowerCase(),
      justified: true,
      findingHash,
      reviewedAt: await blockTime(reviewed.blockNumber),
      block: Number(reviewed.blockNumber),
    });
    expect((await index.breakGlassSessions({ unreviewed: true })).map((s) => s.id)).not.toContain(opened.id);
    expect((await index.breakGlassSessions({ patient: patient.pseudonym })).map((s) => s.id)).toEqual([
      opened.id,
    ]);
  });

  it('stops honouring a session when the licence is revoked', async () => {
    const patient = c.newPatient();
    const labTech = await relayer.memberClient(c.members.labTech.privateKey);
    const opened = await relayer.openBreakGlass(labTech, {
      patient: patient.pseudonym,
      reasonHash: keccak256(toHex('sample mix-up')),
      duration: 600,
    });
    const member = c.members.labTech.address;
    expect((await index.activeBreakGlass(patient.pseudonym, member))?.id).toBe(opened.id);
    await c.registry(c.regulator, 'revokeLicence', [member]);
    await index.waitForBlock(await c.hospital.blockNumber());
    expect(await index.activeBreakGlass(patient.pseudonym, member)).toBeUndefined();
    // Renewed: valid again (issueLicence replaces the revoked record).
    await c.registry(c.regulator, 'issueLicence', [
      member,
      keccak256(toHex('licence 2 renewed')),
      Math.floor(Date.now() / 1000) + 365 * 24 * 3600,
    ]);
    await index.waitForBlock(await c.hospital.blockNumber());
    expect((await index.activeBreakGlass(patient.pseudonym, member, index.now() + 1))?.id).toBe(opened.id);
  });

  it('restarts from the persisted cursor and indexes only what it missed', async () => {
    await index.stop();
    const cursor = index.cursor!;
    const patient = c.newPatient();
    const g = await grant(patient); // mined while the index is stopped (the relayer only notes the block)
    const restartedEvents: ConsentIndexEvent[] = [];
    const restarted = await ConsentIndex.open({
      db,
      ledger: c.hospital,
      onEvent: (e) => restartedEvents.push(e),
    });
    expect(restarted.cursor).toEqual(cursor);
    await restarted.sync();
    expect(restartedEvents[0]).toMatchObject({ type: 'synced', fromBlock: cursor.blockNumber + 1 });
    expect(restartedEvents.filter((e) => e.type === 'granted').map((e) => (e as { id: Hex }).id)).toEqual([
      g.consentId,
    ]);
    expect(await restarted.permits(labQuery(patient))).toBe(g.consentId);
    // The old instance, asked again, catches up on its own (its cache is per instance).
    expect(await index.permits(labQuery(patient))).toBe(g.consentId);
    index.follow();
  });

  it('re-applies already indexed blocks without changing anything', async () => {
    const snapshot = async () => ({
      grants: (await db.query('SELECT * FROM ledger_consent_grants ORDER BY consent_id')).rows,
      sessions: (await db.query('SELECT * FROM ledger_consent_break_glass ORDER BY id')).rows,
      registry: (
        await db.query('SELECT * FROM ledger_consent_registry_events ORDER BY block_number, log_index')
      ).rows,
    });
    await index.stop();
    await index.sync();
    const before = await snapshot();
    expect(before.grants.length).toBeGreaterThan(5);
    // Move the cursor back to the deployment (a block still on the chain, so no reorg is seen).
    const start = Number(c.deployment.contracts.ConsortiumRegistry.blockNumber);
    const startBlock = await c.hospital.publicClient.getBlock({ blockNumber: BigInt(start) });
    await db.query(
      'UPDATE ledger_consent_cursor SET block_number = $1, block_hash = $2, block_timestamp = $3',
      [start, startBlock.hash, Number(startBlock.timestamp)],
    );
    const again = await ConsentIndex.open({ db, ledger: c.hospital, chunkBlocks: 7 });
    const result = await again.sync();
    expect(result.rolledBack).toBe(false);
    expect(result.events).toBeGreaterThan(before.grants.length);
    expect(await snapshot()).toEqual(before);
    index.follow();
  });

  it('rolls back a reorg: a grant and a revocation that left the chain leave the index', async () => {
    const kept = c.newPatient();
    const keptGrant = await grant(kept);
    const snapshotId = await c.hospital.publicClient.request({ method: 'evm_snapshot' } as never);
    const lost = c.newPatient();
    const lostGrant = await grant(lost);
    await revoke(kept, keptGrant.consentId);
    expect(await index.permits(labQuery(lost))).toBe(lostGrant.consentId);
    expect(await index.permits(labQuery(kept))).toBeUndefined();
    const reorgs = events.length;

    await c.hospital.publicClient.request({ method: 'evm_revert', params: [snapshotId] } as never);
    // The chain continues from the snapshot; the index notices at its next poll.
    await index.refreshHead();
    await index.sync();
    expect(events.slice(reorgs)).toContainEqual(expect.objectContaining({ type: 'reorg' }));
    expect(await index.permits(labQuery(lost))).toBeUndefined();
    expect(await index.grantsOf(lost.pseudonym)).toEqual([]);
    expect(await index.permits(labQuery(kept))).toBe(keptGrant.consentId);
    expect((await index.grantsOf(kept.pseudonym))[0]?.revokedAt).toBeUndefined();
    // And it goes on indexing the new branch.
    const next = c.newPatient();
    const nextGrant = await grant(next);
    expect(await index.permits(labQuery(next))).toBe(nextGrant.consentId);
  });

  it('refuses malformed queries', async () => {
    const patient = c.newPatient();
    const bad: Partial<ConsentQuery>[] = [
      { patient: '0x1234' },
      { action: 2 },
      { resourceClass: 12 },
      { purpose: 5 },
      { organisation: -1 },
      { member: '0xnot-an-address' as Address },
      { at: 2 ** 40 },
      { dataDate: 1.5 },
    ];
    for (const change of bad) {
      await expectRefused(index.permits({ ...labQuery(patient), ...change }), MdlErrorCode.BadInput);
    }
  });
});
