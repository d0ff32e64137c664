/**
 * "What you may see": the node's `$access` answer (a FHIR Parameters resource) in plain words — which kinds
 * of data the clinician may read or write for this patient, why (the patient's consent, emergency access),
 * and until when — plus the active break-glass session, if any. Pure, so the wording is unit-tested.
 */
import type { Resource } from '../api/fhir';

export interface AccessLine {
  action: 'read' | 'write';
  via: string;
  /** ISO instant, when the access ends. */
  until?: string;
  categories: string[];
}

export interface AccessSummary {
  purpose?: string;
  lines: AccessLine[];
  breakGlass?: { session: string; expires: string };
}

interface Part {
  name?: string;
  valueCode?: string;
  valueString?: string;
  valueInstant?: string;
  valueCoding?: { code?: string; display?: string };
  part?: Part[];
}

/** Groups the allowed (category, action) pairs by action, reason and end. */
export function summariseAccess(parameters: Resource): AccessSummary {
  const params = (parameters.parameter as Part[] | undefined) ?? [];
  const out: AccessSummary = { lines: [] };
  for (const p of params) {
    if (p.name === 'purpose' && p.valueCode) out.purpose = p.valueCode;
    if (p.name === 'breakGlass') {
      const session = p.part?.find((x) => x.name === 'session')?.valueString;
      const expires = p.part?.find((x) => x.name === 'expires')?.valueInstant;
      if (session && expires) out.breakGlass = { session, expires };
    }
    if (p.name !== 'allowed') continue;
    const get = (n: string) => p.part?.find((x) => x.name === n);
    const action = get('action')?.valueCode === 'write' ? 'write' : 'read';
    const via = get('via')?.valueCode ?? 'grant';
    const until = get('until')?.valueInstant;
    const coding = get('category')?.valueCoding;
    const category = (coding?.display ?? coding?.code ?? 'data').toLowerCase();
    let line = out.lines.find((l) => l.action === action && l.via === via && l.until === until);
    if (!line) {
      line = { action, via, ...(until ? { until } : {}), categories: [] };
      out.lines.push(line);
    }
    line.categories.push(category);
  }
  return out;
}

/** "a, b and c". */
export function listWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** HH:MM (24 h) of an instant in the given time zone (default: the browser's). */
export function clockTime(iso: string, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
    ...(timeZone ? { timeZone } : {}),
  }).format(new Date(iso));
}

/** A date in words ("7 Dec 2026"). */
export function dayOf(iso: string, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    ...(timeZone ? { timeZone } : {}),
  }).format(new Date(iso));
}

const VIA_WORDS: Record<string, string> = {
  grant: 'with the patient’s consent',
  'break-glass': 'under emergency access',
  'own-record': 'as your own record',
  organisation: 'as the organisation',
  node: 'as the organisation',
  scopes: 'as an authorised app',
};

/** One sentence per line, e.g. "You may read observations and conditions with the patient’s consent, until 7 Dec 2026 18:00." */
export function sentence(line: AccessLine, timeZone?: string): string {
  const verb = line.action === 'read' ? 'read' : 'add';
  const why = VIA_WORDS[line.via] ?? '';
  let when = '';
  if (line.until) {
    when =
      line.via === 'break-glass'
        ? `, until ${clockTime(line.until, timeZone)}`
        : `, until ${dayOf(line.until, timeZone)} ${clockTime(line.until, timeZone)}`;
  }
  return `You may ${verb} ${listWords(line.categories)} ${why}${when}.`.replace(/\s+([,.])/g, '$1');
}
