/**
 * Sends the consent and break-glass transactions a node makes, through LedgerClient's write path (nonce lock,
 * gas estimate, send), and waits for the receipt.
 *
 * - Grants and revocations are signed by the patient (EIP-712 GrantConsent / RevokeConsent); the node relays
 *   them from its own account and pays the gas. `submit*` only sends (for the bench's latency measurement);
 *   `grant` / `revoke` wait for the receipt, read the event, and tell the consent index about the block.
 * - Break-glass has no signed-message variant: ConsentManager takes the member from msg.sender (openBreakGlass,
 *   endBreakGlass) and the auditor likewise (closeBreakGlassReview). So these are sent from the member's own
 *   account — a LedgerClient connected with the member's key (`memberClient`), which the node holds in custody
 *   for its members — and the account needs gas like any other.
 *
 * Each call is simulated first so the contract's refusal becomes a precise MdlError (bad signature →
 * MDL_INVALID_CREDENTIAL, expired signature → MDL_REPLAY, existing grant → MDL_CONFLICT, …). Relays are not
 * in the outbox: if the process dies before the receipt, the caller retries with the same signed message (it
 * stays valid until its deadline), and a grant that did make it answers MDL_CONFLICT.
 */
import { type ConsentTerms, consentManagerAbi, medledgerErrorsAbi, packConsent } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { LedgerClient, unavailable } from '@medledger/ledger';
import {
  type Address,
  BaseError,
  bytesToHex,
  ContractFunctionRevertedError,
  encodeFunctionData,
  type Hash,
  type Hex,
  isHex,
  parseEventLogs,
  parseSignature,
  signatureToCompactSignature,
  type TransactionReceipt,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { ConsentIndex } from './ConsentIndex.js';

const abi = [...consentManagerAbi, ...medledgerErrorsAbi] as const;

/** What a patient's app sends to have a grant recorded. */
export interface SignedGrant {
  terms: ConsentTerms;
  /** Last second the signature is accepted (unix seconds). */
  deadline: bigint;
  /** The patient's EIP-712 GrantConsent signature: 65 bytes, or 64 (ERC-2098 compact). */
  signature: Hex;
}

export interface SignedRevocation {
  consentId: Hex;
  deadline: bigint;
  /** The patient's EIP-712 RevokeConsent signature (65 or 64 bytes). */
  signature: Hex;
}

export interface Relayed {
  transactionHash: Hash;
  blockNumber: bigint;
  blockHash: Hash;
}

export interface ConsentRelayerOptions {
  /** Told about every receipt's block, so the next decision includes it. */
  index?: ConsentIndex;
  /** How long to wait for a receipt (default 30 s). */
  receiptTimeoutMs?: number;
}

/** The contract's custom errors as stable codes; anything else stays MDL_UNAVAILABLE. */
const REVERT_CODES: Record<string, MdlErrorCode> = {
  SignatureExpired: MdlErrorCode.Replay,
  InvalidSignature: MdlErrorCode.InvalidCredential,
  NotPatient: MdlErrorCode.InvalidCredential,
  NotConsentController: MdlErrorCode.InvalidCredential,
  ConsentAlreadyExists: MdlErrorCode.Conflict,
  ConsentAlreadyRevoked: MdlErrorCode.Conflict,
  UnknownConsent: MdlErrorCode.NotFound,
  InvalidConsentScope: MdlErrorCode.BadInput,
  InvalidConsentPeriod: MdlErrorCode.BadInput,
  EmptyReason: MdlErrorCode.BadInput,
  BreakGlassDurationOutOfRange: MdlErrorCode.BadInput,
  NotLicensedMember: MdlErrorCode.Forbidden,
  UnknownBreakGlass: MdlErrorCode.NotFound,
  BreakGlassNotActive: MdlErrorCode.Conflict,
  BreakGlassStillActive: MdlErrorCode.Conflict,
  BreakGlassAlreadyReviewed: MdlErrorCode.Conflict,
  NotBreakGlassHolder: MdlErrorCode.Forbidden,
  NotAuditor: MdlErrorCode.Forbidden,
  SelfReview: MdlErrorCode.Forbidden,
};

function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return reverted instanceof ContractFunctionRevertedError ? reverted.data?.errorName : undefined;
}

/** ERC-2098 (r, vs) of a 65- or 64-byte signature; MDL_BAD_INPUT when it is neither. */
export function compactSignature(signature: Hex): { r: Hex; vs: Hex } {
  if (!isHex(signature, { strict: true })) throw new MdlError(MdlErrorCode.BadInput, 'signature must be hex');
  if (signature.length === 2 + 128)
    return { r: `0x${signature.slice(2, 66)}`, vs: `0x${signature.slice(66)}` };
  if (signature.length !== 2 + 130) {
    throw new MdlError(MdlErrorCode.BadInput, 'signature must be 65 bytes (or 64, ERC-2098)');
  }
  try {
    const { r, yParityAndS } = signatureToCompactSignature(parseSignature(signature));
    return { r, vs: yParityAndS };
  } catch {
    throw new MdlError(MdlErrorCode.InvalidCredential, 'signature is malformed');
  }
}

function uint(value: unknown, bits: number, what: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << BigInt(bits)) {
    throw new MdlError(MdlErrorCode.BadInput, `${what} out of range`);
  }
  return value;
}

export class ConsentRelayer {
  readonly ledger: LedgerClient;
  readonly #index: ConsentIndex | undefined;
  readonly #timeoutMs: number;
  readonly #members = new Map<string, Promise<LedgerClient>>();

  constructor(ledger: LedgerClient, options: ConsentRelayerOptions = {}) {
    this.ledger = ledger;
    this.#index = options.index;
    this.#timeoutMs = options.receiptTimeoutMs ?? 30_000;
  }

  get consentManager(): Address {
    return this.ledger.deployment.contracts.ConsentManager.address;
  }

  /** A client for a member's own account (same chain and deployment), cached by address. */
  async memberClient(privateKey: Uint8Array): Promise<LedgerClient> {
    if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
      throw new MdlError(MdlErrorCode.Config, 'ledger: a member account key must be 32 bytes');
    }
    const key = privateKeyToAccount(bytesToHex(privateKey)).address;
    let client = this.#members.get(key);
    if (!client) {
      client = LedgerClient.connect({
        rpcUrl: this.ledger.rpcUrl,
        deployment: this.ledger.deployment,
        privateKey,
      });
      client.catch(() => this.#members.delete(key));
      this.#members.set(key, client);
    }
    return client;
  }

  // ------------------------------------------------------------------------------------------ consent

  /** Sends grantConsentBySig and returns the transaction hash without waiting. */
  async submitGrant(signed: SignedGrant): Promise<Hash> {
    const { r, vs } = compactSignature(signed.signature);
    const args = [packConsent(signed.terms), uint(signed.deadline, 256, 'deadline'), r, vs] as const;
    return this.#send(this.ledger, 'grantConsentBySig', args);
  }

  /** Relays a patient-signed grant and waits for it to be mined. */
  async grant(signed: SignedGrant): Promise<Relayed & { consentId: Hex }> {
    const receipt = await this.#mined(this.ledger, await this.submitGrant(signed));
    const [event] = parseEventLogs({
      abi: consentManagerAbi,
      eventName: 'ConsentGranted',
      logs: receipt.logs,
    });
    if (!event) throw new MdlError(MdlErrorCode.Unavailable, 'ledger: the grant emitted no ConsentGranted');
    return { ...relayedOf(receipt), consentId: event.args.consentId };
  }

  /** Sends revokeConsentBySig and returns the transaction hash without waiting. */
  async submitRevoke(signed: SignedRevocation): Promise<Hash> {
    if (!isHex(signed.consentId) || signed.consentId.length !== 66) {
      throw new MdlError(MdlErrorCode.BadInput, 'consent id must be 32 bytes');
    }
    const { r, vs } = compactSignature(signed.signature);
    const args = [signed.consentId, uint(signed.deadline, 256, 'deadline'), r, vs] as const;
    return this.#send(this.ledger, 'revokeConsentBySig', args);
  }

  /** Relays a patient-signed revocation and waits for it to be mined. */
  async revoke(signed: SignedRevocation): Promise<Relayed & { consentId: Hex }> {
    const receipt = await this.#mined(this.ledger, await this.submitRevoke(signed));
    return { ...relayedOf(receipt), consentId: signed.consentId };
  }

  // ------------------------------------------------------------------------------------------ break-glass

  /** openBreakGlass from the member's account; returns the session id and its expiry. */
  async openBreakGlass(
    member: LedgerClient,
    request: { patient: Hex; reasonHash: Hex; duration: number },
  ): Promise<Relayed & { id: number; expiresAt: number }> {
    if (!Number.isInteger(request.duration) || request.duration < 0 || request.duration > 0xffffffff) {
      throw new MdlError(MdlErrorCode.BadInput, 'break-glass duration must be a uint32 of seconds');
    }
    const hash = await this.#send(member, 'openBreakGlass', [
      request.patient,
      request.reasonHash,
      request.duration,
    ]);
    const receipt = await this.#mined(member, hash);
    const [event] = parseEventLogs({
      abi: consentManagerAbi,
      eventName: 'BreakGlassOpened',
      logs: receipt.logs,
    });
    if (!event)
      throw new MdlError(MdlErrorCode.Unavailable, 'ledger: openBreakGlass emitted no BreakGlassOpened');
    return { ...relayedOf(receipt), id: Number(event.args.id), expiresAt: Number(event.args.expiresAt) };
  }

  /** endBreakGlass from the member's account (only the member who opened it may). */
  async endBreakGlass(member: LedgerClient, id: number): Promise<Relayed> {
    const hash = await this.#send(member, 'endBreakGlass', [BigInt(id)]);
    return relayedOf(await this.#mined(member, hash));
  }

  /** closeBreakGlassReview from an auditor's account, once the session is over. */
  async closeBreakGlassReview(
    auditor: LedgerClient,
    review: { id: number; justified: boolean; findingHash: Hex },
  ): Promise<Relayed> {
    const hash = await this.#send(auditor, 'closeBreakGlassReview', [
      BigInt(review.id),
      review.justified,
      review.findingHash,
    ]);
    return relayedOf(await this.#mined(auditor, hash));
  }

  // ------------------------------------------------------------------------------------------ internals

  async #send(from: LedgerClient, functionName: string, args: readonly unknown[]): Promise<Hash> {
    const call = { abi, functionName, args } as unknown as Parameters<typeof encodeFunctionData>[0];
    let data: Hex;
    try {
      data = encodeFunctionData(call);
    } catch {
      throw new MdlError(MdlErrorCode.BadInput, `${functionName}: arguments do not fit the contract's types`);
    }
    try {
      await from.publicClient.simulateContract({
        ...(call as object),
        account: from.account,
        address: this.consentManager,
      } as unknown as Parameters<typeof from.publicClient.simulateContract>[0]);
    } catch (error) {
      throw refusal(functionName, error);
    }
    try {
      return (await from.sendCall({ to: this.consentManager, data })).hash;
    } catch (error) {
      throw refusal(functionName, error);
    }
  }

  async #mined(from: LedgerClient, hash: Hash): Promise<TransactionReceipt> {
    const receipt = await from.waitForReceipt(hash, { timeoutMs: this.#timeoutMs });
    this.#index?.observeHead(receipt.blockNumber);
    if (receipt.status !== 'success') {
      // The state changed between the simulation and the block (e.g. a concurrent relay of the same grant).
      throw new MdlError(MdlErrorCode.Conflict, `ledger: transaction ${hash} reverted`);
    }
    return receipt;
  }
}

function relayedOf(receipt: TransactionReceipt): Relayed {
  return {
    transactionHash: receipt.transactionHash,
    blockNumber: receipt.blockNumber,
    blockHash: receipt.blockHash,
  };
}

function refusal(functionName: string, error: unknown): MdlError {
  const name = revertName(error) ?? decodedName(error);
  if (name) {
    return new MdlError(
      REVERT_CODES[name] ?? MdlErrorCode.Unavailable,
      `ledger: ${functionName} refused: ${name}`,
      {
        cause: error,
      },
    );
  }
  if (error instanceof MdlError) return error;
  return unavailable(functionName, error);
}

/** LedgerClient.signCall reports a revert as "transaction would revert: Name". */
function decodedName(error: unknown): string | undefined {
  if (!(error instanceof MdlError)) return undefined;
  return /would revert: ([A-Za-z]+)/.exec(error.message)?.[1];
}
