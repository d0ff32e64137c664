/**
 * Makes sure the node has a usable contract deployment before anything else touches the ledger.
 *
 * Embedded chain (a `deployerKey` is given — anvil's dev account 0 on the single-machine default): deploys the
 * suite on first start and writes the deployment file into the data directory; on later starts verifies that
 * every contract still has code and answers, and redeploys (saying so in the result) when the chain lost its
 * state; deploys the suite members a deployment made before them lacks (Prescriptions) against its registry and
 * rewrites the file (listed in `added`); admits the organisation and the node account if they are not admitted
 * yet; funds the node account.
 *
 * External chain (no `deployerKey`): never deploys, never admits, never funds. The deployment file must exist,
 * match the chain and the ABIs this build ships (a file without the optional Prescriptions is accepted: the
 * features it carries stay off until governance deploys it), the node account must already be an active node account
 * of an organisation (admitted from its join request, docs/consortium.md), and the registry's profile of that
 * organisation must name this node's key bundle and endpoint; anything else is an MDL_CONFIG error that says
 * what to fix (never admitted, suspended, another keystore, another base URL).
 */
import { access } from 'node:fs/promises';
import {
  abiHash,
  CORE_CONTRACTS,
  completeDeployment,
  consortiumRegistryAbi,
  type Deployment,
  deploySuite,
  medledgerErrorsAbi,
  OPTIONAL_CONTRACTS,
  type OptionalContractName,
  type OrganisationKind,
  readDeployment,
  recordRegistryAbi,
  suiteArtifacts,
  writeDeployment,
} from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  type Address,
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  type Hex,
  http,
  isAddress,
  isHex,
  type PublicClient,
  parseEther,
  parseEventLogs,
  type Transport,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describeRpcError, unavailable } from './LedgerClient.js';

export interface OrganisationProfile {
  kind: OrganisationKind;
  /** Base URL of the node. */
  endpoint: string;
  /** Commitment to the organisation's public key bundle (32 bytes, hex or bytes). */
  keyBundleCommitment: Hex | Uint8Array;
  /** Where the key bundle is published. */
  keyBundleUri: string;
}

export interface EnsureDeploymentOptions {
  rpcUrl: string;
  /** Where the deployment JSON lives (embedded: `<dataDir>/chain/deployment.json`). */
  deploymentFile: string;
  /** Embedded chain only: the funded deployer / governance admin (32-byte key). Its presence selects embedded
   * mode; never pass it for a shared network. */
  deployerKey?: Uint8Array;
  /** The node's own account (the address of the key in its keystore). */
  nodeAccount: Address;
  /** Used in embedded mode to admit the organisation. */
  organisation: OrganisationProfile;
  /** Embedded mode: top the node account up to this balance (default 100 ether) when below half of it. */
  fundTo?: bigint;
}

export interface EnsureDeploymentResult {
  deployment: Deployment;
  mode: 'embedded' | 'external';
  /** What happened to the deployment: deployed first time, reused, or redeployed (reason given). */
  action: 'deployed' | 'reused' | 'redeployed';
  /** Why a redeployment happened (e.g. the embedded chain lost its state). */
  reason?: string;
  /** Embedded mode: optional suite members this call deployed into a reused deployment that lacked them. */
  added: OptionalContractName[];
  organisationId: number;
  /** The organisation was admitted by this call. */
  admitted: boolean;
  /** The node account was added by this call. */
  nodeAccountAdded: boolean;
  /** Wei sent to the node account by this call. */
  funded: bigint;
}

function config(message: string): MdlError {
  return new MdlError(MdlErrorCode.Config, `ledger: ${message}`);
}

async function fileExists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Why the deployment is unusable on this chain, or undefined when every contract is there and answers. */
async function deploymentProblem(client: PublicClient, deployment: Deployment): Promise<string | undefined> {
  const chainId = await client.getChainId();
  if (chainId !== deployment.chainId)
    return `the deployment is for chain ${deployment.chainId}, not ${chainId}`;
  for (const name of [...CORE_CONTRACTS, ...OPTIONAL_CONTRACTS]) {
    const entry = deployment.contracts[name];
    if (!entry) continue; // an optional member the deployment predates
    if (entry.abiHash !== abiHash(suiteArtifacts[name].abi))
      return `${name} was deployed from a different ABI`;
    const code = await client.getCode({ address: entry.address });
    if (!code || code === '0x') return `no code at the ${name} address ${entry.address}`;
  }
  // Code alone could be anything: ask the two contracts the node depends on most.
  try {
    await client.readContract({
      address: deployment.contracts.ConsortiumRegistry.address,
      abi: consortiumRegistryAbi,
      functionName: 'organisationCount',
    });
    await client.readContract({
      address: deployment.contracts.RecordRegistry.address,
      abi: recordRegistryAbi,
      functionName: 'anchorChain',
    });
  } catch (error) {
    return `the contracts do not answer as medledger contracts (${describeRpcError(error)})`;
  }
  return undefined;
}

export async function ensureDeployment(options: EnsureDeploymentOptions): Promise<EnsureDeploymentResult> {
  if (!isAddress(options.nodeAccount)) throw config('nodeAccount is not an address');
  const commitment =
    typeof options.organisation.keyBundleCommitment === 'string'
      ? options.organisation.keyBundleCommitment
      : toHex(options.organisation.keyBundleCommitment);
  if (!isHex(commitment) || commitment.length !== 66) throw config('keyBundleCommitment must be 32 bytes');
  const transport = minedOnReturn(options.rpcUrl);
  const probe = createPublicClient({ transport });
  const chainId = await probe.getChainId().catch((e: unknown) => {
    throw unavailable(`reaching ${options.rpcUrl}`, e);
  });
  const chain = defineChain({
    id: chainId,
    name: `medledger-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  });
  const client = createPublicClient({ chain, transport, pollingInterval: 100 }) as PublicClient;
  const present = await fileExists(options.deploymentFile);

  let existing: Deployment | undefined;
  if (present) {
    try {
      existing = await readDeployment(options.deploymentFile);
    } catch (error) {
      throw config(`${(error as Error).message.split('\n')[0]}`);
    }
  }

  if (!options.deployerKey) {
    // External chain.
    if (!existing)
      throw config(
        `no deployment file at ${options.deploymentFile} (an external chain is never deployed to)`,
      );
    const problem = await deploymentProblem(client, existing).catch((e: unknown) => {
      throw unavailable('verifying the deployment', e);
    });
    if (problem) throw config(`${options.deploymentFile}: ${problem}`);
    const organisationId = await activeOrganisationOf(client, existing, options.nodeAccount);
    if (organisationId === undefined) throw await notAdmitted(client, existing, options.nodeAccount);
    const mismatch = await profileMismatch(
      client,
      existing,
      organisationId,
      options.organisation,
      commitment,
    );
    if (mismatch) throw config(mismatch);
    return {
      deployment: existing,
      mode: 'external',
      action: 'reused',
      organisationId,
      added: [],
      admitted: false,
      nodeAccountAdded: false,
      funded: 0n,
    };
  }

  // Embedded chain.
  const deployer = privateKeyToAccount(toHex(options.deployerKey));
  const wallet = createWalletClient({ account: deployer, chain, transport });
  let deployment = existing;
  let action: EnsureDeploymentResult['action'] = 'reused';
  let reason: string | undefined;
  try {
    if (deployment) {
      const problem = await deploymentProblem(client, deployment);
      if (problem?.includes('different ABI')) {
        throw config(`${options.deploymentFile}: ${problem}; refusing to replace a consortium's contracts`);
      }
      if (problem) {
        reason = `${problem}: the embedded chain lost its state`;
        deployment = undefined;
        action = 'redeployed';
      }
    } else {
      action = 'deployed';
    }
    let added: OptionalContractName[] = [];
    if (!deployment) {
      deployment = await deploySuite({ rpcUrl: options.rpcUrl, account: deployer, transport });
      await writeDeployment(options.deploymentFile, deployment);
    } else {
      // A data directory from before an optional member existed: add it, as a first start would have.
      ({ deployment, added } = await completeDeployment(
        { rpcUrl: options.rpcUrl, account: deployer, transport, outFile: options.deploymentFile },
        deployment,
      ));
    }

    const registry = deployment.contracts.ConsortiumRegistry.address;
    const registryAbi = [...consortiumRegistryAbi, ...medledgerErrorsAbi] as const;
    const send = async (functionName: string, args: readonly unknown[]) => {
      const hash = await wallet.writeContract({
        address: registry,
        abi: registryAbi,
        functionName: functionName as 'admitOrganisation',
        args: args as never,
      });
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error(`${functionName} reverted`);
      return receipt;
    };

    let admitted = false;
    let nodeAccountAdded = false;
    let organisationId = Number(
      await client.readContract({
        address: registry,
        abi: consortiumRegistryAbi,
        functionName: 'nodeAccountOrganisation',
        args: [options.nodeAccount],
      }),
    );
    if (organisationId === 0) {
      // An earlier start may have admitted the organisation and stopped before adding the account.
      organisationId = await findOrganisation(client, registry, options.organisation.endpoint, commitment);
      if (organisationId === 0) {
        const receipt = await send('admitOrganisation', [
          options.organisation.kind,
          options.organisation.endpoint,
          commitment,
          options.organisation.keyBundleUri,
        ]);
        const [event] = parseEventLogs({
          abi: consortiumRegistryAbi,
          eventName: 'OrganisationAdmitted',
          logs: receipt.logs,
        });
        if (!event) throw new Error('admitOrganisation emitted no OrganisationAdmitted');
        organisationId = Number(event.args.organisation);
        admitted = true;
      }
      await send('addNodeAccount', [organisationId, options.nodeAccount]);
      nodeAccountAdded = true;
    }
    if ((await activeOrganisationOf(client, deployment, options.nodeAccount)) === undefined) {
      throw config(`organisation ${organisationId} of ${options.nodeAccount} is suspended`);
    }

    const target = options.fundTo ?? parseEther('100');
    const balance = await client.getBalance({ address: options.nodeAccount });
    let funded = 0n;
    if (balance < target / 2n) {
      const hash = await wallet.sendTransaction({ to: options.nodeAccount, value: target - balance });
      await client.waitForTransactionReceipt({ hash });
      funded = target - balance;
    }
    return {
      deployment,
      mode: 'embedded',
      action,
      ...(reason ? { reason } : {}),
      added,
      organisationId,
      admitted,
      nodeAccountAdded,
      funded,
    };
  } catch (error) {
    throw unavailable('bootstrapping the embedded deployment', error);
  }
}

/** Why an account that is not an active node account cannot serve: never admitted, removed, or suspended. */
async function notAdmitted(
  client: PublicClient,
  deployment: Deployment,
  account: Address,
): Promise<MdlError> {
  const registry = deployment.contracts.ConsortiumRegistry.address;
  const id = Number(
    await client
      .readContract({
        address: registry,
        abi: consortiumRegistryAbi,
        functionName: 'nodeAccountOrganisation',
        args: [account],
      })
      .catch((e: unknown) => {
        throw unavailable('reading the registry', e);
      }),
  );
  if (id !== 0) {
    return config(
      `account ${account} is a node account of organisation ${id}, which is suspended in the registry at ` +
        `${registry}; the node serves again once governance reinstates it`,
    );
  }
  return config(
    `account ${account} is not an active node account in the registry at ${registry}: send governance this ` +
      `node's join request (medledger consortium join-request) and start it once admitted`,
  );
}

/** Whether the registry's profile of the organisation names this node's key bundle and endpoint. */
async function profileMismatch(
  client: PublicClient,
  deployment: Deployment,
  id: number,
  own: OrganisationProfile,
  commitment: Hex,
): Promise<string | undefined> {
  const profile = await client
    .readContract({
      address: deployment.contracts.ConsortiumRegistry.address,
      abi: consortiumRegistryAbi,
      functionName: 'organisation',
      args: [id],
    })
    .catch((e: unknown) => {
      throw unavailable('reading the registry', e);
    });
  if (profile.keyBundleHash.toLowerCase() !== commitment.toLowerCase()) {
    return (
      `the registry holds key bundle ${profile.keyBundleHash} for organisation ${id}, not this keystore's ` +
      `${commitment}: the keystore is not the one the join request was made from`
    );
  }
  if (profile.endpoint !== own.endpoint) {
    return (
      `the registry lists organisation ${id} at ${profile.endpoint}, but this node's base URL is ${own.endpoint}: ` +
      'start it with --base-url (or --host/--port) as in its join request'
    );
  }
  return undefined;
}

/**
 * HTTP transport whose eth_sendRawTransaction returns only once the transaction is mined (polling its receipt
 * every 100 ms). viem's receipt wait polls at 4 s on a chain it does not know, which would make the seven
 * bootstrap transactions take half a minute on a one-second chain.
 */
export function minedOnReturn(rpcUrl: string): Transport {
  const base = http(rpcUrl, { retryCount: 1, timeout: 15_000 })({});
  return custom(
    {
      async request({ method, params }: { method: string; params?: unknown }) {
        const result = await base.request({ method, params } as never);
        if (method !== 'eth_sendRawTransaction' && method !== 'eth_sendTransaction') return result;
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const receipt = await base.request({
            method: 'eth_getTransactionReceipt',
            params: [result],
          } as never);
          if (receipt) return result;
          await new Promise((r) => setTimeout(r, 100));
        }
        return result;
      },
    },
    { retryCount: 0 },
  );
}

async function activeOrganisationOf(
  client: PublicClient,
  deployment: Deployment,
  account: Address,
): Promise<number | undefined> {
  try {
    const id = await client.readContract({
      address: deployment.contracts.ConsortiumRegistry.address,
      abi: [...consortiumRegistryAbi, ...medledgerErrorsAbi],
      functionName: 'requireActiveNodeAccount',
      args: [account],
    });
    return Number(id);
  } catch (error) {
    const text = describeRpcError(error);
    if (text.includes('NotActiveNodeAccount') || text.includes('OrganisationNotActive')) return undefined;
    throw unavailable('reading the registry', error);
  }
}

/** An admitted organisation with this endpoint and key bundle commitment, or 0. */
async function findOrganisation(
  client: PublicClient,
  registry: Address,
  endpoint: string,
  commitment: Hex,
): Promise<number> {
  const count = Number(
    await client.readContract({
      address: registry,
      abi: consortiumRegistryAbi,
      functionName: 'organisationCount',
    }),
  );
  for (let id = count; id >= 1; id--) {
    const org = await client.readContract({
      address: registry,
      abi: consortiumRegistryAbi,
      functionName: 'organisation',
      args: [id],
    });
    if (org.endpoint === endpoint && org.keyBundleHash.toLowerCase() === commitment.toLowerCase()) return id;
  }
  return 0;
}
