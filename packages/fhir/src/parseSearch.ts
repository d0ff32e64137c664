/**
 * Parses FHIR search query parameters into index lookups. Strict: an unknown parameter, an unsupported
 * modifier or prefix or a malformed value is an issue (naming the parameter, never quoting the value), never
 * silently ignored — ignoring a filter would return more records than the caller asked for.
 * Semantics: comma-separated values are OR, a repeated parameter is AND. Each parameter becomes a clause:
 * alternatives (OR) of AND-ed token tests, a test holding when the resource has one of its tokens (or, with no
 * tokens, any token of the parameter); `not` negates the clause (`:not`, `:missing=true`, `ne`). Token forms
 * are those searchValuesOf produces. `_id`, `_lastUpdated`, `_count`, `_sort` and `_offset` are returned
 * separately for the node to apply to its own columns; `_format` and `_pretty` are left to the HTTP layer.
 * Supported modifiers: `:missing` (every kind), `:exact` (string), `:not` and `:text` (token kinds; `:text`
 * on CodeableConcept / Coding parameters), `:[Type]` (reference). Refused: `:contains` and every other
 * modifier, and chained parameters.
 */
import { type DatePrefix, parseDateRange } from './dateGranules.js';
import { type DateSearchPrefix, datePredicate } from './dateSearch.js';
import { type Checked, type Issue, issue } from './Issue.js';
import { isResourceType } from './resourceTypes.js';
import {
  hasTextSearch,
  type SearchParamDef,
  searchParametersOf,
  unsupportedSearchParameter,
} from './searchParameters.js';
import { normaliseTelecom, searchPrefixOf } from './searchText.js';
import type { SearchToken } from './searchValuesOf.js';

export interface LastUpdatedPredicate {
  prefix: DatePrefix;
  /** The instant range the value denotes: start inclusive, end exclusive (ISO 8601, UTC). */
  start: string;
  end: string;
}

/** The resource has one of `tokens` (all of parameter `param`), or any token of `param` when absent. */
export interface TokenTest {
  param: string;
  tokens?: SearchToken[];
}

/** One AND-clause: true when one alternative has all its tests true; negated with `not`. */
export interface SearchClause {
  anyOf: TokenTest[][];
  not?: boolean;
}

export interface ParsedSearch {
  resourceType: string;
  /** AND of clauses. */
  clauses: SearchClause[];
  /** Allowed ids (the intersection of every `_id` parameter), when `_id` is given. */
  ids?: string[];
  lastUpdated: LastUpdatedPredicate[];
  count: number;
  offset: number;
  sort?: { param: '_lastUpdated'; order: 'asc' | 'desc' };
}

export type SearchResult = { ok: true; search: ParsedSearch } | { ok: false; issues: Issue[] };

export interface SearchOptions {
  /** Passed to the date predicates (bounds of open-ended date predicates). */
  now?: Date;
  minYear?: number;
  /** This server's base URL: absolute references under it are read as relative ones. */
  baseUrl?: string;
}

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 1000;

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** `s`: a value may hold any character (a line break included), and must still split, not fail to match. */
const PREFIXED = /^(eq|ne|gt|ge|lt|le|sa|eb|ap)?(.*)$/s;
/** FHIR's instant / dateTime forms, for _lastUpdated (a full time needs a zone). */
const INSTANT =
  /^(\d{4})(-\d{2}(-\d{2}(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;
/** Parameters of the HTTP layer (format, pretty printing): no effect on what matches. */
const PRESENTATION = new Set(['_format', '_pretty']);

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

const TOKEN_KINDS = new Set(['token', 'code', 'identifier', 'telecom']);

/** The modifiers a parameter kind accepts (besides `missing`, which every kind accepts). */
function modifierIssue(name: string, def: SearchParamDef, modifier: string): string | undefined {
  if (modifier === 'missing') return undefined;
  if (def.kind === 'string') {
    if (modifier === 'exact') return undefined;
    if (modifier === 'contains')
      return 'The :contains modifier is not supported (the index holds prefixes only)';
  }
  if (TOKEN_KINDS.has(def.kind)) {
    if (modifier === 'not') return undefined;
    if (modifier === 'text') {
      if (def.kind !== 'token') return 'The :text modifier applies to coded parameters only';
      return hasTextSearch(name, def) ? undefined : 'The :text modifier is not supported for this parameter';
    }
  }
  if (def.kind === 'reference' && isResourceType(modifier)) {
    return def.targets?.includes(modifier) ? undefined : 'The parameter cannot refer to this resource type';
  }
  return 'This search modifier is not supported for the parameter';
}

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
    if (PRESENTATION.has(key)) continue;
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
    const colon = key.indexOf(':');
    const name = colon < 0 ? key : key.slice(0, colon);
    const modifier = colon < 0 ? undefined : key.slice(colon + 1);
    if (name.includes('.') || modifier?.includes('.')) {
      bad('not-supported', 'Chained search parameters are not supported here');
      continue;
    }
    const def = Object.hasOwn(defs, name) ? defs[name] : undefined;
    if (def === undefined) {
      const why = unsupportedSearchParameter(resourceType, name);
      bad(
        'not-supported',
        why === undefined
          ? `Search parameter is not supported for ${resourceType}`
          : `Search parameter is defined by R4 but not supported: ${why}`,
      );
      continue;
    }
    if (modifier !== undefined) {
      const why = modifierIssue(name, def, modifier);
      if (why !== undefined) {
        bad('not-supported', why);
        continue;
      }
    }
    if (modifier === 'missing') {
      if (raw !== 'true' && raw !== 'false') {
        bad('value', 'The :missing modifier takes true or false');
        continue;
      }
      search.clauses.push({ anyOf: [[{ param: name }]], ...(raw === 'true' ? { not: true } : {}) });
      continue;
    }
    const alternatives: SearchToken[][][] = [];
    let failed = false;
    let negated = false;
    const parts = splitEscaped(raw, ',');
    for (const part of parts) {
      const r = alternativesFor(name, def, modifier, part, options);
      if (typeof r === 'string') {
        bad('value', r);
        failed = true;
        break;
      }
      if (r.negated) negated = true;
      alternatives.push(...r.alternatives);
    }
    if (failed) continue;
    if (negated && parts.length > 1) {
      bad('not-supported', 'The ne prefix takes a single value');
      continue;
    }
    if (negated) {
      // `ne`: not eq, among resources that have the parameter. Only one value is accepted (checked below).
      search.clauses.push({ anyOf: [[{ param: name }]] });
    }
    // Alternatives of one token set each are one token set (one index lookup).
    const merged = alternatives.every((alt) => alt.length === 1)
      ? [[alternatives.flatMap((alt) => alt[0]!)]]
      : alternatives;
    search.clauses.push({
      anyOf: merged.map((alt) => alt.map((tokens) => ({ param: name, tokens: dedupe(tokens) }))),
      ...(negated || modifier === 'not' ? { not: true } : {}),
    });
  }
  return issues.length > 0 ? { ok: false, issues: issues.slice(0, 10) } : { ok: true, search };
}

function dedupe(tokens: SearchToken[]): SearchToken[] {
  const seen = new Set<string>();
  return tokens.filter((t) => {
    const k = `${t.param}\u0000${t.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

interface Alternatives {
  /** OR of AND of token sets. */
  alternatives: SearchToken[][][];
  negated?: boolean;
}

const one = (tokens: SearchToken[]): Alternatives => ({ alternatives: [[tokens]] });

/** Index tokens for one OR-alternative, or a diagnostic (which never quotes the value). */
function alternativesFor(
  name: string,
  def: SearchParamDef,
  modifier: string | undefined,
  part: string,
  options: SearchOptions,
): Alternatives | string {
  if (part === '') return 'Search parameter has an empty value';
  switch (def.kind) {
    case 'string': {
      const value = unescapeValue(part);
      if (modifier === 'exact') return one([{ param: `${name}:exact`, value }]);
      const prefix = searchPrefixOf(value);
      if (prefix === '') return 'Expected letters or digits';
      return one([{ param: `${name}:p`, value: prefix }]);
    }
    case 'code': {
      if (part.includes('|')) return 'A plain code is expected (no system)';
      return one([{ param: name, value: unescapeValue(part) }]);
    }
    case 'telecom': {
      const pieces = splitEscaped(part, '|').map(unescapeValue);
      if (pieces.length > 2) return 'Expected system|value or value';
      const [a, b] = pieces as [string, string | undefined];
      if (b !== undefined) {
        if (b === '') return 'The value after | is missing';
        const n = normaliseTelecom(a || def.system, b);
        if (n === '') return 'Expected a contact value';
        return one([{ param: name, value: a === '' ? n : `${a}|${n}` }]);
      }
      const forms =
        def.system !== undefined
          ? [normaliseTelecom(def.system, a)]
          : [normaliseTelecom('phone', a), normaliseTelecom(undefined, a)];
      const tokens = [...new Set(forms.filter((f) => f !== ''))].map((value) => ({ param: name, value }));
      if (tokens.length === 0)
        return def.system === 'phone' ? 'Expected a phone number' : 'Expected a contact value';
      return one(tokens);
    }
    case 'token':
    case 'identifier': {
      if (modifier === 'text') {
        const prefix = searchPrefixOf(unescapeValue(part));
        if (prefix === '') return 'Expected letters or digits';
        return one([{ param: `${name}:text`, value: prefix }]);
      }
      const pieces = splitEscaped(part, '|').map(unescapeValue);
      if (pieces.length > 2) return 'Expected system|code or code';
      const [a, b] = pieces as [string, string | undefined];
      if (b === undefined) return one([{ param: name, value: def.kind === 'identifier' ? `|${a}` : a }]);
      if (b === '') return 'The code or value after | is missing';
      // `|x` (FHIR: no system) is widened to "any system", as the index keeps one any-system token.
      if (a === '') return one([{ param: name, value: def.kind === 'identifier' ? `|${b}` : b }]);
      return one([{ param: name, value: `${a}|${b}` }]);
    }
    case 'reference': {
      const targets = def.targets ?? [];
      let ref = unescapeValue(part);
      if (/^https?:\/\//.test(ref)) {
        const base = options.baseUrl?.replace(/\/+$/, '');
        if (base === undefined || !ref.startsWith(`${base}/`)) {
          return 'Only references to resources on this server are searchable';
        }
        ref = ref.slice(base.length + 1);
      }
      ref = ref.replace(/\/_history\/[A-Za-z0-9\-.]{1,64}$/, '');
      if (ID.test(ref)) {
        const types = modifier !== undefined ? [modifier] : targets;
        return one(types.map((t) => ({ param: name, value: `${t}/${ref}` })));
      }
      const m = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(ref);
      if (m === null || !isResourceType(m[1])) return 'Expected Type/id, id or a URL on this server';
      if (!targets.includes(m[1]!) || (modifier !== undefined && modifier !== m[1]))
        return 'The parameter cannot refer to this resource type';
      return one([{ param: name, value: ref }]);
    }
    case 'date': {
      const m = PREFIXED.exec(part)!;
      const prefix = m[1] ?? 'eq';
      const value = m[2]!;
      if (prefix === 'sa' || prefix === 'eb' || prefix === 'ap') {
        return 'Date prefix is not supported (use eq, ne, gt, ge, lt, le)';
      }
      const alternatives = datePredicate(name, prefix as DateSearchPrefix, value, {
        ...(options.now === undefined ? {} : { now: options.now }),
        ...(options.minYear === undefined ? {} : { minYear: options.minYear }),
      });
      if (alternatives === undefined) return 'Expected a FHIR date or dateTime';
      return prefix === 'ne' ? { alternatives, negated: true } : { alternatives };
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
