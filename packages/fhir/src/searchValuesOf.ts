/**
 * The normalised search tokens of a resource: what the node turns into keyed blind-index entries (never
 * store these values in plaintext — they are PHI). Token forms match what parseSearch produces, so a
 * resource matches a clause when one of its tokens equals one of the clause's tokens.
 *
 * Per kind (searchParameters.ts): strings give `<param>:p` tokens for their normalised prefixes and an
 * `<param>:exact` token for the original text (searchText.ts); token parameters `system|code` and `code`,
 * and `<param>:text` prefixes of CodeableConcept.text and Coding.display; identifiers `system|value` and
 * `|value`; ContactPoints their normalised value and `system|value`; references `Type/id`; dates the
 * granules of their first and last day (dateSearch.ts).
 */

import { daySpanOf, daySpanTokens } from './dateSearch.js';
import { elementValues } from './elementValues.js';
import type { FhirResource } from './FhirResource.js';
import { hasTextSearch, type SearchParamDef, searchParametersOf } from './searchParameters.js';
import { normaliseTelecom, searchPrefixes } from './searchText.js';

/**
 * The version of the search-token scheme: what searchValuesOf computes for a resource (the parameter table,
 * token forms, normalisation, date granules, presence and text tokens). Bump it in the same commit as ANY change
 * that alters the tokens of some resource; a node started on an index of another scheme rebuilds every
 * resource's tokens before it serves (docs/fhir.md, "Search index upgrades"). 1 was the scheme before the R4
 * parameter table; 2 is the R4 table with blind prefixes, first/last-day dates, `:missing` and `:text` tokens.
 */
export const SEARCH_TOKEN_SCHEME = 2;

export interface SearchToken {
  param: string;
  value: string;
}

const REFERENCE = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

export function searchValuesOf(resource: FhirResource): SearchToken[] {
  const seen = new Set<string>();
  const out: SearchToken[] = [];
  const add = (param: string, value: string) => {
    const key = `${param}\u0000${value}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ param, value });
    }
  };
  for (const [name, def] of Object.entries(searchParametersOf(resource.resourceType))) {
    const text = hasTextSearch(name, def);
    const addToken: Add = text
      ? add
      : (param, value) => {
          if (!param.endsWith(':text')) add(param, value);
        };
    for (const path of def.paths) {
      for (const v of elementValues(resource, path)) tokensOf(name, def, v, addToken);
    }
  }
  return out;
}

type Add = (param: string, value: string) => void;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function field(v: unknown, name: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[name] : undefined;
}

function textTokens(param: string, text: unknown, add: Add): void {
  const t = str(text);
  if (t !== undefined) for (const p of searchPrefixes(t)) add(`${param}:text`, p);
}

function codingTokens(param: string, coding: unknown, add: Add): void {
  if (typeof coding !== 'object' || coding === null) return;
  textTokens(param, field(coding, 'display'), add);
  const c = str(field(coding, 'code'));
  if (c === undefined) return;
  const system = str(field(coding, 'system'));
  if (system !== undefined) add(param, `${system}|${c}`);
  add(param, c);
}

/** The strings of a string-kind element: a string, or the parts of a HumanName or Address. */
function stringsOf(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (typeof v !== 'object' || v === null) return [];
  const out: string[] = [];
  for (const key of [
    'text',
    'family',
    'given',
    'prefix',
    'suffix',
    'line',
    'city',
    'district',
    'state',
    'postalCode',
    'country',
  ]) {
    const x = (v as Record<string, unknown>)[key];
    if (typeof x === 'string') out.push(x);
    else if (Array.isArray(x)) for (const y of x) if (typeof y === 'string') out.push(y);
  }
  return out;
}

function tokensOf(param: string, def: SearchParamDef, v: unknown, add: Add): void {
  switch (def.kind) {
    case 'string': {
      for (const s of stringsOf(v)) {
        if (s.trim() === '') continue;
        add(`${param}:exact`, s);
        for (const p of searchPrefixes(s)) add(`${param}:p`, p);
      }
      return;
    }
    case 'code': {
      if (typeof v === 'boolean') add(param, String(v));
      const c = str(v);
      if (c !== undefined) add(param, c);
      return;
    }
    case 'token': {
      if (typeof v === 'string') {
        add(param, v);
      } else if (typeof v === 'boolean') {
        add(param, String(v));
      } else if (typeof v === 'object' && v !== null) {
        const codings = field(v, 'coding');
        if (Array.isArray(codings) || typeof field(v, 'text') === 'string') {
          // A CodeableConcept (its codings, its text, or both).
          if (Array.isArray(codings)) for (const c of codings) codingTokens(param, c, add);
          textTokens(param, field(v, 'text'), add);
        } else codingTokens(param, v, add);
      }
      return;
    }
    case 'identifier': {
      const value = str(field(v, 'value'));
      if (value === undefined) return;
      const system = str(field(v, 'system'));
      if (system !== undefined) add(param, `${system}|${value}`);
      add(param, `|${value}`);
      return;
    }
    case 'telecom': {
      const value = str(field(v, 'value'));
      const system = str(field(v, 'system'));
      if (value === undefined || (def.system !== undefined && system !== def.system)) return;
      const n = normaliseTelecom(system, value);
      if (n === '') return;
      add(param, n);
      if (system !== undefined) add(param, `${system}|${n}`);
      return;
    }
    case 'reference': {
      const ref = str(field(v, 'reference'));
      const m = ref === undefined ? null : REFERENCE.exec(ref);
      if (m !== null && (def.targets === undefined || def.targets.includes(m[1]!)))
        add(param, `${m[1]}/${m[2]}`);
      return;
    }
    case 'date': {
      const span = daySpanOf(v);
      if (span !== undefined) for (const t of daySpanTokens(param, span)) add(t.param, t.value);
      return;
    }
  }
}
