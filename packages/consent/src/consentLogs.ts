/**
 * Decodes the chain logs the consent index follows — ConsentManager's grants, revocations and break-glass
 * events, and the registry events consent decisions depend on — into one ordered list of typed events.
 * Logs from other addresses and events nobody here needs are skipped; a grant whose id is not the hash of its
 * terms is skipped too (it cannot come from the contract, whose id is that hash).
 */
import {
  type ConsentTerms,
  consentIdOf,
  consentManagerAbi,
  consortiumRegistryAbi,
  unpackConsent,
} from '@medledger/contracts';
import { type Address, type Hash, type Hex, type Log, parseEventLogs } from 'viem';
import type { RegistryEvent } from './ConsortiumState.js';

/** Where a log sits on the chain. */
export interface LogPosition {
  blockNumber: number;
  blockHash: Hash;
  logIndex: number;
  transactionHash: Hash;
  /** Present when the node returns it with the log (anvil, geth); otherwise read from the block. */
  blockTimestamp?: number;
}

export type ConsentChainEvent = LogPosition &
  (
    | { kind: 'granted'; id: Hex; terms: ConsentTerms }
    | { kind: 'revoked'; id: Hex }
    | {
        kind: 'breakGlassOpened';
        id: number;
        patient: Hex;
        member: Address;
        organisation: number;
        reasonHash: Hex;
        expiresAt: number;
      }
    | { kind: 'breakGlassEnded'; id: number }
    | { kind: 'breakGlassReviewed'; id: number; auditor: Address; justified: boolean; findingHash: Hex }
    | { kind: 'registry'; event: Omit<RegistryEvent, 'at'> }
  );

const abi = [...consentManagerAbi, ...consortiumRegistryAbi] as const;

/** Event topics the index asks the node for (getLogs filters by these and the two addresses). */
export const CONSENT_INDEX_EVENTS = [
  'ConsentGranted',
  'ConsentRevoked',
  'BreakGlassOpened',
  'BreakGlassEnded',
  'BreakGlassReviewed',
  'OrganisationAdmitted',
  'OrganisationSuspended',
  'OrganisationReinstated',
  'MemberRegistered',
  'MemberRemoved',
  'LicenceIssued',
  'LicenceRevoked',
] as const;

export const consentIndexAbi = abi.filter(
  (item) => item.type === 'event' && (CONSENT_INDEX_EVENTS as readonly string[]).includes(item.name),
);

const lower = (a: string) => a.toLowerCase() as Address;

export function decodeConsentLogs(
  logs: readonly Log[],
  contracts: { consentManager: Address; registry: Address },
): ConsentChainEvent[] {
  const manager = contracts.consentManager.toLowerCase();
  const registry = contracts.registry.toLowerCase();
  const out: ConsentChainEvent[] = [];
  const parsed = parseEventLogs({ abi: consentIndexAbi, logs: logs as Log[], strict: true });
  for (const log of parsed) {
    if (log.blockNumber === null || log.blockHash === null || log.logIndex === null) continue;
    if (log.transactionHash === null) continue;
    const from = log.address.toLowerCase();
    const timestamp = (log as { blockTimestamp?: bigint | null }).blockTimestamp;
    const position: LogPosition = {
      blockNumber: Number(log.blockNumber),
      blockHash: log.blockHash,
      logIndex: log.logIndex,
      transactionHash: log.transactionHash,
      ...(typeof timestamp === 'bigint' ? { blockTimestamp: Number(timestamp) } : {}),
    };
    if (from === manager) {
      switch (log.eventName) {
        case 'ConsentGranted': {
          const terms = unpackConsent({
            patient: log.args.patient,
            scope: log.args.scope,
            period: log.args.period,
          });
          if (consentIdOf(terms) !== log.args.consentId) continue;
          out.push({ ...position, kind: 'granted', id: log.args.consentId, terms });
          break;
        }
        case 'ConsentRevoked':
          out.push({ ...position, kind: 'revoked', id: log.args.consentId });
          break;
        case 'BreakGlassOpened':
          out.push({
            ...position,
            kind: 'breakGlassOpened',
            id: Number(log.args.id),
            patient: log.args.patient,
            member: lower(log.args.member),
            organisation: Number(log.args.organisation),
            reasonHash: log.args.reasonHash,
            expiresAt: Number(log.args.expiresAt),
          });
          break;
        case 'BreakGlassEnded':
          out.push({ ...position, kind: 'breakGlassEnded', id: Number(log.args.id) });
          break;
        case 'BreakGlassReviewed':
          out.push({
            ...position,
            kind: 'breakGlassReviewed',
            id: Number(log.args.id),
            auditor: lower(log.args.auditor),
            justified: log.args.justified,
            findingHash: log.args.findingHash,
          });
          break;
      }
    } else if (from === registry) {
      const registryEvent = registryEventOf(log);
      if (registryEvent) out.push({ ...position, kind: 'registry', event: registryEvent });
    }
  }
  out.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  return out;
}

type ParsedLog = ReturnType<typeof parseEventLogs<typeof consentIndexAbi>>[number];

function registryEventOf(log: ParsedLog): Omit<RegistryEvent, 'at'> | undefined {
  switch (log.eventName) {
    case 'OrganisationAdmitted':
      return { kind: 'admitted', organisation: Number(log.args.organisation) };
    case 'OrganisationSuspended':
      return { kind: 'suspended', organisation: Number(log.args.organisation) };
    case 'OrganisationReinstated':
      return { kind: 'reinstated', organisation: Number(log.args.organisation) };
    case 'MemberRegistered':
      return {
        kind: 'member',
        organisation: Number(log.args.organisation),
        account: lower(log.args.account),
        role: Number(log.args.role),
      };
    case 'MemberRemoved':
      return {
        kind: 'memberRemoved',
        organisation: Number(log.args.organisation),
        account: lower(log.args.account),
      };
    case 'LicenceIssued':
      return {
        kind: 'licence',
        organisation: Number(log.args.issuer),
        account: lower(log.args.member),
        expiresAt: Number(log.args.expiresAt),
      };
    case 'LicenceRevoked':
      return {
        kind: 'licenceRevoked',
        organisation: Number(log.args.issuer),
        account: lower(log.args.member),
      };
    default:
      return undefined;
  }
}
