/// <reference types="node" />
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../api/fhir';
import { byInterest, chartGeometry, trendSeries, trendSummary } from './trends';

const SYNTHEA = fileURLToPath(new URL('../../../../../shared/data/synthea/r4-bundles/', import.meta.url));
const LARGEST = 'Christopher_Abshire_028250cc-cfc0-4dee-a771-78fde1275fcb.json';
const resources = (
  JSON.parse(readFileSync(`${SYNTHEA}${LARGEST}`, 'utf8')) as { entry: { resource: Resource }[] }
).entry.map((e) => e.resource);

const glucose = (id: string, date: string, value: number) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'Glucose' }], text: 'Glucose' },
  effectiveDateTime: date,
  valueQuantity: { value, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
  referenceRange: [
    { low: { value: 70, unit: 'mg/dL', code: 'mg/dL' }, high: { value: 99, unit: 'mg/dL', code: 'mg/dL' } },
  ],
});

describe('trends of results', () => {
  it('makes a series of every test with two or more numeric values, blood pressure components included', () => {
    const series = trendSeries(resources);
    const titles = series.map((s) => s.title);
    expect(titles).toContain('Body Weight');
    expect(titles).toContain('Systolic Blood Pressure');
    expect(titles).toContain('Diastolic Blood Pressure');
    // Counted from the bundle: one value per result of the test.
    const weights = resources.filter(
      (r) => r.resourceType === 'Observation' && (r.code as { text?: string }).text === 'Body Weight',
    );
    const weight = series.find((s) => s.title === 'Body Weight')!;
    expect(weight.points).toHaveLength(weights.length);
    expect(weight.unit).toBe('kg');
    const times = weight.points.map((p) => Date.parse(p.date));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // A single value (oral temperature) and coded values (smoking status) make no trend.
    expect(titles).not.toContain('Oral temperature');
    expect(titles).not.toContain('Tobacco smoking status NHIS');
    expect(series.every((s) => s.points.length >= 2)).toBe(true);
  });

  it('carries the reference range and the flags, and leaves out another unit', () => {
    const other = {
      ...glucose('x', '2026-03-01', 5.5),
      valueQuantity: { value: 5.5, unit: 'mmol/L', code: 'mmol/L' },
    };
    const [series] = trendSeries([
      glucose('a', '2026-01-01', 92),
      glucose('b', '2026-02-01', 130),
      other,
      { ...glucose('c', '2026-02-15', 50), status: 'entered-in-error' },
    ]);
    expect(series).toMatchObject({ title: 'Glucose', unit: 'mg/dL', low: 70, high: 99 });
    expect(series!.points.map((p) => [p.value, p.flag])).toEqual([
      [92, 'normal'],
      [130, 'high'],
    ]);
    expect(trendSummary(series!)).toBe(
      'Glucose: 2 results from 1 January 2026 to 1 February 2026, between 92 and 130 mg/dL; latest 130 mg/dL (high). Normal range 70 to 99 mg/dL.',
    );
  });

  it('lays the chart out inside its box, the range band between its bounds', () => {
    const [series] = trendSeries([glucose('a', '2026-01-01', 92), glucose('b', '2026-02-01', 130)]);
    const g = chartGeometry(series!, 320, 140);
    expect(g.points).toHaveLength(2);
    expect(g.points[0]!.x).toBe(g.plot.left);
    expect(g.points[1]!.x).toBe(g.plot.right);
    for (const p of g.points) {
      expect(p.y).toBeGreaterThanOrEqual(g.plot.top);
      expect(p.y).toBeLessThanOrEqual(g.plot.bottom);
    }
    expect(g.points[1]!.y).toBeLessThan(g.points[0]!.y); // higher value, higher on screen
    expect(g.band!.y).toBeGreaterThan(g.points[1]!.y); // 130 is above the band (70–99)
    expect(g.band!.y + g.band!.height).toBeLessThanOrEqual(g.plot.bottom);
    expect(g.path).toMatch(/^M[\d.]+ [\d.]+ L[\d.]+ [\d.]+$/);
    // Every Synthea series fits its box too.
    for (const s of trendSeries(resources)) {
      for (const p of chartGeometry(s).points) {
        expect(Number.isFinite(p.x) && Number.isFinite(p.y)).toBe(true);
      }
    }
  });
});

describe('the order of trends', () => {
  it('puts a series with a value out of range first, then the longest', () => {
    const series = trendSeries([
      ...resources,
      glucose('a', '2026-01-01', 92),
      glucose('b', '2026-02-01', 130),
    ]).sort(byInterest);
    expect(series[0]!.title).toBe('Glucose');
    const rest = series.slice(1).map((s) => s.points.length);
    expect([...rest].sort((a, b) => b - a)).toEqual(rest);
  });
});
