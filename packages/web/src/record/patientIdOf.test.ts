import { describe, expect, it } from 'vitest';
import { patientIdOf } from './patientIdOf';

describe('the patient id of an account', () => {
  it('reads the node’s link object, or a plain id', () => {
    expect(patientIdOf({ patient: { fhirId: 'p-1', pseudonym: '0xabc' } })).toBe('p-1');
    expect(patientIdOf({ patient: 'p-2' })).toBe('p-2');
    expect(patientIdOf({})).toBeUndefined();
    expect(patientIdOf({ patient: { pseudonym: '0xabc' } })).toBeUndefined();
  });
});
