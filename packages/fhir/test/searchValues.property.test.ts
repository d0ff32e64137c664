/**
 * Fuzzing the search-value parsers (fast-check): arbitrary strings and structured near-misses — dates with
 * years 0000..99999, months 00..13, 24:00, leap seconds, absurd zones and fractions; numbers too big, signed or
 * written as floats; tokens full of `|`, `\` and `,`; references to unknown types and over-long ids — for every
 * parameter of every type, for `_since`, and inside resources given to searchValuesOf. The parsers return a
 * result or a refusal naming the parameter and never throw; what they accept is well-formed: finite instant
 * ranges with start < end, granules that re-parse, counts and offsets in range.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DatePrefix, dateGranulesFor, parseDateRange } from '../src/dateGranules.js';
import { parseSearch, parseSince } from '../src/parseSearch.js';
import { RESOURCE_TYPES } from '../src/resourceTypes.js';
import { COMMON_SEARCH_PARAMETERS, searchParametersOf } from '../src/searchParameters.js';
import { searchValuesOf } from '../src/searchValuesOf.js';

const NOW = new Date('2026-06-15T12:00:00Z');
const digits = (n: number, width: number) => String(n).padStart(width, '0');

/** Dates and instants that are right, nearly right, or wrong in one field. */
const nearMissDate: fc.Arbitrary<string> = fc
  .record({
    sign: fc.constantFrom('', '', '', '+', '-'),
    year: fc.oneof(
      fc.integer({ min: 0, max: 9999 }).map((y) => digits(y, 4)),
      fc.constantFrom('0000', '0999', '1000', '1900', '2100', '9999', '10000', '99999', '20', '2o20'),
    ),
    month: fc.option(
      fc.oneof(
        fc.integer({ min: 0, max: 13 }).map((m) => digits(m, 2)),
        fc.constantFrom('1', '001'),
      ),
    ),
    day: fc.option(
      fc.oneof(
        fc.integer({ min: 0, max: 32 }).map((d) => digits(d, 2)),
        fc.constant('1'),
      ),
    ),
    time: fc.option(
      fc.record({
        h: fc.integer({ min: 0, max: 25 }),
        m: fc.integer({ min: 0, max: 61 }),
        s: fc.option(fc.integer({ min: 0, max: 61 })),
        frac: fc.option(fc.stringMatching(/^[0-9]{0,24}$/)),
        zone: fc.constantFrom(
          'Z',
          '',
          '+00:00',
          '-05:00',
          '+14:00',
          '-14:00',
          '+14:01',
          '+15:00',
          '+99:99',
          'z',
        ),
      }),
    ),
  })
  .map(({ sign, year, month, day, time }) => {
    let s = `${sign}${year}`;
    if (month === null) return s;
    s += `-${month}`;
    if (day === null) return s;
    s += `-${day}`;
    if (time === null) return s;
    s += `T${digits(time.h, 2)}:${digits(time.m, 2)}`;
    if (time.s !== null) s += `:${digits(time.s, 2)}${time.frac === null ? '' : `.${time.frac}`}`;
    return s + time.zone;
  });

const prefix = fc.constantFrom('', 'eq', 'ne', 'gt', 'ge', 'lt', 'le', 'sa', 'eb', 'ap', 'xx', 'GE');
const nearMissNumber: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.bigInt().map(String),
  fc.double().map(String),
  fc.constantFrom(
    '0',
    '1000',
    '1001',
    '-0',
    '+1',
    '01',
    '1e3',
    '1e309',
    '0x10',
    'Infinity',
    'NaN',
    '9'.repeat(40),
  ),
);
const tokenPiece = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('|', '\\', ',', '$', '\\|', '\\,', '\u0000', 'http://loinc.org', ' '),
);
const nearMissToken = fc.array(tokenPiece, { maxLength: 8 }).map((a) => a.join(''));
const nearMissReference: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...RESOURCE_TYPES.slice(0, 20), 'Patient', 'Foo', '', 'patient', 'http://x/Patient'),
    fc.oneof(fc.stringMatching(/^[A-Za-z0-9\-.]{1,70}$/), fc.string({ maxLength: 10 })),
    fc.constantFrom('', '', '/_history/1', '/', '/x/y'),
  )
  .map(([type, id, tail]) => (type === '' ? `${id}${tail}` : `${type}/${id}${tail}`));
const anyString = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 50 }));

const valuesFor = (kind: string): fc.Arbitrary<string> => {
  const one =
    kind === 'date' || kind === '_lastUpdated'
      ? fc.tuple(prefix, nearMissDate).map(([p, d]) => p + d)
      : kind === '_count' || kind === '_offset'
        ? nearMissNumber
        : kind === 'reference' || kind === '_id'
          ? nearMissReference
          : nearMissToken;
  // Several comma-separated alternatives, or one, or anything at all.
  return fc.oneof(
    one,
    fc.array(one, { minLength: 1, maxLength: 4 }).map((a) => a.join(',')),
    anyString,
  );
};

/** Every (type, parameter, value kind) the parser knows, plus names it does not. */
const typeAndParam = fc.constantFrom(...RESOURCE_TYPES).chain((type) => {
  const defs = searchParametersOf(type);
  const names = [
    ...Object.keys(defs),
    ...COMMON_SEARCH_PARAMETERS,
    'date:year',
    'code:text',
    'name:exact',
    'name:contains',
    'code:not',
    'date:missing',
    'subject:Patient',
    'unknown',
    '',
  ];
  return fc.constantFrom(...names).map((name) => {
    const base = name.split(':')[0]!;
    const kind = Object.hasOwn(defs, base) ? defs[base]!.kind : name;
    return { type, name, kind };
  });
});
const query = typeAndParam.chain(({ type, name, kind }) =>
  valuesFor(kind).map((value) => ({ type, name, value })),
);

function checkAccepted(search: Extract<ReturnType<typeof parseSearch>, { ok: true }>['search']): void {
  expect(search.count).toBeGreaterThanOrEqual(1);
  expect(search.count).toBeLessThanOrEqual(1000);
  expect(Number.isSafeInteger(search.offset) && search.offset >= 0).toBe(true);
  for (const p of search.lastUpdated) {
    const start = Date.parse(p.start);
    const end = Date.parse(p.end);
    expect(Number.isFinite(start) && Number.isFinite(end)).toBe(true);
    expect(start).toBeLessThan(end);
    // What a database driver can send: four-digit years.
    expect(p.start).toMatch(/^\d{4}-/);
    expect(p.end).toMatch(/^\d{4}-/);
  }
  for (const clause of search.clauses) {
    expect(clause.anyOf.length).toBeGreaterThan(0);
    for (const test of clause.anyOf.flat()) {
      for (const t of test.tokens ?? []) {
        expect(t.param.split(':')[0]).toBe(test.param);
        if (/:(year|month|day)$/.test(t.param)) {
          const r = parseDateRange(t.value);
          expect(r, t.value).toBeDefined();
          expect(r!.first).toBeLessThanOrEqual(r!.last);
        }
      }
    }
  }
}

describe('the search-value parsers under fuzzing', () => {
  it('parseSearch: a result or a refusal naming the parameter, never a throw', () => {
    fc.assert(
      fc.property(query, ({ type, name, value }) => {
        const r = parseSearch(type, new URLSearchParams([[name, value]]), { now: NOW });
        if (r.ok) checkAccepted(r.search);
        else {
          expect(r.issues.length).toBeGreaterThan(0);
          for (const i of r.issues) expect(i.expression).toEqual([name]);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('parseSearch: several parameters at once, any type name', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...RESOURCE_TYPES), anyString),
        fc.array(query, { maxLength: 6 }),
        (type, qs) => {
          const r = parseSearch(type, new URLSearchParams(qs.map((q) => [q.name, q.value])), { now: NOW });
          if (r.ok) checkAccepted(r.search);
          else expect(r.issues.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('accepted dates are valid day ranges, and every predicate on them covers finitely many granules', () => {
    fc.assert(
      fc.property(
        nearMissDate,
        fc.constantFrom<DatePrefix>('eq', 'gt', 'ge', 'lt', 'le'),
        fc.integer({ min: 1000, max: 3000 }),
        (value, p, nowYear) => {
          const range = parseDateRange(value);
          if (range === undefined) return;
          expect(Number.isSafeInteger(range.first) && Number.isSafeInteger(range.last)).toBe(true);
          expect(range.first).toBeLessThanOrEqual(range.last);
          const granules = dateGranulesFor(p, value, { now: new Date(Date.UTC(nowYear, 5, 1)) });
          expect(granules.length).toBeLessThan(10_000);
          for (const g of granules) expect(parseDateRange(g.value)).toBeDefined();
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('parseSince: an instant that a database can hold, or a refusal naming _since', () => {
    fc.assert(
      fc.property(fc.oneof(nearMissDate, anyString, nearMissNumber), (value) => {
        const r = parseSince(value);
        if (!r.ok) {
          expect(r.issues).toEqual([expect.objectContaining({ code: 'value', expression: ['_since'] })]);
          return;
        }
        expect(Number.isFinite(r.since.getTime())).toBe(true);
        // Years 1000..9999 as written, shifted at most a day by the zone, never past 9999.
        expect(r.since.toISOString()).toMatch(/^\d{4}-/);
        expect(r.since.getUTCFullYear()).toBeGreaterThanOrEqual(999);
      }),
      { numRuns: 3000 },
    );
    for (const refused of [
      '0000-01-01',
      '1',
      'Tue Mar 01 2022',
      'ge2020',
      '2020-01-01T24:00:00Z',
      '',
      '2020-01-01T10:00',
    ]) {
      expect(parseSince(refused).ok, refused).toBe(false);
    }
    expect(parseSince('2016-12-31T23:59:60Z')).toEqual({ ok: true, since: new Date('2017-01-01T00:00:00Z') });
    expect(parseSince('2020-02')).toEqual({ ok: true, since: new Date('2020-02-01T00:00:00Z') });
  });

  it('searchValuesOf: resources with near-miss dates and references index without throwing', () => {
    fc.assert(
      fc.property(nearMissDate, nearMissDate, nearMissReference, nearMissToken, (a, b, ref, code) => {
        const tokens = searchValuesOf({
          resourceType: 'Observation',
          status: code,
          code: { coding: [{ system: code, code }] },
          subject: { reference: ref },
          effectivePeriod: { start: a, end: b },
        });
        const tokens2 = searchValuesOf({ resourceType: 'Condition', onsetDateTime: a, recordedDate: b });
        for (const t of [...tokens, ...tokens2]) {
          if (/:(year|month|day)$/.test(t.param)) expect(parseDateRange(t.value)).toBeDefined();
        }
      }),
      { numRuns: 2000 },
    );
  });
});
