/// <reference types="node" />
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CodeableConcept } from '../api/fhir';
import { conceptText, dayLabel, dayOf, formatNumber, systemName } from './displayText';

const SYNTHEA = fileURLToPath(new URL('../../../../../shared/data/synthea/r4-bundles/', import.meta.url));

describe('words for codes', () => {
  it('prefers the text, then a display, then the code with its system’s name', () => {
    expect(
      conceptText({ text: 'Body Height', coding: [{ system: 'http://loinc.org', code: '8302-2' }] }),
    ).toBe('Body Height');
    expect(
      conceptText({
        coding: [
          { system: 'http://loinc.org', code: '8302-2' },
          { system: 'http://snomed.info/sct', code: '50373000', display: 'Body height measure' },
        ],
      }),
    ).toBe('Body height measure');
    expect(conceptText({ coding: [{ system: 'http://loinc.org', code: '8302-2' }] })).toBe('LOINC 8302-2');
    expect(
      conceptText({ coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '316049' }] }),
    ).toBe('RxNorm 316049');
    expect(conceptText({ coding: [{ system: 'https://example.org/codes/local', code: 'X1' }] })).toBe(
      'local X1',
    );
    expect(conceptText(undefined, 'Visit')).toBe('Visit');
    expect(systemName('http://hl7.org/fhir/sid/cvx')).toBe('CVX');
  });

  it('names every coded element of every Synthea bundle in words (never an empty name)', () => {
    const files = readdirSync(SYNTHEA).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(30);
    let concepts = 0;
    for (const file of files) {
      const bundle = JSON.parse(readFileSync(`${SYNTHEA}${file}`, 'utf8')) as {
        entry: { resource: Record<string, unknown> }[];
      };
      for (const { resource } of bundle.entry) {
        for (const element of ['code', 'vaccineCode', 'medicationCodeableConcept']) {
          const c = resource[element] as CodeableConcept | undefined;
          if (!c) continue;
          concepts++;
          const text = conceptText(c);
          expect(text.trim()).not.toBe('');
          expect(text).not.toMatch(/^https?:/);
        }
      }
    }
    expect(concepts).toBeGreaterThan(2000);
  });

  it('writes numbers and days as a person reads them', () => {
    expect(formatNumber(171.65129806003597)).toBe('171.7');
    expect(formatNumber(85.2)).toBe('85.2');
    expect(formatNumber(5.123)).toBe('5.12');
    expect(formatNumber(0.04567)).toBe('0.0457');
    expect(formatNumber(0)).toBe('0');
    expect(dayOf('2019-03-05')).toBe('2019-03-05');
    expect(dayOf('2019-03')).toBe('2019-03');
    expect(dayOf('2019-03-05T12:00:00Z')).toMatch(/^2019-03-0[456]$/);
    expect(dayLabel('2019-03-05')).toBe('5 March 2019');
    expect(dayLabel('2019-03')).toBe('March 2019');
    expect(dayLabel('2019')).toBe('2019');
  });
});
