import { isMdlError } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import {
  applyFhirPathPatch,
  applyJsonPatch,
  conditionalReferencesOf,
  parseConditionalReference,
  validateResource,
} from '../src/index.js';

const patient = {
  resourceType: 'Patient',
  id: 'p1',
  identifier: [
    { system: 'urn:a', value: '1' },
    { system: 'urn:b', value: '2' },
  ],
  name: [{ family: 'Doe', given: ['Jane', 'Q'] }],
  gender: 'female',
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isMdlError(error) ? error.code : 'not an MdlError';
  }
  return undefined;
}

const op = (parts: Record<string, unknown>[]) => ({ name: 'operation', part: parts });
const params = (...operations: Record<string, unknown>[]) => ({
  resourceType: 'Parameters',
  parameter: operations,
});

describe('conditional references', () => {
  it('parses Type?search and refuses result parameters, unknown types and empty searches', () => {
    expect(parseConditionalReference('Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999')).toEqual({
      resourceType: 'Practitioner',
      query: 'identifier=http://hl7.org/fhir/sid/us-npi|999',
    });
    expect(parseConditionalReference('Patient?identifier=a&_count=1')).toBeUndefined();
    expect(parseConditionalReference('Patient?_include=Patient:link')).toBeUndefined();
    expect(parseConditionalReference('Nonsense?identifier=a')).toBeUndefined();
    expect(parseConditionalReference('Patient?')).toBeUndefined();
    expect(parseConditionalReference('Patient/123')).toBeUndefined();
    expect(parseConditionalReference(`Patient?identifier=${'x'.repeat(3000)}`)).toBeUndefined();
  });

  it('finds every conditional reference with its path, contained resources included', () => {
    const found = conditionalReferencesOf({
      resourceType: 'Encounter',
      subject: { reference: 'Patient/1' },
      participant: [{ individual: { reference: 'Practitioner?identifier=a|1' } }],
      contained: [
        { resourceType: 'Location', managingOrganization: { reference: 'Organization?identifier=b|2' } },
      ],
    });
    expect(found).toEqual([
      { path: ['participant', 0, 'individual', 'reference'], reference: 'Practitioner?identifier=a|1' },
      {
        path: ['contained', 0, 'managingOrganization', 'reference'],
        reference: 'Organization?identifier=b|2',
      },
    ]);
  });
});

describe('JSON Patch', () => {
  it('applies add, replace, remove and test without touching the input', () => {
    const out = applyJsonPatch(patient, [
      { op: 'test', path: '/gender', value: 'female' },
      { op: 'replace', path: '/gender', value: 'other' },
      { op: 'add', path: '/name/0/given/-', value: 'R' },
      { op: 'remove', path: '/identifier/1' },
    ]);
    expect(out.gender).toBe('other');
    expect((out.name as any)[0].given).toEqual(['Jane', 'Q', 'R']);
    expect(out.identifier).toHaveLength(1);
    expect(patient.gender).toBe('female');
  });

  it('refuses malformed patches (400) and patches that do not apply (422)', () => {
    expect(codeOf(() => applyJsonPatch(patient, { op: 'add' }))).toBe('MDL_BAD_INPUT');
    expect(codeOf(() => applyJsonPatch(patient, [{ op: 'frobnicate', path: '/a' }]))).toBe('MDL_BAD_INPUT');
    expect(codeOf(() => applyJsonPatch(patient, [{ op: 'add', path: 'gender', value: 1 }]))).toBe(
      'MDL_BAD_INPUT',
    );
    expect(codeOf(() => applyJsonPatch(patient, [{ op: 'add', path: '/__proto__/x', value: 1 }]))).toBe(
      'MDL_BAD_INPUT',
    );
    expect(codeOf(() => applyJsonPatch(patient, [{ op: 'test', path: '/gender', value: 'male' }]))).toBe(
      'MDL_UNPROCESSABLE',
    );
    expect(codeOf(() => applyJsonPatch(patient, [{ op: 'replace', path: '/birthDate/x', value: 1 }]))).toBe(
      'MDL_UNPROCESSABLE',
    );
  });
});

describe('FHIRPath Patch', () => {
  it('evaluates paths with FHIRPath: functions, filters and indexes select the elements to change', () => {
    const out = applyFhirPathPatch(
      patient,
      params(
        op([
          { name: 'type', valueCode: 'replace' },
          { name: 'path', valueString: 'Patient.name.first().given.last()' },
          { name: 'value', valueString: 'Quinn' },
        ]),
        op([
          { name: 'type', valueCode: 'delete' },
          { name: 'path', valueString: "Patient.identifier.where(system.startsWith('urn:a'))" },
        ]),
      ),
    );
    expect((out.name as any)[0].given).toEqual(['Jane', 'Quinn']);
    expect(out.identifier).toEqual([{ system: 'urn:b', value: '2' }]);
    const choice = applyFhirPathPatch(
      { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 1 } },
      params(
        op([
          { name: 'type', valueCode: 'replace' },
          { name: 'path', valueString: 'Observation.value' },
          { name: 'value', valueQuantity: { value: 2, unit: 'mg' } },
        ]),
      ),
    );
    expect(choice.valueQuantity).toEqual({ value: 2, unit: 'mg' });
  });

  it('applies add, insert, delete, replace and move (the spec operation types)', () => {
    const out = applyFhirPathPatch(
      patient,
      params(
        op([
          { name: 'type', valueCode: 'add' },
          { name: 'path', valueString: 'Patient' },
          { name: 'name', valueString: 'birthDate' },
          { name: 'value', valueDate: '1970-01-01' },
        ]),
        op([
          { name: 'type', valueCode: 'add' },
          { name: 'path', valueString: 'Patient' },
          { name: 'name', valueString: 'deceased' },
          { name: 'value', valueBoolean: false },
        ]),
        op([
          { name: 'type', valueCode: 'insert' },
          { name: 'path', valueString: 'Patient.name[0].given' },
          { name: 'index', valueInteger: 0 },
          { name: 'value', valueString: 'Ann' },
        ]),
        op([
          { name: 'type', valueCode: 'replace' },
          { name: 'path', valueString: "Patient.identifier.where(system = 'urn:b').value" },
          { name: 'value', valueString: '3' },
        ]),
        op([
          { name: 'type', valueCode: 'move' },
          { name: 'path', valueString: 'Patient.identifier' },
          { name: 'source', valueInteger: 1 },
          { name: 'destination', valueInteger: 0 },
        ]),
        op([
          { name: 'type', valueCode: 'delete' },
          { name: 'path', valueString: 'Patient.gender' },
        ]),
        op([
          { name: 'type', valueCode: 'delete' },
          { name: 'path', valueString: 'Patient.telecom' },
        ]),
      ),
    );
    expect(out.birthDate).toBe('1970-01-01');
    expect(out.deceasedBoolean).toBe(false);
    expect((out.name as any)[0].given).toEqual(['Ann', 'Jane', 'Q']);
    expect(out.identifier).toEqual([
      { system: 'urn:b', value: '3' },
      { system: 'urn:a', value: '1' },
    ]);
    expect(out.gender).toBeUndefined();
    expect(validateResource(out).ok).toBe(true);
  });

  it('refuses malformed patches (400) and ones that do not apply to the resource (422)', () => {
    const one = (parts: Record<string, unknown>[]) => () => applyFhirPathPatch(patient, params(op(parts)));
    expect(codeOf(() => applyFhirPathPatch(patient, { resourceType: 'Patient' }))).toBe('MDL_BAD_INPUT');
    expect(codeOf(one([{ name: 'type', valueCode: 'add' }]))).toBe('MDL_BAD_INPUT');
    expect(
      codeOf(
        one([
          { name: 'type', valueCode: 'explode' },
          { name: 'path', valueString: 'Patient' },
        ]),
      ),
    ).toBe('MDL_BAD_INPUT');
    expect(
      codeOf(
        one([
          { name: 'type', valueCode: 'delete' },
          { name: 'path', valueString: 'Patient.name.(' },
        ]),
      ),
    ).toBe('MDL_BAD_INPUT');
    for (const path of [
      'Patient.name.select($this.combine($this)).select($this.combine($this))',
      'Patient.descendants()',
      "Patient.name.where(family.matches('(a+)+$'))",
      '%resource.name',
      'Patient.managingOrganization.resolve()',
    ]) {
      expect(
        codeOf(
          one([
            { name: 'type', valueCode: 'delete' },
            { name: 'path', valueString: path },
          ]),
        ),
        path,
      ).toBe('MDL_BAD_INPUT');
    }
    expect(
      codeOf(
        one([
          { name: 'type', valueCode: 'delete' },
          { name: 'path', valueString: "Patient.identifier.where(value = 'select(')" },
        ]),
      ),
    ).toBeUndefined();
    expect(
      codeOf(
        one([
          { name: 'type', valueCode: 'delete' },
          { name: 'path', valueString: "'a literal'" },
        ]),
      ),
    ).toBe('MDL_UNPROCESSABLE');
    expect(
      codeOf(
        one([
          { name: 'type', valueCode: 'delete' },
          { name: 'path', valueString: 'Patient.name.given.count()' },
        ]),
      ),
    ).toBe('MDL_UNPROCESSABLE');
    expect(
      codeOf(
        one([
          { name: 'type', valueCode: 'replace' },
          { name: 'path', valueString: 'Patient.identifier.value' },
          { name: 'value', valueString: 'x' },
        ]),
      ),
    ).toBe('MDL_UNPROCESSABLE');
    expect(
      codeOf(
        one([
          { name: 'type', valueCode: 'add' },
          { name: 'path', valueString: 'Patient' },
          { name: 'name', valueString: 'gender' },
          { name: 'value', valueCode: 'male' },
        ]),
      ),
    ).toBe('MDL_UNPROCESSABLE');
    expect(
      codeOf(
        one([
          { name: 'type', valueCode: 'add' },
          { name: 'path', valueString: 'Patient' },
          { name: 'name', valueString: 'nonsense' },
          { name: 'value', valueString: 'x' },
        ]),
      ),
    ).toBe('MDL_UNPROCESSABLE');
  });
});

describe('required elements', () => {
  it('names a missing required element, nested ones only when their parent is present', () => {
    const r = validateResource({ resourceType: 'Observation', code: { text: 'x' } });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues).toEqual([
        expect.objectContaining({ code: 'required', expression: ['Observation.status'] }),
      ]);
    const nested = validateResource({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      component: [{ code: { text: 'a' } }, { valueString: 'b' }],
    });
    expect(nested.ok).toBe(false);
    if (!nested.ok) expect(nested.issues[0]?.expression).toEqual(['Observation.component[1].code']);
    expect(validateResource({ resourceType: 'Observation', status: 'final', code: { text: 'x' } }).ok).toBe(
      true,
    );
  });

  it('counts a primitive carried only by its extension, and any type of a required choice', () => {
    expect(
      validateResource({
        resourceType: 'Observation',
        _status: {
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' },
          ],
        },
        code: { text: 'x' },
      }).ok,
    ).toBe(true);
    const med = {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/1' },
    };
    const missing = validateResource(med);
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.issues[0]?.expression).toEqual(['MedicationRequest.medication[x]']);
    expect(validateResource({ ...med, medicationCodeableConcept: { text: 'x' } }).ok).toBe(true);
  });

  it('checks resources inside a Bundle and contained resources, naming them by their path', () => {
    const r = validateResource({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Condition' }, request: { method: 'POST', url: 'Condition' } }],
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.expression).toEqual(['Bundle.entry[0].resource.subject']);
  });
});
