// Enum values of the registry, in the order of contracts/types/Types.sol (that order is ABI).

export const OrganisationKind = {
  Hospital: 0,
  Clinic: 1,
  Lab: 2,
  Pharmacy: 3,
  Insurer: 4,
  Research: 5,
  Regulator: 6,
} as const;
export type OrganisationKind = (typeof OrganisationKind)[keyof typeof OrganisationKind];

export const OrganisationStatus = { None: 0, Active: 1, Suspended: 2 } as const;
export type OrganisationStatus = (typeof OrganisationStatus)[keyof typeof OrganisationStatus];

export const MemberRole = {
  Practitioner: 0,
  LabStaff: 1,
  Pharmacist: 2,
  ClaimAgent: 3,
  Researcher: 4,
  Auditor: 5,
} as const;
export type MemberRole = (typeof MemberRole)[keyof typeof MemberRole];
