/**
 * Collects the values at a simple dotted path in a resource, flattening arrays at every step — the subset of
 * FHIRPath (`Observation.category.coding`) that the search table and compartment rules need.
 */
export function elementValues(root: unknown, path: readonly string[]): unknown[] {
  let current: unknown[] = [root];
  for (const step of path) {
    const next: unknown[] = [];
    for (const v of current) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) continue;
      const child = (v as Record<string, unknown>)[step];
      // One push per item: spreading an array of a few hundred thousand overflows the call stack.
      if (Array.isArray(child)) for (const c of child) next.push(c);
      else if (child !== undefined && child !== null) next.push(child);
    }
    current = next;
  }
  return current;
}

/** The `reference` strings of the Reference values at `path`. */
export function referencesAt(root: unknown, path: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of elementValues(root, path)) {
    const r = typeof v === 'object' && v !== null ? (v as { reference?: unknown }).reference : undefined;
    if (typeof r === 'string') out.push(r);
  }
  return out;
}
