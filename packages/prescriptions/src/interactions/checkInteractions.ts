/**
 * The drug–drug interaction check, pure: draft orders against the patient's active medications (and each
 * other), with the patient facts the rules' modifiers need, to CDS Hooks cards. Knowledge: the vendored HL7
 * PDDI-CDS rules always, and any drug-name lists the caller loaded (the ONC High-Priority list). `now` is a
 * parameter (ages, lab windows) so that the same input always gives the same cards. Malformed parts are left out
 * and listed in `ignored` (by position and reason, never by content); nothing here throws on odd input.
 */
import type { CdsCard } from './cdsHooksCard.js';
import { digoxinCyclosporineCards } from './digoxinCyclosporineRule.js';
import type { RuleContext } from './interactionPairs.js';
import { MEDICATION_RESOURCE_TYPES, type MedicationConcept, medicationConcept } from './medicationConcept.js';
import { namedListCards } from './namedListRule.js';
import type { NamedInteractionList } from './oncHighPriorityList.js';
import { patientFacts } from './patientFacts.js';
import { type AnyResource, resourcesOf } from './resourcesOf.js';
import { warfarinNsaidsCards } from './warfarinNsaidsRule.js';

export interface InteractionCheckInput {
  /** Draft MedicationRequests (R4 or STU3; a Bundle or an array). */
  draftOrders: unknown;
  /** MedicationRequest / MedicationStatement / MedicationDispense / MedicationAdministration, any container. */
  activeMedications?: unknown;
  /** Patient, Condition, Observation and Medication resources, any container. */
  patientRecords?: unknown;
  now: Date;
}

export interface InteractionCheckOptions {
  /** Drug-name interaction lists loaded at run time (parseOncHighPriorityList). */
  namedLists?: readonly NamedInteractionList[];
}

export interface IgnoredInput {
  role: 'draft' | 'active';
  index: number;
  reason: 'not-a-medication-order' | 'no-medication-code' | 'not-taken';
}

export interface InteractionCheckResult {
  cards: CdsCard[];
  ignored: IgnoredInput[];
}

/** Statuses of medication resources that say the drug is not being taken. */
const NOT_TAKEN = new Set(['entered-in-error', 'cancelled', 'not-taken', 'not-done']);
const DRAFT_TYPES = new Set(['MedicationRequest', 'MedicationOrder']);
const SEVERITY = { critical: 0, warning: 1, info: 2 } as const;

export function checkInteractions(
  input: InteractionCheckInput,
  options: InteractionCheckOptions = {},
): InteractionCheckResult {
  const now = input.now instanceof Date && !Number.isNaN(input.now.getTime()) ? input.now : new Date(0);
  const records = resourcesOf(input.patientRecords);
  const known = new Map<string, AnyResource>();
  for (const r of [...records, ...resourcesOf(input.activeMedications)]) {
    if (r.resourceType === 'Medication' && typeof r.id === 'string') known.set(`Medication/${r.id}`, r);
  }
  const ignored: IgnoredInput[] = [];
  const concepts = (role: 'draft' | 'active', resources: AnyResource[], types: ReadonlySet<string>) => {
    const out: MedicationConcept[] = [];
    for (const [index, r] of resources.entries()) {
      if (r.resourceType === 'Medication' && role === 'active') continue;
      const reason: IgnoredInput['reason'] | undefined = !types.has(r.resourceType)
        ? 'not-a-medication-order'
        : typeof r.status === 'string' && NOT_TAKEN.has(r.status)
          ? 'not-taken'
          : undefined;
      const concept = reason ? undefined : medicationConcept(r, index, known);
      if (!concept) {
        ignored.push({ role, index, reason: reason ?? 'no-medication-code' });
        continue;
      }
      out.push(role === 'draft' ? { ...concept, key: `draft:${concept.key}` } : concept);
    }
    return out;
  };
  const draftResources = resourcesOf(input.draftOrders);
  const drafts = concepts('draft', draftResources, DRAFT_TYPES);
  const draftKeys = new Set(drafts.map((d) => d.key.slice('draft:'.length)));
  const active = concepts(
    'active',
    [
      ...resourcesOf(input.activeMedications),
      ...records.filter((r) => MEDICATION_RESOURCE_TYPES.has(r.resourceType)),
    ],
    MEDICATION_RESOURCE_TYPES,
  ).filter((m) => !(m.id && draftKeys.has(m.key)));
  const subject = draftResources
    .map((r) => (r.subject as { reference?: unknown } | undefined)?.reference)
    .find((ref): ref is string => typeof ref === 'string');
  const ctx: RuleContext = {
    drafts,
    active: dedupe(active),
    facts: patientFacts(records, now),
    now,
    ...(subject ? { subject: { reference: subject } } : {}),
  };
  const cards = [
    ...warfarinNsaidsCards(ctx),
    ...digoxinCyclosporineCards(ctx),
    ...(options.namedLists ?? []).flatMap((list) => namedListCards(ctx, list)),
  ];
  // Stable: within one severity, the order the rules produced them.
  cards.sort((a, b) => SEVERITY[a.indicator] - SEVERITY[b.indicator]);
  return { cards, ignored };
}

/** The same resource given twice (two prefetch items listing it) counts once. */
function dedupe(meds: MedicationConcept[]): MedicationConcept[] {
  const seen = new Set<string>();
  return meds.filter((m) => {
    if (!m.id) return true;
    if (seen.has(m.key)) return false;
    seen.add(m.key);
    return true;
  });
}
