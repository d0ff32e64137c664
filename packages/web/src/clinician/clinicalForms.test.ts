import { describe, expect, it } from 'vitest';
import {
  conditionResource,
  fieldOfExpression,
  noteResource,
  observationResource,
  orderResource,
  valid,
  validateCondition,
  validateNote,
  validateObservation,
  validateOrder,
} from './clinicalForms';

const observation = {
  code: '4548-4',
  display: 'Hemoglobin A1c',
  value: '6.1',
  unit: '%',
  low: '4',
  high: '5.6',
  status: 'final',
  effective: '',
};

describe('what a clinician writes', () => {
  it('a note needs text; it is a DocumentReference with the text as a UTF-8 attachment', () => {
    expect(validateNote({ title: '', text: '  ' })).toEqual({ text: 'Write the note.' });
    const doc = noteResource('p1', { title: '', text: 'Patient seen — stable' }, 'Dr Grey');
    expect(doc).toMatchObject({
      resourceType: 'DocumentReference',
      status: 'current',
      subject: { reference: 'Patient/p1' },
      description: 'Progress note',
      author: [{ display: 'Dr Grey' }],
    });
    const data = (doc.content as { attachment: { data: string } }[])[0]!.attachment.data;
    expect(new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)))).toBe(
      'Patient seen — stable',
    );
  });

  it('a condition: a name, an optional ICD-10 or SNOMED code, a status, an onset not in the future', () => {
    const ok = { text: 'Type 2 diabetes', code: 'e11.9', clinicalStatus: 'active', onset: '2020-01-31' };
    expect(validateCondition(ok)).toEqual({});
    expect(
      validateCondition({ text: '', code: 'diabetes', clinicalStatus: 'maybe', onset: '2999-01-01' }),
    ).toEqual({
      text: 'Name the condition (e.g. "Type 2 diabetes").',
      code: 'Enter an ICD-10 code (e.g. E11.9) or a SNOMED CT code (digits only), or leave it empty.',
      clinicalStatus: 'Choose a status.',
      onset: 'The onset cannot be in the future.',
    });
    expect(conditionResource('p1', ok).code).toEqual({
      coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'E11.9', display: 'Type 2 diabetes' }],
      text: 'Type 2 diabetes',
    });
    expect(conditionResource('p1', { ...ok, code: '44054006' }).code).toMatchObject({
      coding: [{ system: 'http://snomed.info/sct' }],
    });
  });

  it('an order is a ServiceRequest with intent order', () => {
    expect(validateOrder({ text: '', code: 'x', priority: 'soon', note: '' })).toEqual({
      text: 'Say what is ordered (e.g. "HbA1c").',
      code: 'Enter a LOINC code such as 4548-4, or leave it empty.',
      priority: 'Choose a priority.',
    });
    expect(
      orderResource('p1', { text: 'HbA1c', code: '4548-4', priority: 'routine', note: '' }),
    ).toMatchObject({
      resourceType: 'ServiceRequest',
      intent: 'order',
      status: 'active',
      priority: 'routine',
    });
  });

  it('an observation: LOINC code, numeric value with unit, a sensible reference range', () => {
    expect(validateObservation(observation)).toEqual({});
    expect(
      validateObservation({ ...observation, code: 'A1C', value: 'high', low: '7', high: 'x', status: '' }),
    ).toEqual({
      code: 'Enter the LOINC code, e.g. 4548-4.',
      value: 'Enter the result as a number, e.g. 6.1.',
      high: 'Enter a number, or leave it empty.',
      status: 'Choose a status.',
    });
    expect(validateObservation({ ...observation, unit: '', low: '6', high: '5' })).toEqual({
      unit: 'Enter the unit, e.g. % or mmol/L.',
      high: 'The upper limit must not be below the lower limit.',
    });
    const r = observationResource('p1', observation);
    expect(r).toMatchObject({
      status: 'final',
      valueQuantity: { value: 6.1, unit: '%' },
      referenceRange: [{ low: { value: 4, unit: '%' }, high: { value: 5.6, unit: '%' } }],
    });
    expect(valid(validateObservation(observation))).toBe(true);
  });

  it('maps the node’s OperationOutcome expressions back to the form’s fields', () => {
    expect(fieldOfExpression('Observation', ['Observation.valueQuantity.value'])).toBe('value');
    expect(fieldOfExpression('Observation', ['Observation.code.coding[0].code'])).toBe('code');
    expect(fieldOfExpression('Condition', ['Condition.onsetDateTime'])).toBe('onset');
    expect(fieldOfExpression('Observation', ['Bundle.entry[3].resource.status'])).toBe('status');
    expect(fieldOfExpression('Observation', ['Observation.meta'])).toBeUndefined();
    expect(fieldOfExpression('Observation', undefined)).toBeUndefined();
  });
});

describe('the reason for emergency access', () => {
  it('is mandatory and in words', async () => {
    const { validateBreakGlassReason } = await import('./clinicalForms');
    expect(validateBreakGlassReason('  ')).toMatch(/required/);
    expect(validateBreakGlassReason('1234567890')).toMatch(/in a few words/);
    expect(validateBreakGlassReason('urgent')).toMatch(/in a few words/);
    expect(validateBreakGlassReason('Unconscious on arrival, allergies unknown')).toBeUndefined();
  });
});
