// Reading a posted MedicationRequest into the ledger's terms: the required elements (each refusal names its
// element), the schedule declared or derived from the ingredients, overrides, supply duration. Medications
// from the Synthea sample data (../shared/data).
import { readFileSync } from 'node:fs';
import { Schedule } from '@medledger/contracts';
import { MdlError } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import {
  CONTROLLED_SCHEDULE_EXTENSION,
  INTERACTION_OVERRIDE_EXTENSION,
  orderResourceOf,
  readPrescriptionOrder,
} from './prescriptionOrder.js';

const lines = readFileSync(
  new URL(
    '../../../../../shared/data/synthea/bulk-ndjson-10-patients/MedicationRequest.000.ndjson',
    import.meta.url,
  ),
  'utf8',
).split('\n');
const conceptOf = (pattern: RegExp) =>
  (JSON.parse(lines.find((l) => pattern.test(l))!) as { medicationCodeableConcept: unknown })
    .medicationCodeableConcept;
const lisinopril = conceptOf(/lisinopril/i);
const meperidine = conceptOf(/meperidine/i);
const NOW = 1_760_000_000;

const order = (overrides: Record<string, unknown> = {}) => ({
  resourceType: 'MedicationRequest',
  status: 'active',
  intent: 'order',
  subject: { reference: 'Patient/p-1' },
  medicationCodeableConcept: lisinopril,
  dosageInstruction: [{ text: 'One tablet daily' }],
  dispenseRequest: {
    validityPeriod: { end: '2025-12-31T00:00:00Z' },
    numberOfRepeatsAllowed: 2,
    quantity: { value: 90 },
    expectedSupplyDuration: { value: 30, code: 'd' },
  },
  ...overrides,
});

function refusal(input: Record<string, unknown>): string[] {
  try {
    readPrescriptionOrder(input, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(MdlError);
    return (error as MdlError).issues.flatMap((i) => i.expression);
  }
  throw new Error('accepted');
}

describe('readPrescriptionOrder', () => {
  it('reads the terms, derives "none" for a non-controlled medication and records it', () => {
    const o = readPrescriptionOrder(order(), NOW);
    expect(o).toMatchObject({
      patientId: 'p-1',
      schedule: Schedule.None,
      fillsAllowed: 3,
      quantityAllowed: 90,
      notBefore: NOW,
      notAfter: Date.parse('2025-12-31T00:00:00Z') / 1000,
      supplySeconds: 30 * 86_400,
    });
    expect(o.resource.extension).toEqual([{ url: CONTROLLED_SCHEDULE_EXTENSION, valueCode: 'none' }]);
    expect(o.overrides.size).toBe(0);
  });

  it('derives Schedule II from the ingredients and refuses a less strict declaration', () => {
    expect(readPrescriptionOrder(order({ medicationCodeableConcept: meperidine }), NOW).schedule).toBe(
      Schedule.II,
    );
    const declared = (valueCode: string) =>
      order({
        medicationCodeableConcept: meperidine,
        extension: [{ url: CONTROLLED_SCHEDULE_EXTENSION, valueCode }],
      });
    expect(refusal(declared('none'))).toEqual(['MedicationRequest.extension']);
    expect(refusal(declared('IV'))).toEqual(['MedicationRequest.extension']);
    expect(refusal(declared('VI'))).toEqual(['MedicationRequest.extension']);
    // Stricter is allowed (the prescriber knows the product); so is declaring a schedule for a plain drug.
    expect(readPrescriptionOrder(declared('I'), NOW).schedule).toBe(Schedule.I);
    expect(
      readPrescriptionOrder(
        order({ extension: [{ url: CONTROLLED_SCHEDULE_EXTENSION, valueCode: 'IV' }] }),
        NOW,
      ).schedule,
    ).toBe(Schedule.IV);
  });

  it('reads interaction overrides and refuses one without a reason', () => {
    const override = (reason?: unknown) => ({
      url: INTERACTION_OVERRIDE_EXTENSION,
      extension: [{ url: 'card', valueString: 'card-1' }, ...(reason ? [reason] : [])],
    });
    const o = readPrescriptionOrder(
      order({ extension: [override({ url: 'reason', valueCoding: { code: 'patient-aware' } })] }),
      NOW,
    );
    expect([...o.overrides]).toEqual([['card-1', 'patient-aware']]);
    expect(refusal(order({ extension: [override()] }))).toEqual(['MedicationRequest.extension']);
  });

  it('names the element at fault', () => {
    const dispense = order().dispenseRequest;
    expect(refusal(order({ resourceType: 'Patient' }))).toEqual(['resourceType']);
    expect(refusal(order({ id: 'x' }))).toEqual(['MedicationRequest.id']);
    expect(refusal(order({ status: 'draft' }))).toEqual(['MedicationRequest.status']);
    expect(refusal(order({ intent: 'plan' }))).toEqual(['MedicationRequest.intent']);
    expect(refusal(order({ subject: { reference: 'Group/1' } }))).toEqual(['MedicationRequest.subject']);
    expect(refusal(order({ medicationCodeableConcept: { text: 'lisinopril' } }))).toEqual([
      'MedicationRequest.medicationCodeableConcept',
    ]);
    expect(refusal(order({ dosageInstruction: [] }))).toEqual(['MedicationRequest.dosageInstruction']);
    expect(refusal(order({ dispenseRequest: undefined }))).toEqual(['MedicationRequest.dispenseRequest']);
    expect(refusal(order({ dispenseRequest: { ...dispense, quantity: { value: 2.5 } } }))).toEqual([
      'MedicationRequest.dispenseRequest.quantity.value',
    ]);
    expect(refusal(order({ dispenseRequest: { ...dispense, numberOfRepeatsAllowed: 300 } }))).toEqual([
      'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed',
    ]);
    expect(refusal(order({ dispenseRequest: { ...dispense, validityPeriod: {} } }))).toEqual([
      'MedicationRequest.dispenseRequest.validityPeriod.end',
    ]);
    expect(
      refusal(order({ dispenseRequest: { ...dispense, validityPeriod: { end: '31/12/2025' } } })),
    ).toEqual(['MedicationRequest.dispenseRequest.validityPeriod.end']);
    expect(
      refusal(
        order({ dispenseRequest: { ...dispense, expectedSupplyDuration: { value: 3, unit: 'fortnight' } } }),
      ),
    ).toEqual(['MedicationRequest.dispenseRequest.expectedSupplyDuration']);
  });

  it('takes the MedicationRequest itself or as the resource parameter of Parameters', () => {
    const resource = order();
    expect(orderResourceOf(resource)).toBe(resource);
    expect(orderResourceOf({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource }] })).toBe(
      resource,
    );
    expect(() => orderResourceOf({ resourceType: 'Parameters', parameter: [] })).toThrow(MdlError);
    expect(() => orderResourceOf('text')).toThrow(MdlError);
  });
});
