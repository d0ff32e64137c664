import { describe, expect, it } from 'vitest';
import { composeSearch, type SearchComposition } from '../src/composeSearch.js';
import type { FhirResource } from '../src/FhirResource.js';
import { includedReferences, referenceTarget } from '../src/includedReferences.js';
import { sortResources } from '../src/sortResources.js';
import { valuesAtPath } from '../src/valuesAtPath.js';
import { syntheaBundles } from './data.js';

function compose(type: string, query: string): SearchComposition {
  const r = composeSearch(type, new URLSearchParams(query));
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.expression[0]}: ${i.diagnostics}`).join('; '));
  return r.composition;
}

function refused(type: string, query: string): { param: string | undefined; text: string }[] {
  const r = composeSearch(type, new URLSearchParams(query));
  if (r.ok) throw new Error(`accepted ${query}`);
  return r.issues.map((i) => ({ param: i.expression[0], text: i.diagnostics }));
}

describe('composeSearch', () => {
  it('leaves plain parameters, and a _lastUpdated sort, to the index', () => {
    const c = compose('Observation', 'code=1234&_count=5&_sort=-_lastUpdated&_format=json&_pretty=true');
    expect([...c.base]).toEqual([
      ['code', '1234'],
      ['_count', '5'],
      ['_sort', '-_lastUpdated'],
    ]);
    expect(c.sort).toBeUndefined();
  });

  it('takes _include, _revinclude and their :iterate forms', () => {
    const c = compose(
      'Observation',
      '_include=Observation:patient,Observation:subject:Patient&_include:iterate=Encounter:patient&_revinclude=Observation:subject&_include=Observation:*',
    );
    expect(c.include).toEqual([
      { source: 'Observation', param: 'patient', target: undefined, iterate: false },
      { source: 'Observation', param: 'subject', target: 'Patient', iterate: false },
      { source: 'Encounter', param: 'patient', target: undefined, iterate: true },
      { source: 'Observation', param: '*', target: undefined, iterate: false },
    ]);
    expect(c.revinclude).toEqual([
      { source: 'Observation', param: 'subject', target: undefined, iterate: false },
    ]);
    expect([...c.base]).toEqual([]);
  });

  it('refuses unknown or non-reference include parameters and a foreign source without :iterate', () => {
    expect(refused('Observation', '_include=Observation:nonsense')[0]!.param).toBe('_include');
    expect(refused('Observation', '_include=Observation:code')[0]!.text).toMatch(/reference/);
    expect(refused('Observation', '_include=Encounter:patient')[0]!.text).toMatch(/iterate/);
    expect(refused('Observation', '_include=Observation:patient:Practitioner')[0]!.text).toMatch(/refer/);
    expect(refused('Observation', '_revinclude=Nope:patient')[0]!.text).toMatch(/Unknown/);
  });

  it('takes _summary and _elements, refusing bad values and their combination', () => {
    expect(compose('Patient', '_summary=count').summary).toBe('count');
    expect(compose('Patient', '_summary=false').summary).toBeUndefined();
    expect(compose('Patient', '_elements=name,birthDate').elements).toEqual(['name', 'birthDate']);
    expect(refused('Patient', '_summary=maybe')[0]).toEqual({ param: '_summary', text: expect.any(String) });
    expect(refused('Patient', '_summary=true&_summary=text')[0]!.text).toMatch(/once/);
    expect(refused('Patient', '_elements=name.family')[0]!.param).toBe('_elements');
    expect(refused('Patient', '_summary=true&_elements=name')[0]!.text).toMatch(/combined/);
  });

  it('splits chained parameters, with and without a type, and refuses chains on non-references', () => {
    const c = compose('Observation', 'subject:Patient.identifier=urn:x|1&patient._id=abc&code=1');
    expect(c.chains).toEqual([
      { param: 'subject', types: ['Patient'], inner: 'identifier', value: 'urn:x|1' },
      { param: 'patient', types: ['Patient'], inner: '_id', value: 'abc' },
    ]);
    expect([...c.base]).toEqual([['code', '1']]);
    expect(refused('Observation', 'code.identifier=1')[0]).toEqual({
      param: 'code.identifier',
      text: 'Chaining needs a reference parameter',
    });
    expect(refused('Observation', 'subject:Patient.organization.name=x')[0]!.text).toMatch(/one level/);
    expect(refused('Observation', 'patient.nonsense=x')[0]!.text).toMatch(/not supported/);
    expect(refused('Observation', 'patient:Device.identifier=x')[0]!.text).toMatch(/refer/);
  });

  it('splits one level of _has and refuses nesting or a reference that cannot point at the type', () => {
    const c = compose('Patient', '_has:Observation:patient:code=http://loinc.org|1234-5');
    expect(c.has).toEqual([
      { type: 'Observation', refParam: 'patient', inner: 'code', value: 'http://loinc.org|1234-5' },
    ]);
    expect(refused('Patient', '_has:Observation:patient:_has:Encounter:patient:code=1')[0]!.text).toMatch(
      /one level/,
    );
    expect(refused('Patient', '_has:Observation:code:code=1')[0]!.text).toMatch(/reference/);
    expect(refused('Encounter', '_has:Observation:patient:code=1')[0]!.text).toMatch(/refer/);
    expect(refused('Patient', '_has:Observation=1')[0]!.param).toBe('_has:Observation');
  });

  it('takes _sort on date parameters and several keys, refusing other kinds', () => {
    expect(compose('Observation', '_sort=-date,_id').sort).toEqual([
      { param: 'date', order: 'desc' },
      { param: '_id', order: 'asc' },
    ]);
    expect(refused('Observation', '_sort=code')[0]!.param).toBe('_sort');
    expect(refused('Observation', '_sort=date,-date')[0]!.text).toMatch(/repeated/);
  });
});

describe('includedReferences', () => {
  it('follows the references of a parameter, absolute and relative, restricted to a target', () => {
    const obs: FhirResource = {
      resourceType: 'Observation',
      subject: { reference: 'https://node.example/fhir/Patient/p1' },
      encounter: { reference: 'Encounter/e1' },
    };
    expect(includedReferences(obs, { param: 'patient' })).toEqual([{ type: 'Patient', id: 'p1' }]);
    expect(includedReferences(obs, { param: 'subject', target: 'Group' })).toEqual([]);
    expect(includedReferences(obs, { param: '*' })).toEqual([
      { type: 'Encounter', id: 'e1' },
      { type: 'Patient', id: 'p1' },
    ]);
    expect(referenceTarget('#contained')).toBeUndefined();
    expect(referenceTarget('Patient?identifier=x')).toBeUndefined();
    expect(referenceTarget('Patient/p1/_history/2')).toEqual({ type: 'Patient', id: 'p1' });
  });

  it('finds every Synthea observation’s patient (urn:uuid references are not followed)', () => {
    const b = syntheaBundles()[0]!.bundle;
    const obs = b.entry
      .map((e) => e.resource as FhirResource)
      .filter((r) => r.resourceType === 'Observation');
    expect(obs.length).toBeGreaterThan(5);
    for (const o of obs) {
      const rewritten = { ...o, subject: { reference: 'Patient/abc' } };
      expect(includedReferences(rewritten, { param: 'patient' })).toEqual([{ type: 'Patient', id: 'abc' }]);
      expect(includedReferences(o, { param: 'patient' })).toEqual([]); // urn:uuid:… in a transaction bundle
    }
  });
});

describe('sortResources', () => {
  const at = (
    id: string,
    effective?: unknown,
  ): { id: string; lastUpdated: Date; resource: FhirResource } => ({
    id,
    lastUpdated: new Date(0),
    resource: {
      resourceType: 'Observation',
      id,
      ...(typeof effective === 'string' ? { effectiveDateTime: effective } : {}),
      ...(typeof effective === 'object' ? { effectivePeriod: effective } : {}),
    },
  });

  it('orders by date ascending (earliest bound) and descending (latest bound), missing last, ties by id', () => {
    const items = [
      at('a', '2020-05-01'),
      at('b', { start: '2019-01-01', end: '2021-01-01' }),
      at('c'),
      at('d', '2020-05-01T10:00:00Z'),
      at('e', '2020-05-01'),
    ];
    const asc = sortResources('Observation', items, [{ param: 'date', order: 'asc' }]).map((i) => i.id);
    expect(asc).toEqual(['b', 'a', 'e', 'd', 'c']);
    const desc = sortResources('Observation', items, [{ param: 'date', order: 'desc' }]).map((i) => i.id);
    expect(desc).toEqual(['b', 'a', 'e', 'd', 'c']);
    expect(sortResources('Observation', items, [{ param: '_id', order: 'desc' }]).map((i) => i.id)).toEqual([
      'e',
      'd',
      'c',
      'b',
      'a',
    ]);
  });

  it('sorts the Synthea observations of a patient by date like their timestamps say', () => {
    const b = syntheaBundles()[0]!.bundle;
    const obs = b.entry
      .map((e) => e.resource as FhirResource)
      .filter((r) => r.resourceType === 'Observation' && typeof r.effectiveDateTime === 'string')
      .map((r) => ({ id: r.id!, lastUpdated: new Date(0), resource: r }));
    const sorted = sortResources('Observation', obs, [{ param: 'date', order: 'desc' }]);
    const times = sorted.map((s) => Date.parse(s.resource.effectiveDateTime as string));
    expect(times).toEqual([...times].sort((x, y) => y - x));
  });
});

describe('valuesAtPath', () => {
  it('reads a choice element by its base name, as R4 search expressions write it', () => {
    const obs = {
      resourceType: 'Observation',
      effectivePeriod: { start: '2020' },
      component: [{ valueString: 'a' }],
    };
    expect(valuesAtPath(obs, ['effective'])).toEqual([{ start: '2020' }]);
    expect(valuesAtPath(obs, ['effectivePeriod', 'start'])).toEqual(['2020']);
    expect(valuesAtPath(obs, ['component', 'value'])).toEqual(['a']);
    expect(valuesAtPath(obs, ['eff'])).toEqual([]); // a prefix that is not a choice's base name
  });
});

describe('sortResources on strings', () => {
  it('orders Synthea patients by family and by name, case- and accent-insensitively', () => {
    const defs = {
      family: { kind: 'string', paths: [['name', 'family']] },
      name: { kind: 'string', paths: [['name']] },
    } as unknown as Parameters<typeof sortResources>[3];
    const patients = syntheaBundles().map((b) => b.bundle.entry[0]!.resource as FhirResource);
    expect(patients.every((p) => p.resourceType === 'Patient')).toBe(true);
    const items = patients.map((p, i) => ({ id: `p${i}`, lastUpdated: new Date(0), resource: p }));
    const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
    const familyOf = (r: FhirResource) => fold((r.name as { family: string }[])[0]!.family);
    const sorted = sortResources('Patient', items, [{ param: 'family', order: 'asc' }], defs);
    const families = sorted.map((s) => familyOf(s.resource));
    expect(families).toEqual([...families].sort());
    const desc = sortResources('Patient', items, [{ param: 'name', order: 'desc' }], defs);
    expect(desc.map((s) => familyOf(s.resource))).toEqual([...families].reverse().sort().reverse());
    const accents = ['Émile', 'emile', 'Zoë', 'adam'].map((family, i) => ({
      id: `a${i}`,
      lastUpdated: new Date(0),
      resource: { resourceType: 'Patient', name: [{ family }] } as FhirResource,
    }));
    expect(
      sortResources('Patient', accents, [{ param: 'family', order: 'asc' }], defs).map((s) => s.id),
    ).toEqual(['a3', 'a0', 'a1', 'a2']);
  });
});
