/**
 * Insurance eligibility between real nodes over HTTP, on one real chain: a pharmacy's pharmacist asks the
 * patient's insurer whether a drug is covered. The insurer node holds a Synthea patient (shared/data), two
 * synthetic Coverage records built the way the prescriptions tests build them (from the Coverage Synthea embeds
 * in its ExplanationOfBenefits) and a small US Drug Formulary; it answers from them with a
 * CoverageEligibilityResponse. A hospital node stands for an organisation that is not an insurer.
 *
 * Covered: the consent rule (no Payment consent → 403, nothing sent), active and cancelled coverage, by
 * reference and by the card's identifier, formulary tier and prior authorisation, a drug not on the formulary,
 * an unknown patient answered exactly like an unknown coverage, a non-insurer refusing uniformly, malformed
 * Parameters and callers without the role (nothing sent, nothing changes), forged bytes at the insurer, both
 * audit trails under one request id, and no patient data on the wire or in the logs.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsentRelayer } from '@medledger/consent';
import { Action, Purpose } from '@medledger/contracts';
import { categoryMask, DataCategory } from '@medledger/core';
import { decodePublicKeyBundle, Keystore } from '@medledger/crypto';
import {
  createWorkflowRequest,
  OrganisationKeys,
  openWorkflowResponse,
  type WorkflowPayload,
} from '@medledger/exchange';
import { type AccountId, createPatientKeys, type PatientKeys, type Role } from '@medledger/identity';
import {
  EligibilityError,
  USDF_DRUG_TIER,
  USDF_DRUG_TIER_SYSTEM,
  USDF_PLAN_ID,
  USDF_PRIOR_AUTHORIZATION,
  USDF_QUANTITY_LIMIT,
  USDF_STEP_THERAPY,
} from '@medledger/prescriptions';
import { type Hex, zeroAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATIENT_PSEUDONYM_SYSTEM } from '../src/access/PatientLinks.js';
import type { LocalConsortium } from '../src/consortium/LocalConsortium.js';
import { startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import { personApiToken, registerTokenApp } from '../src/consortium/personSignIn.js';
import { consecutiveFreePorts } from '../src/exchange/exchangeScenario.js';
import { WORKFLOW_REQUEST_SYSTEM } from '../src/exchange/workflowFeature.js';
import type { RunningNode } from '../src/Node.js';
import { syntheaBundle, TEST_BLOCK_TIME, TEST_START_OPTIONS } from './helpers.js';

/** The CommonJS `fs` object pino's writer calls through (patched to capture what the nodes log). */
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
const PASSPHRASE = 'eligibility test passphrase';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const BUNDLE = 'Chet_Thompson_eda17701-070d-4fae-9f7d-c8cd6263b63a';
const PLAN = 'private-standard';
const MEMBER_ID_SYSTEM = 'urn:example:insurer-member-id';
const OXYCODONE = '1049221'; // on every plan: tier generic, prior authorisation
const AMOXICILLIN = '562251'; // on this plan: tier preferred-generic
const NITROGLYCERIN = '705129'; // only on another plan

type Resource = Record<string, any>;

interface Captured {
  url: string;
  request: Uint8Array;
  status: number;
  response: Uint8Array;
}

function formularyDrug(code: string, o: { tier: string; pa?: boolean; plan?: string; copay?: number }) {
  return {
    resourceType: 'MedicationKnowledge',
    status: 'active',
    extension: [
      ...(o.plan === undefined ? [] : [{ url: USDF_PLAN_ID, valueString: o.plan }]),
      {
        url: USDF_DRUG_TIER,
        valueCodeableConcept: { coding: [{ system: USDF_DRUG_TIER_SYSTEM, code: o.tier }] },
      },
      { url: USDF_PRIOR_AUTHORIZATION, valueBoolean: o.pa ?? false },
      { url: USDF_STEP_THERAPY, valueBoolean: false },
      { url: USDF_QUANTITY_LIMIT, valueBoolean: false },
    ],
    code: { coding: [{ system: RXNORM, code }] },
    ...(o.copay === undefined
      ? {}
      : {
          cost: [
            {
              type: {
                coding: [{ system: 'http://terminology.hl7.org/CodeSystem/benefit-type', code: 'copay' }],
              },
              cost: { value: o.copay, currency: 'USD' },
            },
          ],
        }),
  };
}

describe('insurance eligibility between nodes', () => {
  let dir: string;
  let consortium: LocalConsortium;
  let pharmacy: RunningNode;
  let insurer: RunningNode;
  let hospital: RunningNode;
  const tokens: Partial<Record<Role | 'admin', string>> = {};
  let patientKeys: PatientKeys;
  let pseudonym: Hex;
  let stranger: PatientKeys; // a patient the insurer does not know
  let synthea: Resource[];
  let oxycodoneOrder: Resource;
  let serviceDate: string;
  const ids = { patient: '', active: '', cancelled: '' };
  const wire: Captured[] = [];
  const logs: string[] = [];
  const realFetch = globalThis.fetch;
  const realWrite = fs.write;
  const realWriteSync = fs.writeSync;
  let nonce = BigInt(Date.now());

  const adminOf = (node: RunningNode) => readFileSync(node.adminTokenFile!, 'utf8').trim();
  const fhir = async (node: RunningNode, method: string, path: string, body?: unknown) => {
    const res = await realFetch(`${node.fhirUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminOf(node)}`, 'content-type': 'application/fhir+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Resource;
    if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}`);
    return json;
  };
  const eligibility = async (token: string, body: unknown) => {
    const res = await realFetch(`${pharmacy.fhirUrl}/$coverage-eligibility`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Resource };
  };
  const params = (
    o: { insurer?: unknown; patient?: Hex; coverage?: Resource; drug?: Resource; extra?: Resource[] } = {},
  ) => ({
    resourceType: 'Parameters',
    parameter: [
      {
        name: 'insurer',
        ...(o.insurer ? (o.insurer as Resource) : { valueInteger: insurer.organisationId }),
      },
      {
        name: 'patient',
        valueIdentifier: { system: PATIENT_PSEUDONYM_SYSTEM, value: o.patient ?? pseudonym },
      },
      { name: 'coverage', ...(o.coverage ?? { valueReference: { reference: `Coverage/${ids.active}` } }) },
      o.drug ?? { name: 'medicationRequest', resource: oxycodoneOrder },
      { name: 'date', valueDate: serviceDate },
      ...(o.extra ?? []),
    ],
  });
  const replayRows = async (node: RunningNode) =>
    Number(
      (await node.db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM exchange_replay')).rows[0]!.n,
    );
  const grant = async (keys: PatientKeys, grantee: number, categories: DataCategory[]) => {
    const relayer = new ConsentRelayer(insurer.ledger, { index: insurer.consent });
    const domain = {
      chainId: insurer.ledger.chainId,
      verifyingContract: insurer.ledger.deployment.contracts.ConsentManager.address,
    };
    const now = Math.floor(Date.now() / 1000);
    const terms = {
      patient: keys.pseudonym as Hex,
      grantee,
      granteeMember: zeroAddress,
      actions: 1 << Action.Read,
      resourceClasses: categoryMask(...categories),
      purposes: 1 << Purpose.Payment,
      validFrom: now - 60,
      validUntil: now + 24 * 3600,
      dataFrom: 0,
      dataUntil: 0,
      nonce: nonce++,
    };
    const deadline = BigInt(now + 600);
    const { signature } = await keys.signConsent(terms, domain, deadline);
    return (await relayer.grant({ terms, deadline, signature })).consentId;
  };
  const auditEvents = async (node: RunningNode, requestId: string) => {
    const origin = node.fhirUrl.replace(/\/fhir$/, '');
    const res = await realFetch(`${origin}/audit/events?_count=1000`, {
      headers: { authorization: `Bearer ${adminOf(node)}` },
    });
    const body = (await res.json()) as { entries: { event: Resource }[] };
    return body.entries.map((e) => e.event).filter((e) => JSON.stringify(e.entity ?? []).includes(requestId));
  };
  const requestIdOf = (event: Resource | undefined) =>
    (event?.entity as Resource[] | undefined)?.find(
      (e) => e.what?.identifier?.system === WORKFLOW_REQUEST_SYSTEM,
    )?.what.identifier.value as string | undefined;

  beforeAll(async () => {
    // Capture what the nodes log (pino writes to fd 1 through fs.write / fs.writeSync).
    const capture = (fd: number, data: unknown) => {
      if (fd !== 1) return false;
      logs.push(typeof data === 'string' ? data : Buffer.from(data as Uint8Array).toString('utf8'));
      return true;
    };
    (fs as any).write = (fd: number, data: unknown, ...rest: any[]) => {
      if (!capture(fd, data)) return (realWrite as any)(fd, data, ...rest);
      const cb = rest.find((r) => typeof r === 'function');
      const n = typeof data === 'string' ? Buffer.byteLength(data) : (data as Uint8Array).length;
      cb?.(null, n);
    };
    (fs as any).writeSync = (fd: number, data: unknown, ...rest: any[]) => {
      if (!capture(fd, data)) return (realWriteSync as any)(fd, data, ...rest);
      return typeof data === 'string' ? Buffer.byteLength(data) : (data as Uint8Array).length;
    };

    dir = mkdtempSync(join(tmpdir(), 'medledger-eligibility-'));
    consortium = await startLocalConsortium({
      dir,
      members: [
        { name: 'pharmacy', kind: 'pharmacy' },
        { name: 'insurer', kind: 'insurer' },
        { name: 'hospital', kind: 'hospital' },
      ],
      basePort: await consecutiveFreePorts(3),
      keystorePassphrase: PASSPHRASE,
      logLevel: 'info',
      blockTime: TEST_BLOCK_TIME,
      startOptions: TEST_START_OPTIONS,
    });
    [pharmacy, insurer, hospital] = consortium.nodes.map((n) => n.node) as [
      RunningNode,
      RunningNode,
      RunningNode,
    ];

    await registerTokenApp(new URL(pharmacy.fhirUrl).origin, adminOf(pharmacy));
    for (const role of ['pharmacist', 'doctor', 'nurse'] as const) {
      const account = await pharmacy.accounts.createAccount({
        username: `${role}-eligibility`,
        displayName: `Eligibility ${role}`,
        role,
        organisation: pharmacy.organisationId,
      });
      tokens[role] = (
        await personApiToken(pharmacy, account.id as AccountId, { label: 'eligibility' })
      ).token;
    }
    tokens.admin = adminOf(pharmacy);

    // The insurer's records: the Synthea patient (linked to its ledger pseudonym), two coverages, a formulary.
    synthea = (syntheaBundle(`${BUNDLE}.json`).entry as { resource: Resource }[]).map((e) => e.resource);
    const person = synthea.find((r) => r.resourceType === 'Patient')!;
    oxycodoneOrder = synthea.find(
      (r) => r.resourceType === 'MedicationRequest' && JSON.stringify(r).includes(`"${OXYCODONE}"`),
    )!;
    const eobs = synthea.filter((r) => r.resourceType === 'ExplanationOfBenefit');
    const embedded = eobs[0]!.contained.find((c: Resource) => c.resourceType === 'Coverage');
    const period = {
      start: eobs.map((e) => e.billablePeriod.start as string).sort()[0],
      end: eobs
        .map((e) => e.billablePeriod.end as string)
        .sort()
        .at(-1),
    };
    serviceDate = String(period.end).slice(0, 10);

    const scrypt = { scrypt: { N: 2 ** 14, r: 8, p: 1 } };
    patientKeys = createPatientKeys('eligibility patient passphrase', scrypt);
    stranger = createPatientKeys('eligibility stranger passphrase', scrypt);
    pseudonym = patientKeys.pseudonym as Hex;
    const patient = await fhir(insurer, 'POST', '/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym }],
      name: person.name,
      gender: person.gender,
      birthDate: person.birthDate,
    });
    ids.patient = patient.id;
    const coverage = (status: string, memberId: string) => ({
      resourceType: 'Coverage',
      status,
      type: embedded.type,
      identifier: [{ system: MEMBER_ID_SYSTEM, value: memberId }],
      beneficiary: { reference: `Patient/${ids.patient}` },
      payor: embedded.payor,
      period,
      class: [
        {
          type: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'plan' }],
          },
          value: PLAN,
        },
      ],
    });
    ids.active = (await fhir(insurer, 'POST', '/Coverage', coverage('active', 'M-1001'))).id;
    ids.cancelled = (await fhir(insurer, 'POST', '/Coverage', coverage('cancelled', 'M-0999'))).id;
    for (const drug of [
      formularyDrug(OXYCODONE, { tier: 'generic', pa: true, copay: 10 }),
      formularyDrug(AMOXICILLIN, { tier: 'preferred-generic', plan: PLAN, copay: 0 }),
      formularyDrug(NITROGLYCERIN, { tier: 'brand', plan: 'another-plan' }),
    ]) {
      await fhir(insurer, 'POST', '/MedicationKnowledge', drug);
    }

    // Tap the node-to-node traffic (all nodes run in this process).
    globalThis.fetch = async (input, init) => {
      const res = await realFetch(input, init);
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith('/$exchange-workflow')) {
        wire.push({
          url,
          request: new Uint8Array(init?.body as Uint8Array),
          status: res.status,
          response: new Uint8Array(await res.clone().arrayBuffer()),
        });
      }
      return res;
    };
  }, 600_000);

  afterAll(async () => {
    globalThis.fetch = realFetch;
    await consortium?.stop();
    (fs as any).write = realWrite;
    (fs as any).writeSync = realWriteSync;
    rmSync(dir, { recursive: true, force: true });
  });

  it('without the patient’s Payment consent to the insurer, refuses with 403 and sends nothing', async () => {
    const before = { wire: wire.length, replay: await replayRows(insurer) };
    const r = await eligibility(tokens.pharmacist!, params());
    expect(r.status).toBe(403);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(r.body.issue[0].diagnostics).toMatch(/not consented/);
    expect(wire.length).toBe(before.wire);
    expect(await replayRows(insurer)).toBe(before.replay);
  });

  it('with consent: active coverage, on the formulary at tier generic, prior authorisation required', async () => {
    await grant(patientKeys, insurer.organisationId, [DataCategory.Medications]);
    const r = await eligibility(tokens.pharmacist!, params());
    expect(r.status).toBe(200);
    const res = r.body;
    expect(res.resourceType).toBe('CoverageEligibilityResponse');
    expect(res.outcome).toBe('complete');
    expect(res.patient).toEqual({ identifier: { system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym } });
    expect(res.insurer.identifier.value).toBe(String(insurer.organisationId));
    expect(res.insurance).toHaveLength(1);
    expect(res.insurance[0].coverage.reference).toBe(`Coverage/${ids.active}`);
    expect(res.insurance[0].inforce).toBe(true);
    const item = res.insurance[0].item[0];
    expect(item.excluded).toBe(false);
    expect(item.authorizationRequired).toBe(true);
    expect(item.productOrService.coding[0].code).toBe(OXYCODONE);
    const tier = item.extension.find((e: Resource) => e.url === USDF_DRUG_TIER);
    expect(tier.valueCodeableConcept.coding[0].code).toBe('generic');
    expect(item.benefit[0].allowedMoney).toEqual({ value: 10, currency: 'USD' });
    expect(res.disposition).toMatch(/prior authorization required/);

    // The request on the wire was one fixed-size sealed message and its answer a sealed 200; neither carries
    // the pseudonym, the drug or the patient's name.
    const last = wire.at(-1)!;
    expect(last.status).toBe(200);
    for (const bytes of [last.request, last.response]) {
      const text = Buffer.from(bytes).toString('latin1');
      for (const secret of [pseudonym.slice(2), OXYCODONE, 'Thompson', 'Coverage']) {
        expect(text).not.toContain(secret);
      }
    }

    // Both audit trails record the call under one request id: the insurer's (Export, the pharmacy as the
    // requesting organisation, the patient as subject) and the pharmacy's.
    const pharmacyEvents = await auditEvents(pharmacy, '');
    const mine = pharmacyEvents.filter((e) => requestIdOf(e) !== undefined).at(-1);
    const requestId = requestIdOf(mine)!;
    expect(requestId).toMatch(/^[0-9a-f]{64}$/);
    expect(mine?.outcome).toBe('0');
    expect(mine?.agent.map((a: Resource) => a.who?.identifier?.value)).toContain(
      String(insurer.organisationId),
    );
    const [answered] = await auditEvents(insurer, requestId);
    expect(answered?.type.code).toBe('110106');
    expect(answered?.outcome).toBe('0');
    expect(answered?.agent[0].who.identifier.value).toBe(String(pharmacy.organisationId));
    expect(answered?.agent[0].requestor).toBe(true);
    expect(JSON.stringify(answered?.entity)).toContain(requestId);
  });

  it('answers by the card’s member id: the cancelled coverage is not in force', async () => {
    const r = await eligibility(
      tokens.doctor!,
      params({ coverage: { valueIdentifier: { system: MEMBER_ID_SYSTEM, value: 'M-0999' } } }),
    );
    expect(r.status).toBe(200);
    expect(r.body.insurance[0].coverage.reference).toBe(`Coverage/${ids.cancelled}`);
    expect(r.body.insurance[0].inforce).toBe(false);
    expect(r.body.insurance[0].item).toBeUndefined();
    expect(r.body.error.map((e: Resource) => e.code.coding[0].code)).toEqual([
      EligibilityError.CoverageInactive,
    ]);
  });

  it('a drug on this plan’s formulary by RxNorm code: preferred generic, no prior authorisation', async () => {
    const r = await eligibility(
      tokens.pharmacist!,
      params({
        coverage: { valueIdentifier: { system: MEMBER_ID_SYSTEM, value: 'M-1001' } },
        drug: { name: 'medication', valueCoding: { system: RXNORM, code: AMOXICILLIN } },
        extra: [{ name: 'purpose', valueCode: 'auth-requirements' }],
      }),
    );
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('complete');
    expect(r.body.purpose).toEqual(['auth-requirements']);
    const item = r.body.insurance[0].item[0];
    expect(item.excluded).toBe(false);
    expect(item.authorizationRequired).toBe(false);
    expect(
      item.extension.find((e: Resource) => e.url === USDF_DRUG_TIER).valueCodeableConcept.coding[0].code,
    ).toBe('preferred-generic');
    expect(r.body.disposition).toBe('Coverage in force');
  });

  it('a drug only on another plan is not on this formulary', async () => {
    const r = await eligibility(
      tokens.pharmacist!,
      params({
        drug: {
          name: 'medication',
          valueCodeableConcept: { coding: [{ system: RXNORM, code: NITROGLYCERIN }] },
        },
      }),
    );
    expect(r.status).toBe(200);
    expect(r.body.insurance[0].inforce).toBe(true);
    expect(r.body.insurance[0].item[0].excluded).toBe(true);
    expect(r.body.error.map((e: Resource) => e.code.coding[0].code)).toEqual([
      EligibilityError.NotOnFormulary,
    ]);
    expect(r.body.disposition).not.toMatch(/^Coverage in force$/);
  });

  it('an unknown patient gets exactly the answer of an unknown coverage', async () => {
    await grant(stranger, insurer.organisationId, [DataCategory.Claims]);
    const unknownCoverage = await eligibility(
      tokens.pharmacist!,
      params({ coverage: { valueReference: { reference: 'Coverage/no-such-coverage' } } }),
    );
    const unknownPatient = await eligibility(
      tokens.pharmacist!,
      params({
        patient: stranger.pseudonym as Hex,
        coverage: { valueReference: { reference: 'Coverage/no-such-coverage' } },
      }),
    );
    const known = await eligibility(tokens.pharmacist!, params({ patient: stranger.pseudonym as Hex }));
    expect(unknownCoverage.status).toBe(200);
    expect(unknownPatient.status).toBe(200);
    expect(known.status).toBe(200);
    const shape = (r: Resource) => {
      const { created: _c, request: _r, patient: _p, ...rest } = r;
      return rest;
    };
    expect(shape(unknownCoverage.body)).toEqual(shape(unknownPatient.body));
    expect(unknownPatient.body.outcome).toBe('error');
    expect(unknownPatient.body.error.map((e: Resource) => e.code.coding[0].code)).toEqual([
      EligibilityError.UnknownCoverage,
    ]);
    expect(unknownPatient.body.insurance).toBeUndefined();
    // … and the stranger naming this patient's real coverage learns nothing more.
    expect(shape(known.body)).toEqual(shape(unknownCoverage.body));
  });

  it('an organisation that is not an insurer refuses uniformly (404), even with the patient’s consent', async () => {
    await grant(patientKeys, hospital.organisationId, [DataCategory.Medications]);
    const before = wire.length;
    const r = await eligibility(
      tokens.pharmacist!,
      params({ insurer: { valueInteger: hospital.organisationId } }),
    );
    expect(r.status).toBe(404);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(wire.length).toBe(before + 1);
    expect(wire.at(-1)!.status).toBe(200); // a signed, sealed refusal
    // The same request to the insurer, by its name in the directory, is answered.
    const named = await eligibility(
      tokens.pharmacist!,
      params({ insurer: { valueString: ` INSURER ${insurer.organisationId} ` } }),
    );
    expect(named.status).toBe(200);
    expect(named.body.insurance[0].inforce).toBe(true);
    const noSuch = await eligibility(
      tokens.pharmacist!,
      params({ insurer: { valueString: 'No Such Insurer' } }),
    );
    expect(noSuch.status).toBe(400);
    const inactive = await eligibility(tokens.pharmacist!, params({ insurer: { valueInteger: 999 } }));
    expect(inactive.status).toBe(403); // no consent names organisation 999: nothing is sent
    expect(wire.length).toBe(before + 2);
  });

  it('malformed Parameters are a 400 OperationOutcome; nothing is sent and nothing changes at the insurer', async () => {
    const before = { wire: wire.length, replay: await replayRows(insurer) };
    const p = params();
    const cases: unknown[] = [
      '{"resourceType":"Parameters","parameter":',
      { resourceType: 'Bundle' },
      { resourceType: 'Parameters', parameter: [{ name: 'surprise', valueString: 'x' }] },
      { ...p, parameter: p.parameter.filter((x: Resource) => x.name !== 'coverage') },
      { ...p, parameter: p.parameter.filter((x: Resource) => x.name !== 'medicationRequest') },
      params({ patient: '0xABC' as Hex }),
      params({ coverage: { valueReference: { reference: 'Patient/1' } } }),
      params({
        drug: { name: 'medication', valueCoding: { system: 'http://snomed.info/sct', code: '123' } },
      }),
      params({
        drug: {
          name: 'medicationRequest',
          resource: { resourceType: 'MedicationRequest', status: 'active' },
        },
      }),
      params({ extra: [{ name: 'purpose', valueCode: 'everything' }] }),
      {
        ...p,
        parameter: p.parameter.map((x: Resource) =>
          x.name === 'date' ? { name: 'date', valueDate: '1969-13-45' } : x,
        ),
      },
      { ...p, parameter: [...p.parameter, { name: 'date', valueDate: '1969-10-18' }] },
      params({ insurer: { valueInteger: pharmacy.organisationId } }),
    ];
    for (const body of cases) {
      const r = await eligibility(tokens.pharmacist!, body);
      expect(r.status).toBe(400);
      expect(r.body.resourceType).toBe('OperationOutcome');
      expect(JSON.stringify(r.body)).not.toContain(pseudonym.slice(2));
    }
    expect(wire.length).toBe(before.wire);
    expect(await replayRows(insurer)).toBe(before.replay);
  });

  it('callers without the role are refused (403) before anything is sent', async () => {
    const before = wire.length;
    for (const token of [tokens.nurse!, tokens.admin!]) {
      const r = await eligibility(token, params());
      expect(r.status).toBe(403);
      expect(r.body.resourceType).toBe('OperationOutcome');
    }
    const anonymous = await realFetch(`${pharmacy.fhirUrl}/$coverage-eligibility`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(params()),
    });
    expect(anonymous.status).toBe(401);
    expect(wire.length).toBe(before);
  });

  it('the insurer refuses replayed, tampered and foreign bytes without a sealed answer', async () => {
    const sent = wire.find((w) => w.url.startsWith(insurer.fhirUrl) && w.status === 200)!;
    const post = (bytes: Uint8Array) =>
      realFetch(`${insurer.fhirUrl}/$exchange-workflow`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(bytes),
      });
    const replayed = await post(sent.request);
    expect(replayed.status).toBe(401);
    expect((await replayed.json()).resourceType).toBe('OperationOutcome');
    const tampered = sent.request.slice();
    tampered[3000]! ^= 1;
    expect((await post(tampered)).status).toBe(401);
    expect((await post(new Uint8Array(100))).status).toBe(400);
  });

  it('the insurer answers an unknown kind with the uniform sealed error, and checks consent itself', async () => {
    // Speak as the pharmacy node directly (its own keys, from its keystore), bypassing its checks.
    const bundle = Keystore.open(readFileSync(pharmacy.keystorePath, 'utf8'), PASSPHRASE).active();
    const keys = OrganisationKeys.fromKeyBundle(pharmacy.organisationId, bundle);
    const insurerBundle = decodePublicKeyBundle(
      new Uint8Array(
        await (await realFetch(`${insurer.fhirUrl}/.well-known/medledger-key-bundle`)).arrayBuffer(),
      ),
    );
    const ask = async (kind: string, payload: WorkflowPayload) => {
      const { bytes, request } = createWorkflowRequest({
        requester: keys,
        recipient: { organisation: insurer.organisationId, bundle: insurerBundle },
        kind,
        payload,
      });
      const res = await realFetch(`${insurer.fhirUrl}/$exchange-workflow`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(bytes),
      });
      expect(res.status).toBe(200);
      const answer = new Uint8Array(await res.arrayBuffer());
      return {
        answer,
        opened: openWorkflowResponse(answer, { requester: keys, request, recipientBundle: insurerBundle }),
      };
    };
    try {
      const unknownKind = await ask('prior-authorisation', { resourceType: 'Parameters' });
      expect(unknownKind.opened.status).toBe('error');
      expect(unknownKind.opened.payload).toBeUndefined();
      // A patient who never consented to the insurer: the answer is the unknown-coverage one, as if the
      // insurer did not know them — the requester's own check was skipped, the insurer's was not.
      const unconsented = createPatientKeys('eligibility unconsented passphrase', {
        scrypt: { N: 2 ** 14, r: 8, p: 1 },
      });
      const cer = (patient: string, coverage: string) => ({
        resourceType: 'CoverageEligibilityRequest',
        id: 'direct-1',
        status: 'active',
        purpose: ['benefits', 'validation'],
        patient: { identifier: { system: PATIENT_PSEUDONYM_SYSTEM, value: patient } },
        servicedDate: serviceDate,
        created: new Date().toISOString(),
        insurer: {
          identifier: { system: 'urn:medledger:organisation', value: String(insurer.organisationId) },
        },
        insurance: [{ focal: true, coverage: { reference: coverage } }],
        item: [
          {
            category: { text: 'Pharmacy' },
            productOrService: { coding: [{ system: RXNORM, code: OXYCODONE }] },
          },
        ],
      });
      const refused = await ask('coverage-eligibility', cer(unconsented.pseudonym, `Coverage/${ids.active}`));
      const unknown = await ask('coverage-eligibility', cer(pseudonym, 'Coverage/no-such-coverage'));
      expect(refused.opened.status).toBe('ok');
      const shape = (r: Resource) => {
        const { created: _c, patient: _p, ...rest } = r;
        return rest;
      };
      expect(refused.opened.payload?.outcome).toBe('error');
      expect(shape(refused.opened.payload!)).toEqual(shape(unknown.opened.payload!));
      expect(refused.answer.length).toBe(unknown.answer.length);
      // The answer to a granted patient's real coverage differs: the check above is not vacuous.
      const granted = await ask('coverage-eligibility', cer(pseudonym, `Coverage/${ids.active}`));
      expect(granted.opened.payload?.outcome).toBe('complete');
    } finally {
      keys.destroy();
    }
  });

  it('logs name the call, the insurer and the outcome — never the patient, the drug or the coverage', () => {
    const text = logs.join('');
    expect(text).toContain('eligibility checked');
    expect(text).toContain('workflow call answered');
    for (const secret of [
      pseudonym,
      pseudonym.slice(2),
      'Thompson',
      'M-1001',
      'M-0999',
      OXYCODONE,
      AMOXICILLIN,
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
