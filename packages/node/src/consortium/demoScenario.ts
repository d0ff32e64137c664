/**
 * The demo walk-through, run against a local consortium over HTTP only — every step is what a
 * hospital's, a lab's or a patient's software would send:
 *
 *  1. each organisation's administrator creates its people (custodial member keys, registered on the ledger)
 *     with a first password and, for staff, a TOTP enrolment; each person signs in at their node's OpenID
 *     provider and mints their own API token (administrators mint none for anyone); the regulator licenses
 *     the doctor and the lab technician; the hospital registers a Synthea patient;
 *  2. the patient grants the lab access to observations (read and write, for treatment) — a FHIR Consent
 *     signed with the patient's own key and relayed to the ledger;
 *  3. the lab writes a result for the patient;
 *  4. the patient grants the hospital read access to observations; the hospital's doctor asks the lab's node
 *     for them (signed, HPKE-sealed exchange) and reads the lab's result;
 *  5. the patient revokes the hospital's grant; the doctor's next request is denied;
 *  6. the doctor breaks the glass for the patient's record at the hospital, with a reason; the patient sees the
 *     notice; an auditor reviews the session;
 *  7. the patient reads their access log at the hospital and checks every entry's inclusion proof; every node's
 *     operator runs the audit verification (anchored checkpoints against the chain included).
 *
 * It returns the people of the scenario — and an administrator with a TOTP factor at every node, created with
 * the operator's token and never signed in, so their first sign-in in the browser completes the enrolment —
 * with what the web app needs to sign them in (demoPeople.ts prints them).
 *
 * Every step checks its answer and throws on anything unexpected, so the same function is the demo and the
 * integration test (test/demo.int.test.ts). Synthetic data only.
 */
import { readFileSync } from 'node:fs';
import { verifyAuditInclusion } from '@medledger/audit-log';
import { resourceTypesOfCategory } from '@medledger/consent';
import { DataCategory } from '@medledger/core';
import { base64urlToBytes, decodePublicKeyBundle } from '@medledger/crypto';
import { totpCode } from '@medledger/identity';
import type { DemoPerson } from './demoPeople.js';
import type { LocalConsortium } from './LocalConsortium.js';
import { mintOwnToken, registerTokenApp, signInAtNode, TOKEN_APP, totpSecretOf } from './personSignIn.js';

export interface DemoStep {
  step: string;
  outcome: string;
}

export interface DemoResult {
  steps: DemoStep[];
  patient: { hospitalId: string; pseudonym: string };
  labObservationId: string;
  breakGlassSessionId: number;
  /** Everyone a newcomer can sign in as in the web app, with their node's app URL and credentials. */
  people: DemoPerson[];
}

// biome-ignore lint/suspicious/noExplicitAny: the parsed JSON answers of the node's API, each step checking what it reads
type Json = Record<string, any>;

const LAB_RESULT = {
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: {
    coding: [
      { system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood' },
    ],
  },
  valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
};

const OBSERVATION_TYPES = resourceTypesOfCategory(DataCategory.Observations);

/** Polls `f` until it returns a value (at most 30 s). */
async function waitFor<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** An instant to the second (the ledger's resolution). */
const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A FHIR Consent with one permit provision, as docs/consent.md maps it. */
export function consent(
  patientId: string,
  organisation: number,
  actions: string[],
  classes: readonly string[],
) {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    provision: {
      type: 'permit',
      period: {
        start: seconds(Date.now() - 60_000),
        end: seconds(Date.now() + 30 * 24 * 3600_000),
      },
      actor: [
        {
          role: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }],
          },
          reference: { identifier: { system: 'urn:medledger:organisation', value: String(organisation) } },
        },
      ],
      action: actions.map((code) => ({
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }],
      })),
      purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }],
      class: classes.map((code) => ({ system: 'http://hl7.org/fhir/resource-types', code })),
    },
  };
}

/** One request to a node's API with a bearer token, as a patient's or an organisation's software sends it. */
export async function call(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

export async function runDemoScenario(
  consortium: LocalConsortium,
  options: { syntheaPatient: Json; log?: (line: string) => void },
): Promise<DemoResult> {
  const log = options.log ?? (() => {});
  const steps: DemoStep[] = [];
  const done = (step: string, outcome: string) => {
    steps.push({ step, outcome });
    log(`✓ ${step}: ${outcome}`);
  };
  const node = (name: string) => {
    const found = consortium.nodes.find((n) => n.name === name);
    if (!found) throw new Error(`the demo needs a ${name} node`);
    return found.node;
  };
  const hospital = node('hospital');
  const lab = node('lab');
  const regulator = node('regulator');
  const adminToken = (n: typeof hospital) => readFileSync(n.adminTokenFile!, 'utf8').trim();

  const expect = (what: string, r: { status: number; body: Json }, status: number) => {
    if (r.status !== status) {
      const why = r.body.issue?.[0]?.diagnostics ?? JSON.stringify(r.body).slice(0, 200);
      throw new Error(`${what}: expected HTTP ${status}, got ${r.status} (${why})`);
    }
    return r.body;
  };
  const root = (n: typeof hospital) => n.fhirUrl.replace(/\/fhir$/, '');

  // 1. People and the patient. Each person signs in through their node's token app and mints their own token.
  for (const n of [hospital, lab]) await registerTokenApp(root(n), adminToken(n));
  const staffPassword = 'correct horse battery staple (demo staff)';
  const person = async (n: typeof hospital, username: string, role: string, extra: Json = {}) => {
    const password = (extra.password as string | undefined) ?? staffPassword;
    const created = expect(
      `${username}: create account`,
      await call(root(n), adminToken(n), 'POST', '/admin/accounts', {
        username,
        displayName: username,
        role,
        password,
        ...extra,
      }),
      201,
    );
    let otp: string | undefined;
    let otpauthUri: string | undefined;
    if (role !== 'patient') {
      const enrolment = expect(
        `${username}: second factor`,
        await call(root(n), adminToken(n), 'POST', `/admin/accounts/${created.account.id}/totp`),
        201,
      );
      otpauthUri = enrolment.otpauthUri as string;
      otp = totpCode(totpSecretOf(otpauthUri), Date.now());
    }
    const access = await signInAtNode({
      origin: root(n),
      clientId: TOKEN_APP.clientId,
      redirectUri: TOKEN_APP.redirectUri,
      scope: role === 'patient' ? 'openid patient/*.cruds' : 'openid user/*.cruds',
      username,
      password,
      ...(otp ? { otp } : {}),
    });
    const { token } = await mintOwnToken(root(n), access, { label: 'demo' });
    return {
      account: created.account as Json,
      patient: created.patient as Json | undefined,
      token,
      signIn: { username, password, ...(otpauthUri ? { otpauthUri } : {}) },
    };
  };
  const doctor = await person(hospital, 'dr.house', 'doctor');
  const auditor = await person(hospital, 'auditor', 'auditor');
  const technician = await person(lab, 'lab.tech', 'lab');
  const licence = async (member: string, name: string, code: string) =>
    expect(
      `licence for ${name}`,
      await call(root(regulator), adminToken(regulator), 'POST', '/admin/licences', {
        member,
        name,
        qualification: { system: 'http://terminology.hl7.org/CodeSystem/v2-0360', code },
        expiresAt: new Date(Date.now() + 365 * 24 * 3600_000).toISOString(),
      }),
      201,
    );
  await licence(doctor.account.memberAddress, 'dr.house', 'MD');
  await licence(technician.account.memberAddress, 'lab.tech', 'MT');
  done(
    'people',
    'a doctor and an auditor at the hospital, a technician at the lab; both clinicians licensed',
  );

  const {
    resourceType: _type,
    id: _drop,
    meta: _meta,
    text: _text,
    identifier: _ids,
    ...demographics
  } = options.syntheaPatient;
  const password = 'correct horse battery staple (demo)';
  const patient = await person(hospital, 'patient.demo', 'patient', { password, demographics });
  const patientId = patient.patient!.id as string;
  const pseudonym = patient.patient!.pseudonym as string;
  const hospitalToken = adminToken(hospital);
  expect(
    'the hospital records a condition',
    await call(hospital.fhirUrl, hospitalToken, 'POST', '/Condition', {
      resourceType: 'Condition',
      subject: { reference: `Patient/${patientId}` },
      code: {
        coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' }],
      },
    }),
    201,
  );
  done(
    'patient',
    `Synthea patient registered at the hospital with an on-chain identity ${pseudonym.slice(0, 10)}…`,
  );

  // 2. The patient grants the lab observations, read and write.
  const passphrase = { 'x-medledger-key-passphrase': password };
  const labGrant = expect(
    'consent to the lab',
    await call(
      hospital.fhirUrl,
      patient.token,
      'POST',
      '/Consent',
      consent(patientId, lab.organisationId, ['access', 'correct'], OBSERVATION_TYPES),
      passphrase,
    ),
    201,
  );
  done(
    'consent',
    `the patient granted the lab observations (grant ${labGrant.identifier.at(-1).value.slice(0, 10)}…)`,
  );

  // 3. The lab writes a result.
  const labPatient = expect(
    'the lab files the patient',
    await call(lab.fhirUrl, adminToken(lab), 'POST', '/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:medledger:patient-pseudonym', value: pseudonym }],
    }),
    201,
  );
  const result = expect(
    'the lab technician writes a result',
    await call(lab.fhirUrl, technician.token, 'POST', '/Observation', {
      ...LAB_RESULT,
      subject: { reference: `Patient/${labPatient.id}` },
    }),
    201,
  );
  done('lab result', `the lab technician wrote an HbA1c result (${result.id}) under the patient's grant`);

  // 4. The hospital reads it with consent, through the exchange.
  const hospitalGrant = expect(
    'consent to the hospital',
    await call(
      hospital.fhirUrl,
      patient.token,
      'POST',
      '/Consent',
      consent(patientId, hospital.organisationId, ['access'], OBSERVATION_TYPES),
      passphrase,
    ),
    201,
  );
  const ask = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'custodian', valueInteger: lab.organisationId },
      { name: 'patient', valueString: pseudonym },
      { name: 'resourceType', valueCode: 'Observation' },
      { name: 'purpose', valueCode: 'TREAT' },
    ],
  };
  const released = expect(
    'the doctor asks the lab',
    await call(hospital.fhirUrl, doctor.token, 'POST', '/$exchange-request', ask),
    200,
  );
  const received = (released.entry ?? []).map((e: Json) => e.resource);
  const hba1c = received.find((r: Json) => r.id === result.id);
  if (!hba1c || hba1c.valueQuantity?.value !== LAB_RESULT.valueQuantity.value) {
    throw new Error('the lab result did not arrive intact');
  }
  done(
    'exchange',
    `the hospital's doctor received the lab result from the lab's node: HbA1c ${hba1c.valueQuantity.value} %`,
  );

  // 5. Revocation.
  expect(
    'the patient revokes the hospital',
    await call(
      hospital.fhirUrl,
      patient.token,
      'DELETE',
      `/Consent/${hospitalGrant.id}`,
      undefined,
      passphrase,
    ),
    204,
  );
  expect(
    'the doctor asks again',
    await call(hospital.fhirUrl, doctor.token, 'POST', '/$exchange-request', ask),
    404,
  );
  done('revocation', 'the patient revoked the hospital’s grant; the doctor’s next request is denied (404)');

  // 6. Break-glass, notice, review.
  expect(
    'the doctor without consent',
    await call(hospital.fhirUrl, doctor.token, 'GET', `/Condition?patient=Patient/${patientId}`),
    200,
  );
  const before = await call(hospital.fhirUrl, doctor.token, 'GET', `/Patient/${patientId}/$everything`);
  if (before.status !== 404) throw new Error('the doctor could read the record before breaking the glass');
  const session = expect(
    'break-glass',
    await call(hospital.fhirUrl, doctor.token, 'POST', `/Patient/${patientId}/$break-glass`, {
      reason: 'Unconscious in the emergency department; medication history needed',
      minutes: 30,
    }),
    201,
  );
  const everything = expect(
    'the doctor reads the record in the emergency',
    await call(hospital.fhirUrl, doctor.token, 'GET', `/Patient/${patientId}/$everything`),
    200,
  );
  const notices = expect(
    'the patient reads their notices',
    await call(hospital.fhirUrl, patient.token, 'GET', '/Communication'),
    200,
  );
  if ((notices.entry ?? []).length === 0) throw new Error('the patient was not notified');
  done(
    'break-glass',
    `session ${session.sessionId} until ${session.expiresAt}: the doctor read ${everything.entry?.length ?? 0} records; the patient was notified`,
  );
  const queue = expect(
    'the review queue',
    await call(root(hospital), auditor.token, 'GET', '/admin/break-glass?unreviewed=true'),
    200,
  );
  if (!JSON.stringify(queue).includes(String(session.sessionId)))
    throw new Error('the session is not queued');
  expect(
    'the doctor ends the session',
    await call(hospital.fhirUrl, doctor.token, 'POST', `/$break-glass/${session.sessionId}/end`, {}),
    200,
  );
  expect(
    'the auditor reviews it',
    await call(root(hospital), auditor.token, 'POST', `/admin/break-glass/${session.sessionId}/review`, {
      justified: true,
      finding: 'Emergency confirmed by the ED log.',
    }),
    200,
  );
  done('review', `the auditor reviewed session ${session.sessionId}: justified`);

  // 7. Who saw my record? The patient's access log at the hospital, each entry checked here — as the patient's
  // own software would — against the signed checkpoint, under the key the registry commits to; then every
  // node's operator runs the independent verification, anchored checkpoints against the chain included.
  const accessLog = expect(
    'the patient reads their access log',
    await call(root(hospital), patient.token, 'GET', `/audit/patients/${patientId}/events?_count=1000`),
    200,
  );
  const bundleBytes = new Uint8Array(
    await (await fetch(`${hospital.fhirUrl}/.well-known/medledger-key-bundle`)).arrayBuffer(),
  );
  const nodeKey = decodePublicKeyBundle(bundleBytes).signingPublicKey;
  const cp = accessLog.checkpoint;
  const checkpoint = {
    logId: cp.logId,
    size: cp.size,
    root: base64urlToBytes(cp.root),
    timestamp: cp.timestamp,
    signature: base64urlToBytes(cp.signature),
  };
  for (const e of accessLog.entries as Json[]) {
    const claim = {
      event: e.event,
      salt: base64urlToBytes(e.salt),
      commitment: base64urlToBytes(e.commitment),
      index: e.index,
      proof: (e.proof as string[]).map(base64urlToBytes),
      checkpoint,
    };
    if (!verifyAuditInclusion(claim, nodeKey)) throw new Error(`audit entry ${e.index} does not verify`);
  }
  const flagged = (accessLog.entries as Json[]).filter((e) => e.breakGlass).length;
  if (flagged === 0) throw new Error('the break-glass access is not flagged in the patient’s log');
  const verified: string[] = [];
  for (const { name } of consortium.nodes) {
    const n = node(name);
    const report = await waitFor(`an anchored audit checkpoint at ${name}`, async () => {
      const r = expect(
        `${name} verifies its audit log`,
        await call(root(n), adminToken(n), 'GET', '/audit/$verify'),
        200,
      );
      if (!r.ok) throw new Error(`${name}'s audit log does not verify: ${JSON.stringify(r.divergence)}`);
      return r.anchors > 0 ? r : undefined;
    });
    verified.push(`${name} ${report.size}`);
  }
  done(
    'audit',
    `the patient's log: ${accessLog.entries.length} events (${flagged} break-glass), every inclusion proof checks; audit verify on every node (entries: ${verified.join(', ')}), anchors on-chain included`,
  );

  // Administrators for the web app's consoles: one per node (`admin` is the node's bootstrap operator), with a
  // first password and a TOTP enrolment that their first sign-in completes.
  const people: DemoPerson[] = (
    [
      { role: 'patient', who: 'the patient', node: 'hospital', ...patient.signIn },
      { role: 'doctor', who: 'the doctor', node: 'hospital', ...doctor.signIn },
      { role: 'auditor', who: 'the auditor', node: 'hospital', ...auditor.signIn },
      { role: 'lab', who: 'the lab technician', node: 'lab', ...technician.signIn },
    ] as const
  ).map((p) => ({ ...p, appUrl: `${root(node(p.node))}/` }));
  for (const { name } of consortium.nodes) {
    const n = node(name);
    const created = expect(
      `the ${name}'s administrator account`,
      await call(root(n), adminToken(n), 'POST', '/admin/accounts', {
        username: `admin.${name}`,
        displayName: `${name[0]!.toUpperCase()}${name.slice(1)} administrator`,
        role: 'admin',
        password: staffPassword,
      }),
      201,
    );
    const enrolment = expect(
      `the ${name}'s administrator's second factor`,
      await call(root(n), adminToken(n), 'POST', `/admin/accounts/${created.account.id}/totp`),
      201,
    );
    people.push({
      role: 'admin',
      who: `the ${name}'s administrator`,
      node: name,
      appUrl: `${root(n)}/`,
      username: `admin.${name}`,
      password: staffPassword,
      otpauthUri: enrolment.otpauthUri as string,
    });
  }

  return {
    steps,
    people,
    patient: { hospitalId: patientId, pseudonym },
    labObservationId: result.id,
    breakGlassSessionId: session.sessionId,
  };
}
