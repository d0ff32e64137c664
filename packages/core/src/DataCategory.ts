/**
 * The data categories consent is granted over. The numeric value is the bit position in the on-chain
 * resource-class bitmask (ConsentManager) and the category byte in record envelopes, so values are
 * append-only: never renumber or reuse one.
 */
export const DataCategory = {
  Demographics: 0,
  Encounters: 1,
  Conditions: 2,
  Observations: 3,
  Medications: 4,
  Immunizations: 5,
  Allergies: 6,
  Procedures: 7,
  Imaging: 8,
  Documents: 9,
  Claims: 10,
  Devices: 11,
} as const;

export type DataCategory = (typeof DataCategory)[keyof typeof DataCategory];

const VALUES = new Set<number>(Object.values(DataCategory));

export function isDataCategory(value: unknown): value is DataCategory {
  return typeof value === 'number' && VALUES.has(value);
}

/** Bitmask with the bit of each given category set. */
export function categoryMask(...categories: DataCategory[]): number {
  let mask = 0;
  for (const c of categories) mask |= 1 << c;
  return mask;
}

/**
 * The class of patient data no consent category covers (a patient-compartment type outside the category table,
 * or any resource that names a patient without being one of the categorised types). Never grantable: it is
 * outside the on-chain resource-class bitmask, so only the patient themselves and their custodian
 * organisation ever read it. Its value is the category byte of such records' envelopes and index rows.
 */
export const UNCATEGORISED = 15 as const;

/** The category a stored record is filed under: a consent category, or UNCATEGORISED. */
export type RecordCategory = DataCategory | typeof UNCATEGORISED;

export function isRecordCategory(value: unknown): value is RecordCategory {
  return value === UNCATEGORISED || isDataCategory(value);
}
