/**
 * The authorisation decision: one pure function that says whether a subject may perform an action on a
 * target, given what the ledger says about the target's patient right now. Every access to records goes
 * through it — FHIR reads, searches (whose query filter is built from it, category by category), history,
 * `$everything`, conditional operations, bundles, the exchange custodian — so that no path decides by rules of
 * its own. It does no I/O: the caller gathers the facts (the consent view) first, which is also what makes it
 * table-testable and lets a test compare every HTTP answer with it.
 *
 * The rules, in order (the first that applies decides):
 * 1. The organisation acting as itself (the node's API token) may do anything through the generic paths,
 *    except change system-owned records (consent records, break-glass notices), which only their own routes
 *    change — with system access asked for by name (`node` subjects).
 * 2. SMART Backend Services clients act for the organisation within their `system/` scopes.
 * 3. People: their token's SMART scopes must cover the interaction, then
 *    - shared (directory) records: everyone may read; administrators may write;
 *    - their own record (patients): every category, uncategorised data included, for reading; what the
 *      role's ceiling allows for writing;
 *    - anyone else's record: the role ceiling (category, action, purpose of use), a valid practitioner licence
 *      for clinical roles, and an on-chain grant of the patient to this organisation (and member, when the
 *      grant names one) covering action, category and purpose now — or, for reading, an active break-glass
 *      session of this member for this patient. Uncategorised data and records whose patient is unknown are
 *      never opened this way.
 *
 * 4. The organisation's own operational records — its audit log as a whole (`AuditEvent`) and its
 *    administration (`Administration`: accounts, clients, licences, node status) — are the organisation's, its
 *    auditors' (the log, read only) and its administrators' (administration); a patient's own access log is
 *    their record (AuditEvent is in the patient compartment), which auditors read too. SMART clients are
 *    integrations: they neither audit nor administer.
 *
 * Limits: grants with a data period are honoured only for records without a clinical date (none yet), i.e.
 * they hide rather than leak; SMART `?category=` constraints need the resource's category codings, which only
 * a read of the record itself supplies (searches turn them into a query clause instead).
 */

import { type ConsortiumView, grantPermits, type IndexedGrant } from '@medledger/consent';
import { Action, type Purpose } from '@medledger/contracts';
import { type RecordCategory, UNCATEGORISED } from '@medledger/core';
import {
  type CategoryCoding,
  type Interaction,
  type Role,
  roleAllows,
  roleDefinition,
  roleHas,
  type SmartScope,
  scopesPermit,
} from '@medledger/identity';
import type { Address } from 'viem';

/** Who asks. */
export type Subject =
  /** The organisation itself: the node's API tokens (everything through the generic paths). */
  | { kind: 'organisation' }
  /** The node's own code acting on a named purpose (a consent route, a break-glass notice…): everything. */
  | { kind: 'node'; purpose: string }
  /** A SMART Backend Services client of the organisation, within its system scopes. */
  | { kind: 'client'; scopes: readonly SmartScope[] }
  | {
      kind: 'person';
      role: Role;
      /** The person's on-chain member account (practitioners, lab staff, …). */
      member?: Address | undefined;
      scopes: readonly SmartScope[];
      /** The purpose of use asserted for this request. */
      purpose: Purpose;
      /** Patients: their FHIR Patient id at this node (their SMART patient context). */
      patientId?: string | undefined;
    };

/** The record (or kind of record) the subject wants to act on. */
export interface Target {
  type: string;
  /**
   * Whose data it is: the shared directory; a patient — `own` when that patient is the subject themselves;
   * patient data whose patient is not known (filed apart, opened only by the organisation); or the
   * organisation's own operational records (its whole audit log, its administration).
   */
  owner: 'shared' | 'own' | 'patient' | 'unassigned' | 'organisation';
  category: RecordCategory;
  /** Consent records and break-glass notices: only their own routes change them. */
  systemOwned?: boolean;
  /** The resource's category codings (Observation.category…), for `?category=` scopes; known after opening. */
  codings?: readonly CategoryCoding[];
}

/**
 * What the ledger says about the target's patient, gathered before deciding: the patient's grants (revoked
 * ones included), whether this member has an active break-glass session on the patient, whether the member's
 * licence is valid, and the moment of the decision.
 */
export interface ConsentView {
  organisation: number;
  at: number;
  consortium: ConsortiumView;
  grants: readonly IndexedGrant[];
  breakGlass: boolean;
  licenceValid: boolean;
}

export type Decision =
  | {
      allow: true;
      via:
        | 'organisation'
        | 'node'
        | 'scopes'
        | 'directory'
        | 'own-record'
        | 'grant'
        | 'break-glass'
        | 'capability';
    }
  | { allow: false; reason: DenyReason };

export type DenyReason =
  | 'scope'
  | 'system-owned'
  | 'role'
  | 'licence'
  | 'uncategorised'
  | 'unassigned'
  | 'consent'
  | 'not-own-record';

const deny = (reason: DenyReason): Decision => ({ allow: false, reason });

const isWrite = (i: Interaction) => i === 'create' || i === 'update' || i === 'delete';

/** The SMART scope check for a person or client: type, interaction, patient context and category constraints. */
function scopesAllow(subject: Subject, action: Interaction, target: Target): boolean {
  if (subject.kind !== 'person' && subject.kind !== 'client') return true;
  // A patient's own data, and the directory they read with it, are in their launch context.
  const patient =
    subject.kind === 'person' && subject.patientId !== undefined && target.owner !== 'patient'
      ? { patientContext: subject.patientId, targetPatient: subject.patientId }
      : {};
  return scopesPermit(subject.scopes, {
    resourceType: target.type,
    interaction: action,
    ...patient,
    // Without the codings a constrained scope cannot be satisfied: it permits nothing (fail closed).
    ...(target.codings ? { categories: target.codings } : {}),
  });
}

/** Operational records: audit logs (read only, by auditors) and administration (by administrators). */
function decideOperational(subject: Subject, action: Interaction, target: Target): Decision | undefined {
  if (subject.kind !== 'person') return undefined;
  if (target.type === 'AuditEvent' && !isWrite(action) && roleHas(subject.role, 'audit')) {
    return { allow: true, via: 'capability' };
  }
  if (target.owner !== 'organisation') return undefined;
  if (target.type === 'Administration' && roleHas(subject.role, 'administer')) {
    return { allow: true, via: 'capability' };
  }
  return deny('role');
}

export function decide(subject: Subject, action: Interaction, target: Target, view?: ConsentView): Decision {
  if (subject.kind === 'node') return { allow: true, via: 'node' };
  if (target.systemOwned && isWrite(action)) return deny('system-owned');
  if (subject.kind === 'organisation') return { allow: true, via: 'organisation' };
  if (target.owner === 'organisation' && subject.kind === 'client') return deny('role');
  const operational = decideOperational(subject, action, target);
  if (operational) return operational;
  if (!scopesAllow(subject, action, target)) return deny('scope');
  if (subject.kind === 'client') return { allow: true, via: 'scopes' };

  const dataAction = isWrite(action) ? 'write' : 'read';
  if (target.owner === 'shared') {
    if (dataAction === 'read' || subject.role === 'admin') return { allow: true, via: 'directory' };
    return deny('role');
  }
  if (target.owner === 'own') {
    if (subject.role !== 'patient') return deny('not-own-record');
    if (dataAction === 'read') return { allow: true, via: 'own-record' };
    if (target.category === UNCATEGORISED) return deny('uncategorised');
    return roleAllows('patient', 'write', target.category, undefined)
      ? { allow: true, via: 'own-record' }
      : deny('role');
  }
  if (target.owner === 'unassigned') return deny('unassigned');
  // A patient's access is to their own record only, whatever grants other patients gave the organisation.
  if (subject.role === 'patient') return deny('not-own-record');
  if (target.category === UNCATEGORISED) return deny('uncategorised');
  if (!roleAllows(subject.role, dataAction, target.category, subject.purpose)) return deny('role');
  const clinical = roleDefinition(subject.role).clinical;
  if (clinical && (!subject.member || !view?.licenceValid)) return deny('licence');
  if (!view) return deny('consent');
  const request = {
    organisation: view.organisation,
    ...(subject.member ? { member: subject.member } : {}),
    action: dataAction === 'read' ? Action.Read : Action.Write,
    resourceClass: target.category,
    purpose: subject.purpose,
    at: view.at,
  };
  // The view holds one patient's grants: each is asked about its own patient.
  if (view.grants.some((g) => grantPermits(g, { ...request, patient: g.patient }, view.consortium))) {
    return { allow: true, via: 'grant' };
  }
  if (
    dataAction === 'read' &&
    view.breakGlass &&
    subject.member !== undefined &&
    roleDefinition(subject.role).capabilities.includes('break-glass')
  ) {
    return { allow: true, via: 'break-glass' };
  }
  return deny('consent');
}
