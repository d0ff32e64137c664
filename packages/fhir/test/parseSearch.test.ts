import { describe, expect, it } from 'vitest';
import { parseSearch, type SearchClause, type TokenTest } from '../src/parseSearch.js';

const NOW = new Date('2025-06-15T00:00:00Z');
const parse = (type: string, q: string) => parseSearch(type, new URLSearchParams(q), { now: NOW });
const ok = (type: string, q: string) => {
  const r = parse(type, q);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.search;
};
/** The tokens of a clause with one alternative of one test (a plain OR of tokens). */
const flat = (c: SearchClause | undefined) => {
  if (c === undefined || c.anyOf.length !== 1 || c.anyOf[0]!.length !== 1 || c.not)
    throw new Error('not flat');
  return c.anyOf[0]![0]!.tokens;
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
    expect(s.clauses.map(flat)).toEqual([
      [
        { param: 'code', value: 'http://loinc.org|8867-4' },
        { param: 'code', value: '8480-6' },
      ],
      [{ param: 'code', value: '29463-7' }],
      [{ param: 'category', value: 'vital-signs' }],
    ]);
  });

  it('identifier: system|value, |value and value all map to index tokens', () => {
    expect(flat(ok('Patient', 'identifier=urn:oid:1.2|123,|456,789').clauses[0])).toEqual([
      { param: 'identifier', value: 'urn:oid:1.2|123' },
      { param: 'identifier', value: '|456' },
      { param: 'identifier', value: '|789' },
    ]);
  });

  it('escaped commas and pipes stay in the value', () => {
    expect(ok('Patient', 'identifier=sys|a\\,b').clauses.map(flat)).toEqual([
      [{ param: 'identifier', value: 'sys|a,b' }],
    ]);
  });

  it('patient and subject references', () => {
    expect(ok('Condition', 'patient=p1&subject=Patient/p2,Group/g').clauses.map(flat)).toEqual([
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
    expect(flat(s.clauses[0])).toEqual([{ param: 'status', value: 'finished' }]);
    // ge: the value's end lies after June 2019 (or is open), or its range lies within June 2019.
    const [after, within] = s.clauses[1]!.anyOf as [TokenTest[], TokenTest[]];
    expect(after[0]!.tokens!.map((t) => t.value)).toEqual([
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
      '+inf',
    ]);
    expect(within.map((t) => t.tokens!.map((x) => `${x.param}=${x.value}`))).toEqual([
      ['date:s:month=2019-06'],
      ['date:e:month=2019-06'],
    ]);
    // lt: the value's start lies before 2020 (or is open): years 1900..2019.
    expect(flat(s.clauses[2])!.length).toBe(121);
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
    ok(
      'MedicationRequest',
      'code=313782&authoredon=2020&status=active&patient=p&category=outpatient&identifier=x',
    );
    ok(
      'Immunization',
      'vaccine-code=http://hl7.org/fhir/sid/cvx|140&date=le2020-01-01&patient=p&status=completed',
    );
    ok('Procedure', 'code=1&date=2020&patient=p&subject=p&status=completed');
    ok('DiagnosticReport', 'code=1&category=LAB&date=2020&patient=p');
    ok('Claim', 'created=2020&patient=p&status=active');
    ok('ExplanationOfBenefit', 'created=2020&patient=p');
    ok('AllergyIntolerance', 'code=1&category=food&patient=p&date=2020');
    ok('Condition', 'code=1&onset-date=2020&recorded-date=2020&category=encounter-diagnosis');
    ok(
      'Patient',
      'name=smi&family:exact=Smith&given=jo&birthdate=ge1980&gender=female&address-postalcode=02&phone=555&email=a@b.c&telecom=x',
    );
  });
});

describe('parseSearch: modifiers, strings, contacts and references', () => {
  it('strings: a normalised prefix token, :exact the original', () => {
    expect(flat(ok('Patient', 'family=M%C3%BCLLER-S').clauses[0])).toEqual([
      { param: 'family:p', value: 'muller s' },
    ]);
    expect(flat(ok('Patient', 'family:exact=M%C3%BCller').clauses[0])).toEqual([
      { param: 'family:exact', value: 'Müller' },
    ]);
    expect(flat(ok('Patient', `name=${'a'.repeat(30)}`).clauses[0])![0]!.value).toHaveLength(20);
  });

  it(':missing, :not, :text and ne', () => {
    expect(ok('Patient', 'email:missing=true').clauses).toEqual([
      { anyOf: [[{ param: 'email' }]], not: true },
    ]);
    expect(ok('Patient', 'email:missing=false').clauses).toEqual([{ anyOf: [[{ param: 'email' }]] }]);
    expect(ok('Patient', 'gender:not=male').clauses).toEqual([
      { anyOf: [[{ param: 'gender', tokens: [{ param: 'gender', value: 'male' }] }]], not: true },
    ]);
    expect(flat(ok('Observation', 'code:text=Body%20H').clauses[0])).toEqual([
      { param: 'code:text', value: 'body h' },
    ]);
    const ne = ok('Patient', 'birthdate=ne1980').clauses;
    expect(ne[0]).toEqual({ anyOf: [[{ param: 'birthdate' }]] });
    expect(ne[1]!.not).toBe(true);
  });

  it('contacts: phone digits, e-mail lower case, telecom both', () => {
    expect(flat(ok('Patient', 'phone=%2B1%20(555)%20010').clauses[0])).toEqual([
      { param: 'phone', value: '1555010' },
    ]);
    expect(flat(ok('Patient', 'email=Zoe@Example.org').clauses[0])).toEqual([
      { param: 'email', value: 'zoe@example.org' },
    ]);
    expect(flat(ok('Patient', 'telecom=555-010').clauses[0])).toEqual([
      { param: 'telecom', value: '555010' },
      { param: 'telecom', value: '555-010' },
    ]);
    expect(flat(ok('Patient', 'telecom=phone|555-010').clauses[0])).toEqual([
      { param: 'telecom', value: 'phone|555010' },
    ]);
  });

  it('references: targets, :Type, this server’s absolute URLs', () => {
    const opts = { now: NOW, baseUrl: 'https://node.example/fhir' };
    const p = (q: string) => parseSearch('Observation', new URLSearchParams(q), opts);
    const tokens = (q: string) => {
      const r = p(q);
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return flat(r.search.clauses[0])!.map((t) => t.value);
    };
    expect(tokens('subject=1')).toEqual(['Device/1', 'Group/1', 'Location/1', 'Patient/1']);
    expect(tokens('subject:Patient=1')).toEqual(['Patient/1']);
    expect(tokens('subject=https://node.example/fhir/Patient/1')).toEqual(['Patient/1']);
    expect(tokens('subject=https://node.example/fhir/Patient/1/_history/2')).toEqual(['Patient/1']);
    expect(tokens('patient=1')).toEqual(['Patient/1']);
    expect(p('subject=https://other.example/fhir/Patient/1').ok).toBe(false);
    expect(p('patient=Group/1').ok).toBe(false);
  });

  it('_format and _pretty are left to the HTTP layer', () => {
    expect(ok('Patient', '_format=json&_pretty=true').clauses).toEqual([]);
  });
});

describe('parseSearch: every error names the parameter', () => {
  const cases: [string, string, string][] = [
    ['Observation', 'foo=1', 'foo'],
    ['Observation', 'code:above=x', 'code:above'],
    ['Observation', 'status:text=x', 'status:text'],
    ['Patient', 'name:contains=x', 'name:contains'],
    ['Patient', 'name=%20-', 'name'],
    ['Patient', 'gender:missing=maybe', 'gender:missing'],
    ['Patient', 'phone=abc', 'phone'],
    ['Patient', 'deceased=true', 'deceased'],
    ['Patient', 'phonetic=smith', 'phonetic'],
    ['Observation', 'value-quantity=5', 'value-quantity'],
    ['Observation', 'subject.name=x', 'subject.name'],
    ['Observation', 'subject=http://elsewhere.example/fhir/Patient/1', 'subject'],
    ['Observation', 'subject:Organization=1', 'subject:Organization'],
    ['Observation', 'date=ne2020,2021', 'date'],
    ['Observation', 'code=', 'code'],
    ['Observation', 'code=a,,b', 'code'],
    ['Observation', 'code=a|b|c', 'code'],
    ['Observation', 'code=sys|', 'code'],
    ['Observation', 'status=sys|final', 'status'],
    ['Observation', 'patient=Group/1', 'patient'],
    ['Observation', 'patient=not an id', 'patient'],
    ['Observation', 'subject=Nope/1', 'subject'],
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
