import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadR4SearchDefinitions, renderSearchParameters, translate } from '../scripts/searchParameters.js';
import { parseSearch } from '../src/parseSearch.js';
import { RESOURCE_TYPES } from '../src/resourceTypes.js';
import { R4_UNSUPPORTED_SEARCH_PARAMETERS } from '../src/searchParameters.generated.js';
import {
  SEARCH_PARAMETERS,
  searchParametersOf,
  unsupportedSearchParameter,
} from '../src/searchParameters.js';
import { hl7Examples } from './data.js';

const defs = loadR4SearchDefinitions(RESOURCE_TYPES);

describe('the generated R4 search-parameter table', () => {
  it('is exactly what the generator renders from the R4 definitions today', () => {
    const committed = readFileSync(new URL('../src/searchParameters.generated.ts', import.meta.url), 'utf8');
    expect(renderSearchParameters(defs)).toBe(committed);
  });

  it('holds every R4 parameter of every type once: indexed, or refused with a reason', () => {
    const { supported, unsupported } = translate(defs);
    for (const sp of defs.searchParameters) {
      if (sp.code.startsWith('_')) continue;
      for (const type of sp.base) {
        if (!RESOURCE_TYPES.includes(type as never)) continue;
        const on = supported.find(([t]) => t === type)?.[1].some(([n]) => n === sp.code) ?? false;
        const off = unsupported.find(([t]) => t === type)?.[1].some(([n]) => n === sp.code) ?? false;
        expect(on !== off, `${type}.${sp.code}`).toBe(true);
      }
    }
  });

  it('uses R4 names and translates typed, restricted and filtered expressions to element paths', () => {
    expect(searchParametersOf('Condition')['onset-date']).toEqual({
      kind: 'date',
      paths: [['onsetDateTime'], ['onsetPeriod']],
    });
    expect(searchParametersOf('Condition').date).toBeUndefined();
    expect(searchParametersOf('MedicationRequest').authoredon?.paths).toEqual([['authoredOn']]);
    expect(searchParametersOf('Immunization')['vaccine-code']?.kind).toBe('token');
    expect(searchParametersOf('Observation').patient).toEqual({
      kind: 'reference',
      paths: [['subject']],
      targets: ['Patient'],
    });
    expect(searchParametersOf('Observation').subject?.targets).toEqual([
      'Device',
      'Group',
      'Location',
      'Patient',
    ]);
    expect(searchParametersOf('Patient').phone).toEqual({
      kind: 'telecom',
      paths: [['telecom']],
      system: 'phone',
    });
    expect(searchParametersOf('Patient')['death-date']?.paths).toEqual([['deceasedDateTime']]);
    expect(searchParametersOf('Patient').family).toEqual({ kind: 'string', paths: [['name', 'family']] });
    for (const [type, params] of Object.entries(SEARCH_PARAMETERS)) {
      for (const [name, def] of Object.entries(params)) {
        if (def.kind === 'reference') expect(def.targets?.length, `${type}.${name}`).toBeGreaterThan(0);
        if (['patient'].includes(name) && def.kind === 'reference') expect(def.targets).toEqual(['Patient']);
      }
    }
  });

  it('refuses the parameters it does not index by name, with the reason', () => {
    expect(unsupportedSearchParameter('Patient', 'deceased')).toMatch(/not a simple element path/);
    expect(unsupportedSearchParameter('Observation', 'value-quantity')).toMatch(/quantity/);
    expect(unsupportedSearchParameter('Patient', 'name')).toBeUndefined();
    for (const [type, params] of Object.entries(R4_UNSUPPORTED_SEARCH_PARAMETERS)) {
      for (const name of Object.keys(params)) {
        const r = parseSearch(type, new URLSearchParams([[name, 'x']]));
        expect(r.ok, `${type}.${name}`).toBe(false);
        if (!r.ok) {
          expect(r.issues[0]!.code).toBe('not-supported');
          expect(r.issues[0]!.diagnostics).toMatch(/defined by R4 but not supported/);
        }
      }
    }
  });

  it('paths of the table reach real data in the HL7 R4 examples', () => {
    // The generator resolved each path against the StructureDefinitions; the examples show real data reaches them.
    const seen = new Set<string>();
    for (const { resource } of hl7Examples()) {
      const r = resource as { resourceType: string };
      for (const [name, def] of Object.entries(searchParametersOf(r.resourceType))) {
        for (const path of def.paths) {
          let cur: unknown[] = [r];
          for (const step of path) {
            cur = cur.flatMap((v) => {
              const x =
                typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[step] : undefined;
              return Array.isArray(x) ? x : x === undefined ? [] : [x];
            });
          }
          if (cur.length > 0) seen.add(`${r.resourceType}.${name}`);
        }
      }
    }
    expect(seen.size).toBeGreaterThan(100);
  });
});
