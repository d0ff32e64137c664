import { describe, expect, it } from 'vitest';
import { fhirDateBounds } from './fhirDateBounds.js';

describe('fhirDateBounds', () => {
  it('spans the days a partial date covers and takes a dateTime by its written date', () => {
    expect(fhirDateBounds('2024')).toEqual({ first: '2024-01-01', last: '2024-12-31' });
    expect(fhirDateBounds('2024-02')).toEqual({ first: '2024-02-01', last: '2024-02-29' });
    expect(fhirDateBounds('2023-02')).toEqual({ first: '2023-02-01', last: '2023-02-28' });
    expect(fhirDateBounds('2024-03-05')).toEqual({ first: '2024-03-05', last: '2024-03-05' });
    expect(fhirDateBounds('1954-11-04T23:30:00-05:00')).toEqual({ first: '1954-11-04', last: '1954-11-04' });
  });

  it('refuses what is not a FHIR date', () => {
    for (const bad of [
      '2024-13',
      '2023-02-29',
      '2024-00-10',
      '24-01-01',
      '2024-01-01T',
      'today',
      '',
      20240101,
      null,
    ]) {
      expect(fhirDateBounds(bad)).toBeUndefined();
    }
  });
});
