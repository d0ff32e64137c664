/**
 * Prescribing and dispensing across the consortium, between real nodes on one real chain: a hospital (the
 * prescriber's node), two pharmacies and a regulator. A licensed doctor prescribes through the kernel and the
 * ledger; the patient routes the prescription to a pharmacy (or hands over a one-time token); the pharmacy
 * fetches it over the prescription exchange, verifies it against the ledger and dispenses; refills, exhaustion,
 * cancellation, interaction alerts, an unlicensed prescriber, two pharmacies racing for the last fill and a
 * refill reminder after the chain's clock moves on. From the attacker's side: a pharmacy without a route or
 * token cannot tell an existing prescription from none, and a patient cannot route another's.
 * Medications come from external data (Synthea sample MedicationRequests, HL7 PDDI-CDS example requests).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsentRelayer } from '@medledger/consent';
import {
  Action,
  consortiumRegistryAbi,
  Purpose,
  prescriptionsAbi,
  Schedule,
  scheduleMask,
} from '@medledger/contracts';
import { categoryMask, DataCategory } from '@medledger/core';
import { type AccountId, createPatientKeys } from '@medledger/identity';
import { type Address, encodeFunctionData, type Hex, keccak256, toHex, zeroAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATIENT_PSEUDONYM_SYSTEM } from '../src/access/PatientLinks.js';
import { type LocalConsortium, startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import { personApiToken, registerTokenApp } from '../src/consortium/personSignIn.js';
import { consecutiveFreePorts } from '../src/exchange/exchangeScenario.js';
import type { RunningNode } from '../src/Node.js';
import { INTERACTION_OVERRIDE_EXTENSION } from '../src/prescriptions/prescriptionOrder.js';
import { SHARED, TEST_BLOCK_TIME, TEST_START_OPTIONS, until } from './helpers.js';

type Response = { status: number; body: Record<string, any>; text: string };
type Who = { node: RunningNode; token: string };

const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const DAY = 86_400;

/** A Synthea MedicationRequest's medication (lisinopril: not controlled, no interaction here). */
const lisinopril = (() => {
  const lines = readFileSync(
    new URL('synthea/bulk-ndjson-10-patients/MedicationRequest.000.ndjson', SHARED),
    'utf8',
  ).split('\n');
  const line = lines.find((l) => /lisinopril/i.test(l))!;
  return (JSON.parse(line) as { medicationCodeableConcept: unknown }).medicationCodeableConcept;
})();

/** A Synthea MedicationRequest's medication that is Schedule II (meperidine, an opioid). */
const meperidine = (() => {
  const lines = readFileSync(
    new URL('synthea/bulk-ndjson-10-patients/MedicationRequest.000.ndjson', SHARED),
    'utf8',
  ).split('\n');
  const line = lines.find((l) => /meperidine/i.test(l))!;
  return (JSON.parse(line) as { medicationCodeableConcept: unknown }).medicationCodeableConcept;
})();

/** Warfarin and ibuprofen as the HL7 PDDI-CDS warfarin–NSAID example request codes them. */
const pddi = (() => {
  const request = JSON.parse(
    readFileSync(
      new URL('drugs/pddi-cds/cds-hooks-requests/request-warfarin-nsaid-scenario-02.json', SHARED),
      'utf8',
    ),
  ) as unknown;
  const codings: { system?: string; code?: string; display?: string }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      if (o.system === RXNORM && typeof o.code === 'string') codings.push(o as never);
      Object.values(o).forEach(walk);
    }
  };
  walk(request);
  const concept = (code: string) => ({ coding: [codings.find((c) => c.code === code)!] });
  return { warfarin: concept('855295'), ibuprofen: concept('197805') };
})();

describe('prescribing and dispensing across the consortium', () => {
  let dir: string;
  let consortium: LocalConsortium;
  let hospital: RunningNode;
  let pharmacyA: RunningNode;
  let pharmacyB: RunningNode;
  let regulator: RunningNode;
  const who: Record<string, Who> = {};
  let doctorMember: Address;
  const patients: Record<string, { fhirId: string }> = {};

  const call = async (w: Who, method: string, path: string, body?: unknown): Promise<Response> => {
    const res = await fetch(`${w.node.fhirUrl.replace(/\/fhir$/, '')}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${w.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: Record<string, any> = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, text };
  };

  const registryCall = async (node: RunningNode, functionName: string, args: readonly unknown[]) => {
    const tx = await node.ledger.sendCall({
      to: node.ledger.deployment.contracts.ConsortiumRegistry.address,
      data: encodeFunctionData({ abi: consortiumRegistryAbi, functionName, args } as never),
    });
    expect((await node.ledger.waitForReceipt(tx.hash)).status).toBe('success');
  };

  /** A person with a custodial member key, created by the node's administrator, with their own API token. */
  const staff = async (node: RunningNode, username: string, role: string) => {
    const admin = { node, token: readFileSync(node.adminTokenFile!, 'utf8').trim() };
    const created = await call(admin, 'POST', '/admin/accounts', {
      username,
      displayName: username,
      role,
      password: 'quiet meadow compass for the ward 7',
    });
    expect(created.status).toBe(201);
    const { token } = await personApiToken(node, created.body.account.id as AccountId, { label: 'rx' });
    return { w: { node, token }, member: created.body.account.memberAddress as Address };
  };

  /** A patient of the hospital: keys, a linked Patient record, an account, consent for the hospital. */
  const patient = async (name: string) => {
    const keys = createPatientKeys(`${name} passphrase for the test`, { scrypt: { N: 2 ** 14, r: 8, p: 1 } });
    const created = await call(who.hospitalAdmin!, 'POST', '/fhir/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: PATIENT_PSEUDONYM_SYSTEM, value: keys.pseudonym }],
      name: [{ family: name, given: ['Test'] }],
      birthDate: '1950-02-03',
    });
    expect(created.status).toBe(201);
    const account = await hospital.accounts.createAccount({
      username: name,
      displayName: name,
      role: 'patient',
      organisation: hospital.organisationId,
      patient: { fhirId: created.body.id, pseudonym: keys.pseudonym },
    });
    const { token } = await personApiToken(hospital, account.id as AccountId, { label: 'rx' });
    // The patient lets the hospital read and write their medications and demographics, for treatment.
    const now = Math.floor(Date.now() / 1000);
    const terms = {
      patient: keys.pseudonym as Hex,
      grantee: hospital.organisationId,
      granteeMember: zeroAddress,
      actions: (1 << Action.Read) | (1 << Action.Write),
      resourceClasses: categoryMask(DataCategory.Medications, DataCategory.Demographics),
      purposes: 1 << Purpose.Treatment,
      validFrom: now - 60,
      validUntil: now + 60 * DAY,
      dataFrom: 0,
      dataUntil: 0,
      nonce: BigInt(now) * 1000n + BigInt(Object.keys(patients).length),
    };
    const domain = {
      chainId: hospital.ledger.chainId,
      verifyingContract: hospital.ledger.deployment.contracts.ConsentManager.address,
    };
    const deadline = BigInt(now + 600);
    const { signature } = await keys.signConsent(terms, domain, deadline);
    const relayed = await new ConsentRelayer(hospital.ledger, { index: hospital.consent }).grant({
      terms,
      deadline,
      signature,
    });
    await hospital.consent.waitForBlock(relayed.blockNumber);
    patients[name] = { fhirId: created.body.id };
    who[name] = { node: hospital, token };
    return created.body.id as string;
  };

  const order = (patientId: string, overrides: Record<string, unknown> = {}) => {
    const now = Date.now();
    return {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: `Patient/${patientId}` },
      medicationCodeableConcept: lisinopril,
      dosageInstruction: [
        { text: 'One tablet daily', timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } } },
      ],
      dispenseRequest: {
        validityPeriod: {
          start: new Date(now - 60_000).toISOString(),
          end: new Date(now + 30 * DAY * 1000).toISOString(),
        },
        numberOfRepeatsAllowed: 1,
        quantity: { value: 60, unit: 'tablet' },
        expectedSupplyDuration: { value: 2, unit: 'h', system: 'http://unitsofmeasure.org', code: 'h' },
      },
      ...overrides,
    };
  };

  const prescribe = async (patientId: string, overrides: Record<string, unknown> = {}, by = 'doctor') => {
    const r = await call(who[by]!, 'POST', '/fhir/MedicationRequest/$prescribe', order(patientId, overrides));
    const param = (name: string) => r.body.parameter?.find((p: { name: string }) => p.name === name);
    return {
      r,
      id: param('prescription')?.valueString as Hex,
      recordId: param('resource')?.resource?.id as string,
    };
  };
  const route = (patientName: string, recordId: string, pharmacy: number) =>
    call(who[patientName]!, 'POST', `/fhir/MedicationRequest/${recordId}/$route`, { pharmacy });
  const fetchRx = (pharmacist: string, body: Record<string, unknown>) =>
    call(who[pharmacist]!, 'POST', '/pharmacy/prescriptions/$fetch', body);
  const dispense = (pharmacist: string, id: Hex, quantity: number) =>
    call(who[pharmacist]!, 'POST', `/pharmacy/prescriptions/${id}/$dispense`, { quantity });
  const queue = async (pharmacist: string) => {
    const r = await call(who[pharmacist]!, 'GET', '/pharmacy/queue');
    expect(r.status).toBe(200);
    return r.body.queue as Record<string, any>[];
  };
  const mine = async (patientName: string) =>
    (await call(who[patientName]!, 'GET', '/prescriptions')).body.prescriptions as Record<string, any>[];
  /** What a denied fetch shows: status and OperationOutcome, nothing else. */
  const denial = (r: Response) => ({ status: r.status, issue: r.body.issue });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medledger-rx-'));
    consortium = await startLocalConsortium({
      dir,
      members: [
        { name: 'hospital', kind: 'hospital' },
        { name: 'pharmacy-a', kind: 'pharmacy' },
        { name: 'pharmacy-b', kind: 'pharmacy' },
        { name: 'regulator', kind: 'regulator' },
      ],
      basePort: await consecutiveFreePorts(4),
      keystorePassphrase: 'prescriptions test passphrase',
      logLevel: 'silent',
      blockTime: TEST_BLOCK_TIME,
      startOptions: TEST_START_OPTIONS,
    });
    [hospital, pharmacyA, pharmacyB, regulator] = consortium.nodes.map((n) => n.node) as RunningNode[] as [
      RunningNode,
      RunningNode,
      RunningNode,
      RunningNode,
    ];
    for (const node of [hospital, pharmacyA, pharmacyB]) {
      await registerTokenApp(new URL(node.fhirUrl).origin, readFileSync(node.adminTokenFile!, 'utf8').trim());
    }
    who.hospitalAdmin = { node: hospital, token: readFileSync(hospital.adminTokenFile!, 'utf8').trim() };
    const year = Math.floor(Date.now() / 1000) + 365 * DAY;
    const doctor = await staff(hospital, 'doctor', 'doctor');
    await registryCall(regulator, 'issueLicence', [
      doctor.member,
      keccak256(toHex('licence of the doctor')),
      year,
    ]);
    who.doctor = doctor.w;
    doctorMember = doctor.member;
    who.unlicensed = (await staff(hospital, 'unlicensed', 'doctor')).w;
    who.pharmacistA = (await staff(pharmacyA, 'pharmacist-a', 'pharmacist')).w;
    who.pharmacistB = (await staff(pharmacyB, 'pharmacist-b', 'pharmacist')).w;
    await patient('alice');
    await patient('bob');
  }, 600_000);

  afterAll(async () => {
    await consortium?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prescribe → route → fetch and verify → dispense → reminder → refill at a second pharmacy → exhausted', async () => {
    const { r, id, recordId } = await prescribe(patients.alice!.fhirId);
    expect(r.status).toBe(201);
    expect(id).toMatch(/^0x[0-9a-f]{64}$/);

    // Not routed yet: the pharmacy is denied like for an id that does not exist.
    const early = await fetchRx('pharmacistA', { prescription: id });
    const unknown = await fetchRx('pharmacistA', { prescription: `0x${randomBytes(32).toString('hex')}` });
    expect(early.status).toBe(404);
    expect(denial(early)).toEqual(denial(unknown));

    expect((await route('alice', recordId, pharmacyA.organisationId)).status).toBe(200);
    const routed = await until('the routed prescription in the queue', async () =>
      (await queue('pharmacistA')).find((q) => q.prescription === id),
    );
    expect(routed).toMatchObject({ routed: true, fetched: false, custodian: hospital.organisationId });

    const fetched = await fetchRx('pharmacistA', { prescription: id });
    expect(fetched.status).toBe(200);
    expect(fetched.body.verification).toEqual({
      anchored: true,
      prescriberLicensed: true,
      status: 'active',
      fillsRemaining: 2,
      quantityRemaining: 60,
    });
    expect(fetched.body.medicationRequest).toMatchObject({
      resourceType: 'MedicationRequest',
      id: recordId,
      medicationCodeableConcept: lisinopril,
    });

    const first = await dispense('pharmacistA', id, 30);
    expect(first.status).toBe(201);
    const stored = await pharmacyA.records
      .system('test')
      .read('MedicationDispense', first.body.medicationDispense.split('/')[1]);
    expect(stored.resource.authorizingPrescription).toEqual([
      { type: 'MedicationRequest', identifier: { system: 'urn:medledger:prescription', value: id } },
    ]);
    expect((await mine('alice')).find((p) => p.prescription === id)).toMatchObject({
      status: 'active',
      fillsUsed: 1,
      fillsRemaining: 1,
      quantityRemaining: 30,
      routedTo: pharmacyA.organisationId,
    });

    // The refill reminder: nothing yet; the chain's clock passes most of the 2-hour supply; then a notice.
    const reminders = async () =>
      ((await call(who.alice!, 'GET', `/fhir/Communication?subject=Patient/${patients.alice!.fhirId}`)).body
        .entry ?? []) as { resource: Record<string, any> }[];
    await mine('alice');
    expect(
      (await reminders()).filter((e) => e.resource.category?.[0]?.coding?.[0]?.code === 'reminder'),
    ).toEqual([]);
    await hospital.ledger.publicClient.request({
      method: 'evm_increaseTime' as never,
      params: [2 * 3600] as never,
    });
    await hospital.ledger.publicClient.request({ method: 'evm_mine' as never, params: [] as never });
    await mine('alice'); // the list syncs the prescriptions' events and writes due reminders
    const reminder = (await reminders()).find(
      (e) => e.resource.category?.[0]?.coding?.[0]?.code === 'reminder',
    );
    expect(reminder?.resource.payload[0].contentString).toMatch(/1 refill remains/);
    expect(reminder?.resource.about).toEqual([{ reference: `MedicationRequest/${recordId}` }]);

    // The patient moves the prescription to another pharmacy, which fills the refill.
    expect((await route('alice', recordId, pharmacyB.organisationId)).status).toBe(200);
    expect((await fetchRx('pharmacistB', { prescription: id })).status).toBe(200);
    // The ledger's latest route decides: the first pharmacy is no longer released it.
    expect(denial(await fetchRx('pharmacistA', { prescription: id }))).toEqual(denial(unknown));
    expect((await dispense('pharmacistB', id, 30)).status).toBe(201);
    // Every fill is used: the ledger refuses a third, wherever it is asked, and nothing is stored.
    const dispenses = async () =>
      (
        await pharmacyB.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM resource_versions WHERE type = 'MedicationDispense'",
        )
      ).rows[0]!.n;
    const before = await dispenses();
    const third = await dispense('pharmacistB', id, 1);
    expect(third.status).toBe(409);
    expect(third.text).toContain('every fill of the prescription was dispensed');
    expect(await dispenses()).toBe(before);
    expect((await mine('alice')).find((p) => p.prescription === id)).toMatchObject({
      status: 'completed',
      fillsRemaining: 0,
    });
  });

  it('a token lets exactly one pharmacy fetch once; a used token is denied exactly like an unknown one', async () => {
    const { id, recordId } = await prescribe(patients.alice!.fhirId);
    const minted = await call(who.alice!, 'POST', `/fhir/MedicationRequest/${recordId}/$token`);
    expect(minted.status).toBe(201);
    const token = minted.body.token as string;
    expect(token).toMatch(/^mdlrx1\.[0-9a-f]{64}\.[0-9a-f]{64}$/);
    // Only its hash is kept.
    const rows = await hospital.db.query<{ token_hash: Uint8Array }>('SELECT token_hash FROM rx_tokens');
    expect(rows.rows.some((row) => token.includes(Buffer.from(row.token_hash).toString('hex')))).toBe(false);

    const redeemed = await fetchRx('pharmacistA', { token });
    expect(redeemed.status).toBe(200);
    expect(redeemed.body.prescription).toBe(id);
    const again = await fetchRx('pharmacistB', { token });
    const forged = await fetchRx('pharmacistB', {
      token: `${token.slice(0, -64)}${randomBytes(32).toString('hex')}`,
    });
    expect(again.status).toBe(404);
    expect(denial(again)).toEqual(denial(forged));
    expect((await fetchRx('pharmacistB', { token: 'not a token' })).status).toBe(400);
  });

  it('a pharmacy the prescription was not routed to learns nothing: the same denial as for no prescription', async () => {
    const { id, recordId } = await prescribe(patients.alice!.fhirId);
    expect((await route('alice', recordId, pharmacyA.organisationId)).status).toBe(200);
    const notRouted = await fetchRx('pharmacistB', { prescription: id });
    const missing = await fetchRx('pharmacistB', { prescription: `0x${randomBytes(32).toString('hex')}` });
    expect(notRouted.status).toBe(404);
    expect(denial(notRouted)).toEqual(denial(missing));
    // A non-pharmacist of the pharmacy's node is refused before anything is asked.
    expect(
      (await call(who.doctor!, 'POST', '/pharmacy/prescriptions/$fetch', { prescription: id })).status,
    ).toBe(403);
  });

  it('a patient cannot route or take a token for another patient’s prescription (404 like a missing one)', async () => {
    const { recordId } = await prescribe(patients.alice!.fhirId);
    const other = await route('bob', recordId, pharmacyA.organisationId);
    const missing = await route('bob', 'no-such-record', pharmacyA.organisationId);
    expect(other.status).toBe(404);
    expect(denial(other)).toEqual(denial(missing));
    expect((await call(who.bob!, 'POST', `/fhir/MedicationRequest/${recordId}/$token`)).status).toBe(404);
    // Routing to an organisation that is not a pharmacy is refused by the ledger, clearly.
    const toHospital = await route('alice', recordId, hospital.organisationId);
    expect(toHospital.status).toBe(422);
    expect(toHospital.text).toContain('not an active pharmacy');
  });

  it('cancel: the pharmacy’s dispense is refused on-chain and its queue shows the cancellation', async () => {
    const { id, recordId } = await prescribe(patients.alice!.fhirId);
    expect((await route('alice', recordId, pharmacyA.organisationId)).status).toBe(200);
    expect((await fetchRx('pharmacistA', { prescription: id })).status).toBe(200);
    const cancelled = await call(who.doctor!, 'POST', `/fhir/MedicationRequest/${recordId}/$cancel`, {
      reason: 'changed to another medication',
    });
    expect(cancelled.status).toBe(200);
    const record = await call(who.doctor!, 'GET', `/fhir/MedicationRequest/${recordId}`);
    expect(record.body.status).toBe('cancelled');
    const refused = await dispense('pharmacistA', id, 10);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('cancelled');
    expect((await queue('pharmacistA')).find((q) => q.prescription === id)).toMatchObject({
      cancelled: true,
      status: 'cancelled',
    });
  });

  it('refuses an NSAID for a patient on warfarin without an override, and accepts it with one', async () => {
    const active = await call(who.hospitalAdmin!, 'POST', '/fhir/MedicationRequest', {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: `Patient/${patients.bob!.fhirId}` },
      medicationCodeableConcept: pddi.warfarin,
      authoredOn: new Date().toISOString().slice(0, 10),
    });
    expect(active.status).toBe(201);
    const count = async () =>
      (await hospital.db.query<{ n: number }>('SELECT count(*)::int AS n FROM rx_prescriptions')).rows[0]!.n;
    const before = await count();
    const refused = await prescribe(patients.bob!.fhirId, { medicationCodeableConcept: pddi.ibuprofen });
    expect(refused.r.status).toBe(409);
    expect(refused.r.body.resourceType).toBe('OperationOutcome');
    const cards = refused.r.body.issue as { diagnostics: string; expression: string[] }[];
    expect(cards.length).toBeGreaterThan(0);
    expect(cards[0]!.diagnostics).toMatch(/warfarin \+ ibuprofen/i);
    expect(await count()).toBe(before);

    const overrides = cards.map((c) => ({
      url: INTERACTION_OVERRIDE_EXTENSION,
      extension: [
        { url: 'card', valueString: c.expression[0]!.replace(/^card:/, '') },
        { url: 'reason', valueString: 'short course, INR monitored weekly' },
      ],
    }));
    const accepted = await prescribe(patients.bob!.fhirId, {
      medicationCodeableConcept: pddi.ibuprofen,
      extension: overrides,
    });
    expect(accepted.r.status).toBe(201);
    expect(await count()).toBe(before + 1);
  });

  it('an unlicensed practitioner is refused with a clear message, and nothing is stored', async () => {
    const records = async () =>
      (
        await call(
          who.hospitalAdmin!,
          'GET',
          `/fhir/MedicationRequest?subject=Patient/${patients.alice!.fhirId}&_summary=count`,
        )
      ).body.total as number;
    const before = await records();
    const refused = await prescribe(patients.alice!.fhirId, {}, 'unlicensed');
    expect(refused.r.status).toBe(403);
    expect(refused.r.text).toContain('no valid licence');
    expect(await records()).toBe(before);
    // Malformed orders are refused before anything else, naming the element.
    const noQuantity = await call(who.doctor!, 'POST', '/fhir/MedicationRequest/$prescribe', {
      ...order(patients.alice!.fhirId),
      dispenseRequest: { validityPeriod: { end: '2099-01-01' } },
    });
    expect(noQuantity.status).toBe(400);
    expect(noQuantity.body.issue[0].expression).toEqual(['MedicationRequest.dispenseRequest.quantity.value']);
    expect(await records()).toBe(before);
  });

  it('a Schedule II order needs a controlled-substance registration and obeys the schedule’s row', async () => {
    const alice = patients.alice!.fhirId;
    const count = async () =>
      (await hospital.db.query<{ n: number }>('SELECT count(*)::int AS n FROM rx_prescriptions')).rows[0]!.n;
    const before = await count();
    const oneFill = { ...order('x').dispenseRequest, numberOfRepeatsAllowed: 0 };
    // Derived from the ingredients: Schedule II, and the doctor holds no registration.
    const unregistered = await prescribe(alice, {
      medicationCodeableConcept: meperidine,
      dispenseRequest: oneFill,
    });
    expect(unregistered.r.status).toBe(403);
    expect(unregistered.r.text).toContain('no controlled-substance registration covering schedule II');
    // Declaring it less strict than its ingredients is refused before anything else.
    const understated = await prescribe(alice, {
      medicationCodeableConcept: meperidine,
      dispenseRequest: oneFill,
      extension: [
        { url: 'http://medledger.example/fhir/StructureDefinition/controlled-schedule', valueCode: 'none' },
      ],
    });
    expect(understated.r.status).toBe(400);
    expect(await count()).toBe(before);

    const registered = await regulator.ledger.sendCall({
      to: regulator.ledger.deployment.contracts.Prescriptions!.address,
      data: encodeFunctionData({
        abi: prescriptionsAbi,
        functionName: 'issueControlledRegistration',
        args: [
          doctorMember,
          scheduleMask(Schedule.II),
          Math.floor(Date.now() / 1000) + 365 * DAY,
          keccak256(toHex('DEA registration of the doctor')),
        ],
      }),
    });
    expect((await regulator.ledger.waitForReceipt(registered.hash)).status).toBe('success');
    const refills = await prescribe(alice, {
      medicationCodeableConcept: meperidine,
      dispenseRequest: { ...oneFill, numberOfRepeatsAllowed: 1 },
    });
    expect(refills.r.status).toBe(422);
    expect(refills.r.text).toContain('1 refills exceed the 0 the schedule');
    expect(await count()).toBe(before);
    const accepted = await prescribe(alice, {
      medicationCodeableConcept: meperidine,
      dispenseRequest: oneFill,
    });
    expect(accepted.r.status).toBe(201);
    const stored = accepted.r.body.parameter[0].resource;
    expect(stored.extension).toContainEqual({
      url: 'http://medledger.example/fhir/StructureDefinition/controlled-schedule',
      valueCode: 'II',
    });
    const onChain = await hospital.ledger.publicClient.readContract({
      address: hospital.ledger.deployment.contracts.Prescriptions!.address,
      abi: prescriptionsAbi,
      functionName: 'prescription',
      args: [accepted.id],
    });
    expect(Number(onChain.schedule)).toBe(Schedule.II);
    expect(Number(onChain.fillsAllowed)).toBe(1);
  });

  it('two pharmacies dispensing the last fill at the same time: exactly one wins', async () => {
    const { id, recordId } = await prescribe(patients.alice!.fhirId, {
      dispenseRequest: {
        ...order('x').dispenseRequest,
        numberOfRepeatsAllowed: 0,
      },
    });
    expect((await route('alice', recordId, pharmacyA.organisationId)).status).toBe(200);
    expect((await fetchRx('pharmacistA', { prescription: id })).status).toBe(200);
    expect((await route('alice', recordId, pharmacyB.organisationId)).status).toBe(200);
    expect((await fetchRx('pharmacistB', { prescription: id })).status).toBe(200);
    const results = await Promise.all([dispense('pharmacistA', id, 30), dispense('pharmacistB', id, 30)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const loser = results.find((r) => r.status === 409)!;
    expect(loser.text).toMatch(/every fill of the prescription was dispensed|refused in its block/);
    expect((await mine('alice')).find((p) => p.prescription === id)).toMatchObject({
      fillsUsed: 1,
      status: 'completed',
    });
  });
});
