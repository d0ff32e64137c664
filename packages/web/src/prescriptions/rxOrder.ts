/**
 * The prescriber's order form, as pure logic: a small pick-list of common drugs (RxNorm codes known with
 * certainty — the ones the node's interaction rules and the shared test data use) or a typed code and name;
 * the checks every field needs before anything is sent; the MedicationRequest the node's $prescribe reads
 * (RxNorm coding, dosage, dispenseRequest with quantity, repeats and an ending validity period, the declared
 * controlled schedule, one override extension per overridden interaction card); the alerts of a 409 refusal;
 * and what a card's suggestion does to the draft (replace the drug, or withdraw the draft).
 * Limits: one dosage line (a dose and a number of times a day); no terminology lookup.
 */
import type { OperationOutcomeIssue } from '../api/client';
import type { Resource } from '../api/fhir';
import type { CdsSuggestion } from '../api/prescriptions';

export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const CONTROLLED_SCHEDULE_EXTENSION =
  'http://medledger.example/fhir/StructureDefinition/controlled-schedule';
export const INTERACTION_OVERRIDE_EXTENSION =
  'http://medledger.example/fhir/StructureDefinition/interaction-override';
/** The local id the draft carries in the interaction check, so a card can name it in a "replace" suggestion. */
export const DRAFT_ID = 'draft-order';

export interface Drug {
  code: string;
  display: string;
}

export const COMMON_DRUGS: readonly Drug[] = [
  { code: '198440', display: 'Acetaminophen 500 MG Oral Tablet' },
  { code: '197805', display: 'Ibuprofen 400 MG Oral Tablet' },
  { code: '310965', display: 'Ibuprofen 200 MG Oral Tablet' },
  { code: '314076', display: 'lisinopril 10 MG Oral Tablet' },
  { code: '860975', display: '24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet' },
  { code: '855295', display: 'Warfarin Sodium 10 MG Oral Tablet' },
];

export const SCHEDULES = ['auto', 'none', 'II', 'III', 'IV', 'V'] as const;
export type ScheduleChoice = (typeof SCHEDULES)[number];

export interface OrderDraft {
  /** A pick-list code, or `other` for a typed code and name. */
  pick: string;
  code: string;
  display: string;
  dose: string;
  doseUnit: string;
  timesPerDay: string;
  quantity: string;
  repeats: string;
  validDays: string;
  schedule: ScheduleChoice;
}

export const EMPTY_ORDER: OrderDraft = {
  pick: '',
  code: '',
  display: '',
  dose: '1',
  doseUnit: 'tablet',
  timesPerDay: '1',
  quantity: '30',
  repeats: '0',
  validDays: '30',
  schedule: 'auto',
};

export type OrderErrors = Partial<Record<keyof OrderDraft, string>>;

const whole = (v: string, min: number, max: number) =>
  /^\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max;

/** The drug the draft names (from the pick-list or typed), if complete. */
export function drugOf(d: OrderDraft): Drug | undefined {
  if (d.pick && d.pick !== 'other') return COMMON_DRUGS.find((c) => c.code === d.pick);
  const code = d.code.trim();
  const display = d.display.trim();
  return /^\d{1,12}$/.test(code) && display ? { code, display } : undefined;
}

export function validateOrder(d: OrderDraft): OrderErrors {
  const e: OrderErrors = {};
  if (!d.pick) e.pick = 'Choose a drug, or “Another drug” to type its RxNorm code.';
  else if (d.pick === 'other') {
    if (!/^\d{1,12}$/.test(d.code.trim())) e.code = 'Type the RxNorm code: digits only, e.g. 198440.';
    if (!d.display.trim()) e.display = 'Type the drug’s name as RxNorm writes it.';
  }
  if (!/^\d+(\.\d+)?$/.test(d.dose.trim()) || Number(d.dose) <= 0) e.dose = 'Enter the dose as a number.';
  if (!d.doseUnit.trim()) e.doseUnit = 'Enter the unit of the dose, e.g. tablet.';
  if (!whole(d.timesPerDay, 1, 24)) e.timesPerDay = 'Enter how many times a day: 1 to 24.';
  if (!whole(d.quantity, 1, 100_000)) e.quantity = 'Enter the quantity to dispense as a whole number.';
  if (!whole(d.repeats, 0, 254)) e.repeats = 'Enter the number of repeats: 0 to 254.';
  if (!whole(d.validDays, 1, 3650)) e.validDays = 'Enter for how many days it may be filled: 1 to 3650.';
  return e;
}

/** The MedicationRequest for $prescribe (and, with `id`, the draft for the interaction check). */
export function orderResource(
  patientId: string,
  d: OrderDraft,
  options: { now: Date; overrides?: ReadonlyMap<string, string>; id?: string },
): Resource {
  const drug = drugOf(d) ?? { code: d.code.trim(), display: d.display.trim() };
  const dose = Number(d.dose);
  const times = Number(d.timesPerDay);
  const unit = d.doseUnit.trim();
  const start = options.now;
  const end = new Date(start.getTime() + Number(d.validDays) * 86_400_000);
  const extension: Record<string, unknown>[] = [];
  if (d.schedule !== 'auto') extension.push({ url: CONTROLLED_SCHEDULE_EXTENSION, valueCode: d.schedule });
  for (const [card, reason] of options.overrides ?? []) {
    extension.push({
      url: INTERACTION_OVERRIDE_EXTENSION,
      extension: [
        { url: 'card', valueString: card },
        { url: 'reason', valueString: reason },
      ],
    });
  }
  return {
    resourceType: 'MedicationRequest',
    ...(options.id ? { id: options.id } : {}),
    ...(extension.length ? { extension } : {}),
    status: 'active',
    intent: 'order',
    subject: { reference: `Patient/${patientId}` },
    medicationCodeableConcept: {
      coding: [{ system: RXNORM, code: drug.code, display: drug.display }],
      text: drug.display,
    },
    authoredOn: start.toISOString(),
    dosageInstruction: [
      {
        text: `${dose} ${unit} ${times === 1 ? 'once' : `${times} times`} a day`,
        timing: { repeat: { frequency: times, period: 1, periodUnit: 'd' } },
        doseAndRate: [{ doseQuantity: { value: dose, unit } }],
      },
    ],
    dispenseRequest: {
      validityPeriod: { start: start.toISOString(), end: end.toISOString() },
      numberOfRepeatsAllowed: Number(d.repeats),
      quantity: { value: Number(d.quantity), unit },
    },
  };
}

export interface RefusedAlert {
  card: string;
  summary: string;
  severity: 'critical' | 'warning';
}

/** The interaction alerts of a 409 from $prescribe: each names its card (`card:<uuid>`) and its summary. */
export function alertsOf(issues: readonly OperationOutcomeIssue[]): RefusedAlert[] {
  const out: RefusedAlert[] = [];
  for (const issue of issues) {
    const card = issue.expression?.find((x) => x.startsWith('card:'))?.slice('card:'.length);
    if (!card) continue;
    out.push({
      card,
      summary: issue.diagnostics ?? 'Interaction alert',
      severity: issue.severity === 'error' ? 'critical' : 'warning',
    });
  }
  return out;
}

/**
 * What a suggestion does to the draft: a new MedicationRequest that replaces it (a delete of the draft plus a
 * create) becomes the drug; a delete alone withdraws the draft (the drug is cleared); anything else (an extra
 * order, a lab test) is not a change to this draft and answers undefined.
 */
export function applySuggestion(
  d: OrderDraft,
  suggestion: CdsSuggestion,
): { draft: OrderDraft; change: 'replaced' | 'withdrawn' } | undefined {
  const actions = suggestion.actions ?? [];
  const deletesDraft = actions.some(
    (a) => a.type === 'delete' && (a.resourceId ?? []).includes(`MedicationRequest/${DRAFT_ID}`),
  );
  if (!deletesDraft) return undefined;
  const created = actions.find(
    (a) => a.type === 'create' && (a.resource as Resource | undefined)?.resourceType === 'MedicationRequest',
  )?.resource as Resource | undefined;
  if (!created) return { draft: { ...d, pick: '', code: '', display: '' }, change: 'withdrawn' };
  const coding = (
    created.medicationCodeableConcept as { coding?: { system?: string; code?: string; display?: string }[] }
  )?.coding?.find((c) => c.system === RXNORM && c.code);
  if (!coding?.code) return undefined;
  const display = coding.display ?? coding.code;
  const listed = COMMON_DRUGS.find((c) => c.code === coding.code);
  return {
    draft: listed
      ? { ...d, pick: listed.code, code: '', display: '' }
      : { ...d, pick: 'other', code: coding.code, display },
    change: 'replaced',
  };
}

/** The suggestions that change the draft (the others are shown as advice). */
export function draftSuggestions(suggestions: readonly CdsSuggestion[] | undefined): CdsSuggestion[] {
  return (suggestions ?? []).filter((s) => applySuggestion(EMPTY_ORDER, s) !== undefined);
}

export const INDICATOR_WORDS = {
  critical: 'Critical',
  warning: 'Warning',
  info: 'Information',
} as const;
