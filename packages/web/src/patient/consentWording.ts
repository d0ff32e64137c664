/**
 * Consent in plain language, both ways: a patient's FHIR Consent (as the node stores a grant) read as one
 * sentence — "Lab 2 may see and add to your test results, for your treatment, until 6 March 2027" — and the
 * patient's choices on the form written as the FHIR Consent the node turns into an on-chain grant (one permit
 * provision: one organisation, whole data categories, actions, one purpose, a period; docs/consent.md).
 *
 * The category ↔ resource-type table mirrors the node's (`resourceTypesOfCategory` of @medledger/consent;
 * the unit test checks they agree), so the app can grant whole categories without bundling the FHIR package.
 * Limits: codes outside the node's vocabulary are shown as "other records" / "another purpose", never guessed.
 */

export const ORGANISATION_SYSTEM = 'urn:medledger:organisation';
export const MEMBER_SYSTEM = 'urn:medledger:member';
export const CONSENT_ID_SYSTEM = 'urn:medledger:consent-id';
const CONSENT_SCOPE = 'http://terminology.hl7.org/CodeSystem/consentscope';
const CONSENT_ACTION = 'http://terminology.hl7.org/CodeSystem/consentaction';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const RESOURCE_TYPES = 'http://hl7.org/fhir/resource-types';

/** The node's data categories (DataCategory of @medledger/core), in its order, with plain words. */
export const CATEGORIES = [
  { key: 'Demographics', words: 'personal details', hint: 'name, address, date of birth, contacts' },
  { key: 'Encounters', words: 'visits and appointments', hint: 'admissions, consultations, appointments' },
  { key: 'Conditions', words: 'conditions and diagnoses', hint: 'illnesses, problems, risk assessments' },
  { key: 'Observations', words: 'test results', hint: 'lab results, measurements, reports, samples' },
  { key: 'Medications', words: 'medicines', hint: 'prescriptions, dispensing, what you take' },
  { key: 'Immunizations', words: 'vaccinations', hint: 'vaccines given and recommended' },
  { key: 'Allergies', words: 'allergies', hint: 'allergies and intolerances' },
  { key: 'Procedures', words: 'procedures and orders', hint: 'operations, treatments, orders' },
  { key: 'Imaging', words: 'scans and images', hint: 'X-rays, scans, photos' },
  { key: 'Documents', words: 'documents and care plans', hint: 'letters, care plans, notes, notices' },
  { key: 'Claims', words: 'insurance and billing', hint: 'claims, coverage, invoices' },
  { key: 'Devices', words: 'medical devices', hint: 'devices, their readings, glasses prescriptions' },
] as const;
export type CategoryKey = (typeof CATEGORIES)[number]['key'];

/** The resource types of each category, as the node's `resourceTypesOfCategory` lists them. */
export const CATEGORY_TYPES: Readonly<Record<CategoryKey, readonly string[]>> = {
  Demographics: ['Patient', 'Person', 'RelatedPerson'],
  Encounters: ['Appointment', 'AppointmentResponse', 'Encounter', 'EpisodeOfCare', 'Schedule'],
  Conditions: ['AdverseEvent', 'ClinicalImpression', 'Condition', 'FamilyMemberHistory', 'RiskAssessment'],
  Observations: ['BodyStructure', 'DiagnosticReport', 'MolecularSequence', 'Observation', 'Specimen'],
  Medications: [
    'DetectedIssue',
    'Medication',
    'MedicationAdministration',
    'MedicationDispense',
    'MedicationRequest',
    'MedicationStatement',
  ],
  Immunizations: ['Immunization', 'ImmunizationEvaluation', 'ImmunizationRecommendation'],
  Allergies: ['AllergyIntolerance'],
  Procedures: ['NutritionOrder', 'Procedure', 'ServiceRequest'],
  Imaging: ['ImagingStudy', 'Media'],
  Documents: [
    'CarePlan',
    'CareTeam',
    'Communication',
    'CommunicationRequest',
    'Composition',
    'Consent',
    'DocumentManifest',
    'DocumentReference',
    'Flag',
    'Goal',
    'List',
    'Provenance',
    'QuestionnaireResponse',
    'RequestGroup',
    'Task',
  ],
  Claims: [
    'Account',
    'ChargeItem',
    'Claim',
    'ClaimResponse',
    'Coverage',
    'CoverageEligibilityRequest',
    'CoverageEligibilityResponse',
    'EnrollmentRequest',
    'ExplanationOfBenefit',
    'Invoice',
  ],
  Devices: ['Device', 'DeviceMetric', 'DeviceRequest', 'DeviceUseStatement', 'VisionPrescription'],
};

/** v3 PurposeOfUse codes the ledger knows, with words that finish "…, for ___". */
export const PURPOSES = [
  { code: 'TREAT', words: 'your treatment' },
  { code: 'ETREAT', words: 'emergency treatment' },
  { code: 'HPAYMT', words: 'paying for your care' },
  { code: 'HOPERAT', words: 'running their services' },
  { code: 'HRESCH', words: 'research' },
] as const;
export type PurposeCode = (typeof PURPOSES)[number]['code'];

export function categoryWords(key: string): string {
  return CATEGORIES.find((c) => c.key === key)?.words ?? 'other records';
}

export function purposeWords(code: string | undefined): string {
  return PURPOSES.find((p) => p.code === code)?.words ?? 'another purpose';
}

/** "see", "add to", "see and add to" for the consentaction codes access / correct. */
export function actionWords(codes: readonly string[]): string {
  const read = codes.includes('access');
  const write = codes.includes('correct');
  if (read && write) return 'see and add to';
  if (write) return 'add to';
  return 'see';
}

/** "a, b and c". */
export function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** A day as people write it: "6 March 2027" (UTC: FHIR dates carry no zone). */
export function dayWords(isoDate: string): string {
  const ms = Date.parse(isoDate.length === 10 ? `${isoDate}T00:00:00Z` : isoDate);
  if (!Number.isFinite(ms)) return isoDate;
  return new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(ms);
}

/** The categories a Consent's classes cover (whole categories only), in the node's order. */
export function categoriesOf(classes: readonly { system?: string; code?: string }[]): CategoryKey[] {
  const codes = new Set(classes.filter((c) => c.system === RESOURCE_TYPES).map((c) => c.code));
  return CATEGORIES.map((c) => c.key).filter((k) => CATEGORY_TYPES[k].every((t) => codes.has(t)));
}

export interface ConsentResource {
  resourceType: 'Consent';
  id?: string;
  status?: string;
  identifier?: { system?: string; value?: string }[];
  patient?: { reference?: string };
  provision?: {
    type?: string;
    period?: { start?: string; end?: string };
    actor?: {
      role?: { coding?: { system?: string; code?: string }[] };
      reference?: { identifier?: { system?: string; value?: string }; display?: string };
    }[];
    action?: { coding?: { system?: string; code?: string }[] }[];
    purpose?: { system?: string; code?: string }[];
    class?: { system?: string; code?: string }[];
  };
  [key: string]: unknown;
}

export interface GrantSummary {
  id: string;
  /** The organisation's registry id, when the grantee is an organisation. */
  organisationId?: string;
  who: string;
  categories: CategoryKey[];
  actions: string[];
  purposes: string[];
  /** The last day covered (inclusive), ISO, when there is an end. */
  until?: string;
  state: 'active' | 'ended' | 'withdrawn';
  sentence: string;
}

/** Whether a stored Consent is a grant the node relayed (it carries the grant's id), not a document. */
export function isGrantRecord(consent: ConsentResource): boolean {
  return (consent.identifier ?? []).some((i) => i.system === CONSENT_ID_SYSTEM && !!i.value);
}

/**
 * The last day a period end covers: a date is itself; an instant is the day of the last second before it
 * when it falls on midnight (the node stores the end inclusive at its precision).
 */
function lastDay(end: string): string {
  if (end.length <= 10) return end;
  const ms = Date.parse(end);
  if (!Number.isFinite(ms)) return end;
  return new Date(ms).toISOString().slice(0, 10);
}

/** One stored Consent as a plain-language grant. `names`: organisation id → name (the directory). */
export function describeConsent(
  consent: ConsentResource,
  names: ReadonlyMap<string, string>,
  now: number = Date.now(),
): GrantSummary {
  const p = consent.provision ?? {};
  const ref = p.actor?.[0]?.reference;
  const { system, value } = ref?.identifier ?? {};
  let who: string;
  let organisationId: string | undefined;
  if (system === ORGANISATION_SYSTEM && value) {
    organisationId = value;
    who = names.get(value) ?? ref?.display ?? `Organisation ${value}`;
  } else if (system === MEMBER_SYSTEM) {
    who = ref?.display ?? 'One named person at an organisation';
  } else {
    who = ref?.display ?? 'Someone';
  }
  const categories = categoriesOf(p.class ?? []);
  const actions = (p.action ?? []).flatMap((a) =>
    (a.coding ?? []).filter((c) => c.system === CONSENT_ACTION && c.code).map((c) => c.code!),
  );
  const purposes = (p.purpose ?? []).filter((c) => c.system === ACT_REASON && c.code).map((c) => c.code!);
  const end = p.period?.end;
  const until = end ? lastDay(end) : undefined;
  const endMs = end ? Date.parse(end.length <= 10 ? `${end}T23:59:59Z` : end) : Number.POSITIVE_INFINITY;
  const state: GrantSummary['state'] =
    consent.status === 'inactive' ? 'withdrawn' : endMs <= now ? 'ended' : 'active';
  const what = categories.length > 0 ? listWords(categories.map(categoryWords)) : 'some of your records';
  const why = listWords(purposes.map(purposeWords)) || 'an unstated purpose';
  const when = until ? `until ${dayWords(until)}` : 'with no end date';
  const verb = state === 'active' ? 'may' : 'could';
  const sentence = `${who} ${verb} ${actionWords(actions)} your ${what}, for ${why}, ${when}`;
  return {
    id: consent.id ?? '',
    ...(organisationId ? { organisationId } : {}),
    who,
    categories,
    actions,
    purposes,
    ...(until ? { until } : {}),
    state,
    sentence,
  };
}

export interface GrantChoices {
  patientId: string;
  organisationId: string;
  categories: readonly CategoryKey[];
  /** Also add to (write) the records, not only see them. */
  write: boolean;
  purpose: PurposeCode;
  /** The last day covered, YYYY-MM-DD. */
  until: string;
}

/** What is wrong with the choices, per field (empty when they can be granted). */
export function checkChoices(c: Omit<GrantChoices, 'patientId'>, now: number = Date.now()) {
  const problems: Partial<Record<'organisation' | 'categories' | 'until', string>> = {};
  if (!/^[1-9]\d{0,9}$/.test(c.organisationId)) problems.organisation = 'Choose who you share with.';
  if (c.categories.length === 0) problems.categories = 'Choose at least one kind of record.';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(c.until) || !Number.isFinite(Date.parse(`${c.until}T00:00:00Z`))) {
    problems.until = 'Enter the last day of sharing as a date.';
  } else if (Date.parse(`${c.until}T23:59:59Z`) <= now) {
    problems.until = 'Choose a day in the future.';
  }
  return problems;
}

/** The sentence a grant will read as, before it is made. */
export function previewSentence(c: Omit<GrantChoices, 'patientId'>, organisationName: string): string {
  const what = c.categories.length > 0 ? listWords(c.categories.map(categoryWords)) : '…';
  return `${organisationName} will be able to ${actionWords(c.write ? ['access', 'correct'] : ['access'])} your ${what}, for ${purposeWords(c.purpose)}, until ${dayWords(c.until)}.`;
}

/** An instant to the second (the ledger's resolution). */
const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The FHIR Consent for the choices: one permit provision, as the node maps it to an on-chain grant. */
export function buildConsent(c: GrantChoices, now: number = Date.now()): ConsentResource {
  const classes = CATEGORIES.map((x) => x.key)
    .filter((k) => c.categories.includes(k))
    .flatMap((k) => CATEGORY_TYPES[k]);
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: CONSENT_SCOPE, code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${c.patientId}` },
    dateTime: seconds(now),
    provision: {
      type: 'permit',
      // From a minute ago (the chain's clock may lag the browser's) to the end of the chosen day.
      period: { start: seconds(now - 60_000), end: c.until },
      actor: [
        {
          role: { coding: [{ system: PARTICIPATION, code: 'IRCP' }] },
          reference: { identifier: { system: ORGANISATION_SYSTEM, value: c.organisationId } },
        },
      ],
      action: (c.write ? ['access', 'correct'] : ['access']).map((code) => ({
        coding: [{ system: CONSENT_ACTION, code }],
      })),
      purpose: [{ system: ACT_REASON, code: c.purpose }],
      class: classes.map((code) => ({ system: RESOURCE_TYPES, code })),
    },
  };
}

/** The stored grant withdrawn: the same Consent with status inactive (the node revokes it on the chain). */
export function withdrawnConsent(stored: ConsentResource): ConsentResource & { id: string } {
  const { meta: _meta, text: _text, ...rest } = stored;
  return { ...rest, id: stored.id ?? '', status: 'inactive' };
}

/** The default last day of a new grant: one year from today. */
export function defaultUntil(now: number = Date.now()): string {
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.toISOString().slice(0, 10);
}
