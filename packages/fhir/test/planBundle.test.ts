import { describe, expect, it } from 'vitest';
import { planBundle, rewriteReferences } from '../src/planBundle.js';
import { validateResource } from '../src/validateResource.js';
import { hl7Examples, syntheaBundles } from './data.js';

function counter() {
  let n = 0;
  return () => `id-${++n}`;
}

/** Every `reference` string anywhere in `value`. */
function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) references(v, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else references(v, out);
    }
  }
  return out;
}

describe('planBundle on external bundles', () => {
  it('plans all 34 Synthea transaction bundles, leaving no urn:uuid reference', () => {
    let entries = 0;
    let rewritten = 0;
    for (const { file, bundle } of syntheaBundles()) {
      const before = JSON.stringify(bundle);
      const r = planBundle(bundle, counter());
      if (!r.ok) throw new Error(`${file}: ${JSON.stringify(r.issues)}`);
      expect(JSON.stringify(bundle)).toBe(before); // input untouched
      const { plan } = r;
      expect(plan.type).toBe('transaction');
      expect(plan.entries).toHaveLength(bundle.entry.length);
      entries += plan.entries.length;
      const ids = new Set<string>();
      for (const e of plan.entries) {
        expect(e.interaction).toBe('create');
        expect(e.resource!.id).toBe(e.id);
        ids.add(`${e.resourceType}/${e.id}`);
        expect(plan.references.get(e.fullUrl!)).toBe(`${e.resourceType}/${e.id}`);
      }
      for (const e of plan.entries) {
        for (const ref of references(e.resource)) {
          expect(ref.startsWith('urn:uuid:'), `${file}: ${ref}`).toBe(false);
          if (/^[A-Z][A-Za-z]+\/id-\d+$/.test(ref)) {
            expect(ids.has(ref), ref).toBe(true);
            rewritten++;
          }
        }
      }
    }
    expect(entries).toBe(4593);
    expect(rewritten).toBeGreaterThan(10000);
    // Rewritten resources stay valid (one bundle re-checked; the plan validated all of them before rewriting).
    const r = planBundle(syntheaBundles()[0]!.bundle, counter());
    if (r.ok) for (const e of r.plan.entries) expect(validateResource(e.resource).ok).toBe(true);
  });

  it('plans the HL7 transaction example in R4 processing order', () => {
    const bundle = hl7Examples().find((e) => e.file === 'bundle-transaction.json')!.resource;
    const r = planBundle(bundle, counter());
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const summary = r.plan.entries.map((e) => [e.index, e.method, e.interaction]);
    expect(summary).toEqual([
      [5, 'DELETE', 'delete'],
      [6, 'DELETE', 'conditional-delete'],
      [0, 'POST', 'create'],
      [1, 'POST', 'create'],
      [7, 'POST', 'operation'],
      [2, 'PUT', 'update'],
      [3, 'PUT', 'conditional-update'],
      [4, 'PUT', 'update'],
      [8, 'GET', 'search'],
      [9, 'GET', 'read'],
    ]);
    const byIndex = new Map(r.plan.entries.map((e) => [e.index, e]));
    expect(byIndex.get(1)!.ifNoneExist).toBe('identifier=http:/example.org/fhir/ids|234234');
    expect(byIndex.get(2)!.id).toBe('123');
    expect(byIndex.get(3)!.query).toBe('identifier=http:/example.org/fhir/ids|456456');
    expect(byIndex.get(4)!.ifMatch).toBe('W/"2"');
    expect(byIndex.get(7)!.operation).toBe('$lookup');
    expect(byIndex.get(9)!).toMatchObject({ ifNoneMatch: 'W/"4"', id: '12334' });
    expect(r.plan.references.get('http://example.org/fhir/Patient/123')).toBe('Patient/123');
    const created = byIndex.get(0)!;
    expect(r.plan.references.get(created.fullUrl!)).toBe(`Patient/${created.id}`);
    for (const e of r.plan.entries)
      for (const ref of references(e.resource)) expect(ref).not.toMatch(/^urn:uuid:/);
  });
});

describe('planBundle rejections', () => {
  const patient = { resourceType: 'Patient' };
  const urn = 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a';
  const other = 'urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059';
  const tx = (entry: unknown[], type = 'transaction') => ({ resourceType: 'Bundle', type, entry });
  const firstIssue = (b: unknown) => {
    const r = planBundle(b, counter());
    if (r.ok) throw new Error('accepted');
    return r.issues[0]!;
  };

  it('wrong bundle type, not a bundle, invalid resources', () => {
    expect(firstIssue(tx([], 'collection'))).toMatchObject({
      code: 'not-supported',
      expression: ['Bundle.type'],
    });
    expect(firstIssue(patient)).toMatchObject({ expression: ['resourceType'] });
    expect(
      firstIssue(
        tx([{ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', x: 1 } }]),
      ),
    ).toMatchObject({ expression: ['Bundle.entry[0].resource.x'] });
  });

  it('entries without request, method or url, or with unsupported ones', () => {
    expect(firstIssue(tx([{ resource: patient }]))).toMatchObject({
      expression: ['Bundle.entry[0].request'],
    });
    expect(
      firstIssue(tx([{ resource: patient, request: { method: 'HEAD', url: 'Patient/1' } }])),
    ).toMatchObject({
      expression: ['Bundle.entry[0].request.method'],
    });
    for (const url of [
      'Spaceship',
      'Patient/a b',
      'https://x.org/Patient',
      'Patient/1/2/3/4',
      'Patient/1?x=y',
    ]) {
      expect(firstIssue(tx([{ resource: patient, request: { method: 'POST', url } }])), url).toMatchObject({
        expression: ['Bundle.entry[0].request.url'],
      });
    }
    expect(firstIssue(tx([{ request: { method: 'POST', url: 'Patient' } }]))).toMatchObject({
      expression: ['Bundle.entry[0].resource'],
    });
  });

  it('type and id mismatches, duplicate fullUrls', () => {
    expect(
      firstIssue(tx([{ resource: patient, request: { method: 'POST', url: 'Observation' } }])),
    ).toMatchObject({
      expression: ['Bundle.entry[0].resource.resourceType'],
    });
    expect(
      firstIssue(
        tx([
          { resource: { resourceType: 'Patient', id: 'b' }, request: { method: 'PUT', url: 'Patient/a' } },
        ]),
      ),
    ).toMatchObject({ expression: ['Bundle.entry[0].resource.id'] });
    const e = { fullUrl: urn, resource: patient, request: { method: 'POST', url: 'Patient' } };
    expect(firstIssue(tx([e, e]))).toMatchObject({
      code: 'duplicate',
      expression: ['Bundle.entry[1].fullUrl'],
    });
  });

  it('a urn:uuid reference that no entry defines, and interdependent batch entries', () => {
    const obs = (ref: string) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: ref },
    });
    const entries = [
      { fullUrl: urn, resource: patient, request: { method: 'POST', url: 'Patient' } },
      { resource: obs(other), request: { method: 'POST', url: 'Observation' } },
    ];
    expect(firstIssue(tx(entries))).toMatchObject({
      expression: ['Bundle.entry[1].resource.subject.reference'],
    });
    const linked = [entries[0], { resource: obs(urn), request: { method: 'POST', url: 'Observation' } }];
    expect(planBundle(tx(linked), counter()).ok).toBe(true);
    // In a batch the dependent entry alone is refused; the other one goes on.
    const batch = planBundle(tx(linked, 'batch'), counter());
    if (!batch.ok) throw new Error('refused');
    expect(batch.plan.entries.map((e) => e.index)).toEqual([0]);
    expect(batch.plan.failed).toEqual([
      {
        index: 1,
        issues: [expect.objectContaining({ expression: ['Bundle.entry[1].resource.subject.reference'] })],
      },
    ]);
  });

  it('plans a batch entry by entry: malformed entries fail alone; PATCH entries carry a patch', () => {
    const jsonPatch = {
      resourceType: 'Binary',
      contentType: 'application/json-patch+json',
      data: Buffer.from('[]').toString('base64'),
    };
    const r = planBundle(
      tx(
        [
          { resource: { resourceType: 'Observation' }, request: { method: 'POST', url: 'Observation' } },
          { resource: patient, request: { method: 'POST', url: 'Patient' } },
          { request: { method: 'PUT', url: 'Patient/x' } },
          { resource: jsonPatch, request: { method: 'PATCH', url: 'Patient/x' } },
          { resource: patient, request: { method: 'PATCH', url: 'Patient/x' } },
        ],
        'batch',
      ),
      counter(),
    );
    if (!r.ok) throw new Error('refused');
    expect(r.plan.entries.map((e) => [e.index, e.interaction])).toEqual([
      [1, 'create'],
      [3, 'patch'],
    ]);
    expect(r.plan.failed.map((f) => [f.index, f.issues[0]?.expression[0]])).toEqual([
      [0, expect.stringMatching(/^Bundle\.entry\[0\]\.resource\.(status|code)$/)],
      [2, 'Bundle.entry[2].resource'],
      [4, 'Bundle.entry[4].resource'],
    ]);
  });

  it('refuses ids from newId that are not FHIR ids', () => {
    const b = tx([{ resource: patient, request: { method: 'POST', url: 'Patient' } }]);
    expect(() => planBundle(b, () => 'not valid!')).toThrow();
  });
});

describe('rewriteReferences', () => {
  it('rewrites only `reference` members, at any depth, without mutating', () => {
    const map = new Map([['urn:uuid:1', 'Patient/9']]);
    const input = {
      a: { reference: 'urn:uuid:1' },
      b: [{ c: { reference: 'urn:uuid:1', display: 'urn:uuid:1' } }],
      identifier: [{ value: 'urn:uuid:1' }],
    };
    expect(rewriteReferences(input, map)).toEqual({
      a: { reference: 'Patient/9' },
      b: [{ c: { reference: 'Patient/9', display: 'urn:uuid:1' } }],
      identifier: [{ value: 'urn:uuid:1' }],
    });
    expect(input.a.reference).toBe('urn:uuid:1');
  });
});
