// What a node needs to speak to the Prescriptions contract: its ABI, the Schedule and status enums in the
// contract's order (that order is ABI), the record and terms as TypeScript types, the deployment's schedule
// rules, and the commitments that stand for a MedicationRequest and a MedicationDispense on-chain.
// Limits: the commitments take the hash of the resource's canonical bytes; canonicalising the signed FHIR
// resource (RFC 8785) and keeping the salt secret beside it are the node's job, not this module's.

import { type Address, encodeAbiParameters, type Hex, isHex, keccak256, toHex } from 'viem';

export { prescriptionsAbi, prescriptionsBytecode } from './generated/Prescriptions.generated.js';

/** US Controlled Substances Act schedules, numbered so that Schedule.II === 2 (contracts/types/PrescriptionTypes.sol). */
export const Schedule = { None: 0, I: 1, II: 2, III: 3, IV: 4, V: 5 } as const;
export type Schedule = (typeof Schedule)[keyof typeof Schedule];

/** A prescription's status: Active and Cancelled are stored, Completed and Expired derived when read. */
export const PrescriptionStatus = { None: 0, Active: 1, Cancelled: 2, Completed: 3, Expired: 4 } as const;
export type PrescriptionStatus = (typeof PrescriptionStatus)[keyof typeof PrescriptionStatus];

/** The regulator's rule for one schedule (Prescriptions.scheduleRule). */
export interface ScheduleRule {
  maxRefills: number;
  /** Longest time from issue to the end of the window, in seconds. */
  maxValidity: number;
  allowed: boolean;
}

const DAY = 24 * 60 * 60;

/** The rules a fresh deployment starts with (the contract's constructor), after the US Controlled Substances Act. */
export const DEFAULT_SCHEDULE_RULES: Readonly<Record<Schedule, ScheduleRule>> = {
  [Schedule.None]: { maxRefills: 11, maxValidity: 365 * DAY, allowed: true },
  [Schedule.I]: { maxRefills: 0, maxValidity: 0, allowed: false },
  [Schedule.II]: { maxRefills: 0, maxValidity: 90 * DAY, allowed: true },
  [Schedule.III]: { maxRefills: 5, maxValidity: 180 * DAY, allowed: true },
  [Schedule.IV]: { maxRefills: 5, maxValidity: 180 * DAY, allowed: true },
  [Schedule.V]: { maxRefills: 254, maxValidity: 365 * DAY, allowed: true },
};

/** What a prescriber asks the ledger to enforce (Prescriptions.prescribe's `terms`). Times in unix seconds. */
export interface PrescriptionTerms {
  notBefore: number;
  notAfter: number;
  /** First fill plus refills. */
  fillsAllowed: number;
  /** Total quantity over all fills, in the dispense unit. */
  quantityAllowed: number;
  /** Least time between two fills, in seconds (0: none). */
  minInterval: number;
  schedule: Schedule;
}

/** A prescription's record as Prescriptions.prescription returns it. */
export interface PrescriptionRecord {
  prescriber: Address;
  organisation: number;
  schedule: Schedule;
  status: PrescriptionStatus;
  fillsAllowed: number;
  fillsUsed: number;
  notBefore: number;
  notAfter: number;
  quantityAllowed: number;
  quantityDispensed: number;
  minInterval: number;
  issuedAt: number;
  /** 0 when never dispensed. */
  lastFilledAt: number;
}

/** Bitmask over Schedule for a controlled-substance registration (issueControlledRegistration). */
export function scheduleMask(...schedules: readonly Schedule[]): number {
  return schedules.reduce<number>((m, s) => m | (1 << s), 0);
}

const PRESCRIPTION_DOMAIN = keccak256(toHex('medledger.prescription.v1'));
const DISPENSE_DOMAIN = keccak256(toHex('medledger.dispense.v1'));

function commitment(domain: Hex, salt: Hex, canonicalHash: Hex): Hex {
  for (const [name, value] of [
    ['salt', salt],
    ['canonicalHash', canonicalHash],
  ] as const) {
    if (!isHex(value, { strict: true }) || value.length !== 66) {
      throw new TypeError(`${name} must be 32 bytes of hex`);
    }
  }
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }],
      [domain, salt, canonicalHash],
    ),
  );
}

/**
 * The prescription id: keccak256(abi.encode(keccak256("medledger.prescription.v1"), salt, canonicalHash)), where
 * canonicalHash is the SHA-256 (or any 32-byte hash the node fixes) of the signed MedicationRequest's canonical
 * bytes and salt is 32 random bytes kept with it. The salt makes the id unguessable from a known drug and patient
 * and lets identical requests have distinct ids.
 */
export function prescriptionCommitment(salt: Hex, canonicalHash: Hex): Hex {
  return commitment(PRESCRIPTION_DOMAIN, salt, canonicalHash);
}

/** The commitment a fill carries: as prescriptionCommitment, for the MedicationDispense, in its own domain. */
export function dispenseCommitment(salt: Hex, canonicalHash: Hex): Hex {
  return commitment(DISPENSE_DOMAIN, salt, canonicalHash);
}
