/**
 * FHIR `_summary` and `_elements`: the subset of a resource a search returns when the client asks for less
 * than the whole. Works on top-level elements only (R4 defines `_elements` on them; `_summary=true` keeps the
 * summary elements whole, nested summary flags are not applied). What is kept comes from the R4
 * StructureDefinitions (resourceElements.generated.ts). A subsetted resource carries the SUBSETTED tag, so that
 * nobody mistakes it for the whole record (R4 3.1.1.5.8).
 */
import type { FhirResource } from './FhirResource.js';
import { MANDATORY_ELEMENTS, SUMMARY_ELEMENTS } from './resourceElements.generated.js';

export const SUBSETTED_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue';
export const SUBSETTED = { system: SUBSETTED_SYSTEM, code: 'SUBSETTED', display: 'subsetted' } as const;

/** `_summary` values that shape a resource (`count` and `false` do not). */
export type SummaryShape = 'true' | 'text' | 'data';

export interface Shaping {
  summary?: SummaryShape | undefined;
  /** `_elements`: top-level element names (a choice element by its base name, e.g. `value`). */
  elements?: readonly string[] | undefined;
}

/** Elements every subset keeps: they identify the resource and its version. */
const ALWAYS = ['resourceType', 'id', 'meta'];

/** Does the JSON key `key` (e.g. `valueQuantity`, `_birthDate`) belong to one of the named elements? */
function belongsTo(key: string, names: ReadonlySet<string>): boolean {
  const base = key.startsWith('_') ? key.slice(1) : key;
  if (names.has(base)) return true;
  for (const name of names) {
    if (!name.endsWith('[x]')) continue;
    const stem = name.slice(0, -3);
    if (base.length > stem.length && base.startsWith(stem) && /[A-Z]/.test(base[stem.length]!)) return true;
  }
  return false;
}

/** The element names a shaping keeps for a type, or undefined when it keeps everything but some (data). */
function keptNames(type: string, shaping: Shaping): Set<string> | undefined {
  const mandatory = MANDATORY_ELEMENTS[type] ?? [];
  if (shaping.summary === 'true') return new Set([...ALWAYS, ...(SUMMARY_ELEMENTS[type] ?? [])]);
  if (shaping.summary === 'text') return new Set([...ALWAYS, 'text', ...mandatory]);
  if (shaping.elements !== undefined) {
    const listed = shaping.elements.flatMap((e) => {
      // A choice element is asked for by its base name (`value`); the table spells it `value[x]`.
      const choice = `${e}[x]`;
      return [e, choice];
    });
    return new Set([...ALWAYS, ...mandatory, ...listed]);
  }
  return undefined;
}

/** The resource as the shaping asks, tagged SUBSETTED; the resource itself when nothing is to be left out. */
export function shapeResource(resource: FhirResource, shaping: Shaping): FhirResource {
  if (shaping.summary === undefined && shaping.elements === undefined) return resource;
  const out: Record<string, unknown> = {};
  if (shaping.summary === 'data') {
    for (const [k, v] of Object.entries(resource)) if (k !== 'text' && k !== '_text') out[k] = v;
  } else {
    const names = keptNames(resource.resourceType, shaping)!;
    for (const [k, v] of Object.entries(resource)) if (belongsTo(k, names)) out[k] = v;
  }
  const meta = (typeof resource.meta === 'object' && resource.meta !== null ? resource.meta : {}) as {
    tag?: unknown;
  };
  const tags = Array.isArray(meta.tag) ? meta.tag : [];
  const tagged = tags.some(
    (t) =>
      (t as { system?: unknown })?.system === SUBSETTED_SYSTEM &&
      (t as { code?: unknown }).code === 'SUBSETTED',
  );
  out.meta = { ...meta, tag: tagged ? tags : [...tags, { ...SUBSETTED }] };
  return out as FhirResource;
}

/** Is `name` a syntactically valid top-level element name for `_elements`? */
export function isElementName(name: string): boolean {
  return /^[a-z][A-Za-z0-9]{0,63}$/.test(name);
}
