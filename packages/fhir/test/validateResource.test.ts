/**
 * Validation against external data: every resource of the 34 Synthea R4 bundles and the 66 HL7 R4 examples
 * must validate; the STU3-style MedicationRequests of the PDDI-CDS CDS Hooks requests must not; hand-made
 * rejections must name the offending element.
 */
import { describe, expect, it } from 'vitest';
import { validateResource } from '../src/validateResource.js';
import { cdsHooksRequests, findMedicationRequests, hl7Examples, syntheaBundles } from './data.js';

const expressions = (r: ReturnType<typeof validateResource>) =>
  r.ok ? [] : r.issues.flatMap((i) => i.expression);

describe('validateResource on external data', () => {
  it('accepts every resource of the 34 Synthea bundles and the 66 HL7 examples', () => {
    const bundles = syntheaBundles();
    const resources = bundles.flatMap((b) => b.bundle.entry.map((e) => e.resource));
    const examples = hl7Examples();
    expect(bundles).toHaveLength(34);
    expect(resources).toHaveLength(4593);
    expect(examples).toHaveLength(66);
    validateResource(resources[0]); // compile outside the timing
    const started = performance.now();
    const failures: string[] = [];
    for (const r of resources) {
      const result = validateResource(r);
      if (!result.ok) failures.push(`${r.resourceType}: ${JSON.stringify(result.issues)}`);
    }
    const ms = performance.now() - started;
    for (const { file, resource } of examples) {
      const result = validateResource(resource);
      if (!result.ok) failures.push(`${file}: ${JSON.stringify(result.issues)}`);
    }
    console.log(
      `validated ${resources.length} Synthea resources in ${ms.toFixed(0)} ms ` +
        `(${Math.round((resources.length / ms) * 1000)} resources/s, first compile of each type included) ` +
        `and ${examples.length} HL7 examples`,
    );
    expect(failures).toEqual([]);
  });

  it('rejects the STU3-style MedicationRequests embedded in the PDDI-CDS CDS Hooks requests', () => {
    const requests = cdsHooksRequests();
    expect(requests).toHaveLength(21);
    const meds = requests.flatMap((r) => findMedicationRequests(r.request));
    expect(meds.length).toBeGreaterThan(20);
    for (const m of meds) {
      const r = validateResource(m);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues.length).toBeGreaterThan(0);
    }
    const first = validateResource(meds[0]);
    expect(
      expressions(first).some((e) => /^MedicationRequest\.(context|category|dosageInstruction)/.test(e)),
    ).toBe(true);
  });
});

describe('validateResource rejections', () => {
  it('wrong value type names the element and does not echo the value', () => {
    const r = validateResource({ resourceType: 'Patient', birthDate: 19700101 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      {
        severity: 'error',
        code: 'structure',
        diagnostics: expect.any(String),
        expression: ['Patient.birthDate'],
      },
    ]);
    expect(r.issues[0]!.diagnostics).not.toContain('19700101');
  });

  it('malformed primitive values', () => {
    const r = validateResource({ resourceType: 'Patient', birthDate: '1970-13-45', gender: 'robot' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.issues.map((i) => [i.expression[0], i]));
    expect(byPath['Patient.birthDate']?.code).toBe('value');
    expect(byPath['Patient.birthDate']?.diagnostics).toBe('Value is not a valid date');
    expect(byPath['Patient.gender']?.code).toBe('code-invalid');
    for (const i of r.issues) expect(i.diagnostics).not.toMatch(/1970|robot/);
  });

  it('nested paths use FHIRPath indexes', () => {
    const r = validateResource({ resourceType: 'Patient', name: [{ family: 'X' }, { given: ['A', 42] }] });
    expect(expressions(r)).toEqual(['Patient.name[1].given[1]']);
  });

  it('unknown elements, also inside contained resources and bundle entries', () => {
    expect(expressions(validateResource({ resourceType: 'Patient', favouriteColour: 'blue' }))).toEqual([
      'Patient.favouriteColour',
    ]);
    expect(
      expressions(
        validateResource({
          resourceType: 'MedicationRequest',
          status: 'active',
          intent: 'order',
          subject: { reference: 'Patient/1' },
          medicationReference: { reference: '#m' },
          contained: [{ resourceType: 'Medication', id: 'm', colour: 'red' }],
        }),
      ),
    ).toEqual(['MedicationRequest.contained[0].colour']);
    expect(
      expressions(
        validateResource({
          resourceType: 'Bundle',
          type: 'collection',
          entry: [
            { resource: { resourceType: 'Patient' } },
            { resource: { resourceType: 'Patient', nme: [] } },
          ],
        }),
      ),
    ).toEqual(['Bundle.entry[1].resource.nme']);
    expect(
      expressions(
        validateResource({
          resourceType: 'Bundle',
          type: 'collection',
          entry: [{ resource: { resourceType: 'Nope' } }],
        }),
      ),
    ).toEqual(['Bundle.entry[0].resource.resourceType']);
  });

  it('bad ids', () => {
    for (const id of ['', 'has space', 'a'.repeat(65), 'under_score', 'é']) {
      expect(expressions(validateResource({ resourceType: 'Patient', id }))).toEqual(['Patient.id']);
    }
    expect(validateResource({ resourceType: 'Patient', id: `A-1.${'b'.repeat(60)}` }).ok).toBe(true);
  });

  it('reference forms', () => {
    const obs = (reference: string) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference },
    });
    const good = [
      'Patient/123',
      'Patient/123/_history/2',
      'https://example.org/fhir/Patient/1',
      'http://example.org/x',
      'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a',
      'urn:oid:1.2.840.113619',
      '#p1',
      '#',
    ];
    for (const ref of good) expect(validateResource(obs(ref)).ok, ref).toBe(true);
    const bad = [
      'Patient',
      'Nope/1',
      'Patient/a b',
      'Patient/1/_history',
      'urn:uuid:xyz',
      'urn:oid:abc',
      'ftp://example.org/1',
      'javascript:alert(1)',
      '#bad id',
      'Patient?identifier=x',
    ];
    for (const ref of bad) {
      const r = validateResource(obs(ref));
      expect(r.ok, ref).toBe(false);
      if (!r.ok) {
        expect(r.issues[0]!.expression).toEqual(['Observation.subject.reference']);
        expect(r.issues[0]!.diagnostics).not.toContain(ref);
      }
    }
    expect(validateResource(obs('Patient?identifier=x'), { allowConditionalReferences: true }).ok).toBe(true);
    expect(validateResource(obs('Nope?identifier=x'), { allowConditionalReferences: true }).ok).toBe(false);
    // Expression.reference is a uri, not a Reference: no reference-form check applies.
    expect(
      validateResource({
        resourceType: 'DetectedIssue',
        status: 'final',
        patient: { reference: 'Patient/1' },
        reference: 'https://example.org/evidence',
      }).ok,
    ).toBe(true);
  });

  it('missing, malformed and unknown resourceType', () => {
    const one = (v: unknown) => {
      const r = validateResource(v);
      return r.ok ? undefined : r.issues[0];
    };
    expect(one({ id: 'x' })).toMatchObject({ code: 'required', expression: ['resourceType'] });
    expect(one({ resourceType: 7 })).toMatchObject({ code: 'structure', expression: ['resourceType'] });
    expect(one({ resourceType: 'Spaceship' })).toMatchObject({
      code: 'not-supported',
      expression: ['resourceType'],
    });
    expect(one({ resourceType: 'DomainResource' })).toMatchObject({ code: 'not-supported' });
    expect(one([])).toMatchObject({ code: 'structure' });
    expect(one(null)).toMatchObject({ code: 'structure' });
    expect(one('Patient')).toMatchObject({ code: 'structure' });
  });

  it('nesting deeper than the limit', () => {
    let ext: Record<string, unknown> = { url: 'http://x', valueString: 'v' };
    for (let i = 0; i < 40; i++) ext = { url: 'http://x', extension: [ext] };
    const r = validateResource({ resourceType: 'Patient', extension: [ext] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]!.code).toBe('too-long');
    expect(r.issues[0]!.expression[0]).toMatch(/^Patient\.extension\[0\](\.extension\[0\])+$/);
    // 100 000 levels must not overflow the stack either.
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { extension: [deep] };
    expect(validateResource({ resourceType: 'Patient', extension: [deep] }).ok).toBe(false);
    expect(validateResource({ resourceType: 'Patient', extension: [ext] }, { maxDepth: 200 }).ok).toBe(true);
  });

  it('reports at most 10 issues, most specific first', () => {
    const names = Array.from({ length: 30 }, (_, i) => ({ given: [i] }));
    const r = validateResource({ resourceType: 'Patient', name: names });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toHaveLength(10);
    expect(r.issues[0]!.expression).toEqual(['Patient.name[0].given[0]']);
  });
});
