/**
 * Membership of medications, conditions and observations in the PDDI-CDS value sets vendored in
 * pddiCdsKnowledge.generated.ts. Class sets (NSAIDS, PPIS, SCS, AAS, LOOPDIURETIC) are the union of their
 * ingredient sets; the ingredient set a code belongs to names the drug on a card ("ketorolac").
 */
import type { MedicationCoding } from './medicationConcept.js';
import { PDDI_CDS_KNOWLEDGE } from './pddiCdsKnowledge.generated.js';

const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

interface CompiledSet {
  system: string;
  codes: ReadonlySet<string>;
  /** "Ketorolac Medications Value Set" → "ketorolac". */
  ingredient: string;
}

const SETS = new Map<string, CompiledSet>(
  Object.entries(PDDI_CDS_KNOWLEDGE.valueSets).map(([id, s]) => [
    id,
    {
      system: s.system,
      codes: new Set(s.codes),
      ingredient: s.title.replace(/ Medications Value Set$/, '').toLowerCase(),
    },
  ]),
);

const COMPOSITION = PDDI_CDS_KNOWLEDGE.composition as Record<string, string[]>;

export type PddiSetId =
  | keyof typeof PDDI_CDS_KNOWLEDGE.valueSets
  | keyof typeof PDDI_CDS_KNOWLEDGE.composition;

/** The ingredient set ids a set id stands for (itself, or its members for a class set). */
function membersOf(id: string): string[] {
  return COMPOSITION[id] ?? [id];
}

function systemMatches(coding: MedicationCoding, system: string): boolean {
  // RxNorm codes without a system (the legacy requests) are still RxNorm-shaped numbers: accept them for RxNorm
  // sets only, where a bare number cannot be a LOINC or SNOMED CT code of another set by accident.
  if (coding.system === undefined) return system === RXNORM && /^\d+$/.test(coding.code);
  return coding.system === system;
}

/** The first ingredient set of `id` holding one of the codings, or undefined. */
export function matchingSet(codings: readonly MedicationCoding[], id: PddiSetId): CompiledSet | undefined {
  for (const member of membersOf(id)) {
    const set = SETS.get(member);
    if (set && codings.some((c) => systemMatches(c, set.system) && set.codes.has(c.code))) return set;
  }
  return undefined;
}

export function inSet(codings: readonly MedicationCoding[], id: PddiSetId): boolean {
  return matchingSet(codings, id) !== undefined;
}

/** The ingredient name for a card, e.g. "ketorolac"; falls back to the class name given. */
export function ingredientName(
  codings: readonly MedicationCoding[],
  id: PddiSetId,
  fallback: string,
): string {
  return matchingSet(codings, id)?.ingredient ?? fallback;
}
