/**
 * Normalised forms of searchable text, shared by the index side (searchValuesOf) and the query side
 * (parseSearch), so both derive the same blind tokens.
 *
 * FHIR string search is case- and accent-insensitive starts-with. The index cannot compare, so a string is
 * indexed as the tokens of its normalised prefixes of 1..STRING_PREFIX_CAP characters (code points), and a
 * query becomes the token of its own normalised form. Limits: a query longer than the cap is cut to the cap,
 * so it matches every value sharing its first STRING_PREFIX_CAP normalised characters (an over-match only for
 * values and queries longer than the cap); `:exact` matches the original string through a token of its own.
 * Normalisation: Unicode NFKD, combining marks removed, lower case, every run of white space, punctuation and
 * symbols collapsed to one space, leading and trailing spaces removed (`Zoë  O'Brien` → `zoe o brien`).
 */

/** Longest normalised prefix (in code points) the index holds a token for. */
export const STRING_PREFIX_CAP = 20;

const MARKS = /\p{M}+/gu;
const SEPARATORS = /[\s\p{P}\p{S}\p{C}]+/gu;

export function normaliseSearchString(value: string): string {
  return value.normalize('NFKD').replace(MARKS, '').toLowerCase().replace(SEPARATORS, ' ').trim();
}

/** The normalised prefixes of a value the index holds (1..STRING_PREFIX_CAP code points). */
export function searchPrefixes(value: string): string[] {
  const chars = Array.from(normaliseSearchString(value));
  const out: string[] = [];
  for (let n = 1; n <= Math.min(chars.length, STRING_PREFIX_CAP); n++) {
    const prefix = chars.slice(0, n).join('');
    // A prefix ending in the separating space says nothing its predecessor does not.
    if (!prefix.endsWith(' ')) out.push(prefix);
  }
  return out;
}

/** The index key a normalised query looks up: the query itself, cut to the cap. */
export function searchPrefixOf(value: string): string {
  return Array.from(normaliseSearchString(value)).slice(0, STRING_PREFIX_CAP).join('').trimEnd();
}

/** Phone numbers compare by their digits only; everything else by its trimmed lower-case form. */
export function normaliseTelecom(system: string | undefined, value: string): string {
  if (system === 'phone' || system === 'fax' || system === 'sms' || system === 'pager') {
    return value.replace(/\D/g, '');
  }
  return value.trim().toLowerCase();
}
