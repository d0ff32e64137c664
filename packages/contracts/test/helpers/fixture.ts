// The consortium every integration test starts from: the suite deployed by deploySuite (the code the node
// runs), three organisations (a hospital, a clinic, a regulator) with node accounts, a licensed practitioner
// and an auditor. Tests take an anvil snapshot of it and revert to it between cases.

import { readFileSync } from 'node:fs';
import {
  type Abi,
  type Address,
  ContractFunctionRevertedError,
  getContract,
  type Hash,
  type Hex,
  keccak256,
  type Log,
  parseEventLogs,
  type TransactionReceipt,
  toHex,
} from 'viem';
import type { HDAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import {
  auditAnchorAbi,
  type ContractName,
  consentManagerAbi,
  consortiumRegistryAbi,
  type Deployment,
  deploySuite,
  MemberRole,
  medledgerErrorsAbi,
  OrganisationKind,
  prescriptionsAbi,
  recordRegistryAbi,
  suiteArtifacts,
} from '../../src/index.js';
import { type Chain, startAnvil } from './anvil.js';

export const registryAbi = [...consortiumRegistryAbi, ...medledgerErrorsAbi] as const;
export const consentAbi = [...consentManagerAbi, ...medledgerErrorsAbi] as const;
export const recordsAbi = [...recordRegistryAbi, ...medledgerErrorsAbi] as const;
export const auditAbi = [...auditAnchorAbi, ...medledgerErrorsAbi] as const;
export const prescriptionAbi = [...prescriptionsAbi, ...medledgerErrorsAbi] as const;
export const allEventsAbi = [
  ...consortiumRegistryAbi,
  ...consentManagerAbi,
  ...recordRegistryAbi,
  ...auditAnchorAbi,
  ...prescriptionsAbi,
];

export const HOSPITAL = 1;
export const CLINIC = 2;
export const REGULATOR = 3;
export const YEAR = 365 * 24 * 60 * 60;

export interface Suite {
  chain: Chain;
  deployment: Deployment;
  accounts: {
    admin: HDAccount;
    hospitalNode: HDAccount;
    clinicNode: HDAccount;
    regulatorNode: HDAccount;
    practitioner: HDAccount;
    auditor: HDAccount;
    clinicPractitioner: HDAccount;
    outsider: HDAccount;
  };
  addresses: Record<ContractName, Address>;
  /** Sends a transaction from `from` and returns its receipt; throws on revert. */
  send(
    from: HDAccount,
    contract: ContractName,
    functionName: string,
    args: readonly unknown[],
  ): Promise<Receipt>;
  read<T = unknown>(contract: ContractName, functionName: string, args?: readonly unknown[]): Promise<T>;
  now(): Promise<number>;
  /** Moves the chain's clock forward and mines a block. */
  advance(seconds: number): Promise<void>;
  snapshot(): Promise<Hex>;
  revert(id: Hex): Promise<void>;
  stop(): Promise<void>;
}

export interface Receipt extends TransactionReceipt {
  events: { eventName: string; args: Record<string, unknown>; address: Address }[];
}

export const abis: Record<ContractName, Abi> = {
  ConsortiumRegistry: registryAbi as unknown as Abi,
  ConsentManager: consentAbi as unknown as Abi,
  RecordRegistry: recordsAbi as unknown as Abi,
  AuditAnchor: auditAbi as unknown as Abi,
  Prescriptions: prescriptionAbi as unknown as Abi,
};

/** Coverage runs deploy unoptimised builds of the same sources (written by scripts/coverage.ts). */
export function artifactsForRun() {
  const file = process.env.MEDLEDGER_COVERAGE_ARTIFACTS;
  if (!file) return suiteArtifacts;
  return JSON.parse(readFileSync(file, 'utf8')) as typeof suiteArtifacts;
}

export async function startSuite(): Promise<Suite> {
  const chain = await startAnvil();
  const a = (i: number) => chain.account(i);
  const accounts = {
    admin: a(0),
    hospitalNode: a(1),
    clinicNode: a(2),
    regulatorNode: a(3),
    practitioner: a(4),
    auditor: a(5),
    clinicPractitioner: a(6),
    outsider: a(7),
  };
  const deployment = await deploySuite({
    rpcUrl: chain.rpcUrl,
    account: accounts.admin,
    transport: chain.transport,
    artifacts: artifactsForRun(),
  });
  const addresses = Object.fromEntries(
    Object.entries(deployment.contracts).map(([name, c]) => [name, c.address]),
  ) as Record<ContractName, Address>;

  const send: Suite['send'] = async (from, contract, functionName, args) => {
    const instance = getContract({
      address: addresses[contract],
      abi: abis[contract],
      client: chain.wallet(from),
    });
    const write = instance.write as unknown as Record<string, (args: readonly unknown[]) => Promise<Hash>>;
    const fn = write[functionName];
    if (!fn) throw new Error(`${contract}.${functionName} is not a function`);
    const hash = await fn(args);
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
    const events = parseEventLogs({ abi: allEventsAbi, logs: receipt.logs as Log[] }).map((e) => ({
      eventName: e.eventName,
      args: e.args as unknown as Record<string, unknown>,
      address: e.address,
    }));
    return { ...receipt, events };
  };
  const read: Suite['read'] = async <T>(
    contract: ContractName,
    functionName: string,
    args: readonly unknown[] = [],
  ) =>
    (await chain.publicClient.readContract({
      address: addresses[contract],
      abi: abis[contract],
      functionName,
      args,
    })) as T;

  const suite: Suite = {
    chain,
    deployment,
    accounts,
    addresses,
    send,
    read,
    async now() {
      return Number((await chain.publicClient.getBlock()).timestamp);
    },
    async advance(seconds) {
      await chain.testClient.increaseTime({ seconds });
      await chain.testClient.mine({ blocks: 1 });
    },
    snapshot: () => chain.testClient.snapshot(),
    revert: async (id) => {
      await chain.testClient.revert({ id });
    },
    stop: () => chain.stop(),
  };

  // The consortium.
  const { admin, hospitalNode, clinicNode, regulatorNode, practitioner, auditor, clinicPractitioner } =
    accounts;
  const bundle = (name: string) => keccak256(toHex(`key bundle of ${name}`));
  await send(admin, 'ConsortiumRegistry', 'admitOrganisation', [
    OrganisationKind.Hospital,
    'https://node.hospital.example',
    bundle('hospital'),
    'https://node.hospital.example/.well-known/medledger/keys',
  ]);
  await send(admin, 'ConsortiumRegistry', 'admitOrganisation', [
    OrganisationKind.Clinic,
    'https://node.clinic.example',
    bundle('clinic'),
    'https://node.clinic.example/.well-known/medledger/keys',
  ]);
  await send(admin, 'ConsortiumRegistry', 'admitOrganisation', [
    OrganisationKind.Regulator,
    'https://node.regulator.example',
    bundle('regulator'),
    'https://node.regulator.example/.well-known/medledger/keys',
  ]);
  await send(admin, 'ConsortiumRegistry', 'addNodeAccount', [HOSPITAL, hospitalNode.address]);
  await send(admin, 'ConsortiumRegistry', 'addNodeAccount', [CLINIC, clinicNode.address]);
  await send(admin, 'ConsortiumRegistry', 'addNodeAccount', [REGULATOR, regulatorNode.address]);
  await send(hospitalNode, 'ConsortiumRegistry', 'registerMember', [
    practitioner.address,
    MemberRole.Practitioner,
  ]);
  await send(clinicNode, 'ConsortiumRegistry', 'registerMember', [
    clinicPractitioner.address,
    MemberRole.Practitioner,
  ]);
  await send(regulatorNode, 'ConsortiumRegistry', 'registerMember', [auditor.address, MemberRole.Auditor]);
  const now = await suite.now();
  await send(regulatorNode, 'ConsortiumRegistry', 'issueLicence', [
    practitioner.address,
    keccak256(toHex('licence credential of the practitioner')),
    now + YEAR,
  ]);
  return suite;
}

/** Asserts that a call or transaction reverts with the named custom error (and arguments, when given). */
export async function expectRevert(
  action: Promise<unknown>,
  errorName: string,
  args?: readonly unknown[],
): Promise<void> {
  const error = await action.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${errorName}`).toBeInstanceOf(Error);
  const reverted = (error as { walk(fn: (e: unknown) => boolean): unknown }).walk(
    (e) => e instanceof ContractFunctionRevertedError,
  ) as ContractFunctionRevertedError | null;
  expect(reverted, String(error)).toBeInstanceOf(ContractFunctionRevertedError);
  expect(reverted?.data?.errorName).toBe(errorName);
  if (args) expect(reverted?.data?.args ?? []).toEqual(args);
}

/** The single event of a receipt with this name. */
export function eventOf(receipt: Receipt, eventName: string): Record<string, unknown> {
  const matching = receipt.events.filter((e) => e.eventName === eventName);
  expect(matching, `events: ${receipt.events.map((e) => e.eventName).join(', ')}`).toHaveLength(1);
  return matching[0]!.args;
}

/**
 * One suite per test file: started before the file's tests, reverted to a clean chain snapshot before each test,
 * stopped after. `setup` adds what a file needs beyond the common consortium before the snapshot is taken. The
 * returned object forwards to the suite once it has started.
 */
export function useSuite(setup?: (suite: Suite) => Promise<void>): Suite {
  let suite: Suite | undefined;
  let clean: Hex;
  beforeAll(async () => {
    suite = await startSuite();
    await setup?.(suite);
    clean = await suite.snapshot();
  });
  afterAll(async () => {
    await suite?.stop();
  });
  beforeEach(async () => {
    await suite!.revert(clean);
    clean = await suite!.snapshot();
  });
  return new Proxy({} as Suite, {
    get(_target, property) {
      if (!suite) throw new Error('the suite is used before beforeAll started it');
      const value = Reflect.get(suite, property);
      return typeof value === 'function' ? value.bind(suite) : value;
    },
  });
}
