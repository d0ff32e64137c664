/**
 * What the engine knows of one medication statement, order, dispense or administration: its codings and the
 * texts a name can be matched in. Codes come from `medicationCodeableConcept` (R4, STU3, DSTU2) or from a
 * Medication it references — contained (`#id`) or given among the request's resources — and its ingredients.
 * A resource without any code or text yields no concept (reported by the caller, never thrown).
 */
import type { AnyResource } from './resourcesOf.js';

export interface MedicationCoding {
  system?: string;
  code: string;
  display?: string;
}

export interface MedicationConcept {
  /** Stable within one check: `ResourceType/id`, or `ResourceType#n` for a resource without an id. */
  key: string;
  resourceType: string;
  id?: string;
  status?: string;
  codings: MedicationCoding[];
  /** Code texts and displays, where ingredient names are looked for. */
  texts: string[];
  /** A short human label: the first text or display, else the first code. */
  label: string;
}

export const MEDICATION_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'MedicationRequest',
  'MedicationOrder',
  'MedicationStatement',
  'MedicationDispense',
  'MedicationAdministration',
]);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

function codeableConcept(value: unknown, into: { codings: MedicationCoding[]; texts: string[] }): void {
  if (typeof value !== 'object' || value === null) return;
  const cc = value as { coding?: unknown; text?: unknown };
  const text = str(cc.text);
  if (text) into.texts.push(text);
  if (!Array.isArray(cc.coding)) return;
  for (const c of cc.coding) {
    if (typeof c !== 'object' || c === null) continue;
    const code = str((c as { code?: unknown }).code)?.trim();
    const display = str((c as { display?: unknown }).display);
    const system = str((c as { system?: unknown }).system);
    if (display) into.texts.push(display);
    if (code) into.codings.push({ code, ...(system ? { system } : {}), ...(display ? { display } : {}) });
  }
}

function medicationResource(
  resource: AnyResource,
  reference: string,
  known: ReadonlyMap<string, AnyResource>,
): AnyResource | undefined {
  if (reference.startsWith('#')) {
    const contained = Array.isArray(resource.contained) ? resource.contained : [];
    return contained.find(
      (c): c is AnyResource =>
        typeof c === 'object' && c !== null && (c as { id?: unknown }).id === reference.slice(1),
    );
  }
  return known.get(reference) ?? known.get(reference.replace(/^.*\/(Medication\/[^/]+)$/, '$1'));
}

/**
 * The concept of a medication resource. `known` holds Medication resources by `Medication/id` (and by
 * fullUrl) for references; `ordinal` names a resource without an id.
 */
export function medicationConcept(
  resource: AnyResource,
  ordinal: number,
  known: ReadonlyMap<string, AnyResource> = new Map(),
): MedicationConcept | undefined {
  const into = { codings: [] as MedicationCoding[], texts: [] as string[] };
  codeableConcept(resource.medicationCodeableConcept, into);
  const ref = (resource.medicationReference as { reference?: unknown } | undefined)?.reference;
  const medication = typeof ref === 'string' ? medicationResource(resource, ref, known) : undefined;
  if (medication) {
    codeableConcept(medication.code, into);
    const ingredients = Array.isArray(medication.ingredient) ? medication.ingredient : [];
    for (const i of ingredients) {
      if (typeof i === 'object' && i !== null) {
        codeableConcept((i as { itemCodeableConcept?: unknown }).itemCodeableConcept, into);
      }
    }
  }
  const display = (medication ?? resource).medicationReference as { display?: unknown } | undefined;
  const refDisplay = str(display?.display);
  if (refDisplay) into.texts.push(refDisplay);
  if (into.codings.length === 0 && into.texts.length === 0) return undefined;
  const id = str(resource.id);
  const status = str(resource.status);
  return {
    key: id ? `${resource.resourceType}/${id}` : `${resource.resourceType}#${ordinal}`,
    resourceType: resource.resourceType,
    ...(id ? { id } : {}),
    ...(status ? { status } : {}),
    codings: into.codings,
    texts: into.texts,
    label: into.texts[0] ?? into.codings[0]!.code,
  };
}
