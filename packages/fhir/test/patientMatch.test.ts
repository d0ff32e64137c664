import { describe, expect, it } from 'vitest';
import { parseSearch } from '../src/parseSearch.js';
import { demographicsOf, matchSearches, parseMatchParameters, scoreMatch } from '../src/patientMatch.js';
import { syntheaBundles } from './data.js';

const patient = {
  resourceType: 'Patient',
  identifier: [{ system: 'urn:mrn', value: 'A,1|2' }],
  name: [{ family: 'Müller', given: ['Zoë', 'Ann'] }],
  birthDate: '1980-05-10',
  gender: 'female',
  telecom: [
    { system: 'phone', value: '+1 (555) 010-2030' },
    { system: 'email', value: 'Zoe@Example.org' },
  ],
};

describe('Patient/$match', () => {
  it('reads the operation parameters, naming the one at fault', () => {
    const ok = parseMatchParameters({
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: patient },
        { name: 'onlyCertainMatches', valueBoolean: true },
        { name: 'count', valueInteger: 3 },
      ],
    });
    expect(ok).toEqual({ ok: true, request: { patient, onlyCertainMatches: true, count: 3 } });
    const bad = (body: unknown) => {
      const r = parseMatchParameters(body);
      if (r.ok) throw new Error('accepted');
      return r.issues[0]!.expression;
    };
    expect(bad({ resourceType: 'Patient' })).toEqual([]);
    expect(bad({ resourceType: 'Parameters', parameter: [] })).toEqual(['resource']);
    expect(
      bad({
        resourceType: 'Parameters',
        parameter: [{ name: 'resource', resource: { resourceType: 'Group' } }],
      }),
    ).toEqual(['resource']);
    expect(bad({ resourceType: 'Parameters', parameter: [{ name: 'count', valueInteger: 101 }] })).toEqual([
      'count',
    ]);
    expect(bad({ resourceType: 'Parameters', parameter: [{ name: 'x' }] })).toEqual(['x']);
    expect(
      bad({
        resourceType: 'Parameters',
        parameter: [
          { name: 'count', valueInteger: 1 },
          { name: 'count', valueInteger: 2 },
        ],
      }),
    ).toEqual(['count']);
  });

  it('builds candidate searches parseSearch accepts, escaping what needs it', () => {
    const searches = matchSearches(demographicsOf(patient), 100);
    expect(searches.map((s) => s.toString())).toHaveLength(1 + 1 + 2 + 1 + 1);
    for (const s of searches) expect(parseSearch('Patient', s).ok, s.toString()).toBe(true);
    expect(searches[0]!.get('identifier')).toBe('urn:mrn|A\\,1\\|2');
    expect(matchSearches(demographicsOf({ resourceType: 'Patient', gender: 'male' }), 10)).toEqual([]);
  });

  it('scores and grades as documented', () => {
    const me = demographicsOf(patient);
    expect(scoreMatch(me, me)).toEqual({ score: 1, grade: 'certain' });
    const loose = demographicsOf({ name: [{ family: 'MULLER', given: ['zoe'] }], birthDate: '1980-05-10' });
    expect(scoreMatch(loose, me)).toEqual({ score: 0.5, grade: 'probable' });
    const given = demographicsOf({ name: [{ given: ['Ann'] }], birthDate: '1980-05-10' });
    expect(scoreMatch(given, me)).toEqual({ score: 0.3, grade: 'possible' });
    const otherBirth = demographicsOf({ ...patient, birthDate: '1980-05-11' });
    expect(scoreMatch(otherBirth, me).grade).toBe('certainly-not');
    const otherGender = demographicsOf({ ...patient, gender: 'male' });
    expect(scoreMatch(otherGender, me).grade).toBe('certainly-not');
    const idOnly = demographicsOf({ identifier: patient.identifier });
    expect(scoreMatch(idOnly, me)).toEqual({ score: 0.4, grade: 'possible' });
  });

  it('finds every Synthea patient certain against itself and never certain against another', () => {
    const people = syntheaBundles()
      .map(({ bundle }) => bundle.entry.find((e) => e.resource.resourceType === 'Patient')!.resource)
      .map((p) => demographicsOf(p as Record<string, unknown>));
    expect(people.length).toBeGreaterThan(10);
    for (const [i, a] of people.entries()) {
      for (const [j, b] of people.entries()) {
        const { grade } = scoreMatch(a, b);
        if (i === j) expect(grade).toBe('certain');
        else expect(grade).not.toBe('certain');
      }
    }
  });
});
