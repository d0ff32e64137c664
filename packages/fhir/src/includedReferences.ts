/**
 * The references an `_include` follows from one resource: the `Type/id` values of the named reference
 * parameter's elements (every reference parameter for `*`), restricted to the target type when one is given.
 * Relative and absolute literal references are accepted (`https://node/fhir/Patient/1` → `Patient/1`);
 * contained (`#x`), logical-only and conditional references are not followed.
 */
import { isReferenceParam, referenceParamsOf } from './composeSearch.js';
import type { FhirResource } from './FhirResource.js';
import { isResourceType } from './resourceTypes.js';
import { searchParametersOf } from './searchParameters.js';
import { valuesAtPath } from './valuesAtPath.js';

/** The `reference` strings at a path (choice elements read by base name too). */
function referencesAt(root: unknown, path: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of valuesAtPath(root, path)) {
    const r = typeof v === 'object' && v !== null ? (v as { reference?: unknown }).reference : undefined;
    if (typeof r === 'string') out.push(r);
  }
  return out;
}

const REFERENCE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** `Type/id` of a literal reference, or undefined. */
export function referenceTarget(reference: string): { type: string; id: string } | undefined {
  if (reference.startsWith('#') || reference.includes('?')) return undefined;
  const m = REFERENCE.exec(reference);
  if (m === null || !isResourceType(m[1])) return undefined;
  return { type: m[1]!, id: m[2]! };
}

export function includedReferences(
  resource: FhirResource,
  spec: { param: string; target?: string | undefined },
): { type: string; id: string }[] {
  const defs = searchParametersOf(resource.resourceType);
  const names = spec.param === '*' ? referenceParamsOf(resource.resourceType) : [spec.param];
  const out: { type: string; id: string }[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const def = Object.hasOwn(defs, name) ? defs[name] : undefined;
    if (!isReferenceParam(def)) continue;
    for (const path of def.paths) {
      for (const ref of referencesAt(resource, path)) {
        const t = referenceTarget(ref);
        if (t === undefined || (spec.target !== undefined && t.type !== spec.target)) continue;
        if ((def.kind as string) === 'patient' && t.type !== 'Patient') continue;
        const key = `${t.type}/${t.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(t);
      }
    }
  }
  return out;
}
