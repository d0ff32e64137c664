// ConsortiumRegistry: admission, suspension, node accounts and enodes, members, licences, Besu permissioning.

import { type Address, type Hex, keccak256, toHex, zeroAddress, zeroHash } from 'viem';
import { describe, expect, it } from 'vitest';
import { MemberRole, OrganisationKind, OrganisationStatus } from '../src/index.js';
import { CLINIC, eventOf, expectRevert, HOSPITAL, REGULATOR, useSuite, YEAR } from './helpers/fixture.js';

const GOVERNOR_ROLE = keccak256(toHex('GOVERNOR_ROLE'));
const enode = (label: string): [Hex, Hex] => [
  keccak256(toHex(`${label} high`)),
  keccak256(toHex(`${label} low`)),
];
const ALLOWED = `0x${'f'.repeat(64)}`;
const DENIED = `0x7${'f'.repeat(63)}`;

const suite = useSuite();

describe('organisations', () => {
  it('admits an organisation with its profile and emits OrganisationAdmitted', async () => {
    const { admin } = suite.accounts;
    const hash = keccak256(toHex('lab bundle'));
    const receipt = await suite.send(admin, 'ConsortiumRegistry', 'admitOrganisation', [
      OrganisationKind.Lab,
      'https://lab.example',
      hash,
      'https://lab.example/keys',
    ]);
    expect(eventOf(receipt, 'OrganisationAdmitted')).toEqual({
      organisation: 4,
      kind: OrganisationKind.Lab,
      endpoint: 'https://lab.example',
      keyBundleHash: hash,
      keyBundleUri: 'https://lab.example/keys',
    });
    expect(await suite.read('ConsortiumRegistry', 'organisation', [4])).toEqual({
      kind: OrganisationKind.Lab,
      status: OrganisationStatus.Active,
      keyBundleHash: hash,
      endpoint: 'https://lab.example',
      keyBundleUri: 'https://lab.example/keys',
    });
    expect(await suite.read('ConsortiumRegistry', 'organisationCount')).toBe(4);
    expect(await suite.read('ConsortiumRegistry', 'isOrganisationActive', [4])).toBe(true);
  });

  it('reserves governance functions for GOVERNOR_ROLE', async () => {
    const { hospitalNode, outsider } = suite.accounts;
    const denied = (account: Address) =>
      ['AccessControlUnauthorizedAccount', [account, GOVERNOR_ROLE]] as const;
    await expectRevert(
      suite.send(hospitalNode, 'ConsortiumRegistry', 'admitOrganisation', [0, 'x', zeroHash, 'y']),
      ...denied(hospitalNode.address),
    );
    await expectRevert(
      suite.send(outsider, 'ConsortiumRegistry', 'suspendOrganisation', [HOSPITAL, zeroHash]),
      ...denied(outsider.address),
    );
    await expectRevert(
      suite.send(outsider, 'ConsortiumRegistry', 'reinstateOrganisation', [HOSPITAL]),
      ...denied(outsider.address),
    );
    await expectRevert(
      suite.send(outsider, 'ConsortiumRegistry', 'addNodeAccount', [HOSPITAL, outsider.address]),
      ...denied(outsider.address),
    );
    await expectRevert(
      suite.send(outsider, 'ConsortiumRegistry', 'removeNodeAccount', [hospitalNode.address]),
      ...denied(outsider.address),
    );
    await expectRevert(
      suite.send(outsider, 'ConsortiumRegistry', 'addNodeEnode', [HOSPITAL, ...enode('a')]),
      ...denied(outsider.address),
    );
    await expectRevert(
      suite.send(outsider, 'ConsortiumRegistry', 'removeNodeEnode', enode('a')),
      ...denied(outsider.address),
    );
  });

  it('hands governance to another account (e.g. a TimelockController) through AccessControl', async () => {
    const { admin, outsider } = suite.accounts;
    await suite.send(admin, 'ConsortiumRegistry', 'grantRole', [GOVERNOR_ROLE, outsider.address]);
    await suite.send(admin, 'ConsortiumRegistry', 'renounceRole', [GOVERNOR_ROLE, admin.address]);
    await suite.send(outsider, 'ConsortiumRegistry', 'suspendOrganisation', [CLINIC, zeroHash]);
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'reinstateOrganisation', [CLINIC]),
      'AccessControlUnauthorizedAccount',
      [admin.address, GOVERNOR_ROLE],
    );
  });

  it('suspends and reinstates, with events, and rejects the wrong state or an unknown id', async () => {
    const { admin } = suite.accounts;
    const reason = keccak256(toHex('decision 42'));
    const suspended = await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [CLINIC, reason]);
    expect(eventOf(suspended, 'OrganisationSuspended')).toEqual({ organisation: CLINIC, reasonHash: reason });
    expect(await suite.read('ConsortiumRegistry', 'isOrganisationActive', [CLINIC])).toBe(false);
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [CLINIC, reason]),
      'OrganisationNotActive',
      [CLINIC],
    );
    const reinstated = await suite.send(admin, 'ConsortiumRegistry', 'reinstateOrganisation', [CLINIC]);
    expect(eventOf(reinstated, 'OrganisationReinstated')).toEqual({ organisation: CLINIC });
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'reinstateOrganisation', [CLINIC]),
      'OrganisationNotSuspended',
      [CLINIC],
    );
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [99, reason]),
      'UnknownOrganisation',
      [99],
    );
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'reinstateOrganisation', [0]),
      'UnknownOrganisation',
      [0],
    );
    await expectRevert(suite.read('ConsortiumRegistry', 'organisation', [99]), 'UnknownOrganisation', [99]);
    expect(await suite.read('ConsortiumRegistry', 'isOrganisationActive', [99])).toBe(false);
  });

  it('lets an active organisation update its own profile', async () => {
    const { clinicNode, admin, outsider } = suite.accounts;
    const hash = keccak256(toHex('rotated bundle'));
    const receipt = await suite.send(clinicNode, 'ConsortiumRegistry', 'updateOrganisationProfile', [
      'https://new.clinic.example',
      hash,
      'https://new.clinic.example/keys',
    ]);
    expect(eventOf(receipt, 'OrganisationProfileUpdated')).toEqual({
      organisation: CLINIC,
      endpoint: 'https://new.clinic.example',
      keyBundleHash: hash,
      keyBundleUri: 'https://new.clinic.example/keys',
    });
    const profile = await suite.read<{ endpoint: string; keyBundleHash: Hex }>(
      'ConsortiumRegistry',
      'organisation',
      [CLINIC],
    );
    expect(profile.endpoint).toBe('https://new.clinic.example');
    expect(profile.keyBundleHash).toBe(hash);
    await expectRevert(
      suite.send(outsider, 'ConsortiumRegistry', 'updateOrganisationProfile', ['x', hash, 'y']),
      'NotActiveNodeAccount',
      [outsider.address],
    );
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [CLINIC, zeroHash]);
    await expectRevert(
      suite.send(clinicNode, 'ConsortiumRegistry', 'updateOrganisationProfile', ['x', hash, 'y']),
      'OrganisationNotActive',
      [CLINIC],
    );
  });
});

describe('node accounts and enodes', () => {
  it('adds and removes node accounts with events and rejects duplicates, zero and unknown accounts', async () => {
    const { admin, outsider, practitioner, hospitalNode } = suite.accounts;
    const added = await suite.send(admin, 'ConsortiumRegistry', 'addNodeAccount', [
      HOSPITAL,
      outsider.address,
    ]);
    expect(eventOf(added, 'NodeAccountAdded')).toEqual({ organisation: HOSPITAL, account: outsider.address });
    expect(await suite.read('ConsortiumRegistry', 'nodeAccountOrganisation', [outsider.address])).toBe(
      HOSPITAL,
    );
    expect(await suite.read('ConsortiumRegistry', 'requireActiveNodeAccount', [outsider.address])).toBe(
      HOSPITAL,
    );
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'addNodeAccount', [CLINIC, outsider.address]),
      'AccountAlreadyRegistered',
      [outsider.address],
    );
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'addNodeAccount', [CLINIC, practitioner.address]),
      'AccountAlreadyRegistered',
      [practitioner.address],
    );
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'addNodeAccount', [CLINIC, zeroAddress]),
      'ZeroAccount',
      [],
    );
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'addNodeAccount', [42, suite.chain.account(12).address]),
      'UnknownOrganisation',
      [42],
    );
    const removed = await suite.send(admin, 'ConsortiumRegistry', 'removeNodeAccount', [outsider.address]);
    expect(eventOf(removed, 'NodeAccountRemoved')).toEqual({
      organisation: HOSPITAL,
      account: outsider.address,
    });
    expect(await suite.read('ConsortiumRegistry', 'nodeAccountOrganisation', [outsider.address])).toBe(0);
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'removeNodeAccount', [outsider.address]),
      'UnknownNodeAccount',
      [outsider.address],
    );
    await expectRevert(
      suite.read('ConsortiumRegistry', 'requireActiveNodeAccount', [outsider.address]),
      'NotActiveNodeAccount',
      [outsider.address],
    );
    expect(await suite.read('ConsortiumRegistry', 'requireActiveNodeAccount', [hospitalNode.address])).toBe(
      HOSPITAL,
    );
  });

  it('adds and removes enodes with events and rejects duplicates and unknown ones', async () => {
    const { admin } = suite.accounts;
    const [high, low] = enode('hospital validator');
    const added = await suite.send(admin, 'ConsortiumRegistry', 'addNodeEnode', [HOSPITAL, high, low]);
    expect(eventOf(added, 'NodeEnodeAdded')).toEqual({
      organisation: HOSPITAL,
      enodeHigh: high,
      enodeLow: low,
    });
    expect(await suite.read('ConsortiumRegistry', 'enodeOrganisation', [high, low])).toBe(HOSPITAL);
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'addNodeEnode', [CLINIC, high, low]),
      'EnodeAlreadyRegistered',
      [high, low],
    );
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'addNodeEnode', [77, ...enode('x')]),
      'UnknownOrganisation',
      [77],
    );
    const removed = await suite.send(admin, 'ConsortiumRegistry', 'removeNodeEnode', [high, low]);
    expect(eventOf(removed, 'NodeEnodeRemoved')).toEqual({
      organisation: HOSPITAL,
      enodeHigh: high,
      enodeLow: low,
    });
    await expectRevert(
      suite.send(admin, 'ConsortiumRegistry', 'removeNodeEnode', [high, low]),
      'UnknownEnode',
      [high, low],
    );
  });
});

describe('members', () => {
  it("registers a member of the caller's organisation and removes it", async () => {
    const { hospitalNode, clinicNode, admin } = suite.accounts;
    const nurse = suite.chain.account(10).address;
    const registered = await suite.send(hospitalNode, 'ConsortiumRegistry', 'registerMember', [
      nurse,
      MemberRole.Practitioner,
    ]);
    expect(eventOf(registered, 'MemberRegistered')).toEqual({
      organisation: HOSPITAL,
      account: nurse,
      role: MemberRole.Practitioner,
    });
    expect(await suite.read('ConsortiumRegistry', 'memberOf', [nurse])).toEqual([
      { organisation: HOSPITAL, role: MemberRole.Practitioner },
      true,
    ]);
    await expectRevert(
      suite.send(hospitalNode, 'ConsortiumRegistry', 'registerMember', [nurse, MemberRole.LabStaff]),
      'AccountAlreadyRegistered',
      [nurse],
    );
    await expectRevert(
      suite.send(hospitalNode, 'ConsortiumRegistry', 'registerMember', [
        clinicNode.address,
        MemberRole.LabStaff,
      ]),
      'AccountAlreadyRegistered',
      [clinicNode.address],
    );
    await expectRevert(
      suite.send(clinicNode, 'ConsortiumRegistry', 'removeMember', [nurse]),
      'NotNodeAccountOf',
      [HOSPITAL, clinicNode.address],
    );
    const removed = await suite.send(hospitalNode, 'ConsortiumRegistry', 'removeMember', [nurse]);
    expect(eventOf(removed, 'MemberRemoved')).toEqual({ organisation: HOSPITAL, account: nurse });
    expect(await suite.read('ConsortiumRegistry', 'memberOf', [nurse])).toEqual([
      { organisation: 0, role: 0 },
      false,
    ]);
    await expectRevert(suite.send(admin, 'ConsortiumRegistry', 'removeMember', [nurse]), 'UnknownMember', [
      nurse,
    ]);
  });

  it('lets governance remove any member and refuses members from suspended or unknown callers', async () => {
    const { admin, practitioner, outsider, hospitalNode } = suite.accounts;
    await expectRevert(
      suite.send(outsider, 'ConsortiumRegistry', 'registerMember', [suite.chain.account(11).address, 0]),
      'NotActiveNodeAccount',
      [outsider.address],
    );
    await expectRevert(
      suite.send(outsider, 'ConsortiumRegistry', 'removeMember', [practitioner.address]),
      'NotActiveNodeAccount',
      [outsider.address],
    );
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [HOSPITAL, zeroHash]);
    expect(await suite.read('ConsortiumRegistry', 'memberOf', [practitioner.address])).toEqual([
      { organisation: HOSPITAL, role: MemberRole.Practitioner },
      false,
    ]);
    await expectRevert(
      suite.send(hospitalNode, 'ConsortiumRegistry', 'registerMember', [suite.chain.account(11).address, 0]),
      'OrganisationNotActive',
      [HOSPITAL],
    );
    const removed = await suite.send(admin, 'ConsortiumRegistry', 'removeMember', [practitioner.address]);
    expect(eventOf(removed, 'MemberRemoved')).toEqual({
      organisation: HOSPITAL,
      account: practitioner.address,
    });
  });
});

describe('licences', () => {
  it('holds the fixture licence until it expires', async () => {
    const { practitioner } = suite.accounts;
    const now = await suite.now();
    const licence = await suite.read<{ issuer: number; expiresAt: number; revokedAt: number }>(
      'ConsortiumRegistry',
      'licenceOf',
      [practitioner.address],
    );
    expect(licence.issuer).toBe(REGULATOR);
    expect(licence.revokedAt).toBe(0);
    expect(await suite.read('ConsortiumRegistry', 'hasValidLicence', [practitioner.address, now])).toBe(true);
    expect(
      await suite.read('ConsortiumRegistry', 'hasValidLicence', [
        practitioner.address,
        licence.expiresAt - 1,
      ]),
    ).toBe(true);
    expect(
      await suite.read('ConsortiumRegistry', 'hasValidLicence', [practitioner.address, licence.expiresAt]),
    ).toBe(false);
    expect(
      await suite.read('ConsortiumRegistry', 'hasValidLicence', [practitioner.address, now - 3600]),
    ).toBe(false);
    await suite.advance(YEAR);
    expect(
      await suite.read('ConsortiumRegistry', 'hasValidLicence', [practitioner.address, await suite.now()]),
    ).toBe(false);
  });

  it('issues and revokes with events; only the issuing regulator may revoke, once', async () => {
    const { regulatorNode, hospitalNode, clinicPractitioner, admin } = suite.accounts;
    const now = await suite.now();
    const credential = keccak256(toHex('credential'));
    const issued = await suite.send(regulatorNode, 'ConsortiumRegistry', 'issueLicence', [
      clinicPractitioner.address,
      credential,
      now + 1000,
    ]);
    expect(eventOf(issued, 'LicenceIssued')).toEqual({
      member: clinicPractitioner.address,
      issuer: REGULATOR,
      credentialHash: credential,
      expiresAt: now + 1000,
    });
    // A second regulator, admitted later, cannot revoke what the first issued.
    await suite.send(admin, 'ConsortiumRegistry', 'admitOrganisation', [
      OrganisationKind.Regulator,
      'r',
      zeroHash,
      'r',
    ]);
    const otherRegulator = suite.chain.account(13);
    await suite.send(admin, 'ConsortiumRegistry', 'addNodeAccount', [4, otherRegulator.address]);
    await expectRevert(
      suite.send(otherRegulator, 'ConsortiumRegistry', 'revokeLicence', [clinicPractitioner.address]),
      'NotLicenceIssuer',
      [clinicPractitioner.address, REGULATOR],
    );
    await expectRevert(
      suite.send(hospitalNode, 'ConsortiumRegistry', 'revokeLicence', [clinicPractitioner.address]),
      'NotLicenceIssuer',
      [clinicPractitioner.address, REGULATOR],
    );
    await suite.advance(10);
    const revoked = await suite.send(regulatorNode, 'ConsortiumRegistry', 'revokeLicence', [
      clinicPractitioner.address,
    ]);
    expect(eventOf(revoked, 'LicenceRevoked')).toEqual({
      member: clinicPractitioner.address,
      issuer: REGULATOR,
    });
    const revokedAt = Number(
      (await suite.chain.publicClient.getBlock({ blockNumber: revoked.blockNumber })).timestamp,
    );
    expect(
      await suite.read('ConsortiumRegistry', 'hasValidLicence', [clinicPractitioner.address, revokedAt]),
    ).toBe(false);
    expect(
      await suite.read('ConsortiumRegistry', 'hasValidLicence', [clinicPractitioner.address, revokedAt - 1]),
    ).toBe(true);
    await expectRevert(
      suite.send(regulatorNode, 'ConsortiumRegistry', 'revokeLicence', [clinicPractitioner.address]),
      'LicenceAlreadyRevoked',
      [clinicPractitioner.address],
    );
    await expectRevert(
      suite.send(regulatorNode, 'ConsortiumRegistry', 'revokeLicence', [suite.chain.account(14).address]),
      'UnknownLicence',
      [suite.chain.account(14).address],
    );
  });

  it('rejects issuers that are not active regulators, unknown members and past expiries', async () => {
    const { regulatorNode, hospitalNode, practitioner, admin, outsider } = suite.accounts;
    const now = await suite.now();
    await expectRevert(
      suite.send(hospitalNode, 'ConsortiumRegistry', 'issueLicence', [
        practitioner.address,
        zeroHash,
        now + 100,
      ]),
      'NotRegulator',
      [HOSPITAL],
    );
    await expectRevert(
      suite.send(outsider, 'ConsortiumRegistry', 'issueLicence', [practitioner.address, zeroHash, now + 100]),
      'NotActiveNodeAccount',
      [outsider.address],
    );
    await expectRevert(
      suite.send(regulatorNode, 'ConsortiumRegistry', 'issueLicence', [
        outsider.address,
        zeroHash,
        now + 100,
      ]),
      'UnknownMember',
      [outsider.address],
    );
    await expectRevert(
      suite.send(regulatorNode, 'ConsortiumRegistry', 'issueLicence', [practitioner.address, zeroHash, now]),
      'InvalidLicenceExpiry',
      [now],
    );
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [REGULATOR, zeroHash]);
    await expectRevert(
      suite.send(regulatorNode, 'ConsortiumRegistry', 'revokeLicence', [practitioner.address]),
      'OrganisationNotActive',
      [REGULATOR],
    );
  });

  it('stops counting a licence once its holder is no longer a member', async () => {
    const { hospitalNode, practitioner } = suite.accounts;
    const now = await suite.now();
    await suite.send(hospitalNode, 'ConsortiumRegistry', 'removeMember', [practitioner.address]);
    expect(await suite.read('ConsortiumRegistry', 'hasValidLicence', [practitioner.address, now])).toBe(
      false,
    );
    expect(
      await suite.read('ConsortiumRegistry', 'hasValidLicence', [suite.accounts.auditor.address, now]),
    ).toBe(false);
  });
});

describe('Besu permissioning', () => {
  const tx = (sender: Address, target: Address) =>
    suite.read<boolean>('ConsortiumRegistry', 'transactionAllowed', [sender, target, 0n, 0n, 100_000n, '0x']);

  it('lets governance, node accounts and members of active organisations transact, and nobody else', async () => {
    const { admin, hospitalNode, practitioner, outsider, auditor } = suite.accounts;
    const target = suite.addresses.ConsentManager;
    expect(await tx(admin.address, target)).toBe(true);
    expect(await tx(admin.address, zeroAddress)).toBe(true);
    expect(await tx(hospitalNode.address, target)).toBe(true);
    expect(await tx(practitioner.address, target)).toBe(true);
    expect(await tx(auditor.address, target)).toBe(true);
    expect(await tx(outsider.address, target)).toBe(false);
    // Only governance deploys contracts.
    expect(await tx(hospitalNode.address, zeroAddress)).toBe(false);
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [HOSPITAL, zeroHash]);
    expect(await tx(hospitalNode.address, target)).toBe(false);
    expect(await tx(practitioner.address, target)).toBe(false);
  });

  it('answers the v1 (8-argument) and v2 (string) node checks from registered enodes', async () => {
    const { admin } = suite.accounts;
    const [hh, hl] = enode('hospital');
    const [ch, cl] = enode('clinic');
    const [xh, xl] = enode('stranger');
    await suite.send(admin, 'ConsortiumRegistry', 'addNodeEnode', [HOSPITAL, hh, hl]);
    await suite.send(admin, 'ConsortiumRegistry', 'addNodeEnode', [CLINIC, ch, cl]);
    const ip = '0x00000000000000000000ffff7f000001';
    const v1 = (a: [Hex, Hex], b: [Hex, Hex]) =>
      suite.read<Hex>('ConsortiumRegistry', 'connectionAllowed', [
        a[0],
        a[1],
        ip,
        30303,
        b[0],
        b[1],
        ip,
        30304,
      ]);
    const v2 = (id: string) =>
      suite.read<boolean>('ConsortiumRegistry', 'connectionAllowed', [id, '10.0.0.1', 30303]);
    expect(await v1([hh, hl], [ch, cl])).toBe(ALLOWED);
    expect(await v1([hh, hl], [xh, xl])).toBe(DENIED);
    expect(await v1([xh, xl], [ch, cl])).toBe(DENIED);
    const hex = `${hh.slice(2)}${hl.slice(2)}`;
    expect(await v2(hex)).toBe(true);
    expect(await v2(`0x${hex}`)).toBe(true);
    expect(await v2(hex.toUpperCase())).toBe(true);
    expect(await v2(`${xh.slice(2)}${xl.slice(2)}`)).toBe(false);
    expect(await v2(hex.slice(2))).toBe(false);
    expect(await v2(`${hex.slice(0, 127)}g`)).toBe(false);
    expect(await v2(`0y${hex}`)).toBe(false);
    expect(await suite.read('ConsortiumRegistry', 'nodeAllowed', [hh, hl])).toBe(true);
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [CLINIC, zeroHash]);
    expect(await v1([hh, hl], [ch, cl])).toBe(DENIED);
    expect(await v2(`${ch.slice(2)}${cl.slice(2)}`)).toBe(false);
    expect(await suite.read('ConsortiumRegistry', 'nodeAllowed', [ch, cl])).toBe(false);
  });
});
