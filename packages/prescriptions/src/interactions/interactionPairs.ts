/**
 * What every interaction rule evaluates: each draft order paired with every other medication (the other drafts
 * and the active ones), each unordered pair once. A medication that is listed both as a draft and as active
 * (a client echoing the draft in its prefetch) is the draft only — an order never interacts with itself.
 */
import type { MedicationConcept } from './medicationConcept.js';
import type { PatientFacts } from './patientFacts.js';

export interface RuleContext {
  drafts: readonly MedicationConcept[];
  /** The active medications that are not drafts. */
  active: readonly MedicationConcept[];
  facts: PatientFacts;
  now: Date;
  /** The patient reference new orders suggested by a card are written for, when known. */
  subject?: { reference: string };
}

export interface MedicationPair {
  draft: MedicationConcept;
  other: MedicationConcept;
  /** Both keys sorted: the pair's identity. */
  key: string;
}

export function* interactionPairs(ctx: RuleContext): Generator<MedicationPair> {
  const seen = new Set<string>();
  for (const draft of ctx.drafts) {
    for (const other of [...ctx.drafts, ...ctx.active]) {
      if (other === draft || other.key === draft.key) continue;
      const key = [draft.key, other.key].sort().join('|');
      if (seen.has(key)) continue;
      seen.add(key);
      yield { draft, other, key };
    }
  }
}

/** All medications in the check: drafts first, then active ones. */
export function allMedications(ctx: RuleContext): MedicationConcept[] {
  return [...ctx.drafts, ...ctx.active];
}

/** The delete action of a draft order, when the client gave it an id to refer to. */
export function deleteDraft(draft: MedicationConcept, description: string) {
  return draft.id
    ? [{ type: 'delete' as const, description, resourceId: [`${draft.resourceType}/${draft.id}`] }]
    : [];
}

export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const LOINC = 'http://loinc.org';
