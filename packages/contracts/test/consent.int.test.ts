// ConsentManager consent: grants and revocations by patient signature or patient account, replay, expiry and
// wrong signers, the isPermitted view, and revocation taking effect in the next block.

import { type Address, type Hex, keccak256, parseEther, toHex, zeroAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  Action,
  type ConsentTerms,
  consentIdOf,
  mask,
  Purpose,
  packConsent,
  patientPseudonymOf,
  ResourceClass,
  unpackConsent,
} from '../src/index.js';
import { newPatient, type Patient, signGrant, signRevoke, terms } from './helpers/consent.js';
import { CLINIC, eventOf, expectRevert, HOSPITAL, useSuite } from './helpers/fixture.js';

const suite = useSuite();

const relay = () => suite.accounts.hospitalNode;
const chainId = () => suite.deployment.chainId;
const manager = () => suite.addresses.ConsentManager;

async function grantBySig(patient: Patient, consent: ConsentTerms, deadline?: bigint) {
  const d = deadline ?? BigInt((await suite.now()) + 600);
  const sig = await signGrant(patient.account, chainId(), manager(), consent, d);
  return suite.send(relay(), 'ConsentManager', 'grantConsentBySig', [packConsent(consent), d, sig.r, sig.vs]);
}

async function revokeBySig(patient: Patient, consentId: Hex, deadline?: bigint) {
  const d = deadline ?? BigInt((await suite.now()) + 600);
  const sig = await signRevoke(patient.account, chainId(), manager(), consentId, d);
  return suite.send(relay(), 'ConsentManager', 'revokeConsentBySig', [consentId, d, sig.r, sig.vs]);
}

interface Request {
  organisation: number;
  member: Address;
  action: Action;
  resourceClass: ResourceClass;
  purpose: Purpose;
  at: number;
  dataTime: number;
}

function request(at: number, overrides: Partial<Request> = {}): Request {
  return {
    organisation: CLINIC,
    member: zeroAddress,
    action: Action.Read,
    resourceClass: ResourceClass.Observations,
    purpose: Purpose.Treatment,
    at,
    dataTime: 0,
    ...overrides,
  };
}

const permitted = (consent: ConsentTerms, req: Request) =>
  suite.read<boolean>('ConsentManager', 'isPermitted', [packConsent(consent), req]);

describe('identifiers', () => {
  it('derives the same pseudonym and consent id as the contract, and packs terms losslessly', async () => {
    const patient = newPatient();
    const consent = terms(patient, await suite.now(), {
      granteeMember: suite.accounts.clinicPractitioner.address,
    });
    expect(await suite.read('ConsentManager', 'pseudonymOf', [patient.account.address])).toBe(
      patientPseudonymOf(patient.account.address),
    );
    expect(await suite.read('ConsentManager', 'consentIdOf', [packConsent(consent)])).toBe(
      consentIdOf(consent),
    );
    expect(unpackConsent(packConsent(consent))).toEqual(consent);
  });
});

describe('grant', () => {
  it('records a relayed, patient-signed grant with its terms in ConsentGranted', async () => {
    const patient = newPatient();
    const consent = terms(patient, await suite.now());
    const receipt = await grantBySig(patient, consent);
    const packed = packConsent(consent);
    expect(eventOf(receipt, 'ConsentGranted')).toEqual({
      consentId: consentIdOf(consent),
      patient: patient.pseudonym,
      grantee: CLINIC,
      scope: packed.scope,
      period: packed.period,
    });
    const block = await suite.chain.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    expect(await suite.read('ConsentManager', 'consentState', [consentIdOf(consent)])).toEqual([
      patient.account.address,
      Number(block.timestamp),
      0,
    ]);
  });

  it("records a grant sent from the patient's own account", async () => {
    const patient = newPatient();
    await suite.chain.testClient.setBalance({ address: patient.account.address, value: parseEther('1') });
    const consent = terms(patient, await suite.now());
    const receipt = await suite.send(patient.account as never, 'ConsentManager', 'grantConsent', [
      packConsent(consent),
    ]);
    expect(eventOf(receipt, 'ConsentGranted').consentId).toBe(consentIdOf(consent));
    await expectRevert(
      suite.send(suite.accounts.outsider, 'ConsentManager', 'grantConsent', [packConsent(consent)]),
      'NotPatient',
      [patient.pseudonym, suite.accounts.outsider.address],
    );
  });

  it('rejects a replayed grant, even after it was revoked', async () => {
    const patient = newPatient();
    const consent = terms(patient, await suite.now());
    const deadline = BigInt((await suite.now()) + 600);
    const sig = await signGrant(patient.account, chainId(), manager(), consent, deadline);
    const args = [packConsent(consent), deadline, sig.r, sig.vs];
    await suite.send(relay(), 'ConsentManager', 'grantConsentBySig', args);
    const id = consentIdOf(consent);
    await expectRevert(
      suite.send(relay(), 'ConsentManager', 'grantConsentBySig', args),
      'ConsentAlreadyExists',
      [id],
    );
    await revokeBySig(patient, id);
    await expectRevert(
      suite.send(suite.accounts.clinicNode, 'ConsentManager', 'grantConsentBySig', args),
      'ConsentAlreadyExists',
      [id],
    );
    // The same terms with a new nonce are a new grant.
    const again = await grantBySig(patient, { ...consent, nonce: 2n });
    expect(eventOf(again, 'ConsentGranted').consentId).not.toBe(id);
  });

  it('rejects an expired signature', async () => {
    const patient = newPatient();
    const now = await suite.now();
    const consent = terms(patient, now);
    const deadline = BigInt(now + 60);
    const sig = await signGrant(patient.account, chainId(), manager(), consent, deadline);
    await suite.advance(61);
    await expectRevert(
      suite.send(relay(), 'ConsentManager', 'grantConsentBySig', [
        packConsent(consent),
        deadline,
        sig.r,
        sig.vs,
      ]),
      'SignatureExpired',
      [deadline],
    );
  });

  it('rejects a signature by someone other than the patient, and tampered terms', async () => {
    const patient = newPatient();
    const impostor = newPatient();
    const consent = terms(patient, await suite.now());
    const deadline = BigInt((await suite.now()) + 600);
    const forged = await signGrant(impostor.account, chainId(), manager(), consent, deadline);
    await expectRevert(
      suite.send(relay(), 'ConsentManager', 'grantConsentBySig', [
        packConsent(consent),
        deadline,
        forged.r,
        forged.vs,
      ]),
      'NotPatient',
      [patient.pseudonym, impostor.account.address],
    );
    const sig = await signGrant(patient.account, chainId(), manager(), consent, deadline);
    const widened = { ...consent, resourceClasses: mask(ResourceClass.Documents) };
    // Tampered terms recover some other address, which controls no pseudonym of this patient.
    await expectRevert(
      suite.send(relay(), 'ConsentManager', 'grantConsentBySig', [
        packConsent(widened),
        deadline,
        sig.r,
        sig.vs,
      ]),
      'NotPatient',
    );
    // A longer deadline than the one signed does not verify either.
    await expectRevert(
      suite.send(relay(), 'ConsentManager', 'grantConsentBySig', [
        packConsent(consent),
        deadline + 1n,
        sig.r,
        sig.vs,
      ]),
      'NotPatient',
    );
  });

  it('rejects malformed signatures', async () => {
    const patient = newPatient();
    const consent = terms(patient, await suite.now());
    const deadline = BigInt((await suite.now()) + 600);
    const sig = await signGrant(patient.account, chainId(), manager(), consent, deadline);
    const highS = `0x${'7'}${'f'.repeat(63)}` as Hex;
    await expectRevert(
      suite.send(relay(), 'ConsentManager', 'grantConsentBySig', [
        packConsent(consent),
        deadline,
        sig.r,
        highS,
      ]),
      'InvalidSignature',
      [],
    );
    await expectRevert(
      suite.send(relay(), 'ConsentManager', 'grantConsentBySig', [
        packConsent(consent),
        deadline,
        `0x${'0'.repeat(64)}`,
        sig.vs,
      ]),
      'InvalidSignature',
      [],
    );
  });

  it('rejects a signature made for another chain or contract', async () => {
    const patient = newPatient();
    const consent = terms(patient, await suite.now());
    const deadline = BigInt((await suite.now()) + 600);
    for (const sig of [
      await signGrant(patient.account, chainId() + 1, manager(), consent, deadline),
      await signGrant(patient.account, chainId(), suite.addresses.RecordRegistry, consent, deadline),
    ]) {
      await expectRevert(
        suite.send(relay(), 'ConsentManager', 'grantConsentBySig', [
          packConsent(consent),
          deadline,
          sig.r,
          sig.vs,
        ]),
        'NotPatient',
      );
    }
  });

  it('rejects empty or undefined scopes and unusable periods', async () => {
    const patient = newPatient();
    const now = await suite.now();
    const bad: [Partial<ConsentTerms>, string][] = [
      [{ actions: 0 }, 'InvalidConsentScope'],
      [{ actions: 1 << 2 }, 'InvalidConsentScope'],
      [{ resourceClasses: 0 }, 'InvalidConsentScope'],
      [{ resourceClasses: 1 << 12 }, 'InvalidConsentScope'],
      [{ purposes: 0 }, 'InvalidConsentScope'],
      [{ purposes: 1 << 5 }, 'InvalidConsentScope'],
      [{ validFrom: now + 10, validUntil: now + 10 }, 'InvalidConsentPeriod'],
      [{ validFrom: now - 100, validUntil: now - 1 }, 'InvalidConsentPeriod'],
      [{ dataFrom: 1000, dataUntil: 999 }, 'InvalidConsentPeriod'],
    ];
    for (const [override, error] of bad) {
      const consent = terms(patient, now, override);
      const packed = packConsent(consent);
      await expectRevert(grantBySig(patient, consent), error, [
        error === 'InvalidConsentScope' ? packed.scope : packed.period,
      ]);
    }
    // Non-canonical packings (unused top bits set) are refused rather than silently ignored.
    const consent = terms(patient, now);
    const packed = packConsent(consent);
    for (const [field, error] of [
      ['scope', 'InvalidConsentScope'],
      ['period', 'InvalidConsentPeriod'],
    ] as const) {
      const dirty = { ...packed, [field]: packed[field] | (1n << 255n) };
      await suite.chain.testClient.setBalance({ address: patient.account.address, value: parseEther('1') });
      await expectRevert(
        suite.send(patient.account as never, 'ConsentManager', 'grantConsent', [dirty]),
        error,
        [dirty[field]],
      );
    }
  });
});

describe('revoke', () => {
  it('revokes by relayed signature with ConsentRevoked, once', async () => {
    const patient = newPatient();
    const consent = terms(patient, await suite.now());
    await grantBySig(patient, consent);
    const id = consentIdOf(consent);
    const deadline = BigInt((await suite.now()) + 600);
    const sig = await signRevoke(patient.account, chainId(), manager(), id, deadline);
    const receipt = await suite.send(relay(), 'ConsentManager', 'revokeConsentBySig', [
      id,
      deadline,
      sig.r,
      sig.vs,
    ]);
    expect(eventOf(receipt, 'ConsentRevoked')).toEqual({ consentId: id });
    await expectRevert(
      suite.send(relay(), 'ConsentManager', 'revokeConsentBySig', [id, deadline, sig.r, sig.vs]),
      'ConsentAlreadyRevoked',
      [id],
    );
  });

  it('rejects unknown grants, other signers, expired and malformed signatures', async () => {
    const patient = newPatient();
    const consent = terms(patient, await suite.now());
    await grantBySig(patient, consent);
    const id = consentIdOf(consent);
    const unknown = keccak256(toHex('no such consent'));
    await expectRevert(revokeBySig(patient, unknown), 'UnknownConsent', [unknown]);
    const other = newPatient();
    await expectRevert(revokeBySig(other, id), 'NotConsentController', [id, other.account.address]);
    const deadline = BigInt((await suite.now()) + 30);
    const sig = await signRevoke(patient.account, chainId(), manager(), id, deadline);
    await suite.advance(31);
    await expectRevert(
      suite.send(relay(), 'ConsentManager', 'revokeConsentBySig', [id, deadline, sig.r, sig.vs]),
      'SignatureExpired',
      [deadline],
    );
    await expectRevert(
      suite.send(relay(), 'ConsentManager', 'revokeConsentBySig', [
        id,
        deadline + 1000n,
        sig.r,
        `0x${'f'.repeat(64)}`,
      ]),
      'InvalidSignature',
      [],
    );
  });

  it("revokes from the patient's own account, and nobody else's", async () => {
    const patient = newPatient();
    await suite.chain.testClient.setBalance({ address: patient.account.address, value: parseEther('1') });
    const consent = terms(patient, await suite.now());
    await grantBySig(patient, consent);
    const id = consentIdOf(consent);
    await expectRevert(
      suite.send(suite.accounts.clinicNode, 'ConsentManager', 'revokeConsent', [id]),
      'NotConsentController',
      [id, suite.accounts.clinicNode.address],
    );
    const receipt = await suite.send(patient.account as never, 'ConsentManager', 'revokeConsent', [id]);
    expect(eventOf(receipt, 'ConsentRevoked')).toEqual({ consentId: id });
  });
});

describe('isPermitted', () => {
  it('permits exactly what the grant covers', async () => {
    const patient = newPatient();
    const now = await suite.now();
    const consent = terms(patient, now, {
      actions: mask(Action.Read),
      resourceClasses: mask(ResourceClass.Observations, ResourceClass.Medications),
      purposes: mask(Purpose.Treatment, Purpose.Emergency),
      validFrom: now + 100,
      validUntil: now + 1000,
      dataFrom: 5_000,
      dataUntil: 9_000,
    });
    const receipt = await grantBySig(patient, consent);
    const grantedAt = Number(
      (await suite.chain.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp,
    );
    const ok = request(now + 100, { dataTime: 5_000 });
    expect(await permitted(consent, ok)).toBe(true);
    expect(await permitted(consent, { ...ok, at: now + 999, dataTime: 9_000 })).toBe(true);
    expect(await permitted(consent, { ...ok, purpose: Purpose.Emergency })).toBe(true);
    expect(await permitted(consent, { ...ok, resourceClass: ResourceClass.Medications })).toBe(true);
    // Outside the validity period, the data period, the grantee, the scope.
    expect(await permitted(consent, { ...ok, at: now + 99 })).toBe(false);
    expect(await permitted(consent, { ...ok, at: now + 1000 })).toBe(false);
    expect(await permitted(consent, { ...ok, dataTime: 4_999 })).toBe(false);
    expect(await permitted(consent, { ...ok, dataTime: 9_001 })).toBe(false);
    expect(await permitted(consent, { ...ok, organisation: HOSPITAL })).toBe(false);
    expect(await permitted(consent, { ...ok, action: Action.Write })).toBe(false);
    expect(await permitted(consent, { ...ok, resourceClass: ResourceClass.Imaging })).toBe(false);
    expect(await permitted(consent, { ...ok, purpose: Purpose.Research })).toBe(false);
    // Before the grant was recorded, and for terms that were never granted.
    const early = { ...consent, validFrom: grantedAt - 50 };
    expect(await permitted(early, ok)).toBe(false);
    expect(await permitted({ ...consent, nonce: 99n }, ok)).toBe(false);
  });

  it('honours a single-member grant and checks membership and organisation status', async () => {
    const patient = newPatient();
    const now = await suite.now();
    const { clinicPractitioner, practitioner, admin, clinicNode } = suite.accounts;
    const consent = terms(patient, now, { granteeMember: clinicPractitioner.address });
    await grantBySig(patient, consent);
    // Ask about a time after the grant was mined: under load a block may be stamped after `now`.
    let at = await suite.now();
    expect(await permitted(consent, request(at, { member: clinicPractitioner.address }))).toBe(true);
    expect(await permitted(consent, request(at, { member: zeroAddress }))).toBe(false);
    // A grant to the whole organisation covers its members but not members of others.
    const orgWide = terms(patient, now, { nonce: 7n });
    await grantBySig(patient, orgWide);
    at = await suite.now();
    expect(await permitted(orgWide, request(at, { member: clinicPractitioner.address }))).toBe(true);
    expect(await permitted(orgWide, request(at, { member: practitioner.address }))).toBe(false);
    await suite.send(clinicNode, 'ConsortiumRegistry', 'removeMember', [clinicPractitioner.address]);
    expect(await permitted(consent, request(at, { member: clinicPractitioner.address }))).toBe(false);
    expect(await permitted(orgWide, request(at))).toBe(true);
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [CLINIC, keccak256(toHex('audit'))]);
    expect(await permitted(orgWide, request(at))).toBe(false);
  });

  it('stops permitting in the block after the revocation is mined', async () => {
    const patient = newPatient();
    const consent = terms(patient, await suite.now());
    await grantBySig(patient, consent);
    const before = await suite.now();
    expect(await permitted(consent, request(before))).toBe(true);
    await suite.advance(5);
    const revoked = await revokeBySig(patient, consentIdOf(consent));
    const revokedAt = Number(
      (await suite.chain.publicClient.getBlock({ blockNumber: revoked.blockNumber })).timestamp,
    );
    // A node asking about "now" at the next block gets a refusal.
    await suite.chain.testClient.mine({ blocks: 1 });
    expect(await permitted(consent, request(await suite.now()))).toBe(false);
    expect(await permitted(consent, request(revokedAt))).toBe(false);
    // History stays answerable: before the revocation the grant was in force.
    expect(await permitted(consent, request(revokedAt - 1))).toBe(true);
    const [, , storedRevokedAt] = await suite.read<[Hex, number, number]>('ConsentManager', 'consentState', [
      consentIdOf(consent),
    ]);
    expect(storedRevokedAt).toBe(revokedAt);
  });
});
