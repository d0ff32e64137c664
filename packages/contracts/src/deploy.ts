// Deploys the consortium contract suite to a JSON-RPC endpoint and describes the result in a deployment file
// the node reads (addresses, chain id, block numbers, ABI hashes). The embedded node calls deploySuite on
// the first start of its anvil chain; `medledger consortium deploy` does the same for an external chain.
// Limits: deploySuite deploys a fresh suite every time (no upgrade); completeDeployment only adds the optional
// members a deployment made before them lacks, against its registry. The deployer pays gas and must be funded.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type Abi,
  type Account,
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  keccak256,
  type Transport,
  toHex,
} from 'viem';
import { auditAnchorAbi, auditAnchorBytecode } from './generated/AuditAnchor.generated.js';
import { consentManagerAbi, consentManagerBytecode } from './generated/ConsentManager.generated.js';
import {
  consortiumRegistryAbi,
  consortiumRegistryBytecode,
} from './generated/ConsortiumRegistry.generated.js';
import { prescriptionsAbi, prescriptionsBytecode } from './generated/Prescriptions.generated.js';
import { recordRegistryAbi, recordRegistryBytecode } from './generated/RecordRegistry.generated.js';

export const DEPLOYMENT_FORMAT = 'medledger.contracts.deployment/1';

/** Four hours: long enough for an emergency admission, short enough that review follows the same shift. */
export const DEFAULT_BREAK_GLASS_DURATION_CAP = 4 * 60 * 60;

/** The contracts every deployment has. */
export type CoreContractName = 'ConsortiumRegistry' | 'ConsentManager' | 'RecordRegistry' | 'AuditAnchor';
/**
 * Suite members added after deployments existed: deploySuite deploys them, but a deployment file without them
 * still loads (the features they carry are off) and completeDeployment adds them.
 */
export type OptionalContractName = 'Prescriptions';
export type ContractName = CoreContractName | OptionalContractName;

export const CORE_CONTRACTS: readonly CoreContractName[] = [
  'ConsortiumRegistry',
  'ConsentManager',
  'RecordRegistry',
  'AuditAnchor',
];
export const OPTIONAL_CONTRACTS: readonly OptionalContractName[] = ['Prescriptions'];

export interface Artifact {
  abi: Abi | readonly unknown[];
  bytecode: Hex;
}

/** The committed artifacts; coverage runs pass unoptimised ones instead. */
export const suiteArtifacts: Record<ContractName, Artifact> = {
  ConsortiumRegistry: { abi: consortiumRegistryAbi, bytecode: consortiumRegistryBytecode },
  ConsentManager: { abi: consentManagerAbi, bytecode: consentManagerBytecode },
  RecordRegistry: { abi: recordRegistryAbi, bytecode: recordRegistryBytecode },
  AuditAnchor: { abi: auditAnchorAbi, bytecode: auditAnchorBytecode },
  Prescriptions: { abi: prescriptionsAbi, bytecode: prescriptionsBytecode },
};

export interface DeployedContract {
  address: Address;
  blockNumber: string;
  transactionHash: Hex;
  /** keccak256 of the ABI's JSON, so a node can refuse a deployment built from other ABIs. */
  abiHash: Hex;
}

export interface Deployment {
  format: typeof DEPLOYMENT_FORMAT;
  chainId: number;
  deployer: Address;
  admin: Address;
  breakGlassDurationCap: number;
  /** Block of the last deployment transaction: indexers start reading events here. */
  blockNumber: string;
  /** Optional members are absent from deployments made before they existed. */
  contracts: Record<CoreContractName, DeployedContract> &
    Partial<Record<OptionalContractName, DeployedContract>>;
}

export interface DeployOptions {
  rpcUrl: string;
  /** The funded deploying account (a viem local account). */
  account: Account;
  /** Receives the admin and governor roles; defaults to the deployer. */
  admin?: Address;
  breakGlassDurationCap?: number;
  /** Where to write the deployment JSON; nothing is written when absent. */
  outFile?: string;
  artifacts?: Record<ContractName, Artifact>;
  /** A transport to use instead of plain HTTP to rpcUrl (e.g. one that traces or retries). */
  transport?: Transport;
}

export function abiHash(abi: Artifact['abi']): Hex {
  return keccak256(toHex(JSON.stringify(abi)));
}

type DeployOne = (name: ContractName, args: readonly unknown[]) => Promise<DeployedContract>;

async function deployer(options: DeployOptions): Promise<{ chainId: number; deployOne: DeployOne }> {
  const transport = options.transport ?? http(options.rpcUrl);
  const probe = createPublicClient({ transport });
  const chainId = await probe.getChainId();
  const chain = defineChain({
    id: chainId,
    name: `medledger-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport });
  const wallet = createWalletClient({ account: options.account, chain, transport });
  const artifacts = options.artifacts ?? suiteArtifacts;

  const deployOne: DeployOne = async (name, args) => {
    const { abi, bytecode } = artifacts[name];
    const hash = await wallet.deployContract({ abi: abi as Abi, bytecode, args });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success' || !receipt.contractAddress) {
      throw new Error(`deploying ${name} failed in transaction ${hash}`);
    }
    return {
      address: receipt.contractAddress,
      blockNumber: receipt.blockNumber.toString(),
      transactionHash: hash,
      abiHash: abiHash(abi),
    };
  };
  return { chainId, deployOne };
}

export async function deploySuite(options: DeployOptions): Promise<Deployment> {
  const { chainId, deployOne } = await deployer(options);
  const admin = options.admin ?? options.account.address;
  const cap = options.breakGlassDurationCap ?? DEFAULT_BREAK_GLASS_DURATION_CAP;
  const registry = await deployOne('ConsortiumRegistry', [admin]);
  const consent = await deployOne('ConsentManager', [registry.address, admin, cap]);
  const records = await deployOne('RecordRegistry', [registry.address]);
  const audit = await deployOne('AuditAnchor', [registry.address]);
  const prescriptions = await deployOne('Prescriptions', [registry.address]);
  const deployment: Deployment = {
    format: DEPLOYMENT_FORMAT,
    chainId,
    deployer: options.account.address,
    admin,
    breakGlassDurationCap: cap,
    blockNumber: prescriptions.blockNumber,
    contracts: {
      ConsortiumRegistry: registry,
      ConsentManager: consent,
      RecordRegistry: records,
      AuditAnchor: audit,
      Prescriptions: prescriptions,
    },
  };
  if (options.outFile) await writeDeployment(options.outFile, deployment);
  return deployment;
}

/**
 * Deploys the optional suite members a deployment lacks (made before they existed), against its registry, and
 * returns the completed deployment with the names added (none: the same deployment). The deployment's
 * blockNumber is left as it was, so indexers of the older contracts miss no event; a new member's own block is
 * in its entry. Writes options.outFile only when something was added.
 */
export async function completeDeployment(
  options: Omit<DeployOptions, 'admin' | 'breakGlassDurationCap'>,
  deployment: Deployment,
): Promise<{ deployment: Deployment; added: OptionalContractName[] }> {
  const missing = OPTIONAL_CONTRACTS.filter((name) => !deployment.contracts[name]);
  if (missing.length === 0) return { deployment, added: [] };
  const { chainId, deployOne } = await deployer(options);
  if (chainId !== deployment.chainId) {
    throw new Error(`the deployment is for chain ${deployment.chainId}, not ${chainId}`);
  }
  const contracts = { ...deployment.contracts };
  for (const name of missing) {
    contracts[name] = await deployOne(name, [deployment.contracts.ConsortiumRegistry.address]);
  }
  const completed: Deployment = { ...deployment, contracts };
  if (options.outFile) await writeDeployment(options.outFile, completed);
  return { deployment: completed, added: missing };
}

export async function writeDeployment(file: string, deployment: Deployment): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(deployment, null, 2)}\n`);
}

/**
 * Reads a deployment file and checks it was made from the ABIs this package ships. The core contracts must all
 * be there; an optional one (Prescriptions) may be absent, as in files written before it existed, but when
 * present it must match too.
 */
export async function readDeployment(file: string): Promise<Deployment> {
  const deployment = JSON.parse(await readFile(file, 'utf8')) as Deployment;
  if (deployment.format !== DEPLOYMENT_FORMAT) {
    throw new Error(`${file}: not a medledger contracts deployment (format ${String(deployment.format)})`);
  }
  for (const name of [...CORE_CONTRACTS, ...OPTIONAL_CONTRACTS]) {
    const entry = deployment.contracts[name];
    if (!entry) {
      if ((OPTIONAL_CONTRACTS as readonly string[]).includes(name)) continue;
      throw new Error(`${file}: ${name} missing`);
    }
    if (entry.abiHash !== abiHash(suiteArtifacts[name].abi)) {
      throw new Error(`${file}: ${name} was deployed from a different ABI`);
    }
  }
  return deployment;
}
