import { describe, expect, it } from 'vitest';
import type { FhirResource } from '../src/FhirResource.js';
import { parseSearch } from '../src/parseSearch.js';
import { SEARCH_PARAMETERS } from '../src/searchParameters.js';
import { normaliseSearchString } from '../src/searchText.js';
import { searchValuesOf } from '../src/searchValuesOf.js';
import { syntheaBundles } from './data.js';
import { matchesResource } from './matchSearch.js';

const NOW = new Date('2025-06-15T00:00:00Z');

/** A resource matches a parsed search as the index decides it (matchSearch.ts). */
function matches(resource: FhirResource, query: string): boolean {
  const r = parseSearch(resource.resourceType, new URLSearchParams(query), { now: NOW });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return matchesResource(r.search, resource);
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
    for (const side of ['s', 'e']) {
      expect(tokens).toContainEqual({ param: `date:${side}:day`, value: day });
      expect(tokens).toContainEqual({ param: `date:${side}:month`, value: day.slice(0, 7) });
      expect(tokens).toContainEqual({ param: `date:${side}:year`, value: day.slice(0, 4) });
    }
    // The display and text of codes are searchable with :text, as normalised prefixes.
    const text = normaliseSearchString((obs.code as { text: string }).text);
    expect(tokens).toContainEqual({ param: 'code:text', value: text.slice(0, 3) });
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

  it('an Encounter period is a range: eq means contained in, an open end matches ge', () => {
    const enc = {
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'IMP' },
      subject: { reference: 'Patient/p1' },
      period: { start: '2020-01-30T22:00:00Z', end: '2020-02-02T08:00:00Z' },
    };
    const tokens = searchValuesOf(enc).filter((t) => t.param.endsWith(':day'));
    expect(tokens).toEqual([
      { param: 'date:s:day', value: '2020-01-30' },
      { param: 'date:e:day', value: '2020-02-02' },
    ]);
    expect(matches(enc, 'date=2020&patient=p1&subject=Patient/p1')).toBe(true);
    expect(matches(enc, 'date=2020-02-01')).toBe(false); // overlaps, not contained
    expect(matches(enc, 'date=2020-01')).toBe(false);
    expect(matches(enc, 'date=ge2020-02-01')).toBe(true);
    expect(matches(enc, 'date=gt2020-02-02')).toBe(false);
    expect(matches(enc, 'date=lt2020-01-31')).toBe(true);
    expect(matches(enc, 'date=lt2020-01-30')).toBe(false);
    expect(matches(enc, 'date=ne2020-02')).toBe(true);
    expect(matches(enc, 'date=ne2020')).toBe(false);
    const open = { ...enc, period: { start: '2020-01-30' } };
    expect(matches(open, 'date=ge2025-01-01')).toBe(true);
    expect(matches(open, 'date=gt2020-06')).toBe(true);
    expect(matches(open, 'date=2020')).toBe(false);
    expect(matches(open, 'date=le2020-01-29')).toBe(false);
    expect(matches(open, 'date:missing=false')).toBe(true);
    expect(matches(open, 'date:missing=true')).toBe(false);
  });

  it('every Synthea resource yields tokens consistent with parseSearch round trips', () => {
    let checked = 0;
    for (const r of resources) {
      const defs = SEARCH_PARAMETERS[r.resourceType] ?? {};
      for (const t of searchValuesOf(r)) {
        const name = t.param.split(':')[0]!;
        expect(defs[name], `${r.resourceType}.${name}`).toBeDefined();
        if (
          t.param === `${name}:s:day` &&
          searchValuesOf(r).some((e) => e.param === `${name}:e:day` && e.value === t.value)
        ) {
          expect(matches(r, `${name}=${t.value}`)).toBe(true);
          expect(matches(r, `${name}=ge${t.value}&${name}=le${t.value}`)).toBe(true);
          expect(matches(r, `${name}=ne${t.value}`)).toBe(false);
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
    expect(matches(claim, `created=${(claim.created as string).slice(0, 10)}`)).toBe(true);
  });
});
