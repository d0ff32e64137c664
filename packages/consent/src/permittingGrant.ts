/**
 * The consent decision, as a pure function over indexed grants and the registry state: the same answer as
 * ConsentManager.isPermitted(terms, request) for every grant the chain recorded, checked rule by rule in the
 * contract's order (recorded and not yet revoked at `at`, validity period, data period, grantee organisation
 * and member, action / resource class / purpose bits, organisation active, member belongs to it).
 *
 * Registry state is the current one (the contract reads its registry at the block it is called in, whatever
 * `at` says); grant and revocation times are the block timestamps that recorded them.
 */
import { ACTION_COUNT, type ConsentTerms, PURPOSE_COUNT, RESOURCE_CLASS_COUNT } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { type Address, type Hex, zeroAddress } from 'viem';
import type { ConsortiumView } from './ConsortiumState.js';

/** A grant as the index holds it: the terms plus when (block timestamp) and where it was recorded / revoked. */
export interface IndexedGrant extends ConsentTerms {
  id: Hex;
  grantedAt: number;
  grantedBlock: number;
  grantedTx: Hex;
  /** Block timestamp of the revocation; absent while in force. */
  revokedAt?: number;
  revokedBlock?: number;
  revokedTx?: Hex;
}

/** Who asks for what (ConsentManager's AccessRequest, with the patient). */
export interface ConsentQuery {
  /** The patient's pseudonym (bytes32 hex). */
  patient: Hex;
  /** The requesting organisation. */
  organisation: number;
  /** The member acting for it; absent or the zero address for the organisation's node itself. */
  member?: Address;
  /** Action.Read or Action.Write. */
  action: number;
  /** The record's data category (ResourceClass = DataCategory). */
  resourceClass: number;
  /** Purpose of use. */
  purpose: number;
  /** Unix seconds of the access. ConsentIndex.permits fills in "now" when absent. */
  at?: number;
  /** Clinical date of the record in unix seconds (for dataFrom / dataUntil); absent = 0, which only grants
   * without a data-period start cover. */
  dataDate?: number;
}

const U40_MAX = 2 ** 40 - 1;

function isUint(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

/** Refuses a query the contract could not even be asked (MDL_BAD_INPUT); values are not echoed. */
export function checkQuery(query: ConsentQuery): void {
  const bad = (what: string) => new MdlError(MdlErrorCode.BadInput, `consent query: ${what}`);
  if (typeof query.patient !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(query.patient))
    throw bad('patient must be a 32-byte pseudonym');
  if (!isUint(query.organisation, 0xffffffff)) throw bad('organisation must be a uint32');
  if (query.member !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(query.member))
    throw bad('member must be an address');
  if (!isUint(query.action, ACTION_COUNT - 1)) throw bad('unknown action');
  if (!isUint(query.resourceClass, RESOURCE_CLASS_COUNT - 1)) throw bad('unknown resource class');
  if (!isUint(query.purpose, PURPOSE_COUNT - 1)) throw bad('unknown purpose');
  if (query.at !== undefined && !isUint(query.at, U40_MAX)) throw bad('at must be a uint40');
  if (query.dataDate !== undefined && !isUint(query.dataDate, U40_MAX))
    throw bad('dataDate must be a uint40');
}

/** Whether one recorded grant permits the query at `at` (ConsentManager.isPermitted for that grant). */
export function grantPermits(
  grant: IndexedGrant,
  query: ConsentQuery & { at: number },
  consortium: ConsortiumView,
): boolean {
  const at = query.at;
  if (grant.patient.toLowerCase() !== query.patient.toLowerCase()) return false;
  if (at < grant.grantedAt || (grant.revokedAt !== undefined && at >= grant.revokedAt)) return false;
  if (at < grant.validFrom || at >= grant.validUntil) return false;
  const dataTime = query.dataDate ?? 0;
  if (dataTime < grant.dataFrom || (grant.dataUntil !== 0 && dataTime > grant.dataUntil)) return false;
  if (grant.grantee !== query.organisation) return false;
  const member = (query.member ?? zeroAddress).toLowerCase();
  if (grant.granteeMember.toLowerCase() !== zeroAddress && grant.granteeMember.toLowerCase() !== member)
    return false;
  if (((grant.actions >> query.action) & 1) === 0) return false;
  if (((grant.resourceClasses >> query.resourceClass) & 1) === 0) return false;
  if (((grant.purposes >> query.purpose) & 1) === 0) return false;
  if (!consortium.organisationActive(query.organisation)) return false;
  if (member !== zeroAddress && consortium.memberOrganisation(member as Address) !== query.organisation)
    return false;
  return true;
}

/** The id of the first grant that permits the query, or undefined (deny). */
export function permittingGrant(
  grants: readonly IndexedGrant[],
  query: ConsentQuery & { at: number },
  consortium: ConsortiumView,
): Hex | undefined {
  for (const grant of grants) if (grantPermits(grant, query, consortium)) return grant.id;
  return undefined;
}
