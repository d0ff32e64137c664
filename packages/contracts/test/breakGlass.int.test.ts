// ConsentManager break-glass: licensed members only, bounded duration, events for notification and review,
// early end, auditor review, and the governance cap.

import { keccak256, toHex, zeroHash } from 'viem';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BREAK_GLASS_DURATION_CAP } from '../src/index.js';
import { newPatient } from './helpers/consent.js';
import { eventOf, expectRevert, HOSPITAL, REGULATOR, useSuite, YEAR } from './helpers/fixture.js';

const GOVERNOR_ROLE = keccak256(toHex('GOVERNOR_ROLE'));
const reason = keccak256(toHex('arrived unconscious; no consent on file'));

const suite = useSuite();

async function open(duration = 3600) {
  const patient = newPatient();
  const receipt = await suite.send(suite.accounts.practitioner, 'ConsentManager', 'openBreakGlass', [
    patient.pseudonym,
    reason,
    duration,
  ]);
  const args = eventOf(receipt, 'BreakGlassOpened');
  return { patient, receipt, id: args.id as bigint, expiresAt: args.expiresAt as number };
}

describe('opening', () => {
  it('opens a bounded session for a licensed member and announces it', async () => {
    const { practitioner } = suite.accounts;
    const { patient, receipt, id, expiresAt } = await open(1800);
    const openedAt = Number(
      (await suite.chain.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp,
    );
    expect(eventOf(receipt, 'BreakGlassOpened')).toEqual({
      id: 1n,
      patient: patient.pseudonym,
      member: practitioner.address,
      organisation: HOSPITAL,
      reasonHash: reason,
      expiresAt: openedAt + 1800,
    });
    expect(await suite.read('ConsentManager', 'breakGlass', [id])).toEqual({
      patient: patient.pseudonym,
      member: practitioner.address,
      openedAt,
      expiresAt,
      reviewed: false,
    });
    expect(await suite.read('ConsentManager', 'breakGlassCount')).toBe(1n);
    const active = (at: number, member = practitioner.address, who = patient.pseudonym) =>
      suite.read<boolean>('ConsentManager', 'isBreakGlassActive', [id, who, member, at]);
    expect(await active(openedAt)).toBe(true);
    expect(await active(expiresAt - 1)).toBe(true);
    expect(await active(expiresAt)).toBe(false);
    expect(await active(openedAt - 1)).toBe(false);
    expect(await active(openedAt, suite.accounts.auditor.address)).toBe(false);
    expect(await active(openedAt, practitioner.address, newPatient().pseudonym)).toBe(false);
    expect(
      await suite.read('ConsentManager', 'isBreakGlassActive', [
        99n,
        patient.pseudonym,
        practitioner.address,
        openedAt,
      ]),
    ).toBe(false);
  });

  it('caps the duration by the governance parameter', async () => {
    const cap = DEFAULT_BREAK_GLASS_DURATION_CAP;
    expect(await suite.read('ConsentManager', 'breakGlassDurationCap')).toBe(cap);
    await open(cap);
    const send = (duration: number) =>
      suite.send(suite.accounts.practitioner, 'ConsentManager', 'openBreakGlass', [
        newPatient().pseudonym,
        reason,
        duration,
      ]);
    await expectRevert(send(cap + 1), 'BreakGlassDurationOutOfRange', [cap + 1, cap]);
    await expectRevert(send(0), 'BreakGlassDurationOutOfRange', [0, cap]);
    await expectRevert(
      suite.send(suite.accounts.practitioner, 'ConsentManager', 'openBreakGlass', [
        newPatient().pseudonym,
        zeroHash,
        60,
      ]),
      'EmptyReason',
      [],
    );
  });

  it('refuses members without a valid licence, non-members and suspended organisations', async () => {
    const { clinicPractitioner, outsider, practitioner, regulatorNode, admin } = suite.accounts;
    const send = (account: typeof outsider) =>
      suite.send(account, 'ConsentManager', 'openBreakGlass', [newPatient().pseudonym, reason, 60]);
    await expectRevert(send(clinicPractitioner), 'NotLicensedMember', [clinicPractitioner.address]);
    await expectRevert(send(outsider), 'NotLicensedMember', [outsider.address]);
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [HOSPITAL, zeroHash]);
    await expectRevert(send(practitioner), 'NotLicensedMember', [practitioner.address]);
    await suite.send(admin, 'ConsortiumRegistry', 'reinstateOrganisation', [HOSPITAL]);
    await send(practitioner);
    await suite.send(regulatorNode, 'ConsortiumRegistry', 'revokeLicence', [practitioner.address]);
    await expectRevert(send(practitioner), 'NotLicensedMember', [practitioner.address]);
  });

  it('refuses once the licence has expired, and ends access when it does', async () => {
    const { practitioner, regulatorNode } = suite.accounts;
    const now = await suite.now();
    await suite.send(regulatorNode, 'ConsortiumRegistry', 'issueLicence', [
      practitioner.address,
      zeroHash,
      now + 600,
    ]);
    const { id, patient } = await open(3600);
    const at = await suite.now();
    const active = (t: number) =>
      suite.read<boolean>('ConsentManager', 'isBreakGlassActive', [
        id,
        patient.pseudonym,
        practitioner.address,
        t,
      ]);
    expect(await active(at)).toBe(true);
    expect(await active(now + 600)).toBe(false);
    await suite.advance(601);
    await expectRevert(
      suite.send(practitioner, 'ConsentManager', 'openBreakGlass', [patient.pseudonym, reason, 60]),
      'NotLicensedMember',
      [practitioner.address],
    );
    expect(YEAR).toBeGreaterThan(600);
  });
});

describe('ending and review', () => {
  it('lets only the holder end an active session early', async () => {
    const { practitioner, auditor } = suite.accounts;
    const { id, patient } = await open();
    await expectRevert(suite.send(auditor, 'ConsentManager', 'endBreakGlass', [id]), 'NotBreakGlassHolder', [
      id,
      auditor.address,
    ]);
    await expectRevert(
      suite.send(practitioner, 'ConsentManager', 'endBreakGlass', [5n]),
      'UnknownBreakGlass',
      [5n],
    );
    const ended = await suite.send(practitioner, 'ConsentManager', 'endBreakGlass', [id]);
    expect(eventOf(ended, 'BreakGlassEnded')).toEqual({ id });
    const now = await suite.now();
    expect(
      await suite.read('ConsentManager', 'isBreakGlassActive', [
        id,
        patient.pseudonym,
        practitioner.address,
        now,
      ]),
    ).toBe(false);
    await expectRevert(
      suite.send(practitioner, 'ConsentManager', 'endBreakGlass', [id]),
      'BreakGlassNotActive',
      [id],
    );
  });

  it('lets an auditor close the review of a finished session, once', async () => {
    const { auditor } = suite.accounts;
    const { id, expiresAt } = await open(600);
    await expectRevert(
      suite.send(auditor, 'ConsentManager', 'closeBreakGlassReview', [id, true, zeroHash]),
      'BreakGlassStillActive',
      [id, expiresAt],
    );
    await suite.advance(600);
    const finding = keccak256(toHex('justified: trauma bay, unconscious'));
    const reviewed = await suite.send(auditor, 'ConsentManager', 'closeBreakGlassReview', [
      id,
      true,
      finding,
    ]);
    expect(eventOf(reviewed, 'BreakGlassReviewed')).toEqual({
      id,
      auditor: auditor.address,
      justified: true,
      findingHash: finding,
    });
    expect((await suite.read<{ reviewed: boolean }>('ConsentManager', 'breakGlass', [id])).reviewed).toBe(
      true,
    );
    await expectRevert(
      suite.send(auditor, 'ConsentManager', 'closeBreakGlassReview', [id, false, finding]),
      'BreakGlassAlreadyReviewed',
      [id],
    );
    await expectRevert(
      suite.send(auditor, 'ConsentManager', 'closeBreakGlassReview', [9n, false, finding]),
      'UnknownBreakGlass',
      [9n],
    );
  });

  it('refuses reviews by non-auditors, suspended auditors and the holder', async () => {
    const { auditor, practitioner, hospitalNode, admin, regulatorNode } = suite.accounts;
    const { id } = await open(60);
    await suite.advance(60);
    await expectRevert(
      suite.send(practitioner, 'ConsentManager', 'closeBreakGlassReview', [id, true, zeroHash]),
      'NotAuditor',
      [practitioner.address],
    );
    await expectRevert(
      suite.send(hospitalNode, 'ConsentManager', 'closeBreakGlassReview', [id, true, zeroHash]),
      'NotAuditor',
      [hospitalNode.address],
    );
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [REGULATOR, zeroHash]);
    await expectRevert(
      suite.send(auditor, 'ConsentManager', 'closeBreakGlassReview', [id, true, zeroHash]),
      'NotAuditor',
      [auditor.address],
    );
    await suite.send(admin, 'ConsortiumRegistry', 'reinstateOrganisation', [REGULATOR]);
    // An auditor who opened a session (auditors may hold licences too) cannot review it.
    const now = await suite.now();
    await suite.send(regulatorNode, 'ConsortiumRegistry', 'issueLicence', [
      auditor.address,
      zeroHash,
      now + YEAR,
    ]);
    const own = eventOf(
      await suite.send(auditor, 'ConsentManager', 'openBreakGlass', [newPatient().pseudonym, reason, 60]),
      'BreakGlassOpened',
    ).id as bigint;
    await suite.advance(60);
    await expectRevert(
      suite.send(auditor, 'ConsentManager', 'closeBreakGlassReview', [own, true, zeroHash]),
      'SelfReview',
      [own],
    );
  });
});

describe('governance', () => {
  it('lets the governor change the cap, with an event, and nobody else', async () => {
    const { admin, outsider } = suite.accounts;
    const changed = await suite.send(admin, 'ConsentManager', 'setBreakGlassDurationCap', [7200]);
    expect(eventOf(changed, 'BreakGlassDurationCapChanged')).toEqual({
      previousCap: DEFAULT_BREAK_GLASS_DURATION_CAP,
      newCap: 7200,
    });
    expect(await suite.read('ConsentManager', 'breakGlassDurationCap')).toBe(7200);
    await expectRevert(
      suite.send(admin, 'ConsentManager', 'setBreakGlassDurationCap', [0]),
      'InvalidDurationCap',
      [0],
    );
    await expectRevert(
      suite.send(outsider, 'ConsentManager', 'setBreakGlassDurationCap', [60]),
      'AccessControlUnauthorizedAccount',
      [outsider.address, GOVERNOR_ROLE],
    );
  });
});
