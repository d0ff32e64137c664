/**
 * The resources inside whatever a CDS client sends for a context or prefetch item: a resource, a Bundle whose
 * entries hold `resource` (FHIR) or are resources themselves (the legacy PDDI-CDS requests), a CDS Hooks 1.0
 * prefetch wrapper `{response, resource}`, or an array of these. Anything that is not an object with a string
 * `resourceType` is dropped — odd input never throws.
 */

export type AnyResource = Record<string, unknown> & { resourceType: string };

export function isResource(value: unknown): value is AnyResource {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { resourceType?: unknown }).resourceType === 'string'
  );
}

export function resourcesOf(value: unknown, depth = 0): AnyResource[] {
  if (depth > 4 || value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v) => resourcesOf(v, depth + 1));
  const v = value as Record<string, unknown>;
  if (!isResource(v)) {
    // A CDS Hooks 1.0 prefetch item, or a Bundle entry: the resource is under `resource`.
    return 'resource' in v ? resourcesOf(v.resource, depth + 1) : [];
  }
  if (v.resourceType !== 'Bundle') return [v];
  const entries = Array.isArray(v.entry) ? v.entry : [];
  return entries.flatMap((e) => resourcesOf(e, depth + 1));
}
