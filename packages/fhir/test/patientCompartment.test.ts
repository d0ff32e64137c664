import { readFileSync } from 'node:fs';
import { DataCategory } from '@medledger/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  loadR4Definitions,
  patientCompartmentPaths,
  renderPatientCompartment,
} from '../scripts/patientCompartment.js';
import { type Classification, classifyResource } from '../src/classifyResource.js';
import { DIRECTORY_RESOURCE_TYPES, dataCategoryOf } from '../src/dataCategoryOf.js';
import { referencesAt } from '../src/elementValues.js';
import type { FhirResource } from '../src/FhirResource.js';
import { PATIENT_COMPARTMENT } from '../src/patientCompartment.generated.js';
import { compartmentResourceTypes, patientReferenceOf } from '../src/patientReferenceOf.js';
import { planBundle } from '../src/planBundle.js';
import { isResourceType, RESOURCE_TYPES } from '../src/resourceTypes.js';
import { validateResource } from '../src/validateResource.js';
import { hl7Examples, syntheaBundles, syntheaNdjson } from './data.js';

const defs = loadR4Definitions();
const examples = hl7Examples().map((e) => ({ file: e.file, resource: e.resource as FhirResource }));

/** Independent of the classifier: does the JSON name a Patient anywhere (reference or embedded Patient)? */
function namesAPatient(resource: unknown): boolean {
  const text = JSON.stringify(resource);
  return /"reference":"([^"]*\/)?Patient\/[^"]+"/.test(text) || /"resourceType":"Patient"/.test(text);
}

function valid(resource: FhirResource): FhirResource {
  const r = validateResource(resource);
  if (!r.ok) throw new Error(`${resource.resourceType}: ${JSON.stringify(r.issues)}`);
  return resource;
}

describe('the generated Patient compartment table', () => {
  it('is exactly what the generator renders from the R4 definitions today', () => {
    const committed = readFileSync(
      new URL('../src/patientCompartment.generated.ts', import.meta.url),
      'utf8',
    );
    expect(renderPatientCompartment(defs)).toBe(committed);
  });

  it('covers every type the R4 Patient CompartmentDefinition puts in the compartment, and only those', () => {
    const inDefinition = defs.compartment.resource
      .filter((r) => (r.param ?? []).length > 0)
      .map((r) => r.code);
    expect(Object.keys(PATIENT_COMPARTMENT)).toEqual(inDefinition);
    expect(inDefinition).toHaveLength(67); // 66 types and Patient
    for (const t of inDefinition) expect(isResourceType(t), t).toBe(true);
    // Spot checks against the published definition (hl7.org/fhir/R4/compartmentdefinition-patient.html).
    expect(PATIENT_COMPARTMENT.Observation).toEqual(['subject', 'performer']);
    expect(PATIENT_COMPARTMENT.Task).toEqual(['for', 'focus']);
    expect(PATIENT_COMPARTMENT.Group).toEqual(['member.entity']);
    expect(PATIENT_COMPARTMENT.Binary).toBeUndefined();
    expect(PATIENT_COMPARTMENT.Bundle).toBeUndefined();
  });

  it('refuses definitions it cannot render faithfully instead of dropping an element', () => {
    const withExpression = (expression: string) => ({
      ...defs,
      searchParameters: defs.searchParameters.map((sp) =>
        sp.code === 'individual' && sp.base.includes('ResearchSubject') ? { ...sp, expression } : sp,
      ),
    });
    expect(() => patientCompartmentPaths(withExpression('ResearchSubject.individual.as(Reference)'))).toThrow(
      /unsupported expression/,
    );
    expect(() => patientCompartmentPaths(withExpression('Other.individual'))).toThrow(/no expression/);
    expect(() =>
      patientCompartmentPaths({ ...defs, compartment: { ...defs.compartment, version: '5.0.0' } }),
    ).toThrow(/4\.0\.1/);
    expect(() =>
      patientCompartmentPaths({
        ...defs,
        searchParameters: defs.searchParameters.filter((sp) => sp.code !== 'individual'),
      }),
    ).toThrow(/0 search parameters/);
  });

  it('deviates from definition order only where docs/fhir.md says so', () => {
    const extra = compartmentResourceTypes().filter((t) => PATIENT_COMPARTMENT[t] === undefined);
    expect(extra).toEqual(['Device']);
    expect(classifyResource({ resourceType: 'Device', patient: { reference: 'Patient/d' } })).toEqual({
      kind: 'patient',
      patient: 'Patient/d',
      category: DataCategory.Devices,
    });
    // Coverage: the beneficiary before the policy holder, as medledger has always filed it.
    const coverage = classifyResource({
      resourceType: 'Coverage',
      policyHolder: { reference: 'Patient/parent' },
      subscriber: { reference: 'Patient/parent' },
      beneficiary: { reference: 'Patient/child' },
    });
    expect(coverage).toEqual({ kind: 'patient', patient: 'Patient/child', category: DataCategory.Claims });
    // AuditEvent: the patient whose record was touched before the patient who acted.
    const audit = classifyResource({
      resourceType: 'AuditEvent',
      agent: [{ who: { reference: 'Patient/actor' } }],
      entity: [{ what: { reference: 'Patient/subject' } }],
    });
    expect(audit).toMatchObject({ kind: 'patient', patient: 'Patient/subject' });
    // Everywhere else the first path of the definition that names a Patient wins.
    const allergy = classifyResource({
      resourceType: 'AllergyIntolerance',
      recorder: { reference: 'Patient/recorder' },
      asserter: { reference: 'Patient/asserter' },
    });
    expect(allergy).toMatchObject({ kind: 'patient', patient: 'Patient/recorder' });
  });
});

describe('classifyResource on the HL7 R4 examples', () => {
  it.each(examples)('$file: classified without throwing, patient data never shared', ({ resource }) => {
    const c = classifyResource(resource);
    if (namesAPatient(resource)) expect(c.kind).not.toBe('shared');
    const paths = PATIENT_COMPARTMENT[resource.resourceType];
    if (paths !== undefined) {
      expect(c.kind).not.toBe('shared');
      const named = paths
        .flatMap((p) => referencesAt(resource, p.split('.')))
        .filter((r) => /^Patient\//.test(r));
      if (
        named.length > 0 &&
        resource.resourceType !== 'Coverage' &&
        resource.resourceType !== 'AuditEvent'
      ) {
        expect(c).toEqual({
          kind: 'patient',
          patient: named[0]!.replace(/\/_history\/.*$/, ''),
          category: dataCategoryOf(resource.resourceType),
        });
      }
    }
  });

  it('files the examples as the compartment says', () => {
    const byFile = new Map(examples.map((e) => [e.file, classifyResource(e.resource)]));
    const expected: [string, Classification][] = [
      [
        'patient-example.json',
        { kind: 'patient', patient: 'Patient/example', category: DataCategory.Demographics },
      ],
      ['claim-example.json', { kind: 'patient', patient: 'Patient/1', category: DataCategory.Claims }],
      // The patient is a contained resource ("#patient-1"): patient data, but whose cannot be told.
      ['claim-example-oral-contained.json', { kind: 'unassigned', category: DataCategory.Claims }],
      ['coverage-example.json', { kind: 'patient', patient: 'Patient/4', category: DataCategory.Claims }],
      [
        'consent-example.json',
        { kind: 'patient', patient: 'Patient/f001', category: DataCategory.Documents },
      ],
      [
        'medicationrequest0301.json',
        { kind: 'patient', patient: 'Patient/pat1', category: DataCategory.Medications },
      ],
      // An AuditEvent used to be filed in the shared directory; it names Patient/example as the entity read.
      [
        'audit-event-example-vread.json',
        { kind: 'patient', patient: 'Patient/example', category: 'uncategorised' },
      ],
      // A login names no patient: still a compartment type, so unassigned rather than shared.
      ['audit-event-example-login.json', { kind: 'unassigned', category: 'uncategorised' }],
      // A transaction touching several patients is nobody's alone.
      ['bundle-transaction.json', { kind: 'unassigned', category: 'uncategorised' }],
    ];
    for (const [file, c] of expected) expect(byFile.get(file), file).toEqual(c);
  });
});

describe('classifyResource on the Synthea bundles', () => {
  const bundles = syntheaBundles();

  it.each(bundles.map((b) => ({ file: b.file, bundle: b.bundle })))(
    '$file: every resource names its patient, before and after planning; the rest is shared',
    ({ bundle }) => {
      const patientEntry = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!;
      const typeOfUrn = (urn: string) => bundle.entry.find((e) => e.fullUrl === urn)?.resource.resourceType;
      let n = 0;
      const r = planBundle(bundle, () => `n${++n}`);
      if (!r.ok) throw new Error('plan failed');
      const patient = r.plan.references.get(patientEntry.fullUrl!)!;
      let patients = 0;
      for (const e of r.plan.entries) {
        const res = e.resource!;
        const before = bundle.entry[e.index]!.resource as FhirResource;
        const after = classifyResource(res);
        if (!namesAPatient(res)) {
          expect(after, res.resourceType).toEqual({ kind: 'shared' });
          expect(DIRECTORY_RESOURCE_TYPES).toContain(res.resourceType);
          continue;
        }
        patients++;
        expect(after, res.resourceType).toMatchObject({ kind: 'patient', patient });
        expect(after).toMatchObject({ category: dataCategoryOf(res.resourceType) });
        if (res.resourceType !== 'Patient') {
          expect(classifyResource(before, { typeOfUrn })).toMatchObject({ patient: patientEntry.fullUrl });
          expect(patientReferenceOf(before)).toBe(patientEntry.fullUrl);
        }
      }
      expect(patients).toBeGreaterThan(1);
      // The whole bundle, stored as one resource, is that one patient's.
      expect(classifyResource(bundle as unknown as FhirResource)).toEqual({
        kind: 'patient',
        patient: `Patient/${patientEntry.resource.id}`,
        category: 'uncategorised',
      });
    },
  );
});

describe('classifyResource on the Synthea Bulk Data export', () => {
  const files = syntheaNdjson();
  const patients = new Set(
    files.flatMap((f) =>
      f.resources.filter((r) => r.resourceType === 'Patient').map((r) => `Patient/${r.id}`),
    ),
  );

  it.each(files)('$file: each resource names one of the exported patients, or is shared', ({ resources }) => {
    expect(resources.length).toBeGreaterThan(0);
    for (const r of resources as FhirResource[]) {
      const c = classifyResource(r);
      if (DIRECTORY_RESOURCE_TYPES.includes(r.resourceType)) {
        expect(c, r.resourceType).toEqual({ kind: 'shared' });
        continue;
      }
      expect(c.kind, r.resourceType).toBe('patient');
      if (c.kind === 'patient') expect(patients.has(c.patient), c.patient).toBe(true);
    }
  });
});

describe('classifyResource on types the hand table missed', () => {
  const p = { reference: 'Patient/p1' };
  const cases: [FhirResource, Classification['kind'], DataCategory | 'uncategorised'][] = [
    [{ resourceType: 'SupplyDelivery', status: 'completed', patient: p }, 'patient', 'uncategorised'],
    [
      {
        resourceType: 'ResearchSubject',
        status: 'on-study',
        study: { reference: 'ResearchStudy/s' },
        individual: p,
      },
      'patient',
      'uncategorised',
    ],
    [
      {
        resourceType: 'VisionPrescription',
        status: 'active',
        created: '2024-01-01',
        patient: p,
        dateWritten: '2024-01-01',
        prescriber: { reference: 'Practitioner/x' },
        lensSpecification: [{ product: { text: 'lens' }, eye: 'right' }],
      },
      'patient',
      DataCategory.Devices,
    ],
    [{ resourceType: 'Basic', code: { text: 'note' }, subject: p }, 'patient', 'uncategorised'],
    [
      { resourceType: 'Task', status: 'requested', intent: 'order', for: p },
      'patient',
      DataCategory.Documents,
    ],
    [
      { resourceType: 'Task', status: 'requested', intent: 'order', owner: p },
      // Task.owner is no compartment element: Task is a compartment type, so the patient is not told.
      'unassigned',
      DataCategory.Documents,
    ],
    [
      { resourceType: 'Binary', contentType: 'text/plain', securityContext: p, data: 'aGk=' },
      'patient',
      'uncategorised',
    ],
    [
      {
        resourceType: 'MeasureReport',
        status: 'complete',
        type: 'individual',
        measure: 'http://example.org/Measure/m',
        subject: p,
        period: { start: '2024-01-01' },
      },
      'patient',
      'uncategorised',
    ],
    [
      { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: p }] },
      'patient',
      'uncategorised',
    ],
    [
      {
        resourceType: 'Group',
        type: 'person',
        actual: true,
        member: [{ entity: p }, { entity: { reference: 'Patient/p2' } }],
      },
      'patient',
      'uncategorised',
    ],
    [{ resourceType: 'Schedule', actor: [p] }, 'patient', DataCategory.Encounters],
    [{ resourceType: 'EnrollmentRequest', candidate: p }, 'patient', DataCategory.Claims],
    [
      {
        resourceType: 'Bundle',
        type: 'document',
        timestamp: '2024-01-01T00:00:00Z',
        identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0' },
        entry: [
          {
            fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
            resource: {
              resourceType: 'Composition',
              status: 'final',
              type: { text: 'discharge summary' },
              subject: { reference: 'urn:uuid:22222222-2222-4222-8222-222222222222' },
              date: '2024-01-01',
              author: [{ reference: 'Practitioner/x' }],
              title: 'Discharge',
            },
          },
          {
            fullUrl: 'urn:uuid:22222222-2222-4222-8222-222222222222',
            resource: { resourceType: 'Patient', id: 'p1' },
          },
        ],
      },
      'patient',
      'uncategorised',
    ],
    [{ resourceType: 'Organization', name: 'General Hospital' }, 'shared', 'uncategorised'],
    [{ resourceType: 'Practitioner', name: [{ family: 'Who' }] }, 'shared', 'uncategorised'],
    [{ resourceType: 'Questionnaire', status: 'active' }, 'shared', 'uncategorised'],
    [{ resourceType: 'ValueSet', status: 'active' }, 'shared', 'uncategorised'],
    [{ resourceType: 'Medication', code: { text: 'aspirin' } }, 'unassigned', DataCategory.Medications],
  ];

  it.each(cases.map(([r, kind, category]) => ({ type: r.resourceType, r, kind, category })))(
    '$type → $kind',
    ({ r, kind, category }) => {
      valid(r);
      const c = classifyResource(r);
      expect(c.kind).toBe(kind);
      if (c.kind === 'patient') expect(c).toEqual({ kind, patient: 'Patient/p1', category });
      if (c.kind === 'unassigned') expect(c.category).toBe(category);
    },
  );
});

describe('classifyResource from the attacker side', () => {
  it('never files a resource that names a Patient in the shared directory', () => {
    const patientRef = fc.oneof(
      fc.constantFrom('Patient/x', 'Patient/x/_history/3', 'https://other.example/fhir/Patient/x'),
      fc.uuid().map((u) => `urn:uuid:${u}`),
    );
    const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'reference', 'type', 'entry', 'resourceType'), tie('value'), {
          maxKeys: 3,
        }),
      ),
    })).value;
    fc.assert(
      fc.property(
        fc.constantFrom(...RESOURCE_TYPES),
        json,
        patientRef,
        fc.array(fc.constantFrom('extension', 'valueReference', 'contained', 'item', 'x'), { maxLength: 4 }),
        (type, filler, ref, path) => {
          // The reference hidden at a random depth, next to random filler.
          let hidden: unknown = { reference: ref };
          for (const step of path) hidden = { [step]: [hidden] };
          const resource = { resourceType: type, filler, hidden } as FhirResource;
          expect(classifyResource(resource).kind).not.toBe('shared');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('does not attribute a record to a patient it only half names', () => {
    const cases: [FhirResource, Classification][] = [
      [
        { resourceType: 'Observation', subject: { reference: 'Group/1' } },
        { kind: 'unassigned', category: DataCategory.Observations },
      ],
      [
        {
          resourceType: 'Observation',
          subject: { reference: 'Group/1' },
          performer: [{ reference: 'Patient/self' }],
        },
        { kind: 'patient', patient: 'Patient/self', category: DataCategory.Observations },
      ],
      [
        { resourceType: 'Observation', subject: { reference: 'https://other.example/fhir/Patient/1' } },
        { kind: 'unassigned', category: DataCategory.Observations },
      ],
      [
        { resourceType: 'Basic', code: { text: 'x' }, subject: { reference: 'Patient/../../etc' } },
        { kind: 'unassigned', category: 'uncategorised' },
      ],
      [
        { resourceType: 'Patient', id: 'a/b' },
        { kind: 'unassigned', category: DataCategory.Demographics },
      ],
      [{ resourceType: 'Patient' }, { kind: 'unassigned', category: DataCategory.Demographics }],
      [
        // Two patients in one non-compartment resource: neither may read the other's part.
        {
          resourceType: 'Binary',
          contentType: 'text/plain',
          securityContext: { reference: 'Patient/a' },
          extension: [{ url: 'x', valueReference: { reference: 'Patient/b' } }],
        },
        { kind: 'unassigned', category: 'uncategorised' },
      ],
      [{ resourceType: '__proto__', reference: 42 } as FhirResource, { kind: 'shared' }],
      [{ resourceType: 'toString' }, { kind: 'shared' }],
    ];
    for (const [r, c] of cases) expect(classifyResource(r), JSON.stringify(r)).toEqual(c);
  });

  it('keeps a Binary naming a patient it cannot attribute out of the directory', () => {
    for (const securityContext of [
      { reference: 'https://other.example/fhir/Patient/1' },
      { reference: 'Patient?identifier=urn:x|1' },
      { reference: 'Patient/../../etc' },
      { type: 'Patient', identifier: { system: 'urn:x', value: '1' } },
    ]) {
      expect(
        classifyResource({ resourceType: 'Binary', contentType: 'text/plain', securityContext }),
      ).toEqual({
        kind: 'unassigned',
        category: 'uncategorised',
      });
    }
  });

  it('a urn is a patient only where the transaction says so', () => {
    const urn = 'urn:uuid:33333333-3333-4333-8333-333333333333';
    const binary: FhirResource = {
      resourceType: 'Binary',
      contentType: 'text/plain',
      securityContext: { reference: urn },
    };
    expect(classifyResource(binary)).toEqual({ kind: 'unassigned', category: 'uncategorised' });
    expect(classifyResource(binary, { typeOfUrn: () => 'Patient' })).toEqual({
      kind: 'patient',
      patient: urn,
      category: 'uncategorised',
    });
    expect(classifyResource(binary, { typeOfUrn: () => 'Organization' })).toEqual({ kind: 'shared' });
    const obs: FhirResource = { resourceType: 'Observation', subject: { reference: urn } };
    expect(classifyResource(obs)).toMatchObject({ kind: 'patient', patient: urn });
    expect(classifyResource(obs, { typeOfUrn: () => 'Group' })).toMatchObject({ kind: 'unassigned' });
  });

  it('survives very long arrays without throwing', () => {
    const many = Array.from({ length: 300_000 }, () => ({ reference: 'Organization/o' }));
    expect(classifyResource({ resourceType: 'Binary', extension: [{ url: 'x', a: many }] })).toEqual({
      kind: 'shared',
    });
    const members = Array.from({ length: 300_000 }, () => ({ entity: { reference: 'Device/d' } }));
    expect(classifyResource({ resourceType: 'Group', member: members })).toMatchObject({
      kind: 'unassigned',
    });
  });

  it('survives nesting deeper than it inspects without throwing', () => {
    let r: FhirResource = { resourceType: 'Binary', securityContext: { reference: 'Patient/deep' } };
    for (let i = 0; i < 5000; i++)
      r = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: r }] };
    expect(classifyResource(r)).toEqual({ kind: 'unassigned', category: 'uncategorised' });
    let shallow: FhirResource = { resourceType: 'Binary', securityContext: { reference: 'Patient/deep' } };
    for (let i = 0; i < 3; i++)
      shallow = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: shallow }] };
    expect(classifyResource(shallow)).toMatchObject({ kind: 'patient', patient: 'Patient/deep' });
  });
});
