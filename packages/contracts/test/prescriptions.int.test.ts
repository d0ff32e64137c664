// Prescriptions: who may prescribe (licence, controlled-substance registration), the schedule rules and their
// governance by the regulator, dispensing across pharmacies (fills, quantity, window, interval), cancellation,
// derived status, and two pharmacies racing for the last fill in one block. Prescription ids are commitments
// to real MedicationRequests from the Synthea sample data.

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type Address,
  createWalletClient,
  decodeErrorResult,
  type Hex,
  http,
  keccak256,
  toHex,
  zeroHash,
} from 'viem';
import type { HDAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../scripts/solc.js';
import {
  DEFAULT_SCHEDULE_RULES,
  dispenseCommitment,
  MemberRole,
  OrganisationKind,
  type PrescriptionRecord,
  PrescriptionStatus,
  type PrescriptionTerms,
  prescriptionCommitment,
  Schedule,
  scheduleMask,
} from '../src/index.js';
import {
  eventOf,
  expectRevert,
  HOSPITAL,
  prescriptionAbi,
  REGULATOR,
  type Suite,
  useSuite,
  YEAR,
} from './helpers/fixture.js';

const DAY = 24 * 60 * 60;
const PHARMACY_A = 4;
const PHARMACY_B = 5;

/** Synthea MedicationRequests (../shared/data), one JSON resource per line. */
const medicationRequests = readFileSync(
  resolve(
    packageRoot,
    '..',
    '..',
    '..',
    'shared',
    'data',
    'synthea',
    'bulk-ndjson-10-patients',
    'MedicationRequest.000.ndjson',
  ),
  'utf8',
)
  .split('\n')
  .filter((line) => line.trim() !== '');
const displayOf = (line: string) =>
  (JSON.parse(line) as { medicationCodeableConcept?: { text?: string } }).medicationCodeableConcept?.text ??
  '';
/** Meperidine is a Schedule II opioid under the US Controlled Substances Act. */
const meperidine = medicationRequests.find((l) => /meperidine/i.test(displayOf(l)));
const lisinopril = medicationRequests.find((l) => /lisinopril/i.test(displayOf(l)));

/** A fresh prescription id: a salted commitment to the hash of a MedicationRequest's bytes. */
function rxId(resource = lisinopril!): Hex {
  const canonicalHash = toHex(createHash('sha256').update(resource).digest());
  return prescriptionCommitment(toHex(randomBytes(32)), canonicalHash);
}

function fill(): Hex {
  return dispenseCommitment(toHex(randomBytes(32)), toHex(randomBytes(32)));
}

interface Extra {
  pharmacyANode: HDAccount;
  pharmacyBNode: HDAccount;
  pharmacistA: HDAccount;
  pharmacistB: HDAccount;
  hospitalPharmacist: HDAccount;
  colleague: HDAccount;
}

let extra: Extra;

const suite = useSuite(async (s: Suite) => {
  const { admin, hospitalNode } = s.accounts;
  const a = (i: number) => s.chain.account(i);
  extra = {
    pharmacyANode: a(8),
    pharmacyBNode: a(9),
    pharmacistA: a(10),
    pharmacistB: a(11),
    hospitalPharmacist: a(12),
    colleague: a(13),
  };
  for (const account of [extra.pharmacistA, extra.pharmacistB, extra.hospitalPharmacist, extra.colleague]) {
    await s.chain.testClient.setBalance({ address: account.address, value: 10n ** 20n });
  }
  for (const name of ['a', 'b'] as const) {
    await s.send(admin, 'ConsortiumRegistry', 'admitOrganisation', [
      OrganisationKind.Pharmacy,
      `https://node.pharmacy-${name}.example`,
      keccak256(toHex(`key bundle of pharmacy ${name}`)),
      `https://node.pharmacy-${name}.example/.well-known/medledger/keys`,
    ]);
  }
  await s.send(admin, 'ConsortiumRegistry', 'addNodeAccount', [PHARMACY_A, extra.pharmacyANode.address]);
  await s.send(admin, 'ConsortiumRegistry', 'addNodeAccount', [PHARMACY_B, extra.pharmacyBNode.address]);
  await s.send(extra.pharmacyANode, 'ConsortiumRegistry', 'registerMember', [
    extra.pharmacistA.address,
    MemberRole.Pharmacist,
  ]);
  await s.send(extra.pharmacyBNode, 'ConsortiumRegistry', 'registerMember', [
    extra.pharmacistB.address,
    MemberRole.Pharmacist,
  ]);
  await s.send(hospitalNode, 'ConsortiumRegistry', 'registerMember', [
    extra.hospitalPharmacist.address,
    MemberRole.Pharmacist,
  ]);
  await s.send(hospitalNode, 'ConsortiumRegistry', 'registerMember', [
    extra.colleague.address,
    MemberRole.Practitioner,
  ]);
});

async function terms(overrides: Partial<PrescriptionTerms> = {}): Promise<PrescriptionTerms> {
  const now = await suite.now();
  return {
    notBefore: now,
    notAfter: now + 30 * DAY,
    fillsAllowed: 3,
    quantityAllowed: 90,
    minInterval: 0,
    schedule: Schedule.None,
    ...overrides,
  };
}

async function prescribe(
  overrides: Partial<PrescriptionTerms> = {},
  from: HDAccount = suite.accounts.practitioner,
  id: Hex = rxId(),
) {
  const t = await terms(overrides);
  const receipt = await suite.send(from, 'Prescriptions', 'prescribe', [id, t]);
  return { id, terms: t, receipt };
}

const record = (id: Hex) => suite.read<PrescriptionRecord>('Prescriptions', 'prescription', [id]);
const remaining = (id: Hex) => suite.read<readonly [number, number]>('Prescriptions', 'remaining', [id]);
const dispense = (from: HDAccount, id: Hex, quantity: number, commitment: Hex = fill()) =>
  suite.send(from, 'Prescriptions', 'dispense', [id, quantity, commitment]);

async function registerControlled(member: Address, schedules: number, expiresAt?: number) {
  return suite.send(suite.accounts.regulatorNode, 'Prescriptions', 'issueControlledRegistration', [
    member,
    schedules,
    expiresAt ?? (await suite.now()) + YEAR,
    keccak256(toHex(`controlled-substance registration of ${member}`)),
  ]);
}

describe('the sample data', () => {
  it('holds a Schedule II and a non-controlled MedicationRequest', () => {
    expect(medicationRequests.length).toBeGreaterThan(1000);
    expect(meperidine).toBeDefined();
    expect(lisinopril).toBeDefined();
  });
});

describe('commitments', () => {
  it('are salted, domain-separated and refuse malformed input', () => {
    const hash = toHex(createHash('sha256').update(meperidine!).digest());
    const salt = toHex(randomBytes(32));
    expect(prescriptionCommitment(salt, hash)).toBe(prescriptionCommitment(salt, hash));
    expect(prescriptionCommitment(salt, hash)).not.toBe(prescriptionCommitment(toHex(randomBytes(32)), hash));
    expect(prescriptionCommitment(salt, hash)).not.toBe(dispenseCommitment(salt, hash));
    expect(() => prescriptionCommitment('0x1234', hash)).toThrow('salt must be 32 bytes of hex');
    expect(() => dispenseCommitment(salt, `0x${'zz'.repeat(32)}` as Hex)).toThrow('canonicalHash must be');
  });
});

describe('prescribing', () => {
  it('records a prescription by a licensed practitioner and announces it without naming patient or drug', async () => {
    const { practitioner } = suite.accounts;
    const { id, terms: t, receipt } = await prescribe({ minInterval: 7 * DAY });
    const issuedAt = Number(
      (await suite.chain.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp,
    );
    expect(eventOf(receipt, 'PrescriptionIssued')).toEqual({
      id,
      prescriber: practitioner.address,
      organisation: HOSPITAL,
      schedule: Schedule.None,
      notBefore: t.notBefore,
      notAfter: t.notAfter,
      fillsAllowed: 3,
      quantityAllowed: 90,
      minInterval: 7 * DAY,
    });
    expect(await record(id)).toEqual({
      prescriber: practitioner.address,
      organisation: HOSPITAL,
      schedule: Schedule.None,
      status: PrescriptionStatus.Active,
      fillsAllowed: 3,
      fillsUsed: 0,
      notBefore: t.notBefore,
      notAfter: t.notAfter,
      quantityAllowed: 90,
      quantityDispensed: 0,
      minInterval: 7 * DAY,
      issuedAt,
      lastFilledAt: 0,
    });
    expect(await remaining(id)).toEqual([3, 90]);
    const unknown = await record(rxId());
    expect(unknown.status).toBe(PrescriptionStatus.None);
    expect(unknown.prescriber).toBe('0x0000000000000000000000000000000000000000');
    expect(await remaining(rxId())).toEqual([0, 0]);
  });

  it('refuses a duplicate id and a zero id', async () => {
    const { id } = await prescribe();
    await expectRevert(prescribe({}, suite.accounts.practitioner, id), 'PrescriptionAlreadyExists', [id]);
    await expectRevert(prescribe({}, suite.accounts.practitioner, zeroHash), 'ZeroPrescriptionId', []);
  });

  it('refuses non-practitioners, unlicensed practitioners and members of suspended organisations', async () => {
    const { clinicPractitioner, outsider, auditor, practitioner, regulatorNode, admin, hospitalNode } =
      suite.accounts;
    const refused = async (account: HDAccount) =>
      expectRevert(prescribe({}, account), 'NotLicensedPrescriber', [account.address]);
    await refused(clinicPractitioner); // a practitioner without a licence
    await refused(outsider);
    await refused(hospitalNode); // a node account is not a member
    // A licensed member whose role is not Practitioner.
    await suite.send(regulatorNode, 'ConsortiumRegistry', 'issueLicence', [
      auditor.address,
      zeroHash,
      (await suite.now()) + YEAR,
    ]);
    await refused(auditor);
    await refused(extra.hospitalPharmacist);
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [HOSPITAL, zeroHash]);
    await refused(practitioner);
    await suite.send(admin, 'ConsortiumRegistry', 'reinstateOrganisation', [HOSPITAL]);
    await prescribe();
    await suite.send(regulatorNode, 'ConsortiumRegistry', 'revokeLicence', [practitioner.address]);
    await refused(practitioner);
  });

  it('refuses malformed terms and terms beyond the schedule rule', async () => {
    const now = await suite.now();
    const t = (o: Partial<PrescriptionTerms>) => prescribe(o);
    await expectRevert(t({ notBefore: now + DAY, notAfter: now + DAY }), 'InvalidWindow', [
      now + DAY,
      now + DAY,
    ]);
    await expectRevert(t({ notBefore: now - 2 * DAY, notAfter: now - DAY }), 'InvalidWindow', [
      now - 2 * DAY,
      now - DAY,
    ]);
    await expectRevert(t({ fillsAllowed: 0 }), 'ZeroFills', []);
    await expectRevert(t({ quantityAllowed: 0 }), 'ZeroQuantity', []);
    // Not controlled: at most 11 refills and one year after issue.
    await expectRevert(t({ fillsAllowed: 13 }), 'RefillsExceedSchedule', [12, 11]);
    await prescribe({ fillsAllowed: 12 });
    const tooLate = (await suite.now()) + 366 * DAY;
    await expectRevert(prescribe({ notAfter: tooLate }), 'ValidityExceedsSchedule');
    await expectRevert(t({ schedule: Schedule.I }), 'ScheduleNotPrescribable', [Schedule.I]);
  });
});

describe('controlled substances', () => {
  it('requires a registration covering the schedule, and applies the schedule rule', async () => {
    const { practitioner } = suite.accounts;
    const scheduleII = { schedule: Schedule.II, fillsAllowed: 1 };
    const id = rxId(meperidine);
    await expectRevert(prescribe(scheduleII, practitioner, id), 'NoControlledRegistration', [
      practitioner.address,
      Schedule.II,
    ]);
    const issued = await registerControlled(practitioner.address, scheduleMask(Schedule.II, Schedule.IV));
    const args = eventOf(issued, 'ControlledRegistrationIssued');
    expect(args).toMatchObject({ member: practitioner.address, issuer: REGULATOR, schedules: 0b10100 });
    await prescribe(scheduleII, practitioner, id);
    expect((await record(id)).schedule).toBe(Schedule.II);
    // II: one fill, 90 days.
    await expectRevert(
      prescribe({ schedule: Schedule.II, fillsAllowed: 2 }),
      'RefillsExceedSchedule',
      [1, 0],
    );
    const now = await suite.now();
    await expectRevert(prescribe({ ...scheduleII, notAfter: now + 91 * DAY }), 'ValidityExceedsSchedule');
    // IV: five refills within 180 days.
    await prescribe({ schedule: Schedule.IV, fillsAllowed: 6, notAfter: now + 179 * DAY });
    await expectRevert(
      prescribe({ schedule: Schedule.IV, fillsAllowed: 7 }),
      'RefillsExceedSchedule',
      [6, 5],
    );
    // III is not covered by this registration.
    await expectRevert(prescribe({ schedule: Schedule.III }), 'NoControlledRegistration', [
      practitioner.address,
      Schedule.III,
    ]);
  });

  it('stops prescribing when the registration expires or is revoked', async () => {
    const { practitioner, regulatorNode } = suite.accounts;
    const now = await suite.now();
    await registerControlled(practitioner.address, scheduleMask(Schedule.III), now + 600);
    await prescribe({ schedule: Schedule.III });
    const covered = (schedule: Schedule, at: number) =>
      suite.read<boolean>('Prescriptions', 'hasControlledRegistration', [practitioner.address, schedule, at]);
    const registration = await suite.read<{ issuedAt: number; expiresAt: number }>(
      'Prescriptions',
      'controlledRegistrationOf',
      [practitioner.address],
    );
    expect(registration.expiresAt).toBe(now + 600);
    expect(await covered(Schedule.III, registration.issuedAt)).toBe(true);
    expect(await covered(Schedule.III, registration.issuedAt - 1)).toBe(false);
    expect(await covered(Schedule.III, now + 600)).toBe(false);
    expect(await covered(Schedule.V, registration.issuedAt)).toBe(false);
    expect(await covered(Schedule.III, 0)).toBe(false);
    expect(
      await suite.read('Prescriptions', 'hasControlledRegistration', [
        extra.colleague.address,
        Schedule.III,
        registration.issuedAt,
      ]),
    ).toBe(false);
    await suite.advance(600);
    await expectRevert(prescribe({ schedule: Schedule.III }), 'NoControlledRegistration', [
      practitioner.address,
      Schedule.III,
    ]);
    // Renewed, then revoked by its issuer.
    await registerControlled(practitioner.address, scheduleMask(Schedule.III));
    await prescribe({ schedule: Schedule.III });
    const revoked = await suite.send(regulatorNode, 'Prescriptions', 'revokeControlledRegistration', [
      practitioner.address,
    ]);
    expect(eventOf(revoked, 'ControlledRegistrationRevoked')).toEqual({
      member: practitioner.address,
      issuer: REGULATOR,
    });
    const at = await suite.now();
    expect(await covered(Schedule.III, at)).toBe(false);
    await expectRevert(prescribe({ schedule: Schedule.III }), 'NoControlledRegistration', [
      practitioner.address,
      Schedule.III,
    ]);
    await expectRevert(
      suite.send(regulatorNode, 'Prescriptions', 'revokeControlledRegistration', [practitioner.address]),
      'RegistrationAlreadyRevoked',
      [practitioner.address],
    );
  });

  it('lets only a regulator issue registrations, only to members, for schedules II to V, expiring later', async () => {
    const { practitioner, hospitalNode, outsider, regulatorNode, admin } = suite.accounts;
    const now = await suite.now();
    const issue = (from: HDAccount, member: Address, schedules: number, expiresAt = now + YEAR) =>
      suite.send(from, 'Prescriptions', 'issueControlledRegistration', [
        member,
        schedules,
        expiresAt,
        zeroHash,
      ]);
    await expectRevert(issue(hospitalNode, practitioner.address, 4), 'NotRegulator', [HOSPITAL]);
    await expectRevert(issue(outsider, practitioner.address, 4), 'NotActiveNodeAccount', [outsider.address]);
    await expectRevert(issue(regulatorNode, outsider.address, 4), 'NotMember', [outsider.address]);
    for (const bad of [0, scheduleMask(Schedule.None), scheduleMask(Schedule.I), 1 << 6, 0xff]) {
      await expectRevert(issue(regulatorNode, practitioner.address, bad), 'InvalidRegistrationSchedules', [
        bad,
      ]);
    }
    await expectRevert(issue(regulatorNode, practitioner.address, 4, now), 'InvalidRegistrationExpiry', [
      now,
    ]);
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [REGULATOR, zeroHash]);
    await expectRevert(issue(regulatorNode, practitioner.address, 4), 'OrganisationNotActive', [REGULATOR]);
  });

  it('lets only the issuing regulator revoke', async () => {
    const { practitioner, admin, hospitalNode, regulatorNode } = suite.accounts;
    const revoke = (from: HDAccount, member: Address) =>
      suite.send(from, 'Prescriptions', 'revokeControlledRegistration', [member]);
    await expectRevert(revoke(regulatorNode, practitioner.address), 'UnknownRegistration', [
      practitioner.address,
    ]);
    await registerControlled(practitioner.address, scheduleMask(Schedule.II));
    await expectRevert(revoke(hospitalNode, practitioner.address), 'NotRegistrationIssuer', [
      practitioner.address,
      REGULATOR,
    ]);
    // A second regulator is a regulator, but not this registration's issuer.
    await suite.send(admin, 'ConsortiumRegistry', 'admitOrganisation', [
      OrganisationKind.Regulator,
      'https://node.regulator-2.example',
      zeroHash,
      'https://node.regulator-2.example/keys',
    ]);
    const second = suite.chain.account(14);
    await suite.send(admin, 'ConsortiumRegistry', 'addNodeAccount', [6, second.address]);
    await suite.chain.testClient.setBalance({ address: second.address, value: 10n ** 20n });
    await expectRevert(revoke(second, practitioner.address), 'NotRegistrationIssuer', [
      practitioner.address,
      REGULATOR,
    ]);
    await revoke(regulatorNode, practitioner.address);
  });
});

describe('schedule rules', () => {
  it('start from the Controlled Substances Act defaults', async () => {
    for (const schedule of Object.values(Schedule)) {
      expect(await suite.read('Prescriptions', 'scheduleRule', [schedule]), `schedule ${schedule}`).toEqual(
        DEFAULT_SCHEDULE_RULES[schedule],
      );
    }
  });

  it('are set by the regulator, announced, and obeyed by the next prescription', async () => {
    const { regulatorNode, hospitalNode, outsider, practitioner } = suite.accounts;
    const set = (
      from: HDAccount,
      schedule: Schedule,
      rule: { maxRefills: number; maxValidity: number; allowed: boolean },
    ) => suite.send(from, 'Prescriptions', 'setScheduleRule', [schedule, rule]);
    const tighter = { maxRefills: 2, maxValidity: 30 * DAY, allowed: true };
    await expectRevert(set(hospitalNode, Schedule.None, tighter), 'NotRegulator', [HOSPITAL]);
    await expectRevert(set(outsider, Schedule.None, tighter), 'NotActiveNodeAccount', [outsider.address]);
    const changed = await set(regulatorNode, Schedule.None, tighter);
    expect(eventOf(changed, 'ScheduleRuleSet')).toEqual({
      schedule: Schedule.None,
      regulator: REGULATOR,
      ...tighter,
    });
    expect(await suite.read('Prescriptions', 'scheduleRule', [Schedule.None])).toEqual(tighter);
    await expectRevert(prescribe({ fillsAllowed: 4 }), 'RefillsExceedSchedule', [3, 2]);
    await expectRevert(prescribe({ notAfter: (await suite.now()) + 31 * DAY }), 'ValidityExceedsSchedule');
    await prescribe({ fillsAllowed: 3, notAfter: (await suite.now()) + 29 * DAY });

    // Disallowing a schedule stops it being prescribed, even with a registration.
    await registerControlled(practitioner.address, scheduleMask(Schedule.V));
    await prescribe({ schedule: Schedule.V, fillsAllowed: 20 });
    await set(regulatorNode, Schedule.V, { maxRefills: 0, maxValidity: 0, allowed: false });
    await expectRevert(prescribe({ schedule: Schedule.V }), 'ScheduleNotPrescribable', [Schedule.V]);

    await expectRevert(
      set(regulatorNode, Schedule.I, { maxRefills: 0, maxValidity: DAY, allowed: true }),
      'ScheduleNotPrescribable',
      [Schedule.I],
    );
    await expectRevert(
      set(regulatorNode, Schedule.III, { maxRefills: 5, maxValidity: 0, allowed: true }),
      'InvalidScheduleRule',
      [Schedule.III],
    );
  });
});

describe('dispensing', () => {
  it('enforces the fills across pharmacies: two refills are three fills, whoever dispenses them', async () => {
    const { pharmacistA, pharmacistB } = extra;
    const { id } = await prescribe({ fillsAllowed: 3, quantityAllowed: 90 });
    const first = fill();
    const r1 = await dispense(pharmacistA, id, 30, first);
    expect(eventOf(r1, 'PrescriptionDispensed')).toEqual({
      id,
      pharmacy: PHARMACY_A,
      pharmacist: pharmacistA.address,
      dispenseCommitment: first,
      quantity: 30,
      fillNumber: 1,
      fillsRemaining: 2,
      quantityRemaining: 60,
    });
    const at = Number((await suite.chain.publicClient.getBlock({ blockNumber: r1.blockNumber })).timestamp);
    expect(await record(id)).toMatchObject({ fillsUsed: 1, quantityDispensed: 30, lastFilledAt: at });
    const r2 = await dispense(pharmacistB, id, 20);
    expect(eventOf(r2, 'PrescriptionDispensed')).toMatchObject({
      pharmacy: PHARMACY_B,
      fillNumber: 2,
      fillsRemaining: 1,
      quantityRemaining: 40,
    });
    expect(await remaining(id)).toEqual([1, 40]);
    const r3 = await dispense(pharmacistA, id, 10);
    expect(eventOf(r3, 'PrescriptionDispensed')).toMatchObject({ fillNumber: 3, fillsRemaining: 0 });
    await expectRevert(dispense(pharmacistB, id, 10), 'FillsExhausted', [id]);
    expect(await record(id)).toMatchObject({
      fillsUsed: 3,
      quantityDispensed: 60,
      status: PrescriptionStatus.Completed,
    });
    expect(await remaining(id)).toEqual([0, 0]);
  });

  it('refuses a zero quantity, too much quantity and a zero dispense commitment', async () => {
    const { pharmacistA } = extra;
    const { id } = await prescribe({ fillsAllowed: 3, quantityAllowed: 60 });
    await expectRevert(dispense(pharmacistA, id, 0), 'ZeroQuantity', []);
    await expectRevert(dispense(pharmacistA, id, 61), 'QuantityExceeded', [id, 61, 60]);
    await expectRevert(dispense(pharmacistA, id, 10, zeroHash), 'ZeroCommitment', []);
    await dispense(pharmacistA, id, 50);
    await expectRevert(dispense(pharmacistA, id, 11), 'QuantityExceeded', [id, 11, 10]);
    await dispense(pharmacistA, id, 10);
    // The whole quantity is out: completed with a fill to spare.
    expect(await record(id)).toMatchObject({ fillsUsed: 2, status: PrescriptionStatus.Completed });
    await expectRevert(dispense(pharmacistA, id, 1), 'QuantityExceeded', [id, 1, 0]);
  });

  it('refuses before the window, at and after its end, and for unknown ids', async () => {
    const { pharmacistA } = extra;
    const now = await suite.now();
    const { id } = await prescribe({ notBefore: now + DAY, notAfter: now + 2 * DAY });
    await expectRevert(dispense(pharmacistA, id, 10), 'PrescriptionNotYetValid', [id, now + DAY]);
    expect((await record(id)).status).toBe(PrescriptionStatus.Active);
    await suite.advance(DAY);
    await dispense(pharmacistA, id, 10);
    await suite.advance(DAY);
    await expectRevert(dispense(pharmacistA, id, 10), 'PrescriptionExpired', [id, now + 2 * DAY]);
    expect((await record(id)).status).toBe(PrescriptionStatus.Expired);
    expect(await remaining(id)).toEqual([0, 0]);
    const unknown = rxId();
    await expectRevert(dispense(pharmacistA, unknown, 10), 'UnknownPrescription', [unknown]);
  });

  it('holds refills back until the minimum interval has passed', async () => {
    const { pharmacistA, pharmacistB } = extra;
    const { id } = await prescribe({ minInterval: 7 * DAY });
    const r1 = await dispense(pharmacistA, id, 30);
    const at = Number((await suite.chain.publicClient.getBlock({ blockNumber: r1.blockNumber })).timestamp);
    await expectRevert(dispense(pharmacistB, id, 30), 'RefillTooSoon', [id, at + 7 * DAY]);
    await suite.advance(7 * DAY);
    await dispense(pharmacistB, id, 30);
  });

  it('refuses anyone but a pharmacist of an active pharmacy', async () => {
    const { practitioner, outsider, admin, hospitalNode } = suite.accounts;
    const { id } = await prescribe();
    for (const account of [extra.hospitalPharmacist, practitioner, outsider, hospitalNode]) {
      await expectRevert(dispense(account, id, 10), 'NotPharmacist', [account.address]);
    }
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [PHARMACY_A, zeroHash]);
    await expectRevert(dispense(extra.pharmacistA, id, 10), 'NotPharmacist', [extra.pharmacistA.address]);
    await dispense(extra.pharmacistB, id, 10);
  });

  it('lets exactly one of two pharmacies racing for the last fill in one block dispense it', async () => {
    const { pharmacistA, pharmacistB } = extra;
    const { id } = await prescribe({ fillsAllowed: 2, quantityAllowed: 60 });
    await dispense(pharmacistA, id, 30);
    // Plain HTTP clients: the race's transactions stay pending until the block is mined.
    const wallet = (account: HDAccount) =>
      createWalletClient({ account, chain: foundry, transport: http(suite.chain.rpcUrl, { retryCount: 0 }) });
    const { testClient, publicClient } = suite.chain;
    await testClient.setAutomine(false);
    let hashes: Hex[];
    try {
      hashes = await Promise.all(
        [pharmacistA, pharmacistB].map((account) =>
          wallet(account).writeContract({
            address: suite.addresses.Prescriptions,
            abi: prescriptionAbi,
            functionName: 'dispense',
            args: [id, 30, fill()],
            gas: 300_000n,
          }),
        ),
      );
      await testClient.mine({ blocks: 1 });
    } finally {
      await testClient.setAutomine(true);
    }
    const receipts = await Promise.all(
      hashes.map((hash) => publicClient.waitForTransactionReceipt({ hash })),
    );
    expect(receipts[0]!.blockNumber).toBe(receipts[1]!.blockNumber);
    const statuses = receipts.map((r) => r.status).sort();
    expect(statuses).toEqual(['reverted', 'success']);
    const loser = receipts.find((r) => r.status === 'reverted')!;
    const trace = (await publicClient.request({
      method: 'debug_traceTransaction' as never,
      params: [loser.transactionHash, { tracer: 'callTracer' }] as never,
    })) as { output: Hex };
    expect(decodeErrorResult({ abi: prescriptionAbi, data: trace.output })).toMatchObject({
      errorName: 'FillsExhausted',
      args: [id],
    });
    expect(await record(id)).toMatchObject({
      fillsUsed: 2,
      quantityDispensed: 60,
      status: PrescriptionStatus.Completed,
    });
  });
});

describe('cancellation', () => {
  it('lets a practitioner of the prescriber organisation cancel, after which nothing is dispensed', async () => {
    const { colleague, pharmacistA } = extra;
    const { id } = await prescribe();
    await dispense(pharmacistA, id, 10);
    const reason = keccak256(toHex('prescribed in error'));
    await expectRevert(
      suite.send(colleague, 'Prescriptions', 'cancel', [id, zeroHash]),
      'ZeroCommitment',
      [],
    );
    const cancelled = await suite.send(colleague, 'Prescriptions', 'cancel', [id, reason]);
    expect(eventOf(cancelled, 'PrescriptionCancelled')).toEqual({
      id,
      cancelledBy: colleague.address,
      reasonHash: reason,
    });
    expect(await record(id)).toMatchObject({ status: PrescriptionStatus.Cancelled, fillsUsed: 1 });
    expect(await remaining(id)).toEqual([0, 0]);
    await expectRevert(dispense(pharmacistA, id, 10), 'PrescriptionWasCancelled', [id]);
    await expectRevert(
      suite.send(suite.accounts.practitioner, 'Prescriptions', 'cancel', [id, reason]),
      'PrescriptionWasCancelled',
      [id],
    );
  });

  it('refuses other organisations, non-practitioners, suspended organisations and unknown ids', async () => {
    const { clinicPractitioner, practitioner, admin } = suite.accounts;
    const { id } = await prescribe();
    const reason = keccak256(toHex('reason'));
    const cancel = (account: HDAccount, which = id) =>
      suite.send(account, 'Prescriptions', 'cancel', [which, reason]);
    for (const account of [clinicPractitioner, extra.hospitalPharmacist, extra.pharmacistA]) {
      await expectRevert(cancel(account), 'NotPrescriberOrganisation', [id, account.address]);
    }
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [HOSPITAL, zeroHash]);
    await expectRevert(cancel(practitioner), 'NotPrescriberOrganisation', [id, practitioner.address]);
    // The prescriber's suspension does not stop pharmacies filling what was validly prescribed.
    await dispense(extra.pharmacistA, id, 10);
    await suite.send(admin, 'ConsortiumRegistry', 'reinstateOrganisation', [HOSPITAL]);
    const unknown = rxId();
    await expectRevert(cancel(practitioner, unknown), 'UnknownPrescription', [unknown]);
    await cancel(practitioner);
  });
});

describe('routing', () => {
  it("lets the prescriber's node route to an active pharmacy, and route again", async () => {
    const { hospitalNode } = suite.accounts;
    const { id } = await prescribe();
    const first = await suite.send(hospitalNode, 'Prescriptions', 'route', [id, PHARMACY_A]);
    expect(eventOf(first, 'PrescriptionRouted')).toEqual({ id, pharmacy: PHARMACY_A });
    const again = await suite.send(hospitalNode, 'Prescriptions', 'route', [id, PHARMACY_B]);
    expect(eventOf(again, 'PrescriptionRouted')).toEqual({ id, pharmacy: PHARMACY_B });
    // Routing changes nothing the ledger enforces: any pharmacist may still dispense.
    await dispense(extra.pharmacistA, id, 10);
    expect(await record(id)).toMatchObject({ fillsUsed: 1, status: PrescriptionStatus.Active });
  });

  it('refuses other accounts, pharmacies that are not, inactive prescriptions and unknown ids', async () => {
    const { hospitalNode, clinicNode, practitioner, admin } = suite.accounts;
    const { id } = await prescribe({ fillsAllowed: 1 });
    const route = (account: HDAccount, which: Hex, pharmacy: number) =>
      suite.send(account, 'Prescriptions', 'route', [which, pharmacy]);
    await expectRevert(route(clinicNode, id, PHARMACY_A), 'NotPrescriberNode', [id, clinicNode.address]);
    await expectRevert(route(extra.pharmacyANode, id, PHARMACY_A), 'NotPrescriberNode', [
      id,
      extra.pharmacyANode.address,
    ]);
    // A member (even the prescriber) is not a node account.
    await expectRevert(route(practitioner, id, PHARMACY_A), 'NotActiveNodeAccount', [practitioner.address]);
    // A hospital, a regulator, an unknown organisation and a suspended pharmacy are not active pharmacies.
    for (const org of [HOSPITAL, REGULATOR, 999]) {
      await expectRevert(route(hospitalNode, id, org), 'NotActivePharmacy', [org]);
    }
    await suite.send(admin, 'ConsortiumRegistry', 'suspendOrganisation', [PHARMACY_B, zeroHash]);
    await expectRevert(route(hospitalNode, id, PHARMACY_B), 'NotActivePharmacy', [PHARMACY_B]);
    await suite.send(admin, 'ConsortiumRegistry', 'reinstateOrganisation', [PHARMACY_B]);
    const unknown = rxId();
    await expectRevert(route(hospitalNode, unknown, PHARMACY_A), 'UnknownPrescription', [unknown]);
    // Completed (its one fill dispensed) and cancelled prescriptions are not routed.
    await dispense(extra.pharmacistA, id, 10);
    await expectRevert(route(hospitalNode, id, PHARMACY_A), 'PrescriptionNotActive', [
      id,
      PrescriptionStatus.Completed,
    ]);
    const { id: other } = await prescribe();
    await suite.send(practitioner, 'Prescriptions', 'cancel', [other, keccak256(toHex('reason'))]);
    await expectRevert(route(hospitalNode, other, PHARMACY_A), 'PrescriptionNotActive', [
      other,
      PrescriptionStatus.Cancelled,
    ]);
  });
});

describe('monitoring policy', () => {
  it('starts off, is set only by a regulator within 1 to 730 days, and is announced', async () => {
    const { regulatorNode, hospitalNode, outsider } = suite.accounts;
    const set = (from: HDAccount, enabled: boolean, days: number) =>
      suite.send(from, 'Prescriptions', 'setMonitoringPolicy', [enabled, days]);
    expect(await suite.read('Prescriptions', 'monitoringPolicy', [])).toEqual([false, 0]);
    await expectRevert(set(hospitalNode, true, 90), 'NotRegulator', [HOSPITAL]);
    await expectRevert(set(outsider, true, 90), 'NotActiveNodeAccount', [outsider.address]);
    await expectRevert(set(regulatorNode, true, 0), 'InvalidMonitoringLookback', [0]);
    await expectRevert(set(regulatorNode, true, 731), 'InvalidMonitoringLookback', [731]);
    expect(await suite.read('Prescriptions', 'monitoringPolicy', [])).toEqual([false, 0]);
    const on = await set(regulatorNode, true, 730);
    expect(eventOf(on, 'MonitoringPolicySet')).toEqual({
      regulator: REGULATOR,
      enabled: true,
      lookbackDays: 730,
    });
    expect(await suite.read('Prescriptions', 'monitoringPolicy', [])).toEqual([true, 730]);
    await set(regulatorNode, false, 90);
    expect(await suite.read('Prescriptions', 'monitoringPolicy', [])).toEqual([false, 90]);
  });
});
