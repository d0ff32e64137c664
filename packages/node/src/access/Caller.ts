/**
 * Who is calling, as the edge establishes it from a bearer credential: a system (the organisation acting as
 * itself — an API token of the node, or a SMART Backend Services client) or a person (an account with a role,
 * logged in through the node's OpenID provider). Everything the access policy decides starts from this.
 */
import type { Purpose } from '@medledger/contracts';
import type { Role, SmartScope } from '@medledger/identity';
import type { Address } from 'viem';

export interface SystemCaller {
  kind: 'system';
  /** Account or client id, for the audit trail. */
  id: string;
  /** SMART system scopes granted; undefined for the node's own API tokens (every interaction). */
  scopes?: readonly SmartScope[];
}

export interface PersonCaller {
  kind: 'person';
  id: string;
  role: Role;
  /** The person's on-chain member account (practitioners, lab staff, pharmacists, insurer agents, auditors). */
  member?: Address;
  /** Patients: their FHIR Patient id at this node. */
  patientId?: string;
  /** SMART scopes of the access token. */
  scopes: readonly SmartScope[];
  /** Purpose of use asserted for this request (a Purpose bit of the consent vocabulary). */
  purpose: Purpose;
  /**
   * The credential presented: an access token of the node's OpenID provider (a sign-in) or an API token
   * (minted from one), with how the person authenticated at that sign-in (RFC 8176 `amr`) and when.
   */
  credential?: { kind: 'access-token' | 'api-token'; amr: readonly string[]; authTime?: Date };
}

/**
 * The node's own code acting without a caller, on a purpose it names (writing a break-glass notice, storing a
 * patient's consent record after the patient signed it, registering a patient at account creation).
 */
export interface NodeCaller {
  kind: 'node';
  /** `node:<purpose>`, for the audit trail. */
  id: string;
  purpose: string;
}

export type Caller = SystemCaller | PersonCaller | NodeCaller;
