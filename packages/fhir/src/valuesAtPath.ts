/**
 * The values at a dotted element path, like elementValues, but reading a step that names a choice element
 * by its base name (`effective`, as R4 SearchParameter expressions write it) as every typed variant present
 * (`effectiveDateTime`, `effectivePeriod`). Search-result shaping uses it so that it works whichever way the
 * search-parameter table spells its paths.
 */
export function valuesAtPath(root: unknown, path: readonly string[]): unknown[] {
  let current: unknown[] = [root];
  for (const step of path) {
    const next: unknown[] = [];
    const push = (child: unknown) => {
      if (Array.isArray(child)) for (const c of child) next.push(c);
      else if (child !== undefined && child !== null) next.push(child);
    };
    for (const v of current) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) continue;
      const o = v as Record<string, unknown>;
      if (Object.hasOwn(o, step)) {
        push(o[step]);
        continue;
      }
      for (const key of Object.keys(o)) {
        if (key.length > step.length && key.startsWith(step) && /[A-Z]/.test(key[step.length]!)) push(o[key]);
      }
    }
    current = next;
  }
  return current;
}
