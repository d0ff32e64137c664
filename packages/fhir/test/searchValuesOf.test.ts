import { describe, expect, it } from 'vitest';
import type { FhirResource } from '../src/FhirResource.js';
import { parseSearch } from '../src/parseSearch.js';
import { SEARCH_PARAMETERS } from '../src/searchParameters.js';
import { searchValuesOf } from '../src/searchValuesOf.js';
import { syntheaBundles } from './data.js';

const NOW = new Date('2025-06-15T00:00:00Z');

/** A resource matches a parsed search when every clause shares a token with the resource. */
function matches(resource: FhirResource, query: string): boolean {
  const r = parseSearch(resource.resourceType, new URLSearchParams(query), { now: NOW });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const tokens = new Set(searchValuesOf(resource).map((t) => `${t.param}=${t.value}`));
  return r.search.clauses.every((c) => c.some((t) => tokens.has(`${t.param}=${t.value}`)));
}

const { bundle } = syntheaBundles()[0]!;
const resources = bundle.entry.map((e) => e.resource as FhirResource);
const first = (type: string) => resources.find((r) => r.resourceType === type)!;

describe('searchValuesOf on Synthea resources', () => {
  it('an Observation: code, category, status, subject, date granules', () => {
    const obs = first('Observation');
    const tokens = searchValuesOf(obs);
    const coding = (obs.code as { coding: { system: string; code: string }[] }).coding[0]!;
    const subject = (obs.subject as { reference: string }).reference;
    expect(tokens).toContainEqual({ param: 'code', value: `${coding.system}|${coding.code}` });
    expect(tokens).toContainEqual({ param: 'code', value: coding.code });
    expect(tokens).toContainEqual({ param: 'category', value: 'vital-signs' });
    expect(tokens).toContainEqual({ param: 'status', value: obs.status as string });
    const day = (obs.effectiveDateTime as string).slice(0, 10);
    expect(tokens).toContainEqual({ param: 'date:day', value: day });
    expect(tokens).toContainEqual({ param: 'date:month', value: day.slice(0, 7) });
    expect(tokens).toContainEqual({ param: 'date:year', value: day.slice(0, 4) });
    // Unplanned Synthea references are urn:uuid: no patient token until the bundle is planned.
    expect(subject.startsWith('urn:uuid:')).toBe(true);
    expect(tokens.some((t) => t.param === 'patient')).toBe(false);
    expect(tokens.every((t) => typeof t.value === 'string' && t.value !== '')).toBe(true);
  });

  it('a Patient: identifiers as system|value and |value', () => {
    const p = first('Patient');
    const tokens = searchValuesOf(p);
    const ids = p.identifier as { system?: string; value: string }[];
    for (const id of ids) {
      expect(tokens).toContainEqual({ param: 'identifier', value: `|${id.value}` });
      if (id.system)
        expect(tokens).toContainEqual({ param: 'identifier', value: `${id.system}|${id.value}` });
    }
  });

  it('an Encounter period contributes every day it covers', () => {
    const enc = {
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'IMP' },
      subject: { reference: 'Patient/p1' },
      period: { start: '2020-01-30T22:00:00Z', end: '2020-02-02T08:00:00Z' },
    };
    const days = searchValuesOf(enc)
      .filter((t) => t.param === 'date:day')
      .map((t) => t.value);
    expect(days).toEqual(['2020-01-30', '2020-01-31', '2020-02-01', '2020-02-02']);
    expect(matches(enc, 'date=2020-02-01&patient=p1&subject=Patient/p1')).toBe(true);
    expect(matches(enc, 'date=2020-02-03')).toBe(false);
    const long = { ...enc, period: { start: '2019-01-01', end: '2020-12-31' } };
    expect(searchValuesOf(long).filter((t) => t.param === 'date:day')).toHaveLength(2);
  });

  it('every Synthea resource yields tokens consistent with parseSearch round trips', () => {
    let checked = 0;
    for (const r of resources) {
      const defs = SEARCH_PARAMETERS[r.resourceType] ?? {};
      for (const t of searchValuesOf(r)) {
        const name = t.param.split(':')[0]!;
        expect(defs[name], `${r.resourceType}.${name}`).toBeDefined();
        if (t.param === 'date:day') {
          expect(matches(r, `date=${t.value}`)).toBe(true);
          expect(matches(r, `date=ge${t.value}&date=le${t.value}`)).toBe(true);
          checked++;
        } else if (['code', 'identifier', 'status', 'category'].includes(t.param)) {
          const q = new URLSearchParams({ [t.param]: t.value.replace(/,/g, '\\,') });
          expect(matches(r, q.toString())).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('MedicationRequest code comes from medicationCodeableConcept, Claim date from created', () => {
    const mr = first('MedicationRequest');
    const rx = (mr.medicationCodeableConcept as { coding: { code: string }[] }).coding[0]!.code;
    expect(matches(mr, `code=${rx}`)).toBe(true);
    expect(matches(mr, `code=http://www.nlm.nih.gov/research/umls/rxnorm|${rx}`)).toBe(true);
    expect(matches(mr, `code=http://snomed.info/sct|${rx}`)).toBe(false);
    const claim = first('Claim');
    expect(matches(claim, `date=${(claim.created as string).slice(0, 10)}`)).toBe(true);
  });
});
