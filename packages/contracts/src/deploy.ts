// Deploys the consortium contract suite to a JSON-RPC endpoint and describes the result in a deployment file
// the node reads (addresses, chain id, block numbers, ABI hashes). The embedded node calls deploySuite on
// the first start of its anvil chain; `medledger consortium deploy` does the same for an external chain.
// Limits: deploys a fresh suite every time (no upgrade or resume); the deployer pays gas and must be funded.

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
import { recordRegistryAbi, recordRegistryBytecode } from './generated/RecordRegistry.generated.js';

export const DEPLOYMENT_FORMAT = 'medledger.contracts.deployment/1';

/** Four hours: long enough for an emergency admission, short enough that review follows the same shift. */
export const DEFAULT_BREAK_GLASS_DURATION_CAP = 4 * 60 * 60;

export type ContractName = 'ConsortiumRegistry' | 'ConsentManager' | 'RecordRegistry' | 'AuditAnchor';

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
  contracts: Record<ContractName, DeployedContract>;
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

export async function deploySuite(options: DeployOptions): Promise<Deployment> {
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
  const admin = options.admin ?? options.account.address;
  const cap = options.breakGlassDurationCap ?? DEFAULT_BREAK_GLASS_DURATION_CAP;

  const deployOne = async (name: ContractName, args: readonly unknown[]): Promise<DeployedContract> => {
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

  const registry = await deployOne('ConsortiumRegistry', [admin]);
  const consent = await deployOne('ConsentManager', [registry.address, admin, cap]);
  const records = await deployOne('RecordRegistry', [registry.address]);
  const audit = await deployOne('AuditAnchor', [registry.address]);
  const deployment: Deployment = {
    format: DEPLOYMENT_FORMAT,
    chainId,
    deployer: options.account.address,
    admin,
    breakGlassDurationCap: cap,
    blockNumber: audit.blockNumber,
    contracts: {
      ConsortiumRegistry: registry,
      ConsentManager: consent,
      RecordRegistry: records,
      AuditAnchor: audit,
    },
  };
  if (options.outFile) await writeDeployment(options.outFile, deployment);
  return deployment;
}

export async function writeDeployment(file: string, deployment: Deployment): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(deployment, null, 2)}\n`);
}

/** Reads a deployment file and checks it was made from the ABIs this package ships. */
export async function readDeployment(file: string): Promise<Deployment> {
  const deployment = JSON.parse(await readFile(file, 'utf8')) as Deployment;
  if (deployment.format !== DEPLOYMENT_FORMAT) {
    throw new Error(`${file}: not a medledger contracts deployment (format ${String(deployment.format)})`);
  }
  for (const name of Object.keys(suiteArtifacts) as ContractName[]) {
    const entry = deployment.contracts[name];
    if (!entry) throw new Error(`${file}: ${name} missing`);
    if (entry.abiHash !== abiHash(suiteArtifacts[name].abi)) {
      throw new Error(`${file}: ${name} was deployed from a different ABI`);
    }
  }
  return deployment;
}
