/**
 * Splits a FHIR search into what the index answers (the parameters `parseSearch` takes) and what the node
 * composes around it: `_include` / `_revinclude`, `_summary` / `_elements`, chained parameters
 * (`subject:Patient.identifier=…`), one level of `_has`, and `_sort` on date and string parameters (sorted in
 * memory, since the index is blind). Pure: it checks names against the search-parameter table and says what
 * to run; the node runs it under the caller's access. Every refusal is an issue naming the parameter, never
 * quoting its value.
 */
import { type Issue, issue } from './Issue.js';
import { isResourceType } from './resourceTypes.js';
import { type SearchParamDef, searchParametersOf } from './searchParameters.js';
import { isElementName, type SummaryShape } from './shapeResource.js';

/** `_include=Source:param[:Target]` or `_revinclude=…`; `param` `*` means every reference parameter. */
export interface IncludeSpec {
  source: string;
  param: string;
  target?: string | undefined;
  iterate: boolean;
}

/** `param[:Type].inner=value`: `inner` (with its modifier, if any) searched on each of `types`. */
export interface ChainSpec {
  param: string;
  types: string[];
  inner: string;
  value: string;
}

/** `_has:Type:refParam:inner=value`: resources of `type` whose `refParam` points at the matches. */
export interface HasSpec {
  type: string;
  refParam: string;
  inner: string;
  value: string;
}

export interface SortKey {
  /** A date or string parameter of the type, or `_lastUpdated` / `_id`. */
  param: string;
  order: 'asc' | 'desc';
}

export interface SearchComposition {
  /** What goes to the index search (parseSearch), without the parameters composed around it. */
  base: URLSearchParams;
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  chains: ChainSpec[];
  has: HasSpec[];
  summary?: SummaryShape | 'count' | undefined;
  elements?: string[] | undefined;
  /** Sort keys to apply in memory; absent when the index sorts (`_lastUpdated` alone) or nothing is sorted. */
  sort?: SortKey[] | undefined;
}

export type CompositionResult = { ok: true; composition: SearchComposition } | { ok: false; issues: Issue[] };

/** Parameters the node ignores in a search because the HTTP layer handles them (format, pretty-printing). */
export const PRESENTATION_PARAMETERS: ReadonlySet<string> = new Set(['_format', '_pretty']);

const REFERENCE_KINDS: ReadonlySet<string> = new Set(['patient', 'subject', 'reference']);

/** Is a search parameter a reference (the kinds the table has used for them: patient, subject, reference)? */
export function isReferenceParam(def: SearchParamDef | undefined): def is SearchParamDef {
  return def !== undefined && REFERENCE_KINDS.has(def.kind as string);
}

/** The resource types a reference parameter may point at (its R4 targets; Patient for patient parameters). */
export function referenceTargets(def: SearchParamDef): string[] | undefined {
  const targets = (def as SearchParamDef & { targets?: readonly string[] }).targets;
  if (targets !== undefined && targets.length > 0) return [...targets];
  if ((def.kind as string) === 'patient') return ['Patient'];
  return undefined;
}

/** The reference parameters of a type (for `_include=Type:*`), by name. */
export function referenceParamsOf(type: string): string[] {
  const defs = searchParametersOf(type);
  return Object.keys(defs).filter((name) => isReferenceParam(defs[name]));
}

const SORTABLE_KINDS: ReadonlySet<string> = new Set(['date', 'string']);
const COMMON = new Set(['_id', '_lastUpdated']);

function paramOf(type: string, name: string): SearchParamDef | undefined {
  const defs = searchParametersOf(type);
  return Object.hasOwn(defs, name) ? defs[name] : undefined;
}

/** `Source:param[:Target]` (or `*`), checked against the table. */
function parseInclude(raw: string, iterate: boolean): IncludeSpec | string {
  const parts = raw.split(':');
  if (parts.length < 2 || parts.length > 3) return 'Expected Type:parameter or Type:parameter:TargetType';
  const [source, param, target] = parts as [string, string, string | undefined];
  if (!isResourceType(source)) return 'Unknown resource type';
  if (param === '*') {
    if (target !== undefined && !isResourceType(target)) return 'Unknown target resource type';
    return { source, param, target, iterate };
  }
  const def = paramOf(source, param);
  if (def === undefined) return `Search parameter is not supported for ${source}`;
  if (!isReferenceParam(def)) return 'Only reference parameters can be included';
  if (target !== undefined) {
    if (!isResourceType(target)) return 'Unknown target resource type';
    const targets = referenceTargets(def);
    if (targets !== undefined && !targets.includes(target)) return 'The parameter cannot refer to that type';
  }
  return { source, param, target, iterate };
}

/** `param[:Type].inner[:modifier]` on `type`. */
function parseChain(type: string, key: string, value: string): ChainSpec | string {
  const dot = key.indexOf('.');
  const left = key.slice(0, dot);
  const inner = key.slice(dot + 1);
  if (inner.includes('.')) return 'Only one level of chaining is supported';
  const [param, modifier, ...rest] = left.split(':') as [string, string | undefined, ...string[]];
  if (rest.length > 0) return 'Malformed chained parameter';
  const def = paramOf(type, param);
  if (def === undefined) return `Search parameter is not supported for ${type}`;
  if (!isReferenceParam(def)) return 'Chaining needs a reference parameter';
  const targets = referenceTargets(def);
  const innerName = inner.split(':')[0]!;
  if (innerName === '' || innerName.startsWith('_has')) return 'Malformed chained parameter';
  const defines = (t: string) => COMMON.has(innerName) || paramOf(t, innerName) !== undefined;
  let types: string[];
  if (modifier !== undefined) {
    if (!isResourceType(modifier)) return 'Unknown resource type in the chain';
    if (targets !== undefined && !targets.includes(modifier))
      return 'The parameter cannot refer to that type';
    types = [modifier];
  } else {
    // R4 subject-like references without a declared target list default to Patient.
    types = (targets ?? ['Patient']).filter(defines);
  }
  if (types.length === 0 || !types.every(defines)) {
    return 'The chained parameter is not supported on the referenced type';
  }
  return { param, types, inner, value };
}

/** `_has:Type:refParam:inner[:modifier]` on `type`. */
function parseHas(type: string, key: string, value: string): HasSpec | string {
  const parts = key.split(':');
  if (parts.length < 4) return 'Expected _has:Type:referenceParameter:parameter';
  const [, other, refParam, ...innerParts] = parts as [string, string, string, ...string[]];
  const inner = innerParts.join(':');
  if (inner.startsWith('_has') || inner.includes('.')) return 'Only one level of _has is supported';
  if (!isResourceType(other)) return 'Unknown resource type';
  const def = paramOf(other, refParam);
  if (def === undefined) return `Search parameter is not supported for ${other}`;
  if (!isReferenceParam(def)) return '_has needs a reference parameter';
  const targets = referenceTargets(def);
  if (targets !== undefined && !targets.includes(type)) return 'The parameter cannot refer to this type';
  const innerName = innerParts[0]!;
  if (!COMMON.has(innerName) && paramOf(other, innerName) === undefined) {
    return `Search parameter is not supported for ${other}`;
  }
  return { type: other, refParam, inner, value };
}

function parseSort(type: string, raw: string): SortKey[] | string {
  const keys: SortKey[] = [];
  for (const part of raw.split(',')) {
    const order = part.startsWith('-') ? 'desc' : 'asc';
    const param = part.replace(/^-/, '');
    if (param === '') return 'Empty sort key';
    if (!COMMON.has(param)) {
      const def = paramOf(type, param);
      if (def === undefined || !SORTABLE_KINDS.has(def.kind as string)) {
        return '_sort supports _lastUpdated, _id and the date and string parameters of the type';
      }
    }
    if (keys.some((k) => k.param === param)) return 'A sort key is repeated';
    keys.push({ param, order });
  }
  return keys;
}

const SUMMARIES = new Set(['true', 'text', 'data', 'count', 'false']);

export function composeSearch(type: string, params: URLSearchParams): CompositionResult {
  const issues: Issue[] = [];
  const c: SearchComposition = {
    base: new URLSearchParams(),
    include: [],
    revinclude: [],
    chains: [],
    has: [],
  };
  const seen = new Set<string>();
  for (const [key, raw] of params) {
    const bad = (text: string, code: Issue['code'] = 'value') => issues.push(issue(code, text, key));
    if (PRESENTATION_PARAMETERS.has(key)) continue;
    const once = () => {
      if (seen.has(key)) {
        bad('Parameter may appear only once', 'invalid');
        return false;
      }
      seen.add(key);
      return true;
    };
    if (
      key === '_include' ||
      key === '_include:iterate' ||
      key === '_revinclude' ||
      key === '_revinclude:iterate'
    ) {
      const iterate = key.endsWith(':iterate');
      for (const part of raw.split(',')) {
        const spec = parseInclude(part, iterate);
        if (typeof spec === 'string') bad(spec);
        else if (!iterate && key.startsWith('_include') && spec.source !== type)
          bad('_include names the searched type (use _include:iterate for included resources)');
        else (key.startsWith('_include') ? c.include : c.revinclude).push(spec);
      }
      continue;
    }
    if (key === '_summary') {
      if (!once()) continue;
      if (!SUMMARIES.has(raw)) bad('_summary must be true, text, data, count or false');
      else if (raw !== 'false') c.summary = raw as SearchComposition['summary'];
      continue;
    }
    if (key === '_elements') {
      if (!once()) continue;
      const names = raw.split(',');
      if (!names.every(isElementName)) bad('_elements lists top-level element names, separated by commas');
      else c.elements = names;
      continue;
    }
    if (key === '_sort') {
      if (!once()) continue;
      if (raw === '_lastUpdated' || raw === '-_lastUpdated') {
        c.base.append(key, raw);
        continue;
      }
      const keys = parseSort(type, raw);
      if (typeof keys === 'string') bad(keys, 'not-supported');
      else c.sort = keys;
      continue;
    }
    if (key.startsWith('_has:') || key === '_has') {
      const spec = parseHas(type, key, raw);
      if (typeof spec === 'string') bad(spec, 'not-supported');
      else if (raw === '') bad('Search parameter has an empty value', 'invalid');
      else c.has.push(spec);
      continue;
    }
    if (key.includes('.')) {
      const spec = parseChain(type, key, raw);
      if (typeof spec === 'string') bad(spec, 'not-supported');
      else if (raw === '') bad('Search parameter has an empty value', 'invalid');
      else c.chains.push(spec);
      continue;
    }
    c.base.append(key, raw);
  }
  if (c.summary !== undefined && c.elements !== undefined) {
    issues.push(issue('invalid', '_summary and _elements cannot be combined', '_elements'));
  }
  return issues.length > 0 ? { ok: false, issues: issues.slice(0, 10) } : { ok: true, composition: c };
}
