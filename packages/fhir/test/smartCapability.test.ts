import { describe, expect, it } from 'vitest';
import { capabilityStatement } from '../src/capabilityStatement.js';
import { careDaysOf, parseEverythingParameters, withinCareDates } from '../src/everythingParameters.js';
import { OPERATION_DEFINITIONS, operationDefinition } from '../src/operationDefinitions.js';
import { RESOURCE_TYPES } from '../src/resourceTypes.js';
import { searchParametersOf } from '../src/searchParameters.js';
import { validateResource } from '../src/validateResource.js';

const BASE = 'https://node.example/fhir';
const OPS = ['Patient-everything', 'verify', 'status', 'exchange-request'];

function statement(extra: Partial<Parameters<typeof capabilityStatement>[0]> = {}) {
  return capabilityStatement({
    baseUrl: BASE,
    softwareVersion: '0.1.0',
    resourceTypes: RESOURCE_TYPES,
    now: new Date('2025-01-01T00:00:00Z'),
    security: {
      authorizeUrl: 'https://node.example/oauth/authorize',
      tokenUrl: 'https://node.example/oauth/token',
      revokeUrl: 'https://node.example/oauth/revoke',
      cors: true,
    },
    operations: OPS,
    ...extra,
  });
}

type Rest = {
  security: {
    cors: boolean;
    service: { coding: { system: string; code: string }[] }[];
    extension: { url: string; extension: { url: string; valueUri: string }[] }[];
  };
  interaction: { code: string }[];
  operation: { name: string; definition: string }[];
  resource: {
    type: string;
    interaction: { code: string }[];
    searchParam: { name: string; type: string }[];
    operation?: { name: string; definition: string }[];
  }[];
};

describe('CapabilityStatement for SMART apps', () => {
  it('is valid R4 with the SMART security section, history and operations declared', () => {
    const cs = statement();
    const checked = validateResource(cs);
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues.slice(0, 3)));
    const rest = (cs.rest as Rest[])[0]!;
    expect(rest.security.cors).toBe(true);
    expect(rest.security.service[0]!.coding[0]).toMatchObject({
      system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
      code: 'SMART-on-FHIR',
    });
    const uris = rest.security.extension.find(
      (e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
    )!;
    expect(Object.fromEntries(uris.extension.map((e) => [e.url, e.valueUri]))).toEqual({
      authorize: 'https://node.example/oauth/authorize',
      token: 'https://node.example/oauth/token',
      revoke: 'https://node.example/oauth/revoke',
    });
    expect(rest.interaction.map((i) => i.code)).toEqual([
      'transaction',
      'batch',
      'search-system',
      'history-system',
    ]);
    expect(rest.operation.map((o) => o.name).sort()).toEqual(['exchange-request', 'status', 'verify']);
    for (const op of rest.operation) expect(op.definition).toBe(`${BASE}/OperationDefinition/${op.name}`);
    const patient = rest.resource.find((r) => r.type === 'Patient')!;
    expect(patient.operation).toEqual([
      { name: 'everything', definition: `${BASE}/OperationDefinition/Patient-everything` },
    ]);
    expect(patient.interaction.map((i) => i.code)).toContain('history-type');
    expect(rest.resource.find((r) => r.type === 'Observation')!.operation).toBeUndefined();
    const opDef = rest.resource.find((r) => r.type === 'OperationDefinition')!;
    expect(opDef.interaction.map((i) => i.code)).toEqual(['read', 'search-type']);
  });

  it('lists per type the search parameters searchParametersOf returns, and nothing else', () => {
    const rest = (statement().rest as Rest[])[0]!;
    for (const resource of rest.resource) {
      if (resource.type === 'OperationDefinition') continue;
      expect(resource.searchParam.map((p) => p.name).sort()).toEqual(
        [...new Set(['_id', '_lastUpdated', ...Object.keys(searchParametersOf(resource.type))])].sort(),
      );
      for (const p of resource.searchParam) {
        expect([
          'number',
          'date',
          'string',
          'token',
          'reference',
          'composite',
          'quantity',
          'uri',
          'special',
        ]).toContain(p.type);
      }
    }
  });

  it('has no security section or operations when none are given, and refuses an unknown operation', () => {
    const cs = capabilityStatement({
      baseUrl: BASE,
      softwareVersion: '0.1.0',
      resourceTypes: ['Patient'],
      now: new Date(),
    });
    const rest = (cs.rest as Rest[])[0]!;
    expect(rest.security).toBeUndefined();
    expect(rest.operation).toBeUndefined();
    expect(() => statement({ operations: ['no-such-operation'] })).toThrow();
  });

  it('serves a valid OperationDefinition for every declared operation', () => {
    for (const id of Object.keys(OPERATION_DEFINITIONS)) {
      const def = operationDefinition(id, BASE)!;
      const checked = validateResource(def);
      if (!checked.ok) throw new Error(`${id}: ${JSON.stringify(checked.issues.slice(0, 3))}`);
      expect(def.url).toBe(`${BASE}/OperationDefinition/${id}`);
    }
    expect(operationDefinition('toString', BASE)).toBeUndefined();
    expect(operationDefinition('nope', BASE)).toBeUndefined();
    const everything = operationDefinition('Patient-everything', BASE)!;
    expect(
      (everything.parameter as { name: string; use: string }[])
        .filter((p) => p.use === 'in')
        .map((p) => p.name),
    ).toEqual(['start', 'end', '_since', '_type', '_count']);
  });
});

describe('$everything parameters', () => {
  const parse = (q: string) => parseEverythingParameters(new URLSearchParams(q));

  it('reads _type, _since, start and end', () => {
    const r = parse('_type=Observation,Condition&_since=2024-01-02T03:04:05Z&start=2020-02&end=2021');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.parameters.types).toEqual(['Observation', 'Condition']);
    expect(r.parameters.since?.toISOString()).toBe('2024-01-02T03:04:05.000Z');
    expect(r.parameters.startDay).toBe(Date.UTC(2020, 1, 1) / 86_400_000);
    expect(r.parameters.endDay).toBe(Date.UTC(2021, 11, 31) / 86_400_000);
    expect(parse('_count=5&_offset=10').ok).toBe(true);
  });

  it('refuses malformed, repeated and unknown parameters without echoing values', () => {
    for (const q of [
      '_type=Observation,Nonsense',
      '_type=',
      '_since=yesterday',
      'start=2020-13',
      'start=2020-01-01T00:00:00Z',
      'end=20',
      'start=2021&end=2020',
      'start=2020&start=2021',
      'patient=123',
      '_elements=id',
    ]) {
      const r = parse(q);
      expect(r.ok, q).toBe(false);
      if (!r.ok) {
        expect(r.issues[0]!.severity).toBe('error');
        expect(r.issues[0]!.diagnostics).not.toContain('Nonsense');
        expect(r.issues[0]!.diagnostics).not.toContain('yesterday');
      }
    }
  });

  it('tests the care date of a resource, keeping resources without one', () => {
    const p = (q: string) => {
      const r = parse(q);
      if (!r.ok) throw new Error('unexpected');
      return r.parameters;
    };
    const obs = { resourceType: 'Observation', effectiveDateTime: '2020-06-15T10:00:00Z' };
    const enc = { resourceType: 'Encounter', period: { start: '2019-12-30', end: '2020-01-02' } };
    const open = { resourceType: 'Condition', onsetPeriod: { start: '2018-01-01' } };
    const undated = { resourceType: 'AllergyIntolerance' };
    expect(careDaysOf(obs)).toEqual({
      first: Date.UTC(2020, 5, 15) / 86_400_000,
      last: Date.UTC(2020, 5, 15) / 86_400_000,
    });
    expect(withinCareDates(obs, p('start=2020-06-15&end=2020-06-15'))).toBe(true);
    expect(withinCareDates(obs, p('start=2020-06-16'))).toBe(false);
    expect(withinCareDates(obs, p('end=2020-06-14'))).toBe(false);
    expect(withinCareDates(enc, p('start=2020-01-02'))).toBe(true);
    expect(withinCareDates(enc, p('start=2020-01-03'))).toBe(false);
    expect(withinCareDates(enc, p('end=2019-12-30'))).toBe(true);
    expect(withinCareDates(open, p('start=2030'))).toBe(true);
    expect(withinCareDates(open, p('end=2017'))).toBe(false);
    expect(withinCareDates(undated, p('start=2030&end=2031'))).toBe(true);
    expect(withinCareDates(obs, p(''))).toBe(true);
  });
});
