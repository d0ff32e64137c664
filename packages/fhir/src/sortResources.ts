/**
 * In-memory `_sort` for search parameters the blind index cannot order (dates and strings are hashed there):
 * the node loads every match (bounded) and sorts the decrypted resources with this comparator. R4 rules: on
 * ascending dates the earliest value of a resource counts, on descending the latest; strings compare
 * case- and accent-insensitively; a resource without a value sorts after those with one, whatever the order.
 * Ties fall to the next key and finally to the id, so pages of the same search are stable.
 */

import type { SortKey } from './composeSearch.js';
import { parseDateRange } from './dateGranules.js';
import type { FhirResource } from './FhirResource.js';
import { type SearchParamDef, searchParametersOf } from './searchParameters.js';
import { valuesAtPath } from './valuesAtPath.js';

const MS_PER_DAY = 86_400_000;

/** [first, last] instants (ms) of a date, dateTime, instant or Period value. */
function dateBounds(v: unknown): [number, number] | undefined {
  if (typeof v === 'string') {
    if (v.includes('T')) {
      const t = Date.parse(v);
      return Number.isNaN(t) ? undefined : [t, t];
    }
    const r = parseDateRange(v);
    return r === undefined ? undefined : [r.first * MS_PER_DAY, (r.last + 1) * MS_PER_DAY - 1];
  }
  if (typeof v === 'object' && v !== null) {
    const { start, end } = v as { start?: unknown; end?: unknown };
    const s = start === undefined ? undefined : dateBounds(start);
    const e = end === undefined ? undefined : dateBounds(end);
    if (s === undefined && e === undefined) return undefined;
    return [s?.[0] ?? Number.NEGATIVE_INFINITY, e?.[1] ?? Number.POSITIVE_INFINITY];
  }
  return undefined;
}

/** The string leaves of a value in document order (a HumanName: family before given as R4 orders them). */
function strings(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if ('family' in o || 'given' in o) {
      strings(o.family, out);
      strings(o.given, out);
      return;
    }
    for (const [k, x] of Object.entries(o))
      if (!k.startsWith('_') && k !== 'extension' && k !== 'use') strings(x, out);
  }
}

const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

export interface Sortable {
  id: string;
  lastUpdated: Date;
  resource: FhirResource;
}

type Key = number | string | undefined;

function keyOf(defs: Readonly<Record<string, SearchParamDef>>, item: Sortable, k: SortKey): Key {
  if (k.param === '_id') return item.id;
  if (k.param === '_lastUpdated') return item.lastUpdated.getTime();
  const def = Object.hasOwn(defs, k.param) ? defs[k.param] : undefined;
  if (def === undefined) return undefined;
  const values = def.paths.flatMap((path) => valuesAtPath(item.resource, path));
  if (def.kind === 'date') {
    const bounds = values.map(dateBounds).filter((b): b is [number, number] => b !== undefined);
    if (bounds.length === 0) return undefined;
    return k.order === 'asc' ? Math.min(...bounds.map((b) => b[0])) : Math.max(...bounds.map((b) => b[1]));
  }
  const texts: string[] = [];
  strings(values[0], texts);
  return texts.length === 0 ? undefined : fold(texts.join(' '));
}

/**
 * Sorts (a copy of) the items by the keys, then by id. `defs`: the type's search parameters (the table's, unless
 * given). A string parameter sorts by its first value (a Patient's first name, family before given).
 */
export function sortResources<T extends Sortable>(
  type: string,
  items: readonly T[],
  keys: readonly SortKey[],
  defs: Readonly<Record<string, SearchParamDef>> = searchParametersOf(type),
): T[] {
  const decorated = items.map((item) => ({ item, keys: keys.map((k) => keyOf(defs, item, k)) }));
  decorated.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const x = a.keys[i];
      const y = b.keys[i];
      if (x === y) continue;
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      const c = x < y ? -1 : 1;
      return keys[i]!.order === 'asc' ? c : -c;
    }
    return a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0;
  });
  return decorated.map((d) => d.item);
}
