/**
 * The roles a medledger account can hold and each role's ceiling: the data categories and actions it may ever
 * touch and the purposes of use it may assert, whatever a patient's consent says. Consent can only narrow
 * this further; a grant that names a pharmacist for Imaging still gives the pharmacist nothing.
 *
 * Pure data plus `roleAllows` / `roleHas`. Limits: the ceiling is per role, not per person (a specialist's
 * narrower scope, a student's supervision) and says nothing about *whose* records — that is consent's job for
 * everyone but patients, whose access is to their own record only (enforced where the patient context is
 * known, not here). docs/identity.md holds the matrix as a table; a test holds the two together.
 */

import { MemberRole, Purpose } from '@medledger/contracts';
import { DataCategory } from '@medledger/core';

export const ROLES = [
  'patient',
  'doctor',
  'nurse',
  'lab',
  'pharmacist',
  'insurer',
  'researcher',
  'auditor',
  'admin',
] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** What a role may do to records of a category (FHIR Consent.provision.action: access / correct). */
export type DataAction = 'read' | 'write';

/** Abilities that are not reads or writes of clinical records. */
export type Capability =
  /** read and write one's own record (patients), manage one's own consent */
  | 'own-record'
  /** emergency access without consent, audited, time-bounded (needs a valid licence) */
  | 'break-glass'
  /** de-identified / differentially private aggregate queries, never rows */
  | 'deidentified-aggregates'
  /** the audit log, its proofs and the break-glass review queue */
  | 'audit'
  /** accounts, organisation membership, node operation; no clinical content */
  | 'administer';

export interface RoleDefinition {
  /** Needs a valid, unrevoked practitioner licence for every clinical access. */
  clinical: boolean;
  /** The ConsortiumRegistry member role of such an account; undefined for patients and admins. */
  memberRole: MemberRole | undefined;
  /** Purposes of use this role may assert. Empty for roles whose data access is not purpose-bound. */
  purposes: readonly Purpose[];
  /** Categories the role may ever read. */
  read: readonly DataCategory[];
  /** Categories the role may ever write. */
  write: readonly DataCategory[];
  capabilities: readonly Capability[];
}

const C = DataCategory;
const ALL_CATEGORIES = Object.values(DataCategory) as DataCategory[];
const CLINICAL_CATEGORIES = ALL_CATEGORIES.filter((c) => c !== C.Claims);

const DEFINITIONS = {
  // A patient reads everything in their own record, keeps their demographics up to date and adds their own
  // documents (uploads their browser encrypted); clinical entries are made by clinicians. Access to one's own
  // record is not purpose-bound.
  patient: {
    clinical: false,
    memberRole: undefined,
    purposes: [],
    read: ALL_CATEGORIES,
    write: [C.Demographics, C.Documents],
    capabilities: ['own-record'],
  },
  doctor: {
    clinical: true,
    memberRole: MemberRole.Practitioner,
    purposes: [Purpose.Treatment, Purpose.Operations, Purpose.Emergency],
    read: CLINICAL_CATEGORIES,
    write: CLINICAL_CATEGORIES,
    capabilities: ['break-glass'],
  },
  // Nurses record vitals, administrations and care; diagnoses and imaging results are doctors' entries.
  nurse: {
    clinical: true,
    memberRole: MemberRole.Practitioner,
    purposes: [Purpose.Treatment, Purpose.Emergency],
    read: CLINICAL_CATEGORIES,
    write: [
      C.Demographics,
      C.Encounters,
      C.Observations,
      C.Medications,
      C.Immunizations,
      C.Allergies,
      C.Procedures,
      C.Documents,
      C.Devices,
    ],
    capabilities: ['break-glass'],
  },
  // Writes results; reads only enough to identify the patient.
  lab: {
    clinical: true,
    memberRole: MemberRole.LabStaff,
    purposes: [Purpose.Treatment],
    read: [C.Demographics],
    write: [C.Observations, C.Procedures, C.Imaging, C.Documents],
    capabilities: [],
  },
  // Dispensing needs the medication list and allergies; dispensing is a Medications write.
  pharmacist: {
    clinical: true,
    memberRole: MemberRole.Pharmacist,
    purposes: [Purpose.Treatment],
    read: [C.Demographics, C.Medications, C.Allergies],
    write: [C.Medications],
    capabilities: [],
  },
  // Adjudication reads claims and the encounters they bill for, and writes its outcome (ClaimResponse,
  // ExplanationOfBenefit are Claims).
  insurer: {
    clinical: false,
    memberRole: MemberRole.ClaimAgent,
    purposes: [Purpose.Payment],
    read: [C.Demographics, C.Encounters, C.Claims],
    write: [C.Claims],
    capabilities: [],
  },
  // Never a raw record: studies get de-identified aggregates through the research service.
  researcher: {
    clinical: false,
    memberRole: MemberRole.Researcher,
    purposes: [Purpose.Research],
    read: [],
    write: [],
    capabilities: ['deidentified-aggregates'],
  },
  // Audit data only (who accessed what, break-glass reviews), never clinical content.
  auditor: {
    clinical: false,
    memberRole: MemberRole.Auditor,
    purposes: [Purpose.Operations],
    read: [],
    write: [],
    capabilities: ['audit'],
  },
  // Runs the node and its accounts; sees no clinical data.
  admin: {
    clinical: false,
    memberRole: undefined,
    purposes: [],
    read: [],
    write: [],
    capabilities: ['administer'],
  },
} satisfies Record<Role, RoleDefinition>;

// Frozen all the way down: a ceiling that some module could push a category into is no ceiling.
for (const def of Object.values(DEFINITIONS)) {
  for (const list of [def.purposes, def.read, def.write, def.capabilities]) Object.freeze(list);
  Object.freeze(def);
}
export const ROLE_DEFINITIONS: Readonly<Record<Role, Readonly<RoleDefinition>>> = Object.freeze(DEFINITIONS);

export function roleDefinition(role: Role): Readonly<RoleDefinition> {
  const def = isRole(role) ? ROLE_DEFINITIONS[role] : undefined;
  if (!def) throw new TypeError('unknown role');
  return def;
}

/** Whether the role needs a valid practitioner licence (doctor, nurse, lab, pharmacist). */
export function isClinicalRole(role: Role): boolean {
  return roleDefinition(role).clinical;
}

/**
 * The role ceiling: may `role` ever `action` records of `category` for `purpose`? False for anything the
 * role can never do, whatever the consent. `purpose` is the purpose of use the caller asserts; patients'
 * access to their own record is not purpose-bound, so for them it is ignored (and may be undefined).
 * Unknown roles, actions, categories or purposes are refused, never thrown on.
 */
export function roleAllows(
  role: Role,
  action: DataAction,
  category: DataCategory,
  purpose: Purpose | undefined,
): boolean {
  if (!isRole(role)) return false;
  const def = ROLE_DEFINITIONS[role];
  const categories = action === 'read' ? def.read : action === 'write' ? def.write : undefined;
  if (!categories?.includes(category)) return false;
  if (def.capabilities.includes('own-record')) return true;
  return purpose !== undefined && def.purposes.includes(purpose);
}

export function roleHas(role: Role, capability: Capability): boolean {
  return isRole(role) && ROLE_DEFINITIONS[role].capabilities.includes(capability);
}
