/**
 * Parses FHIR search query parameters into index lookups. Strict: an unknown parameter, a modifier, an
 * unsupported prefix or a malformed value is an issue (naming the parameter), never silently ignored —
 * ignoring a filter would return more records than the caller asked for.
 * Semantics: comma-separated values are OR, a repeated parameter is AND. Each clause is a list of index
 * tokens in the same form searchValuesOf produces; a resource matches when, for every clause, it has at
 * least one of the clause's tokens. `_id`, `_lastUpdated`, `_count`, `_sort` and `_offset` are returned
 * separately for the node to apply to its own columns.
 */
import { type DatePrefix, dateGranulesFor, parseDateRange } from './dateGranules.js';
import { type Checked, type Issue, issue } from './Issue.js';
import { isResourceType } from './resourceTypes.js';
import { type SearchParamDef, searchParametersOf } from './searchParameters.js';
import type { SearchToken } from './searchValuesOf.js';

export interface LastUpdatedPredicate {
  prefix: DatePrefix;
  /** The instant range the value denotes: start inclusive, end exclusive (ISO 8601, UTC). */
  start: string;
  end: string;
}

export interface ParsedSearch {
  resourceType: string;
  /** AND of OR-clauses of index tokens. */
  clauses: SearchToken[][];
  /** Allowed ids (the intersection of every `_id` parameter), when `_id` is given. */
  ids?: string[];
  lastUpdated: LastUpdatedPredicate[];
  count: number;
  offset: number;
  sort?: { param: '_lastUpdated'; order: 'asc' | 'desc' };
}

export type SearchResult = { ok: true; search: ParsedSearch } | { ok: false; issues: Issue[] };

export interface SearchOptions {
  /** Passed to dateGranulesFor (bounds of open-ended date predicates). */
  now?: Date;
  minYear?: number;
}

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 1000;

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** `s`: a value may hold any character (a line break included), and must still split, not fail to match. */
const PREFIXED = /^(eq|ne|gt|ge|lt|le|sa|eb|ap)?(.*)$/s;
/** FHIR's instant / dateTime forms, for _lastUpdated (a full time needs a zone). */
const INSTANT =
  /^(\d{4})(-\d{2}(-\d{2}(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/** Splits on unescaped `sep`, then undoes FHIR's `\,` `\|` `\$` `\\` escapes in each part. */
function splitEscaped(s: string, sep: ',' | '|'): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

const unescapeValue = (s: string) => s.replace(/\\([,|$\\])/g, '$1');

export function parseSearch(
  resourceType: string,
  params: URLSearchParams,
  options: SearchOptions = {},
): SearchResult {
  const issues: Issue[] = [];
  if (!isResourceType(resourceType)) {
    return { ok: false, issues: [issue('not-supported', 'Unknown resource type')] };
  }
  const defs = searchParametersOf(resourceType);
  const search: ParsedSearch = {
    resourceType,
    clauses: [],
    lastUpdated: [],
    count: DEFAULT_COUNT,
    offset: 0,
  };
  const seenSingle = new Set<string>();

  for (const [key, raw] of params) {
    const bad = (code: Issue['code'], text: string) => issues.push(issue(code, text, key));
    if (key.includes(':')) {
      bad('not-supported', 'Search modifiers are not supported');
      continue;
    }
    if (raw === '') {
      bad('invalid', 'Search parameter has an empty value');
      continue;
    }
    if (key === '_count' || key === '_offset' || key === '_sort') {
      if (seenSingle.has(key)) {
        bad('invalid', 'Parameter may appear only once');
        continue;
      }
      seenSingle.add(key);
    }
    switch (key) {
      case '_count': {
        const n = /^[0-9]{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
        if (!(n >= 1 && n <= MAX_COUNT)) bad('value', `_count must be an integer from 1 to ${MAX_COUNT}`);
        else search.count = n;
        continue;
      }
      case '_offset': {
        const n = /^[0-9]{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
        if (!Number.isSafeInteger(n)) bad('value', '_offset must be a non-negative integer');
        else search.offset = n;
        continue;
      }
      case '_sort':
        if (raw === '_lastUpdated') search.sort = { param: '_lastUpdated', order: 'asc' };
        else if (raw === '-_lastUpdated') search.sort = { param: '_lastUpdated', order: 'desc' };
        else bad('not-supported', 'Only _lastUpdated and -_lastUpdated are supported for _sort');
        continue;
      case '_id': {
        const ids = splitEscaped(raw, ',').map(unescapeValue);
        if (!ids.every((id) => ID.test(id))) {
          bad('value', '_id values must be resource ids');
          continue;
        }
        search.ids =
          search.ids === undefined ? [...new Set(ids)] : search.ids.filter((id) => ids.includes(id));
        continue;
      }
      case '_lastUpdated': {
        if (raw.includes(',')) {
          bad('not-supported', '_lastUpdated does not take several values');
          continue;
        }
        const p = lastUpdatedPredicate(raw);
        if (typeof p === 'string') bad('value', p);
        else search.lastUpdated.push(p);
        continue;
      }
    }
    const def = Object.hasOwn(defs, key) ? defs[key] : undefined;
    if (def === undefined) {
      bad('not-supported', `Search parameter is not supported for ${resourceType}`);
      continue;
    }
    const clause: SearchToken[] = [];
    let failed = false;
    for (const part of splitEscaped(raw, ',')) {
      const tokens = tokensFor(key, def, part, options);
      if (typeof tokens === 'string') {
        bad('value', tokens);
        failed = true;
        break;
      }
      clause.push(...tokens);
    }
    if (failed) continue;
    const seen = new Set<string>();
    search.clauses.push(
      clause.filter((t) => {
        const k = `${t.param}\u0000${t.value}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      }),
    );
  }
  return issues.length > 0 ? { ok: false, issues: issues.slice(0, 10) } : { ok: true, search };
}

/** Index tokens for one OR-alternative, or a diagnostic (which never quotes the value). */
function tokensFor(
  name: string,
  def: SearchParamDef,
  part: string,
  options: SearchOptions,
): SearchToken[] | string {
  if (part === '') return 'Search parameter has an empty value';
  switch (def.kind) {
    case 'code': {
      if (part.includes('|')) return 'A plain code is expected (no system)';
      return [{ param: name, value: unescapeValue(part) }];
    }
    case 'token':
    case 'identifier': {
      const pieces = splitEscaped(part, '|').map(unescapeValue);
      if (pieces.length > 2) return 'Expected system|code or code';
      const [a, b] = pieces as [string, string | undefined];
      if (b === undefined) return [{ param: name, value: def.kind === 'identifier' ? `|${a}` : a }];
      if (b === '') return 'The code or value after | is missing';
      // `|x` (FHIR: no system) is widened to "any system", as the index keeps one any-system token.
      if (a === '') return [{ param: name, value: def.kind === 'identifier' ? `|${b}` : b }];
      return [{ param: name, value: `${a}|${b}` }];
    }
    case 'patient':
    case 'subject': {
      if (ID.test(part)) return [{ param: name, value: `Patient/${part}` }];
      const m = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(part);
      if (m === null || !isResourceType(m[1])) return 'Expected Type/id or id';
      if (def.kind === 'patient' && m[1] !== 'Patient') return 'Expected a Patient reference';
      return [{ param: name, value: part }];
    }
    case 'date': {
      const m = PREFIXED.exec(part)!;
      const prefix = m[1] ?? 'eq';
      const value = m[2]!;
      if (prefix === 'ne' || prefix === 'sa' || prefix === 'eb' || prefix === 'ap') {
        return 'Date prefix is not supported (use eq, gt, ge, lt, le)';
      }
      if (parseDateRange(value) === undefined) return 'Expected a FHIR date or dateTime';
      const granules = dateGranulesFor(prefix as DatePrefix, value, {
        param: name,
        ...(options.now === undefined ? {} : { now: options.now }),
        ...(options.minYear === undefined ? {} : { minYear: options.minYear }),
      });
      return granules;
    }
  }
}

function lastUpdatedPredicate(raw: string): LastUpdatedPredicate | string {
  const m = PREFIXED.exec(raw)!;
  const prefix = m[1] ?? 'eq';
  const value = m[2]!;
  if (prefix === 'ne' || prefix === 'sa' || prefix === 'eb' || prefix === 'ap') {
    return 'Prefix is not supported for _lastUpdated (use eq, gt, ge, lt, le)';
  }
  const range = instantRange(value);
  if (range === undefined) return 'Expected a FHIR date, dateTime or instant';
  return { prefix: prefix as DatePrefix, ...range };
}

/**
 * FHIR `_since` (history): versions last updated at or after this instant. Takes what `_lastUpdated` takes
 * without a prefix — an instant, or a dateTime or date (UTC when it has no zone), standing for its first
 * instant. Anything else, including what `new Date()` would guess at (`1`, `Tue Mar 01 2022`, year 0000), is an
 * issue naming `_since`.
 */
export function parseSince(raw: string): Checked<'since', Date> {
  const range = raw === '' ? undefined : instantRange(raw);
  if (range === undefined) {
    return { ok: false, issues: [issue('value', 'Expected a FHIR instant, dateTime or date', '_since')] };
  }
  return { ok: true, since: new Date(range.start) };
}

/**
 * The last instant the node compares: databases and their drivers handle four-digit years only, so a range
 * ends here at the latest (a record last updated in the final millisecond of 9999 is the price).
 */
const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * The [start, end) instant range of a FHIR date / dateTime / instant value; dates without a zone are taken
 * as UTC. Undefined for anything else, for years before 1000 (refused by parseDateRange, as FHIR's date
 * pattern does for year 0000) and for a start past LAST_INSTANT (a zone can push 9999 into 10000).
 */
function instantRange(value: string): { start: string; end: string } | undefined {
  const r = timeRange(value);
  if (r === undefined || r.start >= LAST_INSTANT) return undefined;
  return {
    start: new Date(r.start).toISOString(),
    end: new Date(Math.min(r.end, LAST_INSTANT)).toISOString(),
  };
}

function timeRange(value: string): { start: number; end: number } | undefined {
  if (INSTANT.exec(value) === null || parseDateRange(value) === undefined) return undefined;
  if (value.includes('T')) {
    // A leap second (hh:59:60) is the second after :59; JavaScript time has no room for it.
    const leap = /T\d{2}:\d{2}:60/.test(value);
    const t = Date.parse(leap ? value.replace(/(T\d{2}:\d{2}):60/, '$1:59') : value) + (leap ? 1000 : 0);
    if (Number.isNaN(t)) return undefined;
    // The precision of a time is its last written unit: minutes, seconds or the given fraction.
    const frac = /\.(\d+)/.exec(value)?.[1];
    const hasSeconds = /T\d{2}:\d{2}:\d{2}/.test(value);
    const step =
      frac !== undefined ? Math.max(1, 10 ** (3 - Math.min(frac.length, 3))) : hasSeconds ? 1000 : 60_000;
    return { start: t, end: t + step };
  }
  const r = parseDateRange(value)!;
  const MS = 86_400_000;
  return { start: r.first * MS, end: (r.last + 1) * MS };
}
