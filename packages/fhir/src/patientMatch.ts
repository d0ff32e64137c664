/**
 * FHIR R4 `Patient/$match` (patient-operation-match), pure parts: reading the Parameters input, the index
 * searches that find candidates, and the score and match grade of each candidate. The node runs the searches
 * under the caller's access, decrypts the candidates it may see and scores them here.
 *
 * Candidates: patients sharing an identifier (`system|value`), or the family name and birth date, or a given
 * name and birth date, or a phone number, or an e-mail address with the input (each one index search).
 *
 * Score: the sum of the weights of the agreeing elements (normalised as search normalises them):
 *   identifier (same system and value) 0.40 · family name 0.20 · given name 0.15 · birth date 0.15 ·
 *   gender 0.05 · phone or e-mail 0.05 — at most 1.
 * Grade (the R4 match-grade extension):
 *   certain       an identifier agrees, and the birth date or the family name agrees, and nothing conflicts;
 *   probable      no conflict and a score of at least 0.5 (e.g. family, given and birth date);
 *   possible      no conflict and a score of at least 0.3 (e.g. given name and birth date);
 *   certainly-not everything else, and every candidate whose birth date or gender (both given) differs.
 */
import { type Issue, issue } from './Issue.js';
import { normaliseSearchString, normaliseTelecom } from './searchText.js';

export type MatchGrade = 'certain' | 'probable' | 'possible' | 'certainly-not';

export interface MatchRequest {
  patient: Record<string, unknown>;
  onlyCertainMatches: boolean;
  count: number;
}

export const DEFAULT_MATCH_COUNT = 10;
export const MAX_MATCH_COUNT = 100;

export type MatchRequestResult = { ok: true; request: MatchRequest } | { ok: false; issues: Issue[] };

/** Reads the operation's Parameters; every problem is an issue naming the parameter. */
export function parseMatchParameters(body: unknown): MatchRequestResult {
  const fail = (text: string, where?: string) => ({
    ok: false as const,
    issues: [issue('invalid', text, where)],
  });
  if (
    typeof body !== 'object' ||
    body === null ||
    (body as { resourceType?: unknown }).resourceType !== 'Parameters'
  ) {
    return fail('The body must be a Parameters resource');
  }
  const parameter = (body as { parameter?: unknown }).parameter;
  if (!Array.isArray(parameter)) return fail('Parameters.parameter is required', 'Parameters.parameter');
  let patient: Record<string, unknown> | undefined;
  let onlyCertainMatches = false;
  let count = DEFAULT_MATCH_COUNT;
  const seen = new Set<string>();
  for (const p of parameter as unknown[]) {
    const name = typeof p === 'object' && p !== null ? (p as { name?: unknown }).name : undefined;
    if (typeof name !== 'string') return fail('Every parameter needs a name', 'Parameters.parameter');
    if (seen.has(name)) return fail('Parameter may appear only once', name);
    seen.add(name);
    const v = p as Record<string, unknown>;
    switch (name) {
      case 'resource': {
        const r = v.resource;
        if (
          typeof r !== 'object' ||
          r === null ||
          (r as { resourceType?: unknown }).resourceType !== 'Patient'
        ) {
          return fail('resource must be a Patient', 'resource');
        }
        patient = r as Record<string, unknown>;
        break;
      }
      case 'onlyCertainMatches':
        if (typeof v.valueBoolean !== 'boolean') return fail('onlyCertainMatches takes valueBoolean', name);
        onlyCertainMatches = v.valueBoolean;
        break;
      case 'count': {
        const n = v.valueInteger;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_MATCH_COUNT) {
          return fail(`count takes a valueInteger from 1 to ${MAX_MATCH_COUNT}`, name);
        }
        count = n;
        break;
      }
      default:
        return { ok: false, issues: [issue('not-supported', 'Unknown parameter of $match', name)] };
    }
  }
  if (patient === undefined) return fail('The resource parameter (a Patient) is required', 'resource');
  return { ok: true, request: { patient, onlyCertainMatches, count } };
}

/** The demographic elements $match compares, normalised. */
export interface Demographics {
  identifiers: Set<string>;
  families: Set<string>;
  givens: Set<string>;
  birthDate?: string;
  gender?: string;
  phones: Set<string>;
  emails: Set<string>;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
const objects = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];

export function demographicsOf(patient: Record<string, unknown>): Demographics {
  const d: Demographics = {
    identifiers: new Set(),
    families: new Set(),
    givens: new Set(),
    phones: new Set(),
    emails: new Set(),
  };
  for (const id of objects(patient.identifier)) {
    if (
      typeof id.system === 'string' &&
      typeof id.value === 'string' &&
      id.system !== '' &&
      id.value !== ''
    ) {
      d.identifiers.add(`${id.system}|${id.value}`);
    }
  }
  for (const n of objects(patient.name)) {
    for (const f of strings(n.family))
      if (normaliseSearchString(f) !== '') d.families.add(normaliseSearchString(f));
    for (const g of strings(n.given))
      if (normaliseSearchString(g) !== '') d.givens.add(normaliseSearchString(g));
  }
  if (typeof patient.birthDate === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(patient.birthDate)) {
    d.birthDate = patient.birthDate;
  }
  if (typeof patient.gender === 'string') d.gender = patient.gender;
  for (const t of objects(patient.telecom)) {
    if (typeof t.value !== 'string') continue;
    const system = typeof t.system === 'string' ? t.system : undefined;
    const n = normaliseTelecom(system, t.value);
    if (n === '') continue;
    if (system === 'phone') d.phones.add(n);
    else if (system === 'email') d.emails.add(n);
  }
  return d;
}

/** Escapes a value for a search parameter (FHIR: `\`, `,`, `|` and `$`). */
const esc = (s: string) => s.replace(/[\\,|$]/g, (c) => `\\${c}`);

/** The index searches (query strings on Patient) whose results are the candidates; empty when none applies. */
export function matchSearches(input: Demographics, perSearch: number): URLSearchParams[] {
  const out: URLSearchParams[] = [];
  const add = (pairs: [string, string][]) =>
    out.push(new URLSearchParams([...pairs, ['_count', String(perSearch)]]));
  for (const id of input.identifiers) {
    const bar = id.indexOf('|');
    add([['identifier', `${esc(id.slice(0, bar))}|${esc(id.slice(bar + 1))}`]]);
  }
  if (input.birthDate !== undefined) {
    for (const f of input.families)
      add([
        ['family', esc(f)],
        ['birthdate', input.birthDate],
      ]);
    for (const g of input.givens)
      add([
        ['given', esc(g)],
        ['birthdate', input.birthDate],
      ]);
  }
  for (const p of input.phones) add([['phone', esc(p)]]);
  for (const e of input.emails) add([['email', esc(e)]]);
  return out;
}

const intersects = (a: Set<string>, b: Set<string>) => [...a].some((x) => b.has(x));

export interface MatchScore {
  score: number;
  grade: MatchGrade;
}

export function scoreMatch(input: Demographics, candidate: Demographics): MatchScore {
  const identifier = intersects(input.identifiers, candidate.identifiers);
  const family = intersects(input.families, candidate.families);
  const given = intersects(input.givens, candidate.givens);
  const both = <T>(a: T | undefined, b: T | undefined) => a !== undefined && b !== undefined;
  const birthDate = both(input.birthDate, candidate.birthDate) && input.birthDate === candidate.birthDate;
  const gender = both(input.gender, candidate.gender) && input.gender === candidate.gender;
  const contact = intersects(input.phones, candidate.phones) || intersects(input.emails, candidate.emails);
  const conflict =
    (both(input.birthDate, candidate.birthDate) && !birthDate) ||
    (both(input.gender, candidate.gender) &&
      !gender &&
      input.gender !== 'unknown' &&
      candidate.gender !== 'unknown');
  const score =
    Math.round(
      ((identifier ? 0.4 : 0) +
        (family ? 0.2 : 0) +
        (given ? 0.15 : 0) +
        (birthDate ? 0.15 : 0) +
        (gender ? 0.05 : 0) +
        (contact ? 0.05 : 0)) *
        100,
    ) / 100;
  const grade: MatchGrade = conflict
    ? 'certainly-not'
    : identifier && (birthDate || family)
      ? 'certain'
      : score >= 0.5
        ? 'probable'
        : score >= 0.3
          ? 'possible'
          : 'certainly-not';
  return { score, grade };
}

export const MATCH_GRADE_URL = 'http://hl7.org/fhir/StructureDefinition/match-grade';
