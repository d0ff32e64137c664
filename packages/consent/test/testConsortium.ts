/**
 * Test support (not exported by the package): a small consortium on an embedded chain in a temporary
 * directory, for the consent integration tests and benches. A hospital (the node under test, organisation 1,
 * bootstrapped by ensureDeployment), a lab (2) and a regulator (3); a licensed hospital practitioner, an
 * unlicensed hospital member, a licensed lab technician and a lab auditor; patients with fresh random keys who
 * sign EIP-712 grants and revocations. Accounts are anvil's public dev accounts (test ether only).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Action,
  type ConsentTerms,
  consentDomain,
  consentTypes,
  consortiumRegistryAbi,
  type Deployment,
  MemberRole,
  mask,
  OrganisationKind,
  Purpose,
  patientPseudonymOf,
} from '@medledger/contracts';
import { DataCategory } from '@medledger/core';
import { devAccount, EmbeddedChain, ensureDeployment, LedgerClient } from '@medledger/ledger';
import {
  type Address,
  encodeFunctionData,
  type Hex,
  keccak256,
  parseEventLogs,
  toHex,
  zeroAddress,
} from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import type { ConsentRelayer } from '../src/ConsentRelayer.js';

export interface TestPatient {
  account: PrivateKeyAccount;
  pseudonym: Hex;
}

export interface TestMember {
  address: Address;
  privateKey: Uint8Array;
}

export interface TestConsortium {
  dataDir: string;
  chain: EmbeddedChain;
  deployment: Deployment;
  /** Governance (the deployer, dev account 0). */
  admin: LedgerClient;
  /** The node under test: organisation 1's node account. */
  hospital: LedgerClient;
  lab: LedgerClient;
  regulator: LedgerClient;
  ids: { hospital: number; lab: number; regulator: number };
  members: {
    /** Hospital practitioner with a licence. */
    practitioner: TestMember;
    /** Hospital member without a licence. */
    unlicensed: TestMember;
    /** Lab staff with a licence. */
    labTech: TestMember;
    /** Lab auditor. */
    auditor: TestMember;
  };
  /** Sends a registry call from `from` and waits for it. */
  registry(from: LedgerClient, functionName: string, args: readonly unknown[]): Promise<void>;
  newPatient(): TestPatient;
  signGrant(patient: TestPatient, terms: ConsentTerms, deadline: bigint): Promise<Hex>;
  signRevoke(patient: TestPatient, consentId: Hex, deadline: bigint): Promise<Hex>;
  /** The newest block's timestamp. */
  chainNow(): Promise<number>;
  /** After the chain lost its state: bootstraps again (redeploying if needed) and reconnects the hospital and
   * admin clients. Other organisations are not re-admitted. */
  rebootstrap(): Promise<void>;
  close(): Promise<void>;
}

const member = (index: number): TestMember => {
  const a = devAccount(index);
  return { address: a.address, privateKey: a.privateKey };
};

export async function startTestConsortium(options: { blockTime?: number } = {}): Promise<TestConsortium> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mdl-consent-'));
  const chain = new EmbeddedChain({ dataDir, blockTime: options.blockTime ?? 0.1 });
  await chain.start();
  const hospitalNode = devAccount(1);
  const bootstrap = () =>
    ensureDeployment({
      rpcUrl: chain.rpcUrl,
      deploymentFile: join(dataDir, 'chain', 'deployment.json'),
      deployerKey: devAccount(0).privateKey,
      nodeAccount: hospitalNode.address,
      organisation: {
        kind: OrganisationKind.Hospital,
        endpoint: 'https://node.hospital.example',
        keyBundleCommitment: keccak256(toHex('hospital key bundle')),
        keyBundleUri: 'https://node.hospital.example/keys',
      },
    });
  const boot = await bootstrap();
  const { deployment } = boot;
  const connect = (privateKey: Uint8Array) =>
    LedgerClient.connect({ rpcUrl: chain.rpcUrl, deployment, privateKey });
  const [admin, hospital, lab, regulator] = await Promise.all([
    connect(devAccount(0).privateKey),
    connect(hospitalNode.privateKey),
    connect(devAccount(2).privateKey),
    connect(devAccount(3).privateKey),
  ]);
  let registryAddress = deployment.contracts.ConsortiumRegistry.address;
  const send = async (from: LedgerClient, functionName: string, args: readonly unknown[]) => {
    const data = encodeFunctionData({
      abi: consortiumRegistryAbi,
      functionName: functionName as 'admitOrganisation',
      args: args as never,
    });
    const signed = await from.sendCall({ to: registryAddress, data });
    return from.waitForReceipt(signed.hash);
  };
  const admit = async (kind: number, name: string, node: LedgerClient) => {
    const receipt = await send(admin, 'admitOrganisation', [
      kind,
      `https://node.${name}.example`,
      keccak256(toHex(`${name} key bundle`)),
      `https://node.${name}.example/keys`,
    ]);
    const [event] = parseEventLogs({
      abi: consortiumRegistryAbi,
      eventName: 'OrganisationAdmitted',
      logs: receipt.logs,
    });
    const id = Number(event!.args.organisation);
    await send(admin, 'addNodeAccount', [id, node.address]);
    return id;
  };
  const [labId, regulatorId] = await Promise.all([
    admit(OrganisationKind.Lab, 'lab', lab),
    admit(OrganisationKind.Regulator, 'regulator', regulator),
  ]);
  const members = { practitioner: member(4), unlicensed: member(5), labTech: member(6), auditor: member(7) };
  await Promise.all([
    send(hospital, 'registerMember', [members.practitioner.address, MemberRole.Practitioner]).then(() =>
      send(hospital, 'registerMember', [members.unlicensed.address, MemberRole.Practitioner]),
    ),
    send(lab, 'registerMember', [members.labTech.address, MemberRole.LabStaff]).then(() =>
      send(lab, 'registerMember', [members.auditor.address, MemberRole.Auditor]),
    ),
  ]);
  const year = Math.floor(Date.now() / 1000) + 365 * 24 * 3600;
  await send(regulator, 'issueLicence', [members.practitioner.address, keccak256(toHex('licence 1')), year]);
  await send(regulator, 'issueLicence', [members.labTech.address, keccak256(toHex('licence 2')), year]);

  let domain = consentDomain(deployment.chainId, deployment.contracts.ConsentManager.address);
  const consortium: TestConsortium = {
    dataDir,
    chain,
    deployment,
    admin,
    hospital,
    lab,
    regulator,
    ids: { hospital: boot.organisationId, lab: labId, regulator: regulatorId },
    members,
    registry: async (from, functionName, args) => {
      await send(from, functionName, args);
    },
    newPatient() {
      const account = privateKeyToAccount(generatePrivateKey());
      return { account, pseudonym: patientPseudonymOf(account.address) };
    },
    signGrant: (patient, terms, deadline) =>
      patient.account.signTypedData({
        domain,
        types: consentTypes,
        primaryType: 'GrantConsent',
        message: { consent: terms, deadline },
      }),
    signRevoke: (patient, consentId, deadline) =>
      patient.account.signTypedData({
        domain,
        types: consentTypes,
        primaryType: 'RevokeConsent',
        message: { consentId, deadline },
      }),
    async chainNow() {
      const block = await consortium.hospital.publicClient.getBlock({ blockTag: 'latest' });
      return Number(block.timestamp);
    },
    async rebootstrap() {
      const again = await bootstrap();
      const reconnect = (privateKey: Uint8Array) =>
        LedgerClient.connect({ rpcUrl: chain.rpcUrl, deployment: again.deployment, privateKey });
      consortium.deployment = again.deployment;
      registryAddress = again.deployment.contracts.ConsortiumRegistry.address;
      consortium.admin = await reconnect(devAccount(0).privateKey);
      consortium.hospital = await reconnect(hospitalNode.privateKey);
      domain = consentDomain(again.deployment.chainId, again.deployment.contracts.ConsentManager.address);
    },
    async close() {
      await chain.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return consortium;
}

/** The tests' usual grant: Observations, read, for treatment, to `grantee`, valid for an hour from `now`. */
export function observationReadTerms(
  patient: TestPatient,
  grantee: number,
  now: number,
  overrides: Partial<ConsentTerms> = {},
): ConsentTerms {
  return {
    patient: patient.pseudonym,
    grantee,
    granteeMember: zeroAddress,
    actions: mask(Action.Read),
    resourceClasses: mask(DataCategory.Observations),
    purposes: mask(Purpose.Treatment),
    validFrom: 0,
    validUntil: now + 3600,
    dataFrom: 0,
    dataUntil: 0,
    nonce: 1n,
    ...overrides,
  };
}

/** `terms` signed by the patient (deadline ten minutes after `now`) and relayed. */
export async function relayGrant(
  c: TestConsortium,
  relayer: ConsentRelayer,
  patient: TestPatient,
  terms: ConsentTerms,
  now: number,
): ReturnType<ConsentRelayer['grant']> {
  const deadline = BigInt(now + 600);
  return relayer.grant({ terms, deadline, signature: await c.signGrant(patient, terms, deadline) });
}
