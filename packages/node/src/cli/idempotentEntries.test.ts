import { describe, expect, it } from 'vitest';
import { CONTENT_SYSTEM, makeIdempotent, URI_SYSTEM } from './idempotentEntries.js';

const post = (resource: Record<string, unknown>, fullUrl?: string) => ({
  ...(fullUrl ? { fullUrl } : {}),
  resource,
  request: { method: 'POST', url: resource.resourceType },
});

describe('makeIdempotent', () => {
  it('keys an entry on its business identifier, with FHIR token escapes, URL-encoded', () => {
    const bundle = {
      entry: [
        post(
          {
            resourceType: 'Patient',
            identifier: [{ value: 'no system' }, { system: 'urn:x', value: 'a|b,c' }],
          },
          'urn:uuid:11111111-1111-1111-1111-111111111111',
        ),
      ],
    };
    expect(makeIdempotent(bundle)).toEqual({ byIdentifier: 1, bySource: 0, byContent: 0, plain: 0 });
    const criteria = (bundle.entry[0]!.request as { ifNoneExist?: string }).ifNoneExist!;
    expect(new URLSearchParams(criteria).get('identifier')).toBe('urn:x|a\\|b\\,c');
    // The resource is sent as it was.
    expect(bundle.entry[0]!.resource.identifier).toHaveLength(2);
  });

  it('keys an entry without one on its fullUrl, recorded as a URI identifier', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    const single = { resourceType: 'QuestionnaireResponse', status: 'completed' };
    const bundle = {
      entry: [
        post(obs, 'urn:uuid:22222222-2222-2222-2222-222222222222'),
        post(single, 'http://src/fhir/QR/1'),
      ],
    };
    expect(makeIdempotent(bundle)).toMatchObject({ bySource: 2 });
    expect(obs).toMatchObject({
      identifier: [{ system: URI_SYSTEM, value: 'urn:uuid:22222222-2222-2222-2222-222222222222' }],
    });
    // QuestionnaireResponse.identifier is 0..1: one object, not a list.
    expect(single).toMatchObject({ identifier: { system: URI_SYSTEM, value: 'http://src/fhir/QR/1' } });
    expect(
      new URLSearchParams((bundle.entry[0]!.request as { ifNoneExist?: string }).ifNoneExist!).get(
        'identifier',
      ),
    ).toBe(`${URI_SYSTEM}|urn:uuid:22222222-2222-2222-2222-222222222222`);
  });

  it('keys an entry without identifier or fullUrl on its content, numbering repeats, ignoring id and meta', () => {
    const a = () => ({ resourceType: 'Observation', status: 'final', code: { text: 'same' } });
    const bundle = { entry: [post(a()), post({ ...a(), id: 'x', meta: { versionId: '3' } })] };
    const again = { entry: [post(a())] };
    expect(makeIdempotent(bundle)).toMatchObject({ byContent: 2 });
    makeIdempotent(again);
    const values = bundle.entry.map(
      (e) => (e.resource.identifier as { system: string; value: string }[])[0]!,
    );
    expect(values[0]!.system).toBe(CONTENT_SYSTEM);
    expect(values[0]!.value).toMatch(/^[0-9a-f]{64}$/);
    expect(values[1]!.value).toBe(`${values[0]!.value}-2`);
    expect((again.entry[0]!.resource.identifier as { value: string }[])[0]!.value).toBe(values[0]!.value);
  });

  it('leaves other methods, entries with their own condition and types without an identifier alone', () => {
    const put = {
      resource: { resourceType: 'Patient', id: 'p' },
      request: { method: 'PUT', url: 'Patient/p' },
    };
    const own = {
      resource: { resourceType: 'Patient' },
      request: { method: 'POST', url: 'Patient', ifNoneExist: 'name=x' },
    };
    const provenance = post(
      { resourceType: 'Provenance', target: [] },
      'urn:uuid:33333333-3333-3333-3333-333333333333',
    );
    const bundle = { entry: [put, own, provenance] };
    expect(makeIdempotent(bundle)).toEqual({ byIdentifier: 0, bySource: 0, byContent: 0, plain: 1 });
    expect(put.request).toEqual({ method: 'PUT', url: 'Patient/p' });
    expect(own.request.ifNoneExist).toBe('name=x');
    expect(provenance.request).not.toHaveProperty('ifNoneExist');
    expect(provenance.resource).not.toHaveProperty('identifier');
  });
});
