/**
 * The node's view of the ledger: viem public and wallet clients for the node's own account, the deployment it
 * talks to, and the few calls the outbox needs — sign a transaction with an explicit nonce without sending it
 * (so its hash is stored before it can be mined), send it, look up receipts, transactions, blocks and
 * BatchAnchored logs, and read AuditAnchor (log openings, latest checkpoints, CheckpointAnchored logs).
 *
 * Every JSON-RPC failure becomes an MdlError MDL_UNAVAILABLE with a one-line message (reverts are decoded to
 * the contract's custom error name). Nonces: `withNonceLock` serialises "read the pending nonce, sign, record,
 * send" for every writer that shares this client, so two writers of the same node never pick one nonce.
 * Several processes sending from one account are not supported.
 */

import {
  auditAnchorAbi,
  consortiumRegistryAbi,
  type Deployment,
  medledgerErrorsAbi,
  readDeployment,
  recordRegistryAbi,
} from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  type Address,
  BaseError,
  type Chain,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  decodeEventLog,
  defineChain,
  type Hash,
  type Hex,
  http,
  keccak256,
  type PrivateKeyAccount,
  type PublicClient,
  type TransactionReceipt,
  toHex,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

export interface LedgerClientOptions {
  rpcUrl: string;
  /** The deployment the node uses (from ensureDeployment or readDeployment). */
  deployment: Deployment;
  /** The node account's secp256k1 private key, 32 bytes (kept in the node's keystore). */
  privateKey: Uint8Array;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

/** A BatchAnchored event as the chain recorded it. */
export interface BatchAnchoredLog {
  organisation: number;
  root: Hex;
  sequence: bigint;
  batchSize: number;
  signatureDigest: Hex;
  head: Hex;
  transactionHash: Hash;
  blockNumber: bigint;
  blockHash: Hash;
}

/** A CheckpointAnchored event of AuditAnchor as the chain recorded it. */
export interface CheckpointAnchoredLog {
  organisation: number;
  /** The on-chain log id (bytes32): keccak256 of the log's name for medledger's audit logs. */
  logKey: Hex;
  treeSize: number;
  root: Hex;
  transactionHash: Hash;
  blockNumber: bigint;
  blockHash: Hash;
}

/** The latest checkpoint AuditAnchor holds for a log (all zero when it has none). */
export interface AuditCheckpoint {
  treeSize: number;
  root: Hex;
  /** Block timestamp in seconds (0 when the log has no checkpoint). */
  anchoredAt: number;
}

export interface SignedTransaction {
  hash: Hash;
  raw: Hex;
  nonce: number;
}

const recordsAbi = [...recordRegistryAbi, ...medledgerErrorsAbi] as const;
const auditAbi = [...auditAnchorAbi, ...medledgerErrorsAbi] as const;

/** One line, no stack, no request body: what an operator needs and nothing a log should not hold. */
export function describeRpcError(error: unknown): string {
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName) {
      return `reverted with ${reverted.data.errorName}`;
    }
    return error.shortMessage.split('\n')[0] ?? error.name;
  }
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
}

/**
 * The custom error a contract call reverted with, when `error` is one of this client's failures for a call that
 * reverts (a failed gas estimation in `signCall`/`sendCall`, a reverted read); undefined for anything else
 * (network failures, timeouts, a transaction that is merely unknown).
 */
export function revertedWith(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    if (current instanceof BaseError) return decodeRevert(current);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function unavailable(what: string, error: unknown): MdlError {
  if (error instanceof MdlError) return error;
  return new MdlError(MdlErrorCode.Unavailable, `ledger: ${what} failed: ${describeRpcError(error)}`, {
    cause: error,
  });
}

export class LedgerClient {
  readonly rpcUrl: string;
  readonly deployment: Deployment;
  readonly chainId: number;
  readonly chain: Chain;
  readonly account: PrivateKeyAccount;
  readonly publicClient: PublicClient;
  readonly walletClient: WalletClient;
  private nonceQueue: Promise<unknown> = Promise.resolve();

  private constructor(options: LedgerClientOptions, chainId: number) {
    this.rpcUrl = options.rpcUrl;
    this.deployment = options.deployment;
    this.chainId = chainId;
    this.chain = defineChain({
      id: chainId,
      name: `medledger-${chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [options.rpcUrl] } },
    });
    const transport = http(options.rpcUrl, { retryCount: 1, timeout: options.timeoutMs ?? 10_000 });
    this.account = privateKeyToAccount(toHex(options.privateKey));
    this.publicClient = createPublicClient({ chain: this.chain, transport, pollingInterval: 250 });
    this.walletClient = createWalletClient({ account: this.account, chain: this.chain, transport });
  }

  /** Connects, reading the chain id from the RPC; refuses a chain other than the deployment's. */
  static async connect(options: LedgerClientOptions): Promise<LedgerClient> {
    if (!(options.privateKey instanceof Uint8Array) || options.privateKey.length !== 32) {
      throw new MdlError(MdlErrorCode.Config, 'ledger: the node account key must be 32 bytes');
    }
    const probe = createPublicClient({ transport: http(options.rpcUrl, { retryCount: 1, timeout: 10_000 }) });
    let chainId: number;
    try {
      chainId = await probe.getChainId();
    } catch (error) {
      throw unavailable(`reaching ${options.rpcUrl}`, error);
    }
    if (chainId !== options.deployment.chainId) {
      throw new MdlError(
        MdlErrorCode.Config,
        `ledger: ${options.rpcUrl} is chain ${chainId}, the deployment is for chain ${options.deployment.chainId}`,
      );
    }
    return new LedgerClient(options, chainId);
  }

  /** Convenience: reads the deployment file first (MDL_CONFIG when it is not a valid deployment). */
  static async fromDeploymentFile(
    options: Omit<LedgerClientOptions, 'deployment'> & { deploymentFile: string },
  ): Promise<LedgerClient> {
    let deployment: Deployment;
    try {
      deployment = await readDeployment(options.deploymentFile);
    } catch (error) {
      throw new MdlError(MdlErrorCode.Config, `ledger: ${(error as Error).message.split('\n')[0]}`);
    }
    return LedgerClient.connect({ ...options, deployment });
  }

  get address(): Address {
    return this.account.address;
  }

  get recordRegistry(): Address {
    return this.deployment.contracts.RecordRegistry.address;
  }

  get auditAnchor(): Address {
    return this.deployment.contracts.AuditAnchor.address;
  }

  /** Wraps a JSON-RPC call: any failure becomes MDL_UNAVAILABLE naming `what`. */
  async rpc<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw unavailable(what, error);
    }
  }

  /**
   * Runs `fn` while no other writer of this client allocates a nonce. Inside, read the nonce with
   * `pendingNonce()`, sign, persist what must survive a crash, then `sendRaw`.
   */
  withNonceLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.nonceQueue.then(fn, fn);
    this.nonceQueue = run.catch(() => undefined);
    return run;
  }

  /** The next nonce of the node account, counting transactions waiting in the pool. */
  pendingNonce(): Promise<number> {
    return this.rpc('reading the account nonce', () =>
      this.publicClient.getTransactionCount({ address: this.address, blockTag: 'pending' }),
    );
  }

  /** The nonce of the node account after the latest block (transactions mined so far). */
  minedNonce(): Promise<number> {
    return this.rpc('reading the account nonce', () =>
      this.publicClient.getTransactionCount({ address: this.address, blockTag: 'latest' }),
    );
  }

  /**
   * Signs a contract call with an explicit nonce and does not send it. Gas is estimated (a call that would
   * revert fails here, naming the custom error), fees come from the node.
   */
  async signCall(request: { to: Address; data: Hex; nonce: number }): Promise<SignedTransaction> {
    const gas = await this.rpc('estimating gas', () =>
      this.publicClient.estimateGas({ account: this.account, to: request.to, data: request.data }),
    ).catch(async (error: unknown) => {
      // Re-run as a call to decode the custom error, which estimateGas does not.
      const decoded = await this.publicClient
        .call({ account: this.account, to: request.to, data: request.data })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      if (decoded instanceof BaseError) {
        const reason = decodeRevert(decoded);
        if (reason) {
          throw new MdlError(MdlErrorCode.Unavailable, `ledger: transaction would revert: ${reason}`, {
            cause: decoded,
          });
        }
      }
      throw error;
    });
    const fees = await this.rpc('estimating fees', () => this.publicClient.estimateFeesPerGas());
    const raw = await this.account.signTransaction({
      type: 'eip1559',
      chainId: this.chainId,
      nonce: request.nonce,
      to: request.to,
      data: request.data,
      gas: (gas * 6n) / 5n,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    return { hash: keccak256(raw), raw, nonce: request.nonce };
  }

  /** Sends a signed transaction. "Already known" is success: the same bytes are already in the pool. */
  async sendRaw(raw: Hex): Promise<Hash> {
    try {
      return await this.publicClient.sendRawTransaction({ serializedTransaction: raw });
    } catch (error) {
      const text = describeRpcError(error).toLowerCase();
      if (text.includes('already known') || text.includes('already imported')) return keccak256(raw);
      throw unavailable('sending a transaction', error);
    }
  }

  /**
   * Signs a contract call with the next nonce and sends it, under the nonce lock. Nothing is persisted first,
   * so this is for request-scoped writes whose caller learns the outcome and may retry (consent relays,
   * break-glass); anchors go through the outbox instead. A call that would revert fails before sending.
   */
  sendCall(request: { to: Address; data: Hex }): Promise<SignedTransaction> {
    return this.withNonceLock(async () => {
      const nonce = await this.pendingNonce();
      const signed = await this.signCall({ ...request, nonce });
      await this.sendRaw(signed.raw);
      return signed;
    });
  }

  /** Polls for the receipt until the transaction is mined; MDL_UNAVAILABLE after `timeoutMs` (default 30 s). */
  async waitForReceipt(
    hash: Hash,
    options: { timeoutMs?: number; pollMs?: number } = {},
  ): Promise<TransactionReceipt> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const receipt = await this.receipt(hash);
      if (receipt) return receipt;
      if (Date.now() > deadline) {
        throw new MdlError(MdlErrorCode.Unavailable, `ledger: transaction ${hash} not mined in time`);
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 50));
    }
  }

  /** The receipt, or null while the transaction is pending or unknown. */
  receipt(hash: Hash): Promise<TransactionReceipt | null> {
    return this.rpc('reading a receipt', async () => {
      try {
        return await this.publicClient.getTransactionReceipt({ hash });
      } catch (error) {
        if (error instanceof BaseError && error.name === 'TransactionReceiptNotFoundError') return null;
        throw error;
      }
    });
  }

  /** 'pending' (in the pool), 'mined', or 'unknown' (the node never saw it or dropped it). */
  transactionState(hash: Hash): Promise<'pending' | 'mined' | 'unknown'> {
    return this.rpc('reading a transaction', async () => {
      try {
        const tx = await this.publicClient.getTransaction({ hash });
        return tx.blockNumber === null ? 'pending' : 'mined';
      } catch (error) {
        if (error instanceof BaseError && error.name === 'TransactionNotFoundError') return 'unknown';
        throw error;
      }
    });
  }

  /** Hash of the canonical block at `number`, or null beyond the head. */
  blockHash(number: bigint): Promise<Hash | null> {
    return this.rpc('reading a block', async () => {
      try {
        const block = await this.publicClient.getBlock({ blockNumber: number });
        return block.hash;
      } catch (error) {
        if (error instanceof BaseError && error.name === 'BlockNotFoundError') return null;
        throw error;
      }
    });
  }

  blockNumber(): Promise<bigint> {
    return this.rpc('reading the block number', () => this.publicClient.getBlockNumber({ cacheTime: 0 }));
  }

  /** The BatchAnchored events of a receipt, from the deployment's RecordRegistry only. */
  batchAnchoredLogs(receipt: TransactionReceipt): BatchAnchoredLog[] {
    const out: BatchAnchoredLog[] = [];
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.recordRegistry.toLowerCase()) continue;
      try {
        const event = decodeEventLog({ abi: recordRegistryAbi, data: log.data, topics: log.topics });
        if (event.eventName !== 'BatchAnchored') continue;
        out.push({
          organisation: Number(event.args.organisation),
          root: event.args.root,
          sequence: event.args.sequence,
          batchSize: Number(event.args.batchSize),
          signatureDigest: event.args.signatureDigest,
          head: event.args.head,
          transactionHash: receipt.transactionHash,
          blockNumber: receipt.blockNumber,
          blockHash: receipt.blockHash,
        });
      } catch {
        // another event of the contract
      }
    }
    return out;
  }

  /**
   * BatchAnchored events with this root (an indexed topic), from `fromBlock` (default: the deployment block)
   * to the head. This is how a transaction that was mined but never recorded is found before re-submitting.
   */
  async findBatchAnchored(root: Hex, fromBlock?: bigint): Promise<BatchAnchoredLog[]> {
    const logs = await this.rpc('reading anchor events', () =>
      this.publicClient.getContractEvents({
        address: this.recordRegistry,
        abi: recordRegistryAbi,
        eventName: 'BatchAnchored',
        args: { root },
        fromBlock: fromBlock ?? BigInt(this.deployment.blockNumber),
        toBlock: 'latest',
      }),
    );
    return logs.map((log) => ({
      organisation: Number(log.args.organisation),
      root: log.args.root as Hex,
      sequence: log.args.sequence as bigint,
      batchSize: Number(log.args.batchSize),
      signatureDigest: log.args.signatureDigest as Hex,
      head: log.args.head as Hex,
      transactionHash: log.transactionHash,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
    }));
  }

  /** The record anchor chain: head and number of anchors (batches and single records). */
  async anchorChain(): Promise<{ head: Hex; count: bigint }> {
    const [head, count] = await this.rpc('reading the anchor chain', () =>
      this.publicClient.readContract({
        address: this.recordRegistry,
        abi: recordsAbi,
        functionName: 'anchorChain',
      }),
    );
    return { head, count };
  }

  /** When an organisation opened an audit log in AuditAnchor (block timestamp, seconds); 0 when it has not. */
  auditLogOpenedAt(organisation: number, logKey: Hex): Promise<number> {
    return this.rpc('reading an audit log', async () =>
      Number(
        await this.publicClient.readContract({
          address: this.auditAnchor,
          abi: auditAbi,
          functionName: 'logOpenedAt',
          args: [organisation, logKey],
        }),
      ),
    );
  }

  /** The latest checkpoint AuditAnchor holds for an organisation's log (tree size 0 when none). */
  async latestAuditCheckpoint(organisation: number, logKey: Hex): Promise<AuditCheckpoint> {
    const [treeSize, root, anchoredAt] = await this.rpc('reading an audit checkpoint', () =>
      this.publicClient.readContract({
        address: this.auditAnchor,
        abi: auditAbi,
        functionName: 'latestCheckpoint',
        args: [organisation, logKey],
      }),
    );
    return { treeSize: Number(treeSize), root, anchoredAt: Number(anchoredAt) };
  }

  /** The CheckpointAnchored events of a receipt, from the deployment's AuditAnchor only. */
  checkpointAnchoredLogs(receipt: TransactionReceipt): CheckpointAnchoredLog[] {
    const out: CheckpointAnchoredLog[] = [];
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.auditAnchor.toLowerCase()) continue;
      try {
        const event = decodeEventLog({ abi: auditAnchorAbi, data: log.data, topics: log.topics });
        if (event.eventName !== 'CheckpointAnchored') continue;
        out.push({
          organisation: Number(event.args.organisation),
          logKey: event.args.logId,
          treeSize: Number(event.args.treeSize),
          root: event.args.root,
          transactionHash: receipt.transactionHash,
          blockNumber: receipt.blockNumber,
          blockHash: receipt.blockHash,
        });
      } catch {
        // another event of the contract
      }
    }
    return out;
  }

  /**
   * CheckpointAnchored events of one organisation's log (both indexed topics), from `fromBlock` (default: the
   * deployment block) to the head, in chain order. This is how an anchor whose transaction was never recorded
   * (or was recorded under another hash) is found before anchoring again.
   */
  async findCheckpointsAnchored(
    organisation: number,
    logKey: Hex,
    fromBlock?: bigint,
  ): Promise<CheckpointAnchoredLog[]> {
    const logs = await this.rpc('reading audit checkpoint events', () =>
      this.publicClient.getContractEvents({
        address: this.auditAnchor,
        abi: auditAnchorAbi,
        eventName: 'CheckpointAnchored',
        args: { organisation, logId: logKey },
        fromBlock: fromBlock ?? BigInt(this.deployment.blockNumber),
        toBlock: 'latest',
      }),
    );
    // eth_getLogs answers in chain order; sorting keeps that true of providers that merge ranges.
    const ordered = [...logs].sort((a, b) =>
      a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
    );
    return ordered.map((log) => ({
      organisation: Number(log.args.organisation),
      logKey: log.args.logId as Hex,
      treeSize: Number(log.args.treeSize),
      root: log.args.root as Hex,
      transactionHash: log.transactionHash,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
    }));
  }

  /** The organisation this node account acts for (0 when none). */
  organisationId(): Promise<number> {
    return this.rpc('reading the registry', async () =>
      Number(
        await this.publicClient.readContract({
          address: this.deployment.contracts.ConsortiumRegistry.address,
          abi: consortiumRegistryAbi,
          functionName: 'nodeAccountOrganisation',
          args: [this.address],
        }),
      ),
    );
  }
}

function decodeRevert(error: BaseError): string | undefined {
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) return reverted.data?.errorName;
  // Raw call errors carry the revert data; decode it against the suite's errors.
  const carrier = error.walk((e) => typeof (e as { data?: unknown }).data === 'string') as {
    data?: Hex;
  } | null;
  if (!carrier?.data || carrier.data.length < 10) return undefined;
  try {
    return decodeErrorResult({ abi: medledgerErrorsAbi, data: carrier.data }).errorName;
  } catch {
    return undefined;
  }
}
