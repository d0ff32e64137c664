import { describe, expect, it } from 'vitest';
import { exchangeParameters } from './exchangeParameters';

const pseudonym = `0x${'ab'.repeat(32)}`;

describe('asking another organisation for a patient’s records', () => {
  it('asks for treatment, naming the custodian, the patient’s pseudonym and the types', () => {
    expect(
      exchangeParameters({ custodian: 2, pseudonym, resourceTypes: ['Observation', 'Condition'] }),
    ).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'custodian', valueInteger: 2 },
        { name: 'patient', valueString: pseudonym },
        { name: 'resourceType', valueCode: 'Observation' },
        { name: 'resourceType', valueCode: 'Condition' },
        { name: 'purpose', valueCode: 'TREAT' },
      ],
    });
  });

  it('under emergency access, asks for emergency treatment and cites the session', () => {
    const p = exchangeParameters({
      custodian: 2,
      pseudonym,
      resourceTypes: ['Observation'],
      breakGlassSession: '7',
    });
    expect(p.parameter).toContainEqual({ name: 'purpose', valueCode: 'ETREAT' });
    expect(p.parameter).toContainEqual({ name: 'breakGlass', valueInteger: 7 });
  });
});
