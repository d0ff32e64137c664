/**
 * The node's calls to the Prescriptions contract: prescribe, cancel and dispense sent from a member's custodial
 * key (the contract takes the prescriber or pharmacist from msg.sender — that transaction IS their signature),
 * route sent from the node account, and the record reads. Every call is simulated first so that a refusal
 * becomes a precise MdlError naming the rule (no licence, no controlled registration, fills exhausted …), and a
 * transaction that still reverts in its block (two pharmacies racing for the last fill) is simulated again
 * against the new state to say why. Messages name rules and numbers, never a patient or a drug.
 */
import {
  medledgerErrorsAbi,
  type PrescriptionRecord,
  PrescriptionStatus,
  prescriptionsAbi,
} from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { LedgerClient } from '@medledger/ledger';
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  encodeFunctionData,
  type Hex,
  type TransactionReceipt,
} from 'viem';

const abi = [
  ...prescriptionsAbi,
  ...medledgerErrorsAbi.filter((e) => !prescriptionsAbi.includes(e as never)),
];

const SCHEDULE_NAMES = ['none', 'I', 'II', 'III', 'IV', 'V'];

/** What each refusal of the contract becomes at the API: a stable code and a message a person can act on. */
function refusalOf(name: string, args: readonly unknown[]): MdlError {
  const n = (i: number) => Number(args[i]);
  const table: Record<string, [MdlErrorCode, string]> = {
    NotLicensedPrescriber: [MdlErrorCode.Forbidden, 'the prescriber holds no valid licence on the ledger'],
    NoControlledRegistration: [
      MdlErrorCode.Forbidden,
      `the prescriber holds no controlled-substance registration covering schedule ${SCHEDULE_NAMES[n(1)]}`,
    ],
    ScheduleNotPrescribable: [
      MdlErrorCode.Unprocessable,
      `schedule ${SCHEDULE_NAMES[n(0)]} may not be prescribed (the regulator's schedule table)`,
    ],
    InvalidWindow: [MdlErrorCode.Unprocessable, 'the validity period is empty or already over'],
    ValidityExceedsSchedule: [
      MdlErrorCode.Unprocessable,
      "the validity period ends later than the schedule's rule allows",
    ],
    ZeroFills: [MdlErrorCode.Unprocessable, 'a prescription allows at least one fill'],
    RefillsExceedSchedule: [
      MdlErrorCode.Unprocessable,
      `${n(0)} refills exceed the ${n(1)} the schedule's rule allows`,
    ],
    ZeroQuantity: [MdlErrorCode.Unprocessable, 'the quantity must be positive'],
    PrescriptionAlreadyExists: [MdlErrorCode.Conflict, 'the prescription is already on the ledger'],
    UnknownPrescription: [MdlErrorCode.NotFound, 'resource not found'],
    NotPrescriberOrganisation: [
      MdlErrorCode.Forbidden,
      "only a practitioner of the prescriber's organisation may cancel",
    ],
    NotPrescriberNode: [MdlErrorCode.Forbidden, "only the prescriber's node may route the prescription"],
    PrescriptionNotActive: [
      MdlErrorCode.Conflict,
      `the prescription is ${['unknown', 'active', 'cancelled', 'completed', 'expired'][n(1)]}`,
    ],
    NotActivePharmacy: [MdlErrorCode.Unprocessable, 'the organisation is not an active pharmacy'],
    NotPharmacist: [MdlErrorCode.Forbidden, 'only a pharmacist of an active pharmacy may dispense'],
    PrescriptionWasCancelled: [MdlErrorCode.Conflict, 'the prescription was cancelled'],
    PrescriptionNotYetValid: [MdlErrorCode.Conflict, 'the prescription is not valid yet'],
    PrescriptionExpired: [MdlErrorCode.Conflict, 'the prescription has expired'],
    FillsExhausted: [MdlErrorCode.Conflict, 'every fill of the prescription was dispensed'],
    QuantityExceeded: [
      MdlErrorCode.Conflict,
      `a quantity of ${n(1)} exceeds the ${n(2)} the prescription still allows`,
    ],
    RefillTooSoon: [MdlErrorCode.Conflict, 'the minimum interval since the last fill has not passed'],
  };
  const [code, message] = table[name] ?? [MdlErrorCode.Unavailable, `the ledger refused (${name})`];
  return new MdlError(code, `ledger: ${message}`, {
    issues: [
      { severity: 'error', code: 'business-rule', diagnostics: `${name}: ${message}`, expression: [] },
    ],
  });
}

function revertOf(error: unknown): { name: string; args: readonly unknown[] } | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (!(reverted instanceof ContractFunctionRevertedError) || !reverted.data?.errorName) return undefined;
  return { name: reverted.data.errorName, args: reverted.data.args ?? [] };
}

export class PrescriptionLedger {
  readonly #ledger: LedgerClient;

  constructor(ledger: LedgerClient) {
    this.#ledger = ledger;
  }

  /** The contract's address; MDL_UNAVAILABLE on a deployment without Prescriptions. */
  get address(): Address {
    const deployed = this.#ledger.deployment.contracts.Prescriptions;
    if (!deployed) throw new MdlError(MdlErrorCode.Unavailable, 'ledger: no Prescriptions contract deployed');
    return deployed.address;
  }

  get deployedAt(): bigint {
    return BigInt(this.#ledger.deployment.contracts.Prescriptions?.blockNumber ?? '0');
  }

  async record(id: Hex): Promise<PrescriptionRecord> {
    const r = (await this.#ledger.rpc('reading a prescription', () =>
      this.#ledger.publicClient.readContract({
        address: this.address,
        abi: prescriptionsAbi,
        functionName: 'prescription',
        args: [id],
      }),
    )) as Record<string, number | string>;
    return {
      prescriber: r.prescriber as Address,
      organisation: Number(r.organisation),
      schedule: Number(r.schedule) as PrescriptionRecord['schedule'],
      status: Number(r.status) as PrescriptionStatus,
      fillsAllowed: Number(r.fillsAllowed),
      fillsUsed: Number(r.fillsUsed),
      notBefore: Number(r.notBefore),
      notAfter: Number(r.notAfter),
      quantityAllowed: Number(r.quantityAllowed),
      quantityDispensed: Number(r.quantityDispensed),
      minInterval: Number(r.minInterval),
      issuedAt: Number(r.issuedAt),
      lastFilledAt: Number(r.lastFilledAt),
    };
  }

  /** The pharmacy the prescription is routed to now (its latest PrescriptionRouted), or undefined. */
  async routedTo(id: Hex): Promise<number | undefined> {
    const routed = prescriptionsAbi.find(
      (item) => item.type === 'event' && item.name === 'PrescriptionRouted',
    );
    const logs = await this.#ledger.rpc('reading prescription routes', () =>
      this.#ledger.publicClient.getLogs({
        address: this.address,
        event: routed as Extract<(typeof prescriptionsAbi)[number], { name: 'PrescriptionRouted' }>,
        args: { id },
        fromBlock: this.deployedAt,
        toBlock: 'latest',
      }),
    );
    const last = logs.at(-1) as { args: { pharmacy?: number | bigint } } | undefined;
    return last?.args.pharmacy === undefined ? undefined : Number(last.args.pharmacy);
  }

  /** The chain's time: the latest block's timestamp (what the contract compares windows with). */
  async now(): Promise<number> {
    const block = await this.#ledger.rpc('reading the latest block', () =>
      this.#ledger.publicClient.getBlock({ blockTag: 'latest' }),
    );
    return Number(block.timestamp);
  }

  /**
   * Sends `functionName(args)` from `from` (a member's client, or the node's own) and waits for it: the
   * receipt, or the contract's refusal as an MdlError.
   */
  async send(
    from: LedgerClient,
    functionName: string,
    args: readonly unknown[],
  ): Promise<TransactionReceipt> {
    const call = { abi, functionName, args } as unknown as Parameters<typeof encodeFunctionData>[0];
    let data: Hex;
    try {
      data = encodeFunctionData(call);
    } catch {
      throw new MdlError(MdlErrorCode.BadInput, `${functionName}: a value does not fit the ledger's types`);
    }
    await this.#simulate(from, call);
    let hash: Hex;
    try {
      hash = (await from.sendCall({ to: this.address, data })).hash;
    } catch (error) {
      const revert = revertOf(error) ?? nameInMessage(error);
      if (revert) throw refusalOf(revert.name, revert.args);
      // The state changed since the simulation (another pharmacy's fill, say): ask the new state why.
      await this.#simulate(from, call);
      throw error;
    }
    const receipt = await from.waitForReceipt(hash);
    if (receipt.status !== 'success') {
      // Someone else's transaction came first in the block (the last fill, say): ask the new state why.
      await this.#simulate(from, call);
      throw new MdlError(MdlErrorCode.Conflict, `ledger: ${functionName} was refused in its block`);
    }
    return receipt;
  }

  async #simulate(from: LedgerClient, call: Parameters<typeof encodeFunctionData>[0]): Promise<void> {
    try {
      await from.publicClient.simulateContract({
        ...(call as object),
        account: from.account,
        address: this.address,
      } as unknown as Parameters<typeof from.publicClient.simulateContract>[0]);
    } catch (error) {
      const revert = revertOf(error);
      if (revert) throw refusalOf(revert.name, revert.args);
      throw new MdlError(
        MdlErrorCode.Unavailable,
        'ledger: the Prescriptions contract could not be reached',
        {
          cause: error,
        },
      );
    }
  }
}

/**
 * LedgerClient.signCall reports a revert as "transaction would revert: Name", and a failed gas estimate (the
 * state moved on since the simulation: another pharmacy's fill is pending) with the raw custom error.
 */
function nameInMessage(error: unknown): { name: string; args: readonly unknown[] } | undefined {
  if (!(error instanceof MdlError)) return undefined;
  const name = /would revert: ([A-Za-z]+)/.exec(error.message)?.[1];
  if (name) return { name, args: [] };
  const raw = /custom error (0x[0-9a-fA-F]{8}):? ?([0-9a-fA-F]*)/.exec(error.message);
  if (!raw) return undefined;
  try {
    const decoded = decodeErrorResult({ abi, data: `${raw[1]}${raw[2]}` as Hex });
    return { name: decoded.errorName, args: decoded.args ?? [] };
  } catch {
    return undefined;
  }
}

export { PrescriptionStatus };
