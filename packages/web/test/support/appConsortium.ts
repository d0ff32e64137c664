/**
 * A local consortium for the web app's end-to-end journeys: one chain, a hospital, a lab, a pharmacy and a
 * regulator node (each serving the built app at /), and the people of the scenario created the way an
 * organisation's administrator creates them — over the admin API with the operator's token: an administrator
 * and a doctor, an auditor and a patient (a Synthea patient's demographics) at the hospital, a technician at
 * the lab, a pharmacist at the pharmacy; the regulator licenses the clinicians. Staff get a TOTP second factor (their secret is returned so a test can
 * type the current code); the patient signs in with a password.
 *
 * Synthetic data only; passwords are generated per run.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TotpSecret } from '@medledger/identity';
import { type LocalConsortium, startLocalConsortium, totpSecretOf } from '@medledger/node';

export const WEB_DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const SYNTHEA = fileURLToPath(new URL('../../../../../shared/data/synthea/r4-bundles/', import.meta.url));

export interface Person {
  username: string;
  password: string;
  displayName: string;
  role: string;
  accountId: string;
  /** The node the person belongs to (its origin, e.g. http://localhost:40123). */
  origin: string;
  totp?: TotpSecret;
  memberAddress?: string;
  /** For patients: their FHIR Patient id at the node. */
  patientId?: string;
}

export interface AppNode {
  name: string;
  origin: string;
  fhirUrl: string;
  organisationId: string;
  operatorToken: string;
}

export interface AppConsortium {
  consortium: LocalConsortium;
  hospital: AppNode;
  lab: AppNode;
  pharmacy: AppNode;
  regulator: AppNode;
  people: {
    admin: Person;
    doctor: Person;
    auditor: Person;
    patient: Person;
    labTech: Person;
    pharmacist: Person;
  };
  stop(): Promise<void>;
}

type Json = Record<string, any>;

/** One admin API call with the operator's token; throws on an unexpected status. */
export async function operatorCall(
  node: AppNode,
  method: string,
  path: string,
  body?: unknown,
  expected = [200, 201],
): Promise<Json> {
  const res = await fetch(`${node.origin}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${node.operatorToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Json) : {};
  if (!expected.includes(res.status)) {
    throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  }
  return json;
}

/** The demographics of the first Synthea patient (alphabetically), without ids. */
export function syntheaDemographics(): Json {
  const first = existsSync(SYNTHEA)
    ? readdirSync(SYNTHEA)
        .filter((f) => f.endsWith('.json'))
        .sort()[0]
    : undefined;
  if (!first)
    return { name: [{ family: 'Jones', given: ['Pat'] }], gender: 'female', birthDate: '1970-01-01' };
  const bundle = JSON.parse(readFileSync(join(SYNTHEA, first), 'utf8')) as Json;
  const patient = (bundle.entry as Json[]).find((e) => e.resource?.resourceType === 'Patient')!.resource;
  const { resourceType: _t, id: _i, meta: _m, text: _x, identifier: _d, ...demographics } = patient;
  return demographics;
}

export async function createPerson(
  node: AppNode,
  username: string,
  role: string,
  extra: Json = {},
): Promise<Person> {
  const password = `${randomBytes(12).toString('base64url')} ${role} passphrase`;
  const displayName = (extra.displayName as string | undefined) ?? username;
  const created = await operatorCall(node, 'POST', '/admin/accounts', {
    username,
    displayName,
    role,
    password,
    ...extra,
  });
  const person: Person = {
    username,
    password,
    displayName,
    role,
    accountId: created.account.id,
    origin: node.origin,
    ...(created.account.memberAddress ? { memberAddress: created.account.memberAddress } : {}),
    ...(created.patient ? { patientId: created.patient.id } : {}),
  };
  if (role !== 'patient') {
    const enrolment = await operatorCall(node, 'POST', `/admin/accounts/${person.accountId}/totp`);
    person.totp = totpSecretOf(enrolment.otpauthUri as string);
  }
  return person;
}

export async function startAppConsortium(): Promise<AppConsortium> {
  if (!existsSync(join(WEB_DIST, 'index.html'))) {
    throw new Error('the web app is not built: run `npm run build -w @medledger/web` first');
  }
  const dir = await mkdtemp(join(tmpdir(), 'medledger-web-'));
  const consortium = await startLocalConsortium({
    dir,
    members: [
      { name: 'hospital', kind: 'hospital' },
      { name: 'lab', kind: 'lab' },
      { name: 'pharmacy', kind: 'pharmacy' },
      { name: 'regulator', kind: 'regulator' },
    ],
    keystorePassphrase: 'web journeys — synthetic data only',
    logLevel: 'warn',
    // Named, not numbered: the browser runs passkey ceremonies only for a host name.
    publicHostname: 'localhost',
    // A quarter-second chain (the embedded default is one second) so the journeys' transactions do not queue,
    // and scrypt at the keystore format's floor for the nodes' keystores and password hashes (default 2^17).
    blockTime: 0.25,
    startOptions: { testScryptLog2: 14 },
  });
  const stop = async () => {
    await consortium.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const nodeOf = (name: string): AppNode => {
      const n = consortium.nodes.find((m) => m.name === name)!.node;
      return {
        name,
        origin: new URL(n.fhirUrl).origin,
        fhirUrl: n.fhirUrl,
        organisationId: String(n.organisationId),
        operatorToken: readFileSync(n.adminTokenFile!, 'utf8').trim(),
      };
    };
    const hospital = nodeOf('hospital');
    const lab = nodeOf('lab');
    const pharmacy = nodeOf('pharmacy');
    const regulator = nodeOf('regulator');
    const admin = await createPerson(hospital, 'admin.alice', 'admin', { displayName: 'Alice Admin' });
    const doctor = await createPerson(hospital, 'dr.grey', 'doctor', { displayName: 'Dr Meredith Grey' });
    const auditor = await createPerson(hospital, 'auditor.ash', 'auditor', { displayName: 'Ash Auditor' });
    const labTech = await createPerson(lab, 'lab.lee', 'lab', { displayName: 'Lee Technician' });
    const pharmacist = await createPerson(pharmacy, 'rx.patel', 'pharmacist', { displayName: 'Priya Patel' });
    const demographics = syntheaDemographics();
    const patient = await createPerson(hospital, 'pat.jones', 'patient', {
      displayName: 'Pat Jones',
      demographics,
    });
    for (const [member, name, code] of [
      [doctor.memberAddress!, doctor.displayName, 'MD'],
      [labTech.memberAddress!, labTech.displayName, 'MT'],
    ] as const) {
      await operatorCall(regulator, 'POST', '/admin/licences', {
        member,
        name,
        qualification: { system: 'http://terminology.hl7.org/CodeSystem/v2-0360', code },
        expiresAt: new Date(Date.now() + 365 * 24 * 3600_000).toISOString(),
      });
    }
    return {
      consortium,
      hospital,
      lab,
      pharmacy,
      regulator,
      people: { admin, doctor, auditor, patient, labTech, pharmacist },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
