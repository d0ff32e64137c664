import { DataCategory } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import { capabilityStatement } from '../src/capabilityStatement.js';
import {
  categorisedResourceTypes,
  DIRECTORY_RESOURCE_TYPES,
  dataCategoryOf,
  isDirectoryResourceType,
} from '../src/dataCategoryOf.js';
import { parseSearch } from '../src/parseSearch.js';
import { patientReferenceOf } from '../src/patientReferenceOf.js';
import { planBundle } from '../src/planBundle.js';
import { isResourceType, RESOURCE_TYPES } from '../src/resourceTypes.js';
import { SEARCH_PARAMETERS, searchParametersOf } from '../src/searchParameters.js';
import { validateResource } from '../src/validateResource.js';
import { hl7Examples, syntheaBundles } from './data.js';

describe('dataCategoryOf', () => {
  it('maps the issue-4 types as specified', () => {
    const expected: [string, DataCategory | undefined][] = [
      ['Patient', DataCategory.Demographics],
      ['RelatedPerson', DataCategory.Demographics],
      ['Encounter', DataCategory.Encounters],
      ['EpisodeOfCare', DataCategory.Encounters],
      ['Condition', DataCategory.Conditions],
      ['Observation', DataCategory.Observations],
      ['DiagnosticReport', DataCategory.Observations],
      ['Specimen', DataCategory.Observations],
      ['MedicationRequest', DataCategory.Medications],
      ['Medication', DataCategory.Medications],
      ['Immunization', DataCategory.Immunizations],
      ['AllergyIntolerance', DataCategory.Allergies],
      ['Procedure', DataCategory.Procedures],
      ['ImagingStudy', DataCategory.Imaging],
      ['Media', DataCategory.Imaging],
      ['DocumentReference', DataCategory.Documents],
      ['CarePlan', DataCategory.Documents],
      ['Goal', DataCategory.Documents],
      ['Claim', DataCategory.Claims],
      ['ExplanationOfBenefit', DataCategory.Claims],
      ['Coverage', DataCategory.Claims],
      ['Device', DataCategory.Devices],
      ['Organization', undefined],
      ['Practitioner', undefined],
      ['Location', undefined],
      ['AuditEvent', undefined],
      ['Bundle', undefined],
      ['toString', undefined],
      ['__proto__', undefined],
    ];
    for (const [type, cat] of expected) expect(dataCategoryOf(type), type).toBe(cat);
    expect(isDirectoryResourceType('Organization')).toBe(true);
    expect(isDirectoryResourceType('Patient')).toBe(false);
  });

  it('classifies every type occurring in the Synthea bundles and HL7 examples', () => {
    const types = new Set([
      ...syntheaBundles().flatMap((b) => b.bundle.entry.map((e) => e.resource.resourceType)),
      ...hl7Examples().map((e) => e.resource.resourceType as string),
    ]);
    const unclassified = [...types].filter(
      (t) =>
        dataCategoryOf(t) === undefined &&
        !isDirectoryResourceType(t) &&
        !['AuditEvent', 'Bundle'].includes(t),
    );
    expect(unclassified).toEqual([]);
  });

  it('only names real R4 types, and directory and categorised types do not overlap', () => {
    for (const t of [
      ...categorisedResourceTypes(),
      ...DIRECTORY_RESOURCE_TYPES,
      ...Object.keys(SEARCH_PARAMETERS),
    ]) {
      expect(isResourceType(t), t).toBe(true);
    }
    for (const t of DIRECTORY_RESOURCE_TYPES) expect(dataCategoryOf(t)).toBeUndefined();
    expect(RESOURCE_TYPES).toHaveLength(146);
  });
});

describe('patientReferenceOf', () => {
  it('finds the patient of every patient-data resource in the Synthea bundles, before and after planning', () => {
    for (const { bundle } of syntheaBundles().slice(0, 6)) {
      const patientEntry = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!;
      const r = planBundle(
        bundle,
        (() => {
          let n = 0;
          return () => `n${++n}`;
        })(),
      );
      if (!r.ok) throw new Error('plan failed');
      const patientRef = r.plan.references.get(patientEntry.fullUrl!)!;
      for (const e of r.plan.entries) {
        const res = e.resource!;
        const before = bundle.entry[e.index]!.resource as Parameters<typeof patientReferenceOf>[0];
        if (dataCategoryOf(res.resourceType) === undefined) {
          expect(patientReferenceOf(res), res.resourceType).toBeUndefined();
          continue;
        }
        expect(patientReferenceOf(res), res.resourceType).toBe(patientRef);
        if (res.resourceType !== 'Patient') expect(patientReferenceOf(before)).toBe(patientEntry.fullUrl);
      }
    }
  });

  it('follows the R4 compartment elements on the HL7 examples', () => {
    const byFile = new Map(
      hl7Examples().map((e) => [e.file, e.resource as Parameters<typeof patientReferenceOf>[0]]),
    );
    expect(patientReferenceOf(byFile.get('patient-example.json')!)).toBe('Patient/example');
    expect(patientReferenceOf(byFile.get('claim-example.json')!)).toBe('Patient/1');
    expect(patientReferenceOf(byFile.get('coverage-example.json')!)).toBe('Patient/4');
    expect(patientReferenceOf(byFile.get('consent-example.json')!)).toBe('Patient/f001');
    expect(patientReferenceOf(byFile.get('medicationrequest0301.json')!)).toBe('Patient/pat1');
    expect(patientReferenceOf({ resourceType: 'Patient' })).toBeUndefined();
    expect(
      patientReferenceOf({ resourceType: 'Observation', subject: { reference: 'Group/1' } }),
    ).toBeUndefined();
    expect(
      patientReferenceOf({ resourceType: 'Observation', subject: { reference: 'Patient/7/_history/2' } }),
    ).toBe('Patient/7');
    expect(patientReferenceOf({ resourceType: 'Organization', id: 'o' })).toBeUndefined();
  });
});

describe('capabilityStatement', () => {
  it('is a valid R4 CapabilityStatement listing the search parameters parseSearch accepts', () => {
    const cs = capabilityStatement({
      baseUrl: 'https://node.example/fhir',
      softwareVersion: '0.1.0',
      resourceTypes: ['Patient', 'Observation', 'Organization'],
      now: new Date('2025-01-01T00:00:00Z'),
    });
    const r = validateResource(cs);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const rest = (
      cs.rest as { mode: string; resource: { type: string; searchParam: { name: string }[] }[] }[]
    )[0]!;
    expect(rest.mode).toBe('server');
    expect(cs.fhirVersion).toBe('4.0.1');
    const obs = rest.resource.find((x) => x.type === 'Observation')!;
    // Exactly the parameters parseSearch accepts: the R4 table, plus _id and _lastUpdated.
    const names = obs.searchParam.map((p) => p.name).sort();
    expect(names).toEqual(['_id', '_lastUpdated', ...Object.keys(searchParametersOf('Observation'))].sort());
    expect(names).toEqual(
      expect.arrayContaining(['category', 'code', 'date', 'patient', 'subject', 'combo-code']),
    );
    // The includes the node follows: reference parameters only, reverse ones from the types that can point here.
    const withIncludes = rest.resource as unknown as {
      type: string;
      searchInclude: string[];
      searchRevInclude: string[];
    }[];
    // Every reference parameter of the table, and only those, is an include; reverse includes are the reference
    // parameters of other types that may point at the type.
    const referenceParams = (type: string) =>
      Object.entries(searchParametersOf(type))
        .filter(([, def]) => def.kind === 'reference')
        .map(([name]) => `${type}:${name}`)
        .sort();
    const observation = withIncludes.find((x) => x.type === 'Observation')!;
    expect(observation.searchInclude.sort()).toEqual(referenceParams('Observation'));
    expect(observation.searchInclude).toEqual(
      expect.arrayContaining(['Observation:patient', 'Observation:subject']),
    );
    expect(observation.searchInclude).not.toContain('Observation:code');
    expect(withIncludes.find((x) => x.type === 'Patient')!.searchRevInclude).toEqual(
      expect.arrayContaining(['Observation:patient', 'Observation:subject', 'Patient:link']),
    );
    expect(withIncludes.find((x) => x.type === 'Organization')!.searchRevInclude).toContain(
      'Patient:organization',
    );
    expect(withIncludes.find((x) => x.type === 'Organization')!.searchRevInclude).not.toContain(
      'Observation:patient',
    );
    expect((cs.rest as { interaction: { code: string }[] }[])[0]!.interaction).toContainEqual({
      code: 'search-system',
    });
    for (const name of names) {
      if (!name.startsWith('_'))
        expect(parseSearch('Observation', new URLSearchParams(`${name}:missing=true`)).ok, name).toBe(true);
    }
  });
});
