import { describe, expect, it } from 'vitest';
import { parseSearch } from '../src/parseSearch.js';

const NOW = new Date('2025-06-15T00:00:00Z');
const parse = (type: string, q: string) => parseSearch(type, new URLSearchParams(q), { now: NOW });
const ok = (type: string, q: string) => {
  const r = parse(type, q);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.search;
};
const fail = (type: string, q: string) => {
  const r = parse(type, q);
  if (r.ok) throw new Error(`accepted ${q}`);
  return r.issues;
};

describe('parseSearch: accepted forms', () => {
  it('defaults', () => {
    expect(ok('Observation', '')).toEqual({
      resourceType: 'Observation',
      clauses: [],
      lastUpdated: [],
      count: 50,
      offset: 0,
    });
  });

  it('tokens: system|code, code, |code; comma is OR, repetition is AND', () => {
    const s = ok('Observation', 'code=http://loinc.org|8867-4,8480-6&code=|29463-7&category=vital-signs');
    expect(s.clauses).toEqual([
      [
        { param: 'code', value: 'http://loinc.org|8867-4' },
        { param: 'code', value: '8480-6' },
      ],
      [{ param: 'code', value: '29463-7' }],
      [{ param: 'category', value: 'vital-signs' }],
    ]);
  });

  it('identifier: system|value, |value and value all map to index tokens', () => {
    expect(ok('Patient', 'identifier=urn:oid:1.2|123,|456,789').clauses).toEqual([
      [
        { param: 'identifier', value: 'urn:oid:1.2|123' },
        { param: 'identifier', value: '|456' },
        { param: 'identifier', value: '|789' },
      ],
    ]);
  });

  it('escaped commas and pipes stay in the value', () => {
    expect(ok('Patient', 'identifier=sys|a\\,b').clauses).toEqual([
      [{ param: 'identifier', value: 'sys|a,b' }],
    ]);
  });

  it('patient and subject references', () => {
    expect(ok('Condition', 'patient=p1&subject=Patient/p2,Group/g').clauses).toEqual([
      [{ param: 'patient', value: 'Patient/p1' }],
      [
        { param: 'subject', value: 'Patient/p2' },
        { param: 'subject', value: 'Group/g' },
      ],
    ]);
  });

  it('status, dates with prefixes, _id, _lastUpdated, _count, _sort, _offset', () => {
    const s = ok(
      'Encounter',
      'status=finished&date=ge2019-06&date=lt2020&_id=a,b&_id=b,c&_lastUpdated=gt2024-01-01T10:00:00Z&_count=10&_sort=-_lastUpdated&_offset=20',
    );
    expect(s.clauses[0]).toEqual([{ param: 'status', value: 'finished' }]);
    expect(s.clauses[1]!.map((t) => t.value)).toEqual([
      '2019-06',
      '2019-07',
      '2019-08',
      '2019-09',
      '2019-10',
      '2019-11',
      '2019-12',
      '2020',
      '2021',
      '2022',
      '2023',
      '2024',
      '2025',
      '2026',
    ]);
    expect(s.clauses[2]!.length).toBe(120); // years 1900..2019
    expect(s.ids).toEqual(['b']);
    expect(s.lastUpdated).toEqual([
      { prefix: 'gt', start: '2024-01-01T10:00:00.000Z', end: '2024-01-01T10:00:01.000Z' },
    ]);
    expect(s).toMatchObject({ count: 10, offset: 20, sort: { param: '_lastUpdated', order: 'desc' } });
    expect(ok('Encounter', '_lastUpdated=2024-02').lastUpdated).toEqual([
      { prefix: 'eq', start: '2024-02-01T00:00:00.000Z', end: '2024-03-01T00:00:00.000Z' },
    ]);
    expect(ok('Encounter', '_sort=_lastUpdated').sort).toEqual({ param: '_lastUpdated', order: 'asc' });
  });

  it('the parameters documented per type', () => {
    ok('MedicationRequest', 'code=313782&date=2020&status=active&patient=p&category=outpatient&identifier=x');
    ok('Immunization', 'code=http://hl7.org/fhir/sid/cvx|140&date=le2020-01-01&patient=p&status=completed');
    ok('Procedure', 'code=1&date=2020&patient=p&subject=p&status=completed');
    ok('DiagnosticReport', 'code=1&category=LAB&date=2020&patient=p');
    ok('Claim', 'date=2020&patient=p&status=active');
    ok('ExplanationOfBenefit', 'date=2020&patient=p');
    ok('AllergyIntolerance', 'code=1&category=food&patient=p');
    ok('Condition', 'code=1&date=2020&category=encounter-diagnosis');
  });
});

describe('parseSearch: every error names the parameter', () => {
  const cases: [string, string, string][] = [
    ['Observation', 'foo=1', 'foo'],
    ['Observation', 'code:text=x', 'code:text'],
    ['Observation', 'code=', 'code'],
    ['Observation', 'code=a,,b', 'code'],
    ['Observation', 'code=a|b|c', 'code'],
    ['Observation', 'code=sys|', 'code'],
    ['Observation', 'status=sys|final', 'status'],
    ['Observation', 'patient=Group/1', 'patient'],
    ['Observation', 'patient=not an id', 'patient'],
    ['Observation', 'subject=Nope/1', 'subject'],
    ['Observation', 'date=ne2020', 'date'],
    ['Observation', 'date=sa2020', 'date'],
    ['Observation', 'date=2020-02-30', 'date'],
    ['Observation', 'date=yesterday', 'date'],
    ['Observation', '_count=0', '_count'],
    ['Observation', '_count=1001', '_count'],
    ['Observation', '_count=ten', '_count'],
    ['Observation', '_count=5&_count=6', '_count'],
    ['Observation', '_offset=-1', '_offset'],
    ['Observation', '_sort=date', '_sort'],
    ['Observation', '_id=a b', '_id'],
    ['Observation', '_lastUpdated=ne2020', '_lastUpdated'],
    ['Observation', '_lastUpdated=2020-01-01T10:00:00', '_lastUpdated'],
    ['Observation', '_lastUpdated=2020,2021', '_lastUpdated'],
    ['Patient', 'code=1', 'code'],
    ['Encounter', 'code=1', 'code'],
    ['Immunization', 'subject=p', 'subject'],
  ];
  it.each(cases)('%s?%s', (type, q, param) => {
    const issues = fail(type, q);
    expect(issues[0]!.expression).toEqual([param]);
    expect(issues[0]!.severity).toBe('error');
  });

  it('collects several issues and rejects unknown types', () => {
    expect(fail('Observation', 'a=1&b=2&code=').map((i) => i.expression[0])).toEqual(['a', 'b', 'code']);
    expect(fail('Spaceship', '')[0]!.code).toBe('not-supported');
  });

  it('diagnostics never quote the value', () => {
    for (const i of fail('Observation', 'date=John-Doe&patient=John Doe&_count=JohnDoe')) {
      expect(i.diagnostics).not.toMatch(/John/);
    }
  });
});
