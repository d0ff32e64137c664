/**
 * The normalised search tokens of a resource: what the node turns into keyed blind-index entries (never
 * store these values in plaintext — they are PHI). Token forms match what parseSearch produces, so a
 * resource matches a clause when one of its tokens equals one of the clause's tokens.
 * Dates: a date or dateTime gives its day, month and year granules (a partial date only the granules it
 * fills); a Period gives the granules of every day it covers when it spans at most MAX_PERIOD_DAYS days,
 * otherwise (or when open-ended) those of its start and end days only.
 */

import { normalisePatientReference } from './classifyResource.js';
import { dayGranules, parseDateRange } from './dateGranules.js';
import { elementValues } from './elementValues.js';
import type { FhirResource } from './FhirResource.js';
import { type SearchParamDef, searchParametersOf } from './searchParameters.js';

export interface SearchToken {
  param: string;
  value: string;
}

/** Periods longer than this many days index only their start and end days. */
export const MAX_PERIOD_DAYS = 62;

const SUBJECT_REF = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

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
    for (const path of def.paths) {
      for (const v of elementValues(resource, path)) tokensOf(name, def, v, add);
    }
  }
  return out;
}

type Add = (param: string, value: string) => void;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function codingTokens(param: string, coding: unknown, add: Add): void {
  if (typeof coding !== 'object' || coding === null) return;
  const c = str((coding as { code?: unknown }).code);
  if (c === undefined) return;
  const system = str((coding as { system?: unknown }).system);
  if (system !== undefined) add(param, `${system}|${c}`);
  add(param, c);
}

function tokensOf(param: string, def: SearchParamDef, v: unknown, add: Add): void {
  switch (def.kind) {
    case 'code': {
      const c = str(v);
      if (c !== undefined) add(param, c);
      return;
    }
    case 'token': {
      if (typeof v === 'string') {
        add(param, v);
      } else if (typeof v === 'object' && v !== null) {
        const codings = (v as { coding?: unknown }).coding;
        if (Array.isArray(codings)) for (const c of codings) codingTokens(param, c, add);
        else codingTokens(param, v, add);
      }
      return;
    }
    case 'identifier': {
      if (typeof v !== 'object' || v === null) return;
      const value = str((v as { value?: unknown }).value);
      if (value === undefined) return;
      const system = str((v as { system?: unknown }).system);
      if (system !== undefined) add(param, `${system}|${value}`);
      add(param, `|${value}`);
      return;
    }
    case 'patient':
    case 'subject': {
      const ref =
        typeof v === 'object' && v !== null ? str((v as { reference?: unknown }).reference) : undefined;
      if (ref === undefined) return;
      if (def.kind === 'patient') {
        const p = normalisePatientReference(ref);
        if (p?.startsWith('Patient/')) add(param, p);
      } else {
        const m = SUBJECT_REF.exec(ref);
        if (m !== null) add(param, `${m[1]}/${m[2]}`);
      }
      return;
    }
    case 'date':
      dateTokens(param, v, add);
      return;
  }
}

function dateTokens(param: string, v: unknown, add: Add): void {
  if (typeof v === 'string') {
    const range = parseDateRange(v);
    if (range === undefined) return;
    const granules = dayGranules(range.first, param);
    const keep = range.precision === 'year' ? 1 : range.precision === 'month' ? 2 : 3;
    for (const g of granules.slice(0, keep)) add(g.param, g.value);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const start = str((v as { start?: unknown }).start);
  const end = str((v as { end?: unknown }).end);
  const s = start === undefined ? undefined : parseDateRange(start);
  const e = end === undefined ? undefined : parseDateRange(end);
  if (s !== undefined && e !== undefined && e.last >= s.first && e.last - s.first < MAX_PERIOD_DAYS) {
    for (let day = s.first; day <= e.last; day++)
      for (const g of dayGranules(day, param)) add(g.param, g.value);
    return;
  }
  if (start !== undefined) dateTokens(param, start, add);
  if (end !== undefined) dateTokens(param, end, add);
}
