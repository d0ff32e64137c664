/**
 * The chain as governance sees it: the deployment file, viem clients on the external chain, the governance key
 * (from a 0600 key file or the environment, never from the command line), and one way to send a registry or
 * consent-manager call that turns every revert into one line naming what went wrong.
 *
 * Limits: one governance account sends directly. Once governance is handed to a multisig or a timelock, these
 * commands refuse to send (the key no longer holds the role) and say who does (docs/consortium.md).
 */
import { readFileSync, statSync } from 'node:fs';
import {
  consentManagerAbi,
  consortiumRegistryAbi,
  type Deployment,
  medledgerErrorsAbi,
  readDeployment,
} from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { minedOnReturn } from '@medledger/ledger';
import {
  type Address,
  BaseError,
  type Chain,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  type Hex,
  keccak256,
  type PublicClient,
  parseEventLogs,
  type TransactionReceipt,
  toHex,
} from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';

export const GOVERNOR_ROLE = keccak256(toHex('GOVERNOR_ROLE'));
export const DEFAULT_ADMIN_ROLE = `0x${'00'.repeat(32)}` as Hex;

export const registryAbi = [...consortiumRegistryAbi, ...medledgerErrorsAbi] as const;
const consentAbi = [...consentManagerAbi, ...medledgerErrorsAbi] as const;

export function refuse(message: string): never {
  throw new MdlError(MdlErrorCode.BadInput, message);
}

/** A secret file must exist and be private to its owner (the node's own rule for its key files). */
export function readPrivateFile(what: string, file: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    refuse(`${what} ${file} does not exist or cannot be read`);
  }
  if ((mode & 0o077) !== 0) refuse(`${what} ${file} must not be readable by group or others (chmod 600)`);
  return readFileSync(file, 'utf8');
}

/**
 * The governance account: `--governance-key-file` / MEDLEDGER_GOVERNANCE_KEY_FILE (a 0600 file holding one 32-byte
 * hex key), else MEDLEDGER_GOVERNANCE_KEY (for a secrets manager that injects environment variables).
 */
export function governanceAccount(keyFile: string | undefined, env: NodeJS.ProcessEnv): PrivateKeyAccount {
  const file = keyFile ?? (env.MEDLEDGER_GOVERNANCE_KEY_FILE || undefined);
  const raw = file ? readPrivateFile('the governance key file', file) : env.MEDLEDGER_GOVERNANCE_KEY;
  if (raw === undefined || raw === '') {
    refuse('no governance key: pass --governance-key-file (a 0600 file) or set MEDLEDGER_GOVERNANCE_KEY');
  }
  const hex = raw.trim().replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    refuse(
      `${file ? `the governance key file ${file}` : 'MEDLEDGER_GOVERNANCE_KEY'} must hold one 32-byte hex key`,
    );
  }
  return privateKeyToAccount(`0x${hex}`);
}

export function rpcUrlOf(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = given ?? (env.LEDGER_RPC_URL || undefined);
  if (!url) refuse('no chain: pass --rpc-url or set LEDGER_RPC_URL');
  const u = URL.parse(url);
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:'))
    refuse(`--rpc-url ${url} is not an http(s) URL`);
  return url;
}

/** The one line a failed chain call deserves: the contract's error name, or what the RPC said. */
export function describeChainError(error: unknown): string {
  if (error instanceof MdlError) return error.message;
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName) {
      return `reverted with ${reverted.data.errorName}`;
    }
    return error.shortMessage.split('\n')[0] ?? error.name;
  }
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
}

export interface GovernanceChain {
  rpcUrl: string;
  chain: Chain;
  client: PublicClient;
  deployment: Deployment;
  deploymentFile: string;
  registry: Address;
  consentManager: Address;
  /** Accounts holding GOVERNOR_ROLE in the registry now (from RoleGranted/RoleRevoked). */
  governors(): Promise<Address[]>;
  /** Sends a call as `account` after simulating it; a revert is one line. */
  send(
    account: PrivateKeyAccount,
    target: 'registry' | 'consentManager',
    functionName: string,
    args: readonly unknown[],
  ): Promise<TransactionReceipt>;
  /** Sends ether (e.g. gas money for a node account). */
  pay(account: PrivateKeyAccount, to: Address, value: bigint): Promise<void>;
  /** Refuses unless `account` holds GOVERNOR_ROLE, naming who does. */
  requireGovernor(account: Address): Promise<void>;
}

/** viem clients on a chain found at `rpcUrl`, transactions waited for without viem's 4 s polling. */
export async function chainAt(rpcUrl: string): Promise<{ chain: Chain; client: PublicClient }> {
  const transport = minedOnReturn(rpcUrl);
  const chainId = await createPublicClient({ transport })
    .getChainId()
    .catch((e: unknown) => refuse(`no chain answers at ${rpcUrl} (${describeChainError(e)})`));
  const chain = defineChain({
    id: chainId,
    name: `medledger-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  return { chain, client: createPublicClient({ chain, transport, pollingInterval: 100 }) as PublicClient };
}

export async function connectGovernance(rpcUrl: string, deploymentFile: string): Promise<GovernanceChain> {
  let deployment: Deployment;
  try {
    deployment = await readDeployment(deploymentFile);
  } catch (error) {
    const text =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : describeChainError(error);
    refuse(`deployment file ${deploymentFile}: ${text.replace(`${deploymentFile}: `, '')}`);
  }
  const { chain, client } = await chainAt(rpcUrl);
  if (chain.id !== deployment.chainId) {
    refuse(
      `${deploymentFile} is a deployment on chain ${deployment.chainId}, but ${rpcUrl} is chain ${chain.id}`,
    );
  }
  const registry = getAddress(deployment.contracts.ConsortiumRegistry.address);
  const consentManager = getAddress(deployment.contracts.ConsentManager.address);
  const code = await client.getCode({ address: registry });
  if (!code || code === '0x')
    refuse(`no registry at ${registry} on ${rpcUrl} (is this the deployment's chain?)`);
  const wallets = new Map<Address, ReturnType<typeof createWalletClient>>();
  const wallet = (account: PrivateKeyAccount) => {
    let w = wallets.get(account.address);
    if (!w) {
      w = createWalletClient({ account, chain, transport: minedOnReturn(rpcUrl) });
      wallets.set(account.address, w);
    }
    return w;
  };

  const governors = async (): Promise<Address[]> => {
    const logs = await client.getLogs({
      address: registry,
      fromBlock: BigInt(deployment.contracts.ConsortiumRegistry.blockNumber),
    });
    const events = parseEventLogs({
      abi: consortiumRegistryAbi,
      logs,
      eventName: ['RoleGranted', 'RoleRevoked'],
    });
    const holders = new Set<Address>();
    for (const e of events) {
      if (e.args.role !== GOVERNOR_ROLE) continue;
      if (e.eventName === 'RoleGranted') holders.add(e.args.account);
      else holders.delete(e.args.account);
    }
    return [...holders];
  };

  const requireGovernor = async (account: Address) => {
    const holds = await client.readContract({
      address: registry,
      abi: consortiumRegistryAbi,
      functionName: 'hasRole',
      args: [GOVERNOR_ROLE, account],
    });
    if (holds) return;
    const now = await governors();
    refuse(
      `${account} does not hold the governance role of the registry at ${registry}` +
        (now.length > 0 ? `; governance is held by ${now.join(', ')}` : ''),
    );
  };

  const send: GovernanceChain['send'] = async (account, target, functionName, args) => {
    const address = target === 'registry' ? registry : consentManager;
    const abi = target === 'registry' ? registryAbi : consentAbi;
    try {
      const { request } = await client.simulateContract({
        account,
        address,
        abi,
        functionName: functionName as never,
        args: args as never,
      });
      const hash = await wallet(account).writeContract(request as never);
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') refuse(`${functionName} reverted in transaction ${hash}`);
      return receipt;
    } catch (error) {
      if (error instanceof MdlError) throw error;
      const what = describeChainError(error);
      if (what.includes('AccessControlUnauthorizedAccount')) await requireGovernor(account.address);
      throw new MdlError(MdlErrorCode.Unavailable, `${functionName}: ${what}`, { cause: error });
    }
  };

  const pay: GovernanceChain['pay'] = async (account, to, value) => {
    try {
      const hash = await wallet(account).sendTransaction({ account, to, value, chain });
      await client.waitForTransactionReceipt({ hash });
    } catch (error) {
      throw new MdlError(MdlErrorCode.Unavailable, `funding ${to}: ${describeChainError(error)}`, {
        cause: error,
      });
    }
  };

  return {
    rpcUrl,
    chain,
    client,
    deployment,
    deploymentFile,
    registry,
    consentManager,
    governors,
    send,
    pay,
    requireGovernor,
  };
}
