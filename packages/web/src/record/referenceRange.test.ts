import { describe, expect, it } from 'vitest';
import { applicableRange, interpretationFlag, rangeFlag, rangeText } from './referenceRange';

const mmol = (value: number) => ({
  value,
  unit: 'mmol/L',
  system: 'http://unitsofmeasure.org',
  code: 'mmol/L',
});

describe('a result against its reference range', () => {
  const range = { low: mmol(3.5), high: mmol(5.1) };

  it('says high, low or normal, bounds included', () => {
    expect(rangeFlag(mmol(5.8), range)).toBe('high');
    expect(rangeFlag(mmol(3.1), range)).toBe('low');
    expect(rangeFlag(mmol(4.2), range)).toBe('normal');
    expect(rangeFlag(mmol(5.1), range)).toBe('normal');
    expect(rangeFlag(mmol(3.5), range)).toBe('normal');
  });

  it('works with one bound only', () => {
    expect(rangeFlag(mmol(40), { low: mmol(60) })).toBe('low');
    expect(rangeFlag(mmol(90), { low: mmol(60) })).toBe('normal');
    expect(rangeFlag(mmol(250), { high: mmol(200) })).toBe('high');
  });

  it('gives no flag without a comparable range (none, text only, another unit)', () => {
    expect(rangeFlag(mmol(4), undefined)).toBeUndefined();
    expect(rangeFlag(mmol(4), { text: 'see lab notes' })).toBeUndefined();
    expect(
      rangeFlag(mmol(4), { low: { value: 60, code: 'mg/dL' }, high: { value: 100, code: 'mg/dL' } }),
    ).toBeUndefined();
    expect(rangeFlag({ unit: 'mmol/L' }, range)).toBeUndefined();
  });

  it('falls back on the interpretation code', () => {
    const v3 = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
    expect(interpretationFlag([{ coding: [{ system: v3, code: 'HH' }] }])).toBe('high');
    expect(interpretationFlag([{ coding: [{ system: v3, code: 'L' }] }])).toBe('low');
    expect(interpretationFlag([{ coding: [{ system: v3, code: 'N' }] }])).toBe('normal');
    expect(interpretationFlag([{ coding: [{ system: v3, code: 'A' }] }])).toBeUndefined();
    expect(interpretationFlag(undefined)).toBeUndefined();
  });

  it('says the range in words and picks the first numeric one', () => {
    expect(rangeText(range)).toBe('3.5–5.1 mmol/L');
    expect(rangeText({ low: mmol(60) })).toBe('at least 60 mmol/L');
    expect(rangeText({ high: mmol(200) })).toBe('at most 200 mmol/L');
    expect(rangeText({ text: 'negative' })).toBe('negative');
    expect(rangeText(undefined)).toBeUndefined();
    expect(applicableRange([{ text: 'therapeutic' }, range])).toBe(range);
  });
});
