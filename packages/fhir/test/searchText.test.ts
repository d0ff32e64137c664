import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  normaliseSearchString,
  normaliseTelecom,
  STRING_PREFIX_CAP,
  searchPrefixes,
  searchPrefixOf,
} from '../src/searchText.js';

/** The plain FHIR string rule on normalised text: the value starts with the query. */
const startsWith = (value: string, query: string) =>
  normaliseSearchString(value).startsWith(normaliseSearchString(query));

describe('search text normalisation', () => {
  it('folds case, accents, compatibility forms, spaces and punctuation', () => {
    expect(normaliseSearchString('Zoë  O’Brien-Smith')).toBe('zoe o brien smith');
    expect(normaliseSearchString('ÅNGSTRÖM')).toBe('angstrom');
    expect(normaliseSearchString('ﬁnn')).toBe('finn'); // NFKD ligature
    expect(normaliseSearchString('  \t-- ')).toBe('');
    expect(normaliseSearchString('Müller')).toBe(normaliseSearchString('MULLER'));
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        const n = normaliseSearchString(s);
        expect(normaliseSearchString(n)).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });

  it('a value has the prefix token of a query exactly when it starts with it (queries up to the cap)', () => {
    const text = fc.string({ unit: fc.constantFrom(..."aAbBéÉ -.,'ôØ1"), maxLength: 30 });
    fc.assert(
      fc.property(text, text, (value, query) => {
        const q = searchPrefixOf(query);
        fc.pre(q !== '');
        const has = searchPrefixes(value).includes(q);
        if (Array.from(normaliseSearchString(query)).length <= STRING_PREFIX_CAP) {
          expect(has).toBe(startsWith(value, query));
        } else if (startsWith(value, query)) {
          // Longer queries are cut to the cap: never a miss, possibly an over-match.
          expect(has).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
    // Prefixes of a value: every true prefix up to the cap matches.
    fc.assert(
      fc.property(text, fc.nat(40), (value, n) => {
        const norm = normaliseSearchString(value);
        const prefix = Array.from(norm).slice(0, n).join('');
        fc.pre(prefix.trim() !== '');
        expect(searchPrefixes(value)).toContain(searchPrefixOf(prefix));
      }),
    );
  });

  it('bounds the tokens of one value by the cap', () => {
    expect(searchPrefixes('a'.repeat(100))).toHaveLength(STRING_PREFIX_CAP);
    expect(searchPrefixes('Ab c')).toEqual(['a', 'ab', 'ab c']);
  });

  it('telecom values: phone numbers by their digits, the rest in lower case', () => {
    expect(normaliseTelecom('phone', '+1 (555) 010-2030')).toBe('15550102030');
    expect(normaliseTelecom('email', ' Jane.Doe@Example.ORG ')).toBe('jane.doe@example.org');
    expect(normaliseTelecom(undefined, 'ABC')).toBe('abc');
  });
});
