/**
 * Hostile search values against a real node: years 0000, 2100 and 9999, open-ended prefixes past the searchable
 * window, 24:00 and leap seconds, huge numbers, NUL bytes, very long strings, near-miss tokens and references —
 * on type search and on `_history?_since=`. Every one answers 200 (a value the parsers accept, which then
 * works) or a 400 OperationOutcome naming the parameter; never a 500. A value that selects nothing answers an
 * empty bundle, not everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './helpers.js';

const long = 'x'.repeat(4000);
const DATES = [
  '0000-01-01',
  'ge0000-01-01',
  'le0000',
  '0001-01-01',
  '0999-12-31',
  '9999-12-31',
  'ge9999-12-31',
  'gt9999-12-31',
  'le9999-12-31T23:59:59.999Z',
  'gt9999-12-31T23:59:59.999Z',
  '2100',
  'ge2100-01-01',
  'gt2100',
  'lt1900-01-01',
  'le1899',
  'lt1000',
  '2020-01-01T24:00:00Z',
  '2020-01-01T24:00Z',
  '2016-12-31T23:59:60Z',
  'ge2016-12-31T23:59:60Z',
  '2016-12-31T23:59:60.999999999Z',
  '2020-02-30',
  '2020-13-01',
  '2020-01-01T10:00:00+15:00',
  '2020-01-01T10:00:00.12345678901234567890Z',
  '+275760-09-13',
  '-000001-01-01',
  '1e309',
  '9'.repeat(400),
  'ge',
  'eq',
  'ne2020',
  'ap2020',
  '2020,ge2100,lt1900',
  '2020-01-01\u0000',
  '\n',
  'ge2020\n',
  '\u0000',
  long,
];
const NUMBERS = [
  '0',
  '1001',
  '-1',
  '1e3',
  '1.5',
  '0x10',
  'Infinity',
  'NaN',
  '9'.repeat(30),
  '9007199254740993',
];
const TOKENS = ['a|b|c', '|', 'a|', '|a', '\\', '\\,', 'a\\|b', '\u0000', `${long}|${long}`, ',', ',,,'];
const REFERENCES = [
  `Patient/${'x'.repeat(65)}`,
  'Foo/1',
  '../x',
  'Patient/1/_history/2',
  'Patient/',
  '/1',
  long,
];
const SINCE = [
  '0000-01-01',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2100-01-01T00:00:00Z',
  '2016-12-31T23:59:60Z',
  '2020-01-01T24:00:00Z',
  '+275760-09-13T00:00:00Z',
  '-271821-04-20T00:00:00Z',
  '1',
  'Tue Mar 01 2022',
  'ge2020-01-01',
  '2020-01-01T10:00:00',
  '\u0000',
  '\n',
  long,
  '2020',
  '2020-01-01T10:00:00.123+01:00',
];

describe('search values a node must survive', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ backend: 'pglite' });
    const patient = await t.fhir('POST', '/Patient', { resourceType: 'Patient', gender: 'other' });
    expect(patient.status).toBe(201);
    const observation = await t.fhir('POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patient.body.id}` },
      effectiveDateTime: '2020-06-01T10:00:00Z',
    });
    expect(observation.status).toBe(201);
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  });

  const ask = async (path: string, param: string) => {
    const r = await t.fhir('GET', path);
    expect([200, 400], `${path.slice(0, 120)} answered ${r.status}`).toContain(r.status);
    if (r.status === 400) {
      expect(r.body.resourceType).toBe('OperationOutcome');
      expect(r.body.issue[0].expression, path.slice(0, 120)).toContain(param);
    } else expect(r.body.resourceType).toBe('Bundle');
    return r;
  };
  const q = (param: string, value: string) => `${param}=${encodeURIComponent(value)}`;

  it('answers every hostile search value with 200 or a 400 naming the parameter', async () => {
    const cases: [string, string[]][] = [
      ['date', DATES],
      ['_lastUpdated', DATES],
      ['_count', NUMBERS],
      ['_offset', NUMBERS],
      ['code', TOKENS],
      ['identifier', TOKENS],
      ['status', TOKENS],
      ['_id', [...TOKENS, ...REFERENCES]],
      ['patient', REFERENCES],
      ['subject', REFERENCES],
      ['_sort', ['_lastUpdated,', '\u0000', long]],
    ];
    for (const [param, values] of cases) {
      for (const value of values) await ask(`/Observation?${q(param, value)}`, param);
    }
  }, 300_000);

  it('answers every hostile _since with 200 or a 400 naming it, on every history scope', async () => {
    for (const value of SINCE) {
      for (const path of ['/_history', '/Observation/_history'])
        await ask(`${path}?${q('_since', value)}`, '_since');
    }
  }, 300_000);

  it('runs the values it accepts: past the searchable window nothing matches, inside it the record does', async () => {
    const total = async (path: string) => {
      const r = await ask(path, '');
      expect(r.status).toBe(200);
      return r.body.entry?.length ?? 0;
    };
    expect(await total('/Observation?date=ge2100-01-01')).toBe(0);
    expect(await total('/Observation?date=lt1900-01-01')).toBe(0);
    expect(await total('/Observation?date=ge2100-01-01,2020')).toBe(1);
    expect(await total('/Observation?date=9999-12-31')).toBe(0);
    expect(await total('/Observation?date=ge2020-06-01')).toBe(1);
    expect(await total('/Observation?date=2020-06-01T23:59:60Z')).toBe(1);
    expect(await total('/Observation?_lastUpdated=gt9999-12-31T23:59:59Z')).toBe(0);
    expect(await total('/Observation?_lastUpdated=le9999-12-31')).toBe(1);
    expect(await total('/_history?_since=9999-12-31T23:59:59Z')).toBe(0);
    expect(await total('/Observation/_history?_since=2020-01-01')).toBe(1);
    expect(await total('/Observation/_history?_since=1000-01-01T00:00:00Z')).toBe(1);
  });
});
