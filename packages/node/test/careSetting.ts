/**
 * A care setting on a real chain, for the consent tests and the consent bench: a hospital node and a
 * regulator node in one local consortium; on the ledger, a licensed doctor, an unlicensed doctor and an
 * insurer's claim agent of the hospital; at the hospital, a patient linked to their own on-chain identity (keys
 * held by the node, sealed under the patient's passphrase) with an observation and a condition, another patient
 * who has no on-chain identity, an Organization; for each person a password, a TOTP second factor when
 * their role needs one, and an API token they minted themselves from a sign-in at the node's OpenID provider
 * (consortium/personSignIn.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsentRelayer, consentToFhir } from '@medledger/consent';
import { Action, consortiumRegistryAbi, MemberRole, Purpose } from '@medledger/contracts';
import { categoryMask, DataCategory } from '@medledger/core';
import { type AccountId, createPatientKeys, type PatientKeys, type TotpSecret } from '@medledger/identity';
import { type Address, encodeFunctionData, type Hex, keccak256, toHex, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { PATIENT_PSEUDONYM_SYSTEM } from '../src/access/PatientLinks.js';
import { type LocalConsortium, startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import { personApiToken, registerTokenApp } from '../src/consortium/personSignIn.js';
import { ORGANISATION_SYSTEM } from '../src/features/consentFeature.js';
import type { RunningNode } from '../src/Node.js';
import { TEST_BLOCK_TIME, TEST_START_OPTIONS } from './helpers.js';

export const PATIENT_PASSPHRASE = 'patient passphrase for the test';

export interface CareSetting {
  consortium: LocalConsortium;
  hospital: RunningNode;
  url: string;
  patientKeys: PatientKeys;
  relayer: ConsentRelayer;
  members: { doctor: Address; unlicensed: Address; insurer: Address };
  /** Resource ids: patient, other, observation, otherObservation, condition, organization. */
  ids: Record<string, string>;
  /** API tokens: admin (the organisation), doctor, unlicensed, insurer, patient. */
  tokens: Record<string, string>;
  /** The people's passwords and (clinicians) TOTP secrets, by username. */
  passwords: Record<string, string>;
  secondFactors: Record<string, TotpSecret>;
  call(
    who: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, any> }>;
  /** The ConsentManager's EIP-712 domain. */
  domain(): { chainId: number; verifyingContract: Address };
  /**
   * The patient signs a grant to the hospital (any member) and the hospital relays it: read access to the
   * categories for the purposes (default treatment), from a minute ago for an hour (or until `validUntil`).
   */
  grant(options: {
    categories: readonly DataCategory[];
    purposes?: readonly Purpose[];
    validUntil?: number;
    /** Default: read only. */
    actions?: readonly Action[];
  }): Promise<Hex>;
  /**
   * The FHIR Consent (unsigned) the patient would post to grant the hospital read access to their observations
   * for treatment, from a minute ago for an hour.
   */
  observationConsent(): Record<string, any>;
  close(): Promise<void>;
}

const newMember = () => privateKeyToAccount(generatePrivateKey()).address;

export async function startCareSetting(options: { restHookHosts?: string } = {}): Promise<CareSetting> {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-care-'));
  const consortium = await startLocalConsortium({
    dir,
    members: [
      { name: 'hospital', kind: 'hospital' },
      { name: 'regulator', kind: 'regulator' },
    ],
    keystorePassphrase: 'care setting passphrase',
    logLevel: 'silent',
    blockTime: TEST_BLOCK_TIME,
    startOptions: TEST_START_OPTIONS,
    ...(options.restHookHosts ? { restHookHosts: options.restHookHosts } : {}),
  });
  try {
    const [hospital, regulator] = consortium.nodes.map((n) => n.node) as [RunningNode, RunningNode];
    const url = hospital.fhirUrl;
    const tokens: Record<string, string> = {
      admin: readFileSync(hospital.adminTokenFile!, 'utf8').trim(),
    };
    const call: CareSetting['call'] = async (who, method, path, body, headers = {}) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${tokens[who]}`,
          ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
    };
    const registry = hospital.ledger.deployment.contracts.ConsortiumRegistry.address;
    const send = async (from: RunningNode, functionName: string, args: readonly unknown[]) => {
      const tx = await from.ledger.sendCall({
        to: registry,
        data: encodeFunctionData({ abi: consortiumRegistryAbi, functionName, args } as never),
      });
      const receipt = await from.ledger.waitForReceipt(tx.hash);
      if (receipt.status !== 'success') throw new Error(`${functionName} reverted`);
    };

    const members = { doctor: newMember(), unlicensed: newMember(), insurer: newMember() };
    await send(hospital, 'registerMember', [members.doctor, MemberRole.Practitioner]);
    await send(hospital, 'registerMember', [members.unlicensed, MemberRole.Practitioner]);
    await send(hospital, 'registerMember', [members.insurer, MemberRole.ClaimAgent]);
    const expires = Math.floor(Date.now() / 1000) + 30 * 24 * 3600;
    await send(regulator, 'issueLicence', [members.doctor, keccak256(toHex('licence')), expires]);

    const patientKeys = createPatientKeys(PATIENT_PASSPHRASE, {
      scrypt: { N: 2 ** 14, r: 8, p: 1 }, // the keystore's minimum: fast enough for tests
    });
    const created = async (resource: Record<string, unknown>) => {
      const r = await call('admin', 'POST', `/${resource.resourceType}`, resource);
      if (r.status !== 201) throw new Error(`creating ${resource.resourceType}: HTTP ${r.status}`);
      return r.body.id as string;
    };
    const ids: Record<string, string> = {};
    ids.patient = await created({
      resourceType: 'Patient',
      identifier: [{ system: PATIENT_PSEUDONYM_SYSTEM, value: patientKeys.pseudonym }],
      name: [{ family: 'Testperson' }],
    });
    ids.other = await created({ resourceType: 'Patient', name: [{ family: 'Otherperson' }] });
    const obs = (patient: string) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patient}` },
    });
    ids.observation = await created(obs(ids.patient));
    ids.otherObservation = await created(obs(ids.other));
    ids.condition = await created({
      resourceType: 'Condition',
      subject: { reference: `Patient/${ids.patient}` },
      code: { text: 'x' },
    });
    ids.organization = await created({ resourceType: 'Organization', name: 'General Hospital' });

    const person = async (name: string, role: string, extra: Record<string, unknown>) => {
      const account = await hospital.accounts.createAccount({
        username: name,
        displayName: name,
        role: role as never,
        organisation: hospital.organisationId,
        ...extra,
      });
      const own = await personApiToken(hospital, account.id as AccountId, { label: 'test' });
      tokens[name] = own.token;
      passwords[name] = own.password;
      if (own.totp) secondFactors[name] = own.totp;
      return account.id as AccountId;
    };
    const passwords: Record<string, string> = {};
    const secondFactors: Record<string, TotpSecret> = {};
    await registerTokenApp(new URL(url).origin, tokens.admin!);
    await person('doctor', 'doctor', { memberAddress: members.doctor });
    await person('unlicensed', 'doctor', { memberAddress: members.unlicensed });
    await person('insurer', 'insurer', { memberAddress: members.insurer });
    const patientAccount = await person('patient', 'patient', {
      patient: { fhirId: ids.patient, pseudonym: patientKeys.pseudonym },
    });
    await hospital.accounts.setPatientKeys(patientAccount, patientKeys.sealed);

    const domain = () => ({
      chainId: hospital.ledger.chainId,
      verifyingContract: hospital.ledger.deployment.contracts.ConsentManager.address,
    });
    const relayer = new ConsentRelayer(hospital.ledger, { index: hospital.consent });
    let nonce = 1n;
    return {
      consortium,
      hospital,
      url,
      patientKeys,
      relayer,
      members,
      ids,
      tokens,
      passwords,
      secondFactors,
      call,
      domain,
      async grant(options) {
        const now = hospital.consent.now();
        const terms = {
          patient: patientKeys.pseudonym,
          grantee: hospital.organisationId,
          granteeMember: zeroAddress,
          actions: (options.actions ?? [Action.Read]).reduce<number>((m, a) => m | (1 << a), 0),
          resourceClasses: categoryMask(...options.categories),
          purposes: (options.purposes ?? [Purpose.Treatment]).reduce<number>((m, p) => m | (1 << p), 0),
          validFrom: now - 60,
          validUntil: options.validUntil ?? now + 3600,
          dataFrom: 0,
          dataUntil: 0,
          nonce: nonce++,
        };
        const deadline = BigInt(now + 600);
        const { signature } = await patientKeys.signConsent(terms, domain(), deadline);
        return (await relayer.grant({ terms, deadline, signature })).consentId;
      },
      observationConsent() {
        const now = Math.floor(Date.now() / 1000);
        return consentToFhir(
          {
            patient: patientKeys.pseudonym,
            grantee: hospital.organisationId,
            granteeMember: zeroAddress,
            actions: 1 << Action.Read,
            resourceClasses: categoryMask(DataCategory.Observations),
            purposes: 1 << Purpose.Treatment,
            validFrom: now - 60,
            validUntil: now + 3600,
            dataFrom: 0,
            dataUntil: 0,
            nonce: 0n,
          },
          {
            patient: { reference: `Patient/${ids.patient}` },
            actor: { identifier: { system: ORGANISATION_SYSTEM, value: String(hospital.organisationId) } },
          },
        ) as Record<string, any>;
      },
      async close() {
        await consortium.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await consortium.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
