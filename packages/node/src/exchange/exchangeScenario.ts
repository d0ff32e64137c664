/**
 * A cross-organisation exchange set up on running nodes of one local consortium, and its measurement: what the
 * exchange integration test and the node benchmark share. `setUpExchangeScenario` registers a practitioner of
 * the requesting organisation on the ledger (licensed by the regulator) with an API token at the requester's
 * node, and files a patient with N observations and M conditions at the custodian, linked to the patient's
 * on-chain pseudonym; `grant` / `revoke` relay the patient's own signed consent. `measureExchange` then times
 * `POST /fhir/$exchange-request` end to end over HTTP (requester → custodian → requester).
 *
 * Development consortia only: members are registered by the node accounts directly and the patient's keys
 * are generated here with the keystore's minimum scrypt cost.
 */

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { ConsentRelayer } from '@medledger/consent';
import { Action, consortiumRegistryAbi, MemberRole, Purpose } from '@medledger/contracts';
import { categoryMask, type DataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import { type AccountId, createPatientKeys, type PatientKeys, type Role } from '@medledger/identity';
import { type Address, encodeFunctionData, type Hex, keccak256, toHex, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { PATIENT_PSEUDONYM_SYSTEM } from '../access/PatientLinks.js';
import { personApiToken, registerTokenApp } from '../consortium/personSignIn.js';
import type { RunningNode } from '../Node.js';

export interface ExchangeScenarioOptions {
  requester: RunningNode;
  custodian: RunningNode;
  /** A regulator organisation's node: issues the practitioner's licence. */
  regulator: RunningNode;
  /** Observations filed for the patient at the custodian (default 50). */
  observations?: number;
  /** Conditions filed for the patient at the custodian (default 1). */
  conditions?: number;
  /** The practitioner's member account key (default: a fresh one); a funded key lets it open break-glass. */
  memberKey?: Hex;
}

export interface ExchangeScenario {
  requesterUrl: string;
  custodianUrl: string;
  custodianOrganisation: number;
  /** The custodian's bootstrap admin token (its own system access, for a local-read baseline). */
  custodianToken: string;
  /** A local search at the custodian returning the patient's observations: the baseline of measureExchange. */
  localReadPath: string;
  /** The practitioner: member account on the ledger and an API token at the requester's node. */
  doctor: { member: Address; token: string; key: Hex };
  patient: { keys: PatientKeys; pseudonym: Hex; fhirId: string };
  /** FHIR ids at the custodian. */
  ids: { observations: string[]; conditions: string[] };
  /** The Parameters body of an exchange request for this patient. */
  parameters(resourceTypes?: readonly string[], purpose?: string, extra?: readonly unknown[]): unknown;
  /** Registers another member of the requester (licensed or not) with an API token; returns the token. */
  addPerson(name: string, role: Role, options?: { licensed?: boolean; member?: boolean }): Promise<string>;
  /** The patient grants the requester organisation Read of these categories for these purposes; consent id. */
  grant(categories: readonly DataCategory[], purposes?: readonly number[]): Promise<Hex>;
  revoke(consentId: Hex): Promise<void>;
}

async function registryCall(
  node: RunningNode,
  functionName: string,
  args: readonly unknown[],
): Promise<void> {
  const tx = await node.ledger.sendCall({
    to: node.ledger.deployment.contracts.ConsortiumRegistry.address,
    data: encodeFunctionData({ abi: consortiumRegistryAbi, functionName, args } as never),
  });
  const receipt = await node.ledger.waitForReceipt(tx.hash);
  if (receipt.status !== 'success') throw new MdlError(MdlErrorCode.Unavailable, `${functionName} reverted`);
}

async function fhir(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}`);
  return JSON.parse(text) as FhirJson;
}

interface FhirJson {
  id?: string;
  entry?: { response: { location: string } }[];
}

/**
 * The first of `count` consecutive free ports on 127.0.0.1, for startLocalConsortium's basePort: the registry
 * records each node's endpoint and key bundle URI, so nodes that exchange cannot listen on port 0.
 */
export async function consecutiveFreePorts(count: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
  throw new MdlError(MdlErrorCode.Unavailable, 'no free port range found');
}

export async function setUpExchangeScenario(o: ExchangeScenarioOptions): Promise<ExchangeScenario> {
  const { requester, custodian, regulator } = o;
  const custodianToken = readFileSync(custodian.adminTokenFile!, 'utf8').trim();
  // People of the requesting node sign in and mint their own tokens, through its token app.
  await registerTokenApp(
    new URL(requester.fhirUrl).origin,
    readFileSync(requester.adminTokenFile!, 'utf8').trim(),
  );
  const year = Math.floor(Date.now() / 1000) + 365 * 24 * 3600;
  const licensedMember = async (key: Hex, licensed: boolean) => {
    const member = privateKeyToAccount(key).address;
    await registryCall(requester, 'registerMember', [member, MemberRole.Practitioner]);
    if (licensed)
      await registryCall(regulator, 'issueLicence', [member, keccak256(toHex(`licence ${member}`)), year]);
    return member;
  };
  const addPerson: ExchangeScenario['addPerson'] = async (name, role, options = {}) => {
    const member =
      options.member === false
        ? undefined
        : await licensedMember(generatePrivateKey(), options.licensed !== false);
    const account = await requester.accounts.createAccount({
      username: name,
      displayName: name,
      role,
      organisation: requester.organisationId,
      ...(member ? { memberAddress: member } : {}),
    });
    return (await personApiToken(requester, account.id as AccountId, { label: 'exchange' })).token;
  };

  const doctorKey = o.memberKey ?? generatePrivateKey();
  const doctorMember = await licensedMember(doctorKey, true);
  const doctorAccount = await requester.accounts.createAccount({
    username: `doctor-${doctorMember.slice(2, 10)}`,
    displayName: 'Exchange doctor',
    role: 'doctor',
    organisation: requester.organisationId,
    memberAddress: doctorMember,
  });
  const doctorToken = (await personApiToken(requester, doctorAccount.id as AccountId, { label: 'exchange' }))
    .token;

  const keys = createPatientKeys('exchange scenario patient passphrase', {
    scrypt: { N: 2 ** 14, r: 8, p: 1 },
  });
  const pseudonym = keys.pseudonym as Hex;
  const patient = await fhir(custodian.fhirUrl, custodianToken, 'POST', '/Patient', {
    resourceType: 'Patient',
    identifier: [{ system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym }],
    name: [{ family: 'Exchangeperson', given: ['Ada'] }],
    birthDate: '1970-01-01',
  });
  const subject = { reference: `Patient/${patient.id}` };
  const entries = [
    ...Array.from({ length: o.observations ?? 50 }, (_, i) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject,
      valueQuantity: { value: 60 + i, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    })),
    ...Array.from({ length: o.conditions ?? 1 }, (_, i) => ({
      resourceType: 'Condition',
      subject,
      code: { text: `Exchange scenario condition ${i}` },
    })),
  ];
  const written = await fhir(custodian.fhirUrl, custodianToken, 'POST', '', {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: entries.map((resource) => ({ resource, request: { method: 'POST', url: resource.resourceType } })),
  });
  const locations = (written.entry ?? []).map((e) => e.response.location);
  const idsOf = (type: string) =>
    locations
      .filter((l) => l.startsWith(`${type}/`) || l.includes(`/${type}/`))
      .map((l) => l.split('/_history')[0]!.split('/').at(-1)!);

  const relayer = new ConsentRelayer(custodian.ledger, { index: custodian.consent });
  const domain = {
    chainId: custodian.ledger.chainId,
    verifyingContract: custodian.ledger.deployment.contracts.ConsentManager.address,
  };
  let nonce = BigInt(Date.now());

  return {
    requesterUrl: requester.fhirUrl,
    custodianUrl: custodian.fhirUrl,
    custodianOrganisation: custodian.organisationId,
    custodianToken,
    localReadPath: `/Observation?subject=Patient/${patient.id}&_count=1000`,
    doctor: { member: doctorMember, token: doctorToken, key: doctorKey },
    patient: { keys, pseudonym, fhirId: patient.id as string },
    ids: { observations: idsOf('Observation'), conditions: idsOf('Condition') },
    parameters: (resourceTypes = ['Observation'], purpose = 'TREAT', extra = []) => ({
      resourceType: 'Parameters',
      parameter: [
        { name: 'custodian', valueInteger: custodian.organisationId },
        { name: 'patient', valueIdentifier: { system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym } },
        ...resourceTypes.map((t) => ({ name: 'resourceType', valueCode: t })),
        { name: 'purpose', valueCode: purpose },
        ...extra,
      ],
    }),
    addPerson,
    async grant(categories, purposes = [Purpose.Treatment]) {
      const now = Math.floor(Date.now() / 1000);
      const terms = {
        patient: pseudonym,
        grantee: requester.organisationId,
        granteeMember: zeroAddress,
        actions: 1 << Action.Read,
        resourceClasses: categoryMask(...categories),
        purposes: purposes.reduce((m, p) => m | (1 << p), 0),
        validFrom: now - 60,
        validUntil: now + 24 * 3600,
        dataFrom: 0,
        dataUntil: 0,
        nonce: nonce++,
      };
      const deadline = BigInt(now + 600);
      const { signature } = await keys.signConsent(terms, domain, deadline);
      return (await relayer.grant({ terms, deadline, signature })).consentId;
    },
    async revoke(consentId) {
      const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
      const { signature } = await keys.signRevocation(consentId, domain, deadline);
      await relayer.revoke({ consentId, deadline, signature });
    },
  };
}

export interface ExchangeMeasurement {
  requests: number;
  concurrency: number;
  /** Resources in each response. */
  resources: number;
  seconds: number;
  perSecond: number;
  /** End-to-end latency of one `$exchange-request`, milliseconds. */
  latencyMs: Latency;
  /** The same records read locally at the custodian (one search), when a baseline was given. */
  baseline?: { resources: number; latencyMs: Latency };
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface MeasureExchangeOptions {
  /** The requester node's FHIR base URL. */
  requesterUrl: string;
  /** A practitioner's bearer token at the requester's node. */
  token: string;
  /** The Parameters body (ExchangeScenario.parameters()). */
  parameters: unknown;
  /** Timed requests (default 20), after `warmup` untimed ones (default 2). */
  requests?: number;
  warmup?: number;
  /** Requests in flight at once (default 1). */
  concurrency?: number;
  /**
   * A local read to compare with, timed the same way in the same run (sequentially, `requests` times):
   * e.g. the custodian's own search for the same records (ExchangeScenario.custodianUrl, custodianToken,
   * localReadPath).
   */
  baseline?: { url: string; token: string; path: string };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function latency(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
  };
}

async function timedRead(b: {
  url: string;
  token: string;
  path: string;
}): Promise<{ ms: number; n: number }> {
  const started = performance.now();
  const res = await fetch(`${b.url}${b.path}`, { headers: { authorization: `Bearer ${b.token}` } });
  const body = (await res.json()) as { entry?: unknown[] };
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`baseline read answered HTTP ${res.status}`);
  return { ms, n: body.entry?.length ?? 0 };
}

/**
 * Times `POST /fhir/$exchange-request` over HTTP: each one is a full exchange (request signed and sealed,
 * custodian's ledger checks and release, response verified and decrypted, receipts stored on both nodes).
 * Every response must be a 200 Bundle with the same number of resources, or the measurement fails.
 */
export async function measureExchange(o: MeasureExchangeOptions): Promise<ExchangeMeasurement> {
  const concurrency = o.concurrency ?? 1;
  const total = o.requests ?? 20;
  let resources = -1;
  const one = async (): Promise<number> => {
    const started = performance.now();
    const res = await fetch(`${o.requesterUrl}/$exchange-request`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(o.parameters),
    });
    const body = (await res.json()) as { entry?: unknown[] };
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`exchange request answered HTTP ${res.status}`);
    const n = body.entry?.length ?? 0;
    if (resources >= 0 && n !== resources) throw new Error('exchange responses differ in size');
    resources = n;
    return ms;
  };
  for (let i = 0; i < (o.warmup ?? 2); i++) await one();
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        samples.push(await one());
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  let baseline: ExchangeMeasurement['baseline'];
  if (o.baseline) {
    const reads: number[] = [];
    let n = 0;
    for (let i = 0; i < (o.warmup ?? 2); i++) await timedRead(o.baseline);
    for (let i = 0; i < total; i++) {
      const r = await timedRead(o.baseline);
      reads.push(r.ms);
      n = r.n;
    }
    baseline = { resources: n, latencyMs: latency(reads) };
  }
  return {
    requests: samples.length,
    concurrency,
    resources,
    seconds,
    perSecond: samples.length / seconds,
    latencyMs: latency(samples),
    ...(baseline ? { baseline } : {}),
  };
}
