/**
 * Custodial member keys: the secp256k1 accounts the node holds for its practitioners, auditors and other
 * members, because break-glass and its review are transactions the member sends themselves (ConsentManager
 * takes the member from msg.sender; docs/consent.md). Also the node-account transactions around them:
 * registering a member in the ConsortiumRegistry and funding a member account with gas.
 *
 * Keys are sealed (key-committing AES-256-GCM) under the node's sealing key, bound to the member address by
 * the associated data, and opened only for the moment a member transaction is signed (the relayer keeps a
 * client per address afterwards). Limits: a member who wants to hold their own key registers an address
 * instead (POST /admin/accounts with memberAddress) and then cannot break the glass through this node.
 */
import { consortiumRegistryAbi, type MemberRole } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { aeadOpen, aeadSeal, hexToBytes, utf8ToBytes, wipe } from '@medledger/crypto';
import type { LedgerClient } from '@medledger/ledger';
import { type Address, encodeFunctionData, getAddress, type Hash } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { NodeContext } from '../NodeContext.js';

/** Gas one member transaction may need (openBreakGlass, endBreakGlass, closeBreakGlassReview use less). */
const GAS_PER_TRANSACTION = 300_000n;
/** A top-up covers this many transactions at the current fee. */
const TRANSACTIONS_PER_TOP_UP = 50n;

const aad = (address: Address) => utf8ToBytes(`medledger/care/v1/member-key|${address}`);

export class MemberKeys {
  readonly #ctx: NodeContext;

  constructor(ctx: NodeContext) {
    this.#ctx = ctx;
  }

  /** A new key, stored sealed before anything on-chain refers to it; returns its address. */
  async create(): Promise<Address> {
    const hex = generatePrivateKey();
    const address = privateKeyToAccount(hex).address;
    const key = hexToBytes(hex.slice(2));
    try {
      await this.#ctx.db.query('INSERT INTO care_member_keys (member_address, sealed_key) VALUES ($1, $2)', [
        address,
        aeadSeal(this.#ctx.sealingKey, key, aad(address)),
      ]);
    } finally {
      wipe(key);
    }
    return address;
  }

  async holds(address: Address): Promise<boolean> {
    const { rows } = await this.#ctx.db.query('SELECT 1 FROM care_member_keys WHERE member_address = $1', [
      getAddress(address),
    ]);
    return rows.length === 1;
  }

  /** A ledger client sending as the member, funded for at least one transaction; undefined without a key. */
  async client(address: Address): Promise<LedgerClient | undefined> {
    const member = getAddress(address);
    const { rows } = await this.#ctx.db.query<{ sealed_key: Uint8Array }>(
      'SELECT sealed_key FROM care_member_keys WHERE member_address = $1',
      [member],
    );
    if (!rows[0]) return undefined;
    const key = aeadOpen(this.#ctx.sealingKey, rows[0].sealed_key, aad(member));
    if (!key) throw new MdlError(MdlErrorCode.DecryptFailed, 'a member key does not open');
    try {
      const client = await this.#ctx.relayer.memberClient(key);
      await this.ensureGas(member);
      return client;
    } finally {
      wipe(key);
    }
  }

  /**
   * Sends registerMember from the node account; with `fund`, also gas to the member in the same block. Waits
   * for both receipts.
   */
  async register(address: Address, role: MemberRole, options: { fund: boolean }): Promise<void> {
    const ledger = this.#ctx.ledger;
    const sent = await ledger.sendCall({
      to: ledger.deployment.contracts.ConsortiumRegistry.address,
      data: encodeFunctionData({
        abi: consortiumRegistryAbi,
        functionName: 'registerMember',
        args: [address, role],
      }),
    });
    const funding = options.fund ? await this.#topUp(address) : undefined;
    for (const hash of [sent.hash, funding]) {
      if (!hash) continue;
      const receipt = await ledger.waitForReceipt(hash);
      if (receipt.status !== 'success') {
        throw new MdlError(MdlErrorCode.Unavailable, `ledger: transaction ${hash} reverted`);
      }
      this.#ctx.consent.observeHead(receipt.blockNumber);
    }
  }

  /** Tops the member up from the node account when its balance would not pay for a transaction. */
  async ensureGas(address: Address): Promise<void> {
    const hash = await this.#topUp(address);
    if (!hash) return;
    const receipt = await this.#ctx.ledger.waitForReceipt(hash);
    if (receipt.status !== 'success') {
      throw new MdlError(MdlErrorCode.Unavailable, `ledger: transaction ${hash} reverted`);
    }
  }

  /** Sends the top-up if one is needed (none on a chain without fees); returns its hash. */
  async #topUp(address: Address): Promise<Hash | undefined> {
    const ledger = this.#ctx.ledger;
    const [fees, balance] = await Promise.all([
      ledger.rpc('estimating fees', () => ledger.publicClient.estimateFeesPerGas()),
      ledger.rpc('reading a balance', () => ledger.publicClient.getBalance({ address })),
    ]);
    const perTransaction = fees.maxFeePerGas * GAS_PER_TRANSACTION;
    if (perTransaction === 0n || balance >= perTransaction * 2n) return undefined;
    const value = perTransaction * TRANSACTIONS_PER_TOP_UP - balance;
    return ledger.withNonceLock(async () => {
      const nonce = await ledger.pendingNonce();
      const raw = await ledger.account.signTransaction({
        type: 'eip1559',
        chainId: ledger.chainId,
        nonce,
        to: address,
        value,
        gas: 21_000n,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      return ledger.sendRaw(raw);
    });
  }
}
