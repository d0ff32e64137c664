/**
 * Controlled-substance monitoring across organisations, between real nodes on one real chain: a hospital and a
 * clinic (each prescribes an opioid to the same patient), two pharmacies (each dispenses one) and a regulator
 * (sets the consortium's monitoring policy on-chain). The hospital's doctor and a pharmacist see every
 * prescription and dispense with the risk signals; with the policy off nothing comes from others; callers the
 * rule does not allow are refused; the answering nodes audit in the patient's log; a non-controlled medication
 * never leaves its node; the logs hold no patient data. Medications come from external data (Synthea).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
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
import { decodePublicKeyBundle, Keystore } from '@medledger/crypto';
import {
  createWorkflowRequest,
  OrganisationKeys,
  openWorkflowResponse,
  type WorkflowPayload,
} from '@medledger/exchange';
import { type AccountId, createPatientKeys, type PatientKeys } from '@medledger/identity';
import { type Address, encodeFunctionData, type Hex, keccak256, toHex, zeroAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATIENT_PSEUDONYM_SYSTEM } from '../src/access/PatientLinks.js';
import { type LocalConsortium, startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import { personApiToken, registerTokenApp } from '../src/consortium/personSignIn.js';
import { consecutiveFreePorts } from '../src/exchange/exchangeScenario.js';
import type { RunningNode } from '../src/Node.js';
import { SHARED, syntheaBundle, TEST_BLOCK_TIME, TEST_START_OPTIONS, until } from './helpers.js';

type Response = { status: number; body: Record<string, any>; text: string };
type Who = { node: RunningNode; token: string };

/** The CommonJS `fs` object pino's writer calls through (patched to capture what the nodes log). */
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
const DAY = 86_400;
const PASSPHRASE = 'monitoring test passphrase';
const PATH = '/fhir/$controlled-substance-history';

/** A Synthea opioid: oxycodone 5 mg / acetaminophen 325 mg tablets (Schedule II, 7.5 MME a tablet). */
const oxycodone = (() => {
  const bundle = syntheaBundle('Chet_Thompson_eda17701-070d-4fae-9f7d-c8cd6263b63a.json');
  const found = (bundle.entry as { resource: Record<string, any> }[]).find(
    (e) =>
      e.resource.resourceType === 'MedicationRequest' &&
      /oxycodone/i.test(JSON.stringify(e.resource.medicationCodeableConcept ?? {})),
  );
  return found!.resource.medicationCodeableConcept as Record<string, any>;
})();

/** A Synthea MedicationRequest's medication that is not controlled (lisinopril). */
const lisinopril = (() => {
  const line = readFileSync(
    new URL('synthea/bulk-ndjson-10-patients/MedicationRequest.000.ndjson', SHARED),
    'utf8',
  )
    .split('\n')
    .find((l) => /lisinopril/i.test(l))!;
  return (JSON.parse(line) as { medicationCodeableConcept: Record<string, any> }).medicationCodeableConcept;
})();

describe('controlled-substance monitoring across organisations', () => {
  let dir: string;
  let consortium: LocalConsortium;
  let hospital: RunningNode;
  let clinic: RunningNode;
  let pharmacyA: RunningNode;
  let pharmacyB: RunningNode;
  let regulator: RunningNode;
  const who: Record<string, Who> = {};
  const members: Record<string, Address> = {};
  const logs: string[] = [];
  const realWrite = fs.write;
  const realWriteSync = fs.writeSync;
  let keys: PatientKeys;
  const patientIds: Record<string, string> = {};
  const rx: Record<string, { id: Hex; recordId: string }> = {};

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
  const admin = (node: RunningNode): Who => ({
    node,
    token: readFileSync(node.adminTokenFile!, 'utf8').trim(),
  });

  const send = async (
    node: RunningNode,
    contract: 'ConsortiumRegistry' | 'Prescriptions',
    fn: string,
    args: unknown[],
  ) => {
    const tx = await node.ledger.sendCall({
      to: node.ledger.deployment.contracts[contract]!.address,
      data: encodeFunctionData({
        abi: contract === 'Prescriptions' ? prescriptionsAbi : consortiumRegistryAbi,
        functionName: fn,
        args,
      } as never),
    });
    expect((await node.ledger.waitForReceipt(tx.hash)).status).toBe('success');
  };

  const staff = async (node: RunningNode, username: string, role: string) => {
    const created = await call(admin(node), 'POST', '/admin/accounts', {
      username,
      displayName: username,
      role,
      password: 'quiet meadow compass for the ward 7',
    });
    expect(created.status).toBe(201);
    const { token } = await personApiToken(node, created.body.account.id as AccountId, { label: 'rx' });
    who[username] = { node, token };
    members[username] = created.body.account.memberAddress as Address;
    return members[username]!;
  };

  /** The same patient (one ledger pseudonym) at a prescriber's node: record, account, treatment consent. */
  const patientAt = async (node: RunningNode, name: string) => {
    const created = await call(admin(node), 'POST', '/fhir/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: PATIENT_PSEUDONYM_SYSTEM, value: keys.pseudonym }],
      name: [{ family: 'Monitored', given: ['Dana'] }],
      birthDate: '1961-04-05',
    });
    expect(created.status).toBe(201);
    const account = await node.accounts.createAccount({
      username: name,
      displayName: name,
      role: 'patient',
      organisation: node.organisationId,
      patient: { fhirId: created.body.id, pseudonym: keys.pseudonym },
    });
    who[name] = { node, token: (await personApiToken(node, account.id as AccountId, { label: 'rx' })).token };
    const now = Math.floor(Date.now() / 1000);
    const terms = {
      patient: keys.pseudonym as Hex,
      grantee: node.organisationId,
      granteeMember: zeroAddress,
      actions: (1 << Action.Read) | (1 << Action.Write),
      resourceClasses: categoryMask(DataCategory.Medications, DataCategory.Demographics),
      purposes: 1 << Purpose.Treatment,
      validFrom: now - 60,
      validUntil: now + 60 * DAY,
      dataFrom: 0,
      dataUntil: 0,
      nonce: BigInt(now) * 1000n + BigInt(node.organisationId),
    };
    const domain = {
      chainId: node.ledger.chainId,
      verifyingContract: node.ledger.deployment.contracts.ConsentManager.address,
    };
    const deadline = BigInt(now + 600);
    const { signature } = await keys.signConsent(terms, domain, deadline);
    const relayed = await new ConsentRelayer(node.ledger, { index: node.consent }).grant({
      terms,
      deadline,
      signature,
    });
    await node.consent.waitForBlock(relayed.blockNumber);
    patientIds[name] = created.body.id as string;
  };

  /** An order at `node` by `doctor`: tablets every `hours` hours, `days` days' supply, one fill. */
  const prescribe = async (
    doctor: string,
    patient: string,
    medication: unknown,
    tablets: number,
    hours: number,
    days: number,
  ) => {
    const now = Date.now();
    const r = await call(who[doctor]!, 'POST', '/fhir/MedicationRequest/$prescribe', {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: `Patient/${patientIds[patient]}` },
      medicationCodeableConcept: medication,
      dosageInstruction: [
        {
          text: `${tablets} tablet(s) every ${hours} hours`,
          timing: { repeat: { frequency: 1, period: hours, periodUnit: 'h' } },
          doseAndRate: [{ doseQuantity: { value: tablets, unit: 'tablet' } }],
        },
      ],
      dispenseRequest: {
        validityPeriod: {
          start: new Date(now - 60_000).toISOString(),
          end: new Date(now + 30 * DAY * 1000).toISOString(),
        },
        numberOfRepeatsAllowed: 0,
        quantity: { value: (tablets * 24 * days) / hours, unit: 'tablet' },
        expectedSupplyDuration: { value: days, unit: 'd', system: 'http://unitsofmeasure.org', code: 'd' },
      },
    });
    expect(r.status, r.text).toBe(201);
    const param = (name: string) => r.body.parameter?.find((p: { name: string }) => p.name === name);
    return {
      id: param('prescription')?.valueString as Hex,
      recordId: param('resource')?.resource?.id as string,
    };
  };

  /** Routed by the patient, fetched and dispensed by the pharmacy. */
  const fill = async (patient: string, prescription: { id: Hex; recordId: string }, pharmacist: string) => {
    const pharmacy = who[pharmacist]!.node;
    const routed = await call(
      who[patient]!,
      'POST',
      `/fhir/MedicationRequest/${prescription.recordId}/$route`,
      {
        pharmacy: pharmacy.organisationId,
      },
    );
    expect(routed.status).toBe(200);
    await until('the routed prescription in the queue', async () =>
      (
        (await call(who[pharmacist]!, 'GET', '/pharmacy/queue')).body.queue as { prescription: string }[]
      ).find((q) => q.prescription === prescription.id),
    );
    expect(
      (
        await call(who[pharmacist]!, 'POST', '/pharmacy/prescriptions/$fetch', {
          prescription: prescription.id,
        })
      ).status,
    ).toBe(200);
    const dispensed = await call(
      who[pharmacist]!,
      'POST',
      `/pharmacy/prescriptions/${prescription.id}/$dispense`,
      {
        quantity: 30,
        daysSupply: 5,
      },
    );
    expect(dispensed.status, dispensed.text).toBe(201);
  };

  const history = (caller: string, patient: unknown) =>
    call(who[caller]!, 'POST', PATH, {
      resourceType: 'Parameters',
      parameter: [{ name: 'patient', ...(patient as object) }],
    });
  const byReference = (name: string) => ({ valueReference: { reference: `Patient/${patientIds[name]}` } });
  const byPseudonym = () => ({
    valueIdentifier: { system: PATIENT_PSEUDONYM_SYSTEM, value: keys.pseudonym },
  });
  const resources = (r: Response, type: string) =>
    (r.body.entry as { resource: Record<string, any> }[])
      .map((e) => e.resource)
      .filter((x) => x.resourceType === type);
  const sources = (list: Record<string, any>[]) => list.map((x) => Number(x.meta.tag[0].code)).sort();
  const signalCodes = (r: Response) =>
    resources(r, 'DetectedIssue').map(
      (i) => i.code.coding.find((c: { system: string }) => c.system === 'urn:medledger:rx-signal').code,
    );
  const keysOf = () => keys.pseudonym as string;
  const setPolicy = (enabled: boolean, days: number) =>
    send(regulator, 'Prescriptions', 'setMonitoringPolicy', [enabled, days]);

  beforeAll(async () => {
    const capture = (fd: number, data: unknown) => {
      if (fd !== 1) return false;
      logs.push(typeof data === 'string' ? data : Buffer.from(data as Uint8Array).toString('utf8'));
      return true;
    };
    (fs as any).write = (fd: number, data: unknown, ...rest: any[]) => {
      if (!capture(fd, data)) return (realWrite as any)(fd, data, ...rest);
      const cb = rest.find((r) => typeof r === 'function');
      cb?.(null, typeof data === 'string' ? Buffer.byteLength(data) : (data as Uint8Array).length);
    };
    (fs as any).writeSync = (fd: number, data: unknown, ...rest: any[]) => {
      if (!capture(fd, data)) return (realWriteSync as any)(fd, data, ...rest);
      return typeof data === 'string' ? Buffer.byteLength(data) : (data as Uint8Array).length;
    };

    dir = mkdtempSync(join(tmpdir(), 'medledger-monitoring-'));
    consortium = await startLocalConsortium({
      dir,
      members: [
        { name: 'hospital', kind: 'hospital' },
        { name: 'clinic', kind: 'clinic' },
        { name: 'pharmacy-a', kind: 'pharmacy' },
        { name: 'pharmacy-b', kind: 'pharmacy' },
        { name: 'regulator', kind: 'regulator' },
      ],
      basePort: await consecutiveFreePorts(5),
      keystorePassphrase: PASSPHRASE,
      logLevel: 'info',
      blockTime: TEST_BLOCK_TIME,
      startOptions: TEST_START_OPTIONS,
    });
    [hospital, clinic, pharmacyA, pharmacyB, regulator] = consortium.nodes.map((n) => n.node) as [
      RunningNode,
      RunningNode,
      RunningNode,
      RunningNode,
      RunningNode,
    ];
    for (const node of [hospital, clinic, pharmacyA, pharmacyB]) {
      await registerTokenApp(new URL(node.fhirUrl).origin, admin(node).token);
    }
    const year = Math.floor(Date.now() / 1000) + 365 * DAY;
    for (const [node, name] of [
      [hospital, 'doctor'],
      [clinic, 'clinician'],
      [hospital, 'unregistered'],
    ] as const) {
      const member = await staff(node, name, 'doctor');
      await send(regulator, 'ConsortiumRegistry', 'issueLicence', [
        member,
        keccak256(toHex(`licence ${name}`)),
        year,
      ]);
      if (name !== 'unregistered') {
        await send(regulator, 'Prescriptions', 'issueControlledRegistration', [
          member,
          scheduleMask(Schedule.II),
          year,
          keccak256(toHex(`DEA registration ${name}`)),
        ]);
      }
    }
    await staff(hospital, 'nurse', 'nurse');
    await staff(pharmacyA, 'pharmacistA', 'pharmacist');
    await staff(pharmacyB, 'pharmacistB', 'pharmacist');
    keys = createPatientKeys('monitored patient passphrase', { scrypt: { N: 2 ** 14, r: 8, p: 1 } });
    await patientAt(hospital, 'dana');
    await patientAt(clinic, 'dana-at-clinic');

    // Hospital: 1 tablet every 4 h (45 MME/day); clinic: 2 tablets every 6 h (60 MME/day) — overlapping.
    rx.hospital = await prescribe('doctor', 'dana', oxycodone, 1, 4, 5);
    rx.clinic = await prescribe('clinician', 'dana-at-clinic', oxycodone, 2, 6, 5);
    rx.lisinopril = await prescribe('clinician', 'dana-at-clinic', lisinopril, 1, 24, 5);
    await fill('dana', rx.hospital, 'pharmacistA');
    await fill('dana-at-clinic', rx.clinic, 'pharmacistB');
    await setPolicy(true, 90);
  }, 600_000);

  afterAll(async () => {
    await consortium?.stop();
    (fs as any).write = realWrite;
    (fs as any).writeSync = realWriteSync;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the prescriber sees both organisations’ prescriptions, both pharmacies’ dispenses and the signals', async () => {
    const r = await history('doctor', byReference('dana'));
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    const requests = resources(r, 'MedicationRequest');
    const dispenses = resources(r, 'MedicationDispense');
    expect(sources(requests)).toEqual([hospital.organisationId, clinic.organisationId].sort());
    expect(sources(dispenses)).toEqual([pharmacyA.organisationId, pharmacyB.organisationId].sort());
    expect(requests.map((q) => q.identifier[0].value).sort()).toEqual(
      [rx.hospital!.id, rx.clinic!.id].sort(),
    );
    // Each dispense is linked to its prescription in the merged set.
    for (const d of dispenses) {
      expect(requests.map((q) => `MedicationRequest/${q.id}`)).toContain(
        d.authorizingPrescription[0].reference,
      );
    }
    // Stripped: no patient reference, no free-text notes.
    expect(requests.every((q) => q.subject.reference === undefined && q.note === undefined)).toBe(true);
    const codes = signalCodes(r);
    expect(codes).toContain('RX_OPIOID_OVERLAP_PRESCRIBERS');
    expect(codes).toContain('RX_OPIOID_MME_HIGH');
    const high = resources(r, 'DetectedIssue').find((i) =>
      i.code.coding.some((c: any) => c.code === 'RX_OPIOID_MME_HIGH'),
    )!;
    expect(high.patient.reference).toBe(`Patient/${patientIds.dana}`);
    const outcome = resources(r, 'OperationOutcome')[0]!;
    expect(outcome.issue).toEqual([
      { severity: 'information', code: 'informational', diagnostics: 'every organisation answered' },
    ]);
  });

  it('a pharmacist asks by ledger pseudonym and sees the same history', async () => {
    const r = await history('pharmacistA', byPseudonym());
    expect(r.status, r.text).toBe(200);
    expect(sources(resources(r, 'MedicationRequest'))).toEqual(
      [hospital.organisationId, clinic.organisationId].sort(),
    );
    expect(sources(resources(r, 'MedicationDispense'))).toEqual(
      [pharmacyA.organisationId, pharmacyB.organisationId].sort(),
    );
    expect(signalCodes(r)).toContain('RX_OPIOID_MME_HIGH');
  });

  it('non-controlled medications never leave a node', async () => {
    const r = await history('doctor', byReference('dana'));
    expect(r.text).not.toMatch(/lisinopril/i);
    expect(r.text).not.toContain(rx.lisinopril!.id);
  });

  it('refuses callers the rule does not allow, and malformed Parameters', async () => {
    for (const caller of ['unregistered', 'nurse', 'dana']) {
      const r = await history(caller, byReference('dana'));
      expect(r.status, caller).toBe(403);
    }
    const bad = [
      {},
      { resourceType: 'Parameters', parameter: [] },
      { resourceType: 'Parameters', parameter: [{ name: 'patient', valueString: 'x' }] },
      {
        resourceType: 'Parameters',
        parameter: [
          { name: 'patient', valueIdentifier: { system: PATIENT_PSEUDONYM_SYSTEM, value: '0x12' } },
        ],
      },
      {
        resourceType: 'Parameters',
        parameter: [{ name: 'patient', valueReference: { reference: 'Observation/1' } }],
      },
      { resourceType: 'Parameters', parameter: [{ name: 'other', valueString: 'x' }] },
    ];
    for (const body of bad) {
      const r = await call(who.doctor!, 'POST', PATH, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    // A patient the doctor's node does not know, by pseudonym: nothing anywhere (the same as none).
    const stranger = createPatientKeys('a stranger passphrase', { scrypt: { N: 2 ** 14, r: 8, p: 1 } });
    const r = await history('doctor', {
      valueIdentifier: { system: PATIENT_PSEUDONYM_SYSTEM, value: stranger.pseudonym },
    });
    expect(r.status).toBe(200);
    expect(resources(r, 'MedicationRequest')).toEqual([]);
    expect(resources(r, 'MedicationDispense')).toEqual([]);
  });

  it('the answering node applies the rule itself: members it must not serve get what an unknown patient gets', async () => {
    // Speak as the hospital's node directly (its own keys, from its keystore), bypassing its checks.
    const bundle = Keystore.open(readFileSync(hospital.keystorePath, 'utf8'), PASSPHRASE).active();
    const orgKeys = OrganisationKeys.fromKeyBundle(hospital.organisationId, bundle);
    const clinicBundle = decodePublicKeyBundle(
      new Uint8Array(await (await fetch(`${clinic.fhirUrl}/.well-known/medledger-key-bundle`)).arrayBuffer()),
    );
    const ask = async (member: string, pseudonym: string) => {
      const { bytes, request } = createWorkflowRequest({
        requester: orgKeys,
        recipient: { organisation: clinic.organisationId, bundle: clinicBundle },
        kind: 'controlled-substance-history',
        payload: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'patient', valueIdentifier: { system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym } },
            { name: 'member', valueString: member },
          ],
        } as unknown as WorkflowPayload,
      });
      const res = await fetch(`${clinic.fhirUrl}/$exchange-workflow`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(bytes),
      });
      expect(res.status).toBe(200);
      const answer = new Uint8Array(await res.arrayBuffer());
      const opened = openWorkflowResponse(answer, {
        requester: orgKeys,
        request,
        recipientBundle: clinicBundle,
      });
      return { size: answer.length, status: opened.status, payload: opened.payload };
    };
    try {
      const allowed = await ask(members.doctor!, keysOf());
      expect(allowed.status).toBe('ok');
      expect((allowed.payload as any).entry.length).toBe(1); // the clinic's own oxycodone order
      const stranger = createPatientKeys('another stranger passphrase', {
        scrypt: { N: 2 ** 14, r: 8, p: 1 },
      });
      const unknown = await ask(members.doctor!, stranger.pseudonym);
      // Not registered for controlled substances; a nurse; the clinic's own clinician named by the hospital.
      for (const member of [members.unregistered!, members.nurse!, members.clinician!]) {
        const refused = await ask(member, keysOf() as string);
        expect(refused).toEqual(unknown);
      }
      expect(unknown.payload).toEqual({ resourceType: 'Bundle', type: 'collection', entry: [] });
    } finally {
      orgKeys.destroy();
    }
  });

  it('the answering nodes audit the call in the patient’s log, naming the requester and the purpose', async () => {
    const origin = clinic.fhirUrl.replace(/\/fhir$/, '');
    const res = await fetch(`${origin}/audit/events?_count=1000`, {
      headers: { authorization: `Bearer ${admin(clinic).token}` },
    });
    const events = ((await res.json()) as { entries: { event: Record<string, any> }[] }).entries.map(
      (e) => e.event,
    );
    const monitoring = events.filter((e) =>
      JSON.stringify(e.agent).includes('controlled-substance monitoring'),
    );
    expect(monitoring.length).toBeGreaterThan(0);
    const forDana = monitoring.find((e) => (e.entity ?? []).some((x: any) => x.role?.code === '1'));
    expect(forDana).toBeDefined();
    const agents = JSON.stringify(forDana!.agent);
    expect(agents).toContain(String(hospital.organisationId));
    expect(agents).toContain(members.doctor!.toLowerCase());
    expect(forDana!.outcome).toBe('0');
    // The patient sees it in their own access log at the clinic.
    const mine = await call(
      who['dana-at-clinic']!,
      'GET',
      `/audit/patients/${patientIds['dana-at-clinic']}/events?_count=200`,
    );
    expect(mine.status).toBe(200);
    expect(mine.text).toContain('controlled-substance monitoring');
  });

  it('with the policy off, other organisations share nothing (the same answer as for no record)', async () => {
    await setPolicy(false, 90);
    try {
      const r = await history('doctor', byReference('dana'));
      expect(r.status).toBe(200);
      expect(sources(resources(r, 'MedicationRequest'))).toEqual([hospital.organisationId]);
      expect(resources(r, 'MedicationDispense')).toEqual([]);
      expect(signalCodes(r)).not.toContain('RX_OPIOID_OVERLAP_PRESCRIBERS');
      expect(JSON.stringify(resources(r, 'OperationOutcome'))).toContain('monitoring policy is off');
    } finally {
      await setPolicy(true, 90);
    }
  });

  it('logs name counts and organisations — never the patient or a drug', () => {
    const text = logs.join('');
    expect(text).toContain('controlled-substance history');
    expect(text).not.toContain(keys.pseudonym);
    expect(text).not.toMatch(/oxycodone/i);
    expect(text).not.toContain('Monitored');
  });
});
