/// <reference types="node" />
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../api/fhir';
import { groupByDay, KINDS, ofKinds, TIMELINE_TYPES, type TimelineEntry, toEntry } from './entries';

const SYNTHEA = fileURLToPath(new URL('../../../../../shared/data/synthea/r4-bundles/', import.meta.url));
/** The largest Synthea patient of the shared data (232 resources). */
const LARGEST = 'Christopher_Abshire_028250cc-cfc0-4dee-a771-78fde1275fcb.json';

function resourcesOf(file: string): Resource[] {
  const bundle = JSON.parse(readFileSync(`${SYNTHEA}${file}`, 'utf8')) as { entry: { resource: Resource }[] };
  return bundle.entry.map((e) => e.resource);
}

describe('the record as timeline entries', () => {
  const resources = resourcesOf(LARGEST);
  const entries = resources.map(toEntry).filter((e): e is TimelineEntry => !!e);

  it('turns every resource of the seven kinds into a dated, named entry, and leaves the rest out', () => {
    const shown = resources.filter((r) => TIMELINE_TYPES.includes(r.resourceType));
    expect(entries).toHaveLength(shown.length);
    expect(resources.filter((r) => r.resourceType === 'Claim').map(toEntry)).toEqual(
      resources.filter((r) => r.resourceType === 'Claim').map(() => undefined),
    );
    for (const e of entries) {
      expect(e.date, e.key).toBeTruthy();
      expect(e.title.trim(), e.key).not.toBe('');
      expect(e.title, e.key).not.toMatch(/^(LOINC|SNOMED CT|RxNorm|CVX) /);
    }
    const kinds = new Set(entries.map((e) => e.kind));
    for (const k of ['encounters', 'results', 'conditions', 'medications', 'immunisations', 'documents']) {
      expect(kinds.has(k as TimelineEntry['kind'])).toBe(true);
    }
  });

  it('shows a result’s value with its unit, and a blood pressure’s components', () => {
    const height = entries.find((e) => e.title === 'Body Height')!;
    expect(height.result?.text).toMatch(/^\d+(\.\d)? cm$/);
    const pressure = entries.find((e) => e.title === 'Blood Pressure')!;
    expect(pressure.result?.text).toMatch(
      /Diastolic Blood Pressure \d+(\.\d+)? mm\[Hg\] · Systolic Blood Pressure/,
    );
    const smoking = entries.find((e) => e.title === 'Tobacco smoking status NHIS')!;
    expect(smoking.result?.text).toBeTruthy();
    const medication = entries.find((e) => e.kind === 'medications')!;
    expect(medication.title).toBe('Hydrochlorothiazide 25 MG');
    expect(medication.details).toContain('Status: active');
  });

  it('flags a result outside its reference range', () => {
    const potassium = {
      resourceType: 'Observation',
      id: 'k',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2823-3', display: 'Potassium' }] },
      effectiveDateTime: '2026-01-02T09:00:00Z',
      valueQuantity: { value: 5.9, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      referenceRange: [{ low: { value: 3.5, unit: 'mmol/L' }, high: { value: 5.1, unit: 'mmol/L' } }],
    };
    expect(toEntry(potassium)!.result).toEqual({ text: '5.9 mmol/L', flag: 'high', range: '3.5–5.1 mmol/L' });
  });

  it('groups by day, newest first, undated last, visits before results within a day', () => {
    const allergy = toEntry({ resourceType: 'AllergyIntolerance', id: 'a', code: { text: 'Peanuts' } })!;
    const groups = groupByDay([...entries, allergy]);
    const days = groups.map((g) => g.day);
    expect(days.at(-1)).toBe('undated');
    expect(groups.at(-1)!.label).toBe('No date recorded');
    const dated = days.slice(0, -1);
    expect([...dated].sort().reverse()).toEqual(dated);
    expect(new Set(days).size).toBe(days.length);
    expect(groups.reduce((n, g) => n + g.entries.length, 0)).toBe(entries.length + 1);
    const order = KINDS.map((k) => k.kind);
    for (const g of groups) {
      const idx = g.entries.map((e) => order.indexOf(e.kind));
      expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    }
    expect(groups[0]!.label).toMatch(/^\d{1,2} [A-Z][a-z]+ \d{4}$/);
  });

  it('filters by kind (none selected: everything)', () => {
    expect(ofKinds(entries, new Set())).toHaveLength(entries.length);
    const results = ofKinds(entries, new Set(['results']));
    expect(results.length).toBe(resources.filter((r) => r.resourceType === 'Observation').length);
    expect(results.every((e) => e.kind === 'results')).toBe(true);
  });
});
