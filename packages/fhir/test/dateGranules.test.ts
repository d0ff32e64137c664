import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  coverDays,
  type DatePrefix,
  dateGranulesFor,
  dayGranules,
  parseDateRange,
  searchableDays,
} from '../src/dateGranules.js';

const NOW = new Date('2025-06-15T12:00:00Z');
const key = (g: { param: string; value: string }) => `${g.param}=${g.value}`;
const dayOf = (s: string) => parseDateRange(s)!.first;

describe('parseDateRange', () => {
  it('reads years, months, days and dateTimes (time truncated)', () => {
    expect(parseDateRange('2020')).toMatchObject({ precision: 'year', last: dayOf('2020-12-31') });
    expect(parseDateRange('2020-02')).toMatchObject({
      precision: 'month',
      first: dayOf('2020-02-01'),
      last: dayOf('2020-02-29'),
    });
    expect(parseDateRange('2020-01-05T23:59:59+14:00')).toMatchObject({
      precision: 'day',
      first: dayOf('2020-01-05'),
    });
    for (const bad of ['2021-02-29', '2020-13', '20', '0999', '2020-1-1', '2020-01-05T25:00:00Z', 'x']) {
      expect(parseDateRange(bad), bad).toBeUndefined();
    }
  });
});

describe('dateGranulesFor', () => {
  it('gives the documented sets', () => {
    expect(dateGranulesFor('ge', '2019-06', { now: NOW }).map(key)).toEqual([
      ...['06', '07', '08', '09', '10', '11', '12'].map((m) => `date:month=2019-${m}`),
      ...['2020', '2021', '2022', '2023', '2024', '2025', '2026'].map((y) => `date:year=${y}`),
    ]);
    expect(dateGranulesFor('eq', '2020-01-05T10:00:00Z').map(key)).toEqual(['date:day=2020-01-05']);
    expect(dateGranulesFor('eq', '2020').map(key)).toEqual(['date:year=2020']);
    expect(dateGranulesFor('lt', '1900-01-01', { now: NOW })).toEqual([]);
    expect(dateGranulesFor('gt', '2020-12-30', { now: NOW, param: 'x' }).map(key).slice(0, 2)).toEqual([
      'x:day=2020-12-31',
      'x:year=2021',
    ]);
    expect(() => dateGranulesFor('eq', 'yesterday')).toThrow(
      expect.objectContaining({ code: 'MDL_BAD_INPUT' }),
    );
  });

  it('a day lies in the granule set iff the predicate holds at day precision (property)', () => {
    const [lower, upper] = searchableDays({ now: NOW });
    const day = fc.integer({ min: lower, max: upper });
    const prefix = fc.constantFrom<DatePrefix>('eq', 'gt', 'ge', 'lt', 'le');
    const precision = fc.constantFrom('year', 'month', 'day', 'dateTime');
    fc.assert(
      fc.property(day, day, prefix, precision, (d, q, p, prec) => {
        const [y, m, dd] = dayGranules(q).map((g) => g.value) as [string, string, string];
        const value =
          prec === 'year' ? y : prec === 'month' ? m : prec === 'day' ? dd : `${dd}T13:45:00+02:00`;
        const range = parseDateRange(value)!;
        const set = new Set(dateGranulesFor(p, value, { now: NOW }).map(key));
        const inSet = dayGranules(d).some((g) => set.has(key(g)));
        const holds =
          p === 'eq'
            ? d >= range.first && d <= range.last
            : p === 'gt'
              ? d > range.last
              : p === 'ge'
                ? d >= range.first
                : p === 'lt'
                  ? d < range.first
                  : d <= range.last;
        expect(inSet).toBe(holds);
      }),
      { numRuns: 2000 },
    );
  });

  it('covers are minimal and small: whole years and months are never split', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30000 }), fc.integer({ min: 0, max: 3000 }), (a, len) => {
        const cover = coverDays(a, a + len);
        // at most 2 partial months of days (≤ 60), 2 partial years of months (≤ 22), and whole years
        expect(cover.length).toBeLessThanOrEqual(60 + 22 + Math.ceil(len / 365) + 1);
        const days = cover.filter((g) => g.param === 'date:day').map((g) => g.value.slice(0, 7));
        const months = new Set(cover.filter((g) => g.param === 'date:month').map((g) => g.value));
        for (const d of days) expect(months.has(d)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
