import { isMdlError } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import { assessControlledSubstanceRisk, type RiskSignal, RiskSignalCode } from './riskSignals.js';
import type { TaggedDispense, TaggedPrescription } from './supplyHistory.js';

// Product displays as they appear in the Synthea data (shared/data/synthea), plus morphine at 1 mg so that a
// dose count sets the MME exactly.
const OXYCODONE = 'Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet'; // 1 every 6 h = 30 MME
const MEPERIDINE = 'Meperidine Hydrochloride 50 MG Oral Tablet';
const DIAZEPAM = 'Diazepam 5 MG Oral Tablet';
const MORPHINE_1MG = 'Morphine Sulfate 1 MG Oral Tablet';
const AMOXICILLIN = 'Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet';

const DAY0 = Date.UTC(2024, 0, 1);
const date = (day: number) => new Date(DAY0 + day * 86_400_000).toISOString().slice(0, 10);

interface RxOptions {
  day?: number;
  prescriber?: string;
  perDose?: number;
  everyHours?: number;
  supplyDays?: number;
  status?: string;
}

function rx(id: string, text: string, o: RxOptions = {}): TaggedPrescription {
  return {
    resource: {
      resourceType: 'MedicationRequest',
      id,
      status: o.status ?? 'active',
      intent: 'order',
      medicationCodeableConcept: { text },
      subject: { reference: 'Patient/p1' },
      authoredOn: `${date(o.day ?? 0)}T10:00:00+00:00`,
      dosageInstruction: [
        {
          timing: { repeat: { frequency: 1, period: o.everyHours ?? 6, periodUnit: 'h' } },
          doseAndRate: [{ doseQuantity: { value: o.perDose ?? 1 } }],
        },
      ],
      ...(o.supplyDays === undefined
        ? {}
        : { dispenseRequest: { expectedSupplyDuration: { value: o.supplyDays, unit: 'days' } } }),
    },
    prescriber: o.prescriber ?? 'dr-a',
    organisation: 'clinic-1',
  };
}

interface DispenseOptions {
  day: number;
  days?: number;
  pharmacy?: string;
  prescription?: string;
  text?: string;
  prescriber?: string;
}

function dispense(id: string, o: DispenseOptions): TaggedDispense {
  return {
    resource: {
      resourceType: 'MedicationDispense',
      id,
      status: 'completed',
      ...(o.text === undefined ? {} : { medicationCodeableConcept: { text: o.text } }),
      ...(o.prescription === undefined
        ? {}
        : { authorizingPrescription: [{ reference: `MedicationRequest/${o.prescription}` }] }),
      whenHandedOver: `${date(o.day)}T15:30:00Z`,
      ...(o.days === undefined
        ? {}
        : { daysSupply: { value: o.days, unit: 'day', system: 'http://unitsofmeasure.org', code: 'd' } }),
    },
    pharmacy: o.pharmacy ?? 'pharmacy-1',
    ...(o.prescriber === undefined ? {} : { prescriber: o.prescriber }),
  };
}

const codes = (signals: readonly RiskSignal[]) => signals.map((s) => s.code).sort();
const find = (signals: readonly RiskSignal[], code: string) => signals.find((s) => s.code === code);

describe('daily MME across concurrent opioid supplies', () => {
  const morphine = (id: string, mgPerDay: number, day = 0, supplyDays = 30) =>
    rx(id, MORPHINE_1MG, { perDose: mgPerDay, everyHours: 24, day, supplyDays });

  it('is silent at 49, cautions at 50 and at 89, is high at 90', () => {
    const at = (mme: number) => assessControlledSubstanceRisk([morphine('m', mme)], []).signals;
    expect(at(49)).toEqual([]);
    expect(codes(at(50))).toEqual([RiskSignalCode.MmeCaution]);
    expect(find(at(89), RiskSignalCode.MmeCaution)).toMatchObject({
      severity: 'moderate',
      value: 89,
      threshold: 50,
    });
    expect(codes(at(89))).toEqual([RiskSignalCode.MmeCaution]);
    expect(find(at(90), RiskSignalCode.MmeHigh)).toMatchObject({
      severity: 'high',
      value: 90,
      threshold: 90,
      evidence: ['MedicationRequest/m'],
      period: { start: '2024-01-01', end: '2024-01-01' },
    });
    expect(codes(at(90))).toEqual([RiskSignalCode.MmeHigh]);
  });

  it('adds supplies only on the days they overlap', () => {
    // 30 MME oxycodone for days 0–29 and 60 MME morphine: from day 29 they overlap (90), from day 30 not (60).
    const oxy = rx('oxy', OXYCODONE, { supplyDays: 30 });
    const overlapping = assessControlledSubstanceRisk([oxy, morphine('m', 60, 29)], []).signals;
    expect(find(overlapping, RiskSignalCode.MmeHigh)).toMatchObject({
      value: 90,
      evidence: ['MedicationRequest/m', 'MedicationRequest/oxy'],
      period: { start: '2024-01-30', end: '2024-01-30' },
    });
    const adjacent = assessControlledSubstanceRisk([oxy, morphine('m', 60, 30)], []).signals;
    expect(find(adjacent, RiskSignalCode.MmeHigh)).toBeUndefined();
    expect(find(adjacent, RiskSignalCode.MmeCaution)).toMatchObject({
      value: 60,
      evidence: ['MedicationRequest/m'],
    });
  });

  it('uses the dispensed days supply and the linked prescription dosage, counting a dispensed prescription once', () => {
    const result = assessControlledSubstanceRisk(
      [rx('oxy', OXYCODONE, { perDose: 2 }), rx('mep', MEPERIDINE, { everyHours: 4, day: 5 })],
      [
        dispense('d1', { day: 1, days: 10, prescription: 'oxy' }),
        dispense('d2', { day: 5, days: 5, prescription: 'mep' }),
      ],
    );
    expect(
      result.episodes.map((e) => [e.source, e.prescription, e.startDay - DAY0 / 86_400_000, e.days]),
    ).toEqual([
      ['MedicationDispense/d1', 'MedicationRequest/oxy', 1, 10],
      ['MedicationDispense/d2', 'MedicationRequest/mep', 5, 5],
    ]);
    // 60 (oxycodone 2 tablets every 6 h) + 30 (meperidine 50 mg every 4 h) on days 5–9.
    expect(find(result.signals, RiskSignalCode.MmeHigh)).toMatchObject({
      value: 90,
      evidence: ['MedicationDispense/d1', 'MedicationDispense/d2'],
    });
    expect(find(result.signals, RiskSignalCode.MmeUnknown)).toBeUndefined();
  });

  it('reports supplies of unknown dose or length as a lower-bound warning, not as zero', () => {
    const noDays = rx('oxy', OXYCODONE); // no supply length, no dispense: as in the Synthea data
    const unknownDose: TaggedPrescription = {
      ...rx('vic', 'Vicodin', { supplyDays: 10 }),
    };
    const result = assessControlledSubstanceRisk([noDays, unknownDose], []);
    expect(result.signals).toEqual([
      expect.objectContaining({
        code: RiskSignalCode.MmeUnknown,
        severity: 'low',
        value: 2,
        evidence: ['MedicationRequest/oxy', 'MedicationRequest/vic'],
      }),
    ]);
  });
});

describe('overlapping opioids from different prescribers', () => {
  it('signals overlap between prescribers, not the same prescriber and not back-to-back supplies', () => {
    const a = rx('a', OXYCODONE, { prescriber: 'dr-a', supplyDays: 10 });
    const b = (day: number, prescriber: string) =>
      rx('b', MEPERIDINE, { prescriber, day, supplyDays: 10, everyHours: 12 });
    const overlap = assessControlledSubstanceRisk([a, b(9, 'dr-b')], []).signals;
    expect(find(overlap, RiskSignalCode.OpioidOverlapPrescribers)).toMatchObject({
      severity: 'moderate',
      value: 2,
      evidence: ['MedicationRequest/a', 'MedicationRequest/b'],
      period: { start: '2024-01-10', end: '2024-01-10' },
    });
    expect(
      find(
        assessControlledSubstanceRisk([a, b(9, 'dr-a')], []).signals,
        RiskSignalCode.OpioidOverlapPrescribers,
      ),
    ).toBeUndefined();
    expect(
      find(
        assessControlledSubstanceRisk([a, b(10, 'dr-b')], []).signals,
        RiskSignalCode.OpioidOverlapPrescribers,
      ),
    ).toBeUndefined();
  });
});

describe('opioid and benzodiazepine', () => {
  it('signals overlapping supplies with high severity, not adjacent ones or benzodiazepines alone', () => {
    const opioid = rx('o', OXYCODONE, { supplyDays: 14 });
    const benzo = (day: number) => rx('z', DIAZEPAM, { day, supplyDays: 14, everyHours: 8 });
    const signal = find(
      assessControlledSubstanceRisk([opioid, benzo(13)], []).signals,
      RiskSignalCode.OpioidBenzodiazepine,
    );
    expect(signal).toMatchObject({
      severity: 'high',
      evidence: ['MedicationRequest/o', 'MedicationRequest/z'],
    });
    expect(signal?.summary).not.toMatch(/oxycodone|diazepam|2024/i);
    expect(
      find(
        assessControlledSubstanceRisk([opioid, benzo(14)], []).signals,
        RiskSignalCode.OpioidBenzodiazepine,
      ),
    ).toBeUndefined();
    expect(assessControlledSubstanceRisk([benzo(0), benzo(3)], []).signals).toEqual([]);
  });

  it('also finds the overlap between dispenses from different organisations', () => {
    const result = assessControlledSubstanceRisk(
      [],
      [
        dispense('o1', { day: 0, days: 7, text: OXYCODONE, prescriber: 'dr-a', pharmacy: 'ph-1' }),
        dispense('z1', {
          day: 6,
          days: 30,
          text: 'Clonazepam [Klonopin]',
          prescriber: 'dr-b',
          pharmacy: 'ph-2',
        }),
      ],
    );
    expect(find(result.signals, RiskSignalCode.OpioidBenzodiazepine)?.period).toEqual({
      start: '2024-01-07',
      end: '2024-01-07',
    });
  });
});

describe('multiple prescribers and pharmacies within the window', () => {
  const prescribers = (days: number[]) =>
    days.map((day, i) => rx(`r${i}`, OXYCODONE, { day, prescriber: `dr-${i}` }));

  it('signals 4 prescribers within 90 days, not 3, and not 4 spread over more than 90 days', () => {
    expect(
      find(
        assessControlledSubstanceRisk(prescribers([0, 10, 20]), []).signals,
        RiskSignalCode.MultiplePrescribers,
      ),
    ).toBeUndefined();
    const four = find(
      assessControlledSubstanceRisk(prescribers([0, 10, 20, 89]), []).signals,
      RiskSignalCode.MultiplePrescribers,
    );
    expect(four).toMatchObject({
      severity: 'moderate',
      value: 4,
      threshold: 4,
      period: { start: '2024-01-01', end: '2024-03-30' },
      evidence: [
        'MedicationRequest/r0',
        'MedicationRequest/r1',
        'MedicationRequest/r2',
        'MedicationRequest/r3',
      ],
    });
    expect(
      find(
        assessControlledSubstanceRisk(prescribers([0, 10, 20, 90]), []).signals,
        RiskSignalCode.MultiplePrescribers,
      ),
    ).toBeUndefined();
  });

  it('counts a repeated prescriber once and honours custom thresholds and windows', () => {
    const repeated = [...prescribers([0, 10, 20]), rx('again', OXYCODONE, { day: 30, prescriber: 'dr-0' })];
    expect(
      find(assessControlledSubstanceRisk(repeated, []).signals, RiskSignalCode.MultiplePrescribers),
    ).toBeUndefined();
    expect(
      find(
        assessControlledSubstanceRisk(repeated, [], { prescriberThreshold: 3 }).signals,
        RiskSignalCode.MultiplePrescribers,
      ),
    ).toMatchObject({ value: 3, threshold: 3 });
    expect(
      find(
        assessControlledSubstanceRisk(prescribers([0, 10, 20, 90]), [], { windowDays: 91 }).signals,
        RiskSignalCode.MultiplePrescribers,
      ),
    ).toMatchObject({ value: 4 });
  });

  it('signals 4 pharmacies within 90 days, not 3', () => {
    const fills = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        dispense(`f${i}`, { day: i * 29, text: DIAZEPAM, pharmacy: `ph-${i}`, prescriber: 'dr-a' }),
      );
    expect(
      find(assessControlledSubstanceRisk([], fills(3)).signals, RiskSignalCode.MultiplePharmacies),
    ).toBeUndefined();
    expect(
      find(assessControlledSubstanceRisk([], fills(4)).signals, RiskSignalCode.MultiplePharmacies),
    ).toMatchObject({
      value: 4,
      evidence: [
        'MedicationDispense/f0',
        'MedicationDispense/f1',
        'MedicationDispense/f2',
        'MedicationDispense/f3',
      ],
    });
    expect(
      find(assessControlledSubstanceRisk([], fills(4)).signals, RiskSignalCode.MultiplePrescribers),
    ).toBeUndefined();
  });
});

describe('early refill', () => {
  const fills = (secondDay: number, days = 30, text = OXYCODONE) => [
    dispense('f1', { day: 0, days, text }),
    dispense('f2', { day: secondDay, days, text }),
  ];

  it('signals a fill before 75 % of the previous supply, not at or after it', () => {
    // 30 days: 22.5 days must elapse.
    expect(
      find(assessControlledSubstanceRisk([], fills(22)).signals, RiskSignalCode.EarlyRefill),
    ).toMatchObject({
      severity: 'moderate',
      value: 22,
      threshold: 22.5,
      evidence: ['MedicationDispense/f1', 'MedicationDispense/f2'],
    });
    expect(
      find(assessControlledSubstanceRisk([], fills(23)).signals, RiskSignalCode.EarlyRefill),
    ).toBeUndefined();
    // 28 days: exactly 21 days is not early, 20 is.
    expect(
      find(assessControlledSubstanceRisk([], fills(21, 28)).signals, RiskSignalCode.EarlyRefill),
    ).toBeUndefined();
    expect(
      find(assessControlledSubstanceRisk([], fills(20, 28)).signals, RiskSignalCode.EarlyRefill),
    ).toBeDefined();
  });

  it('compares fills of the same ingredients only, and needs a known days supply', () => {
    const mixed = [
      dispense('f1', { day: 0, days: 30, text: OXYCODONE }),
      dispense('f2', { day: 5, days: 30, text: MEPERIDINE }),
    ];
    expect(
      find(assessControlledSubstanceRisk([], mixed).signals, RiskSignalCode.EarlyRefill),
    ).toBeUndefined();
    const unknown = [
      dispense('f1', { day: 0, text: DIAZEPAM }),
      dispense('f2', { day: 1, days: 30, text: DIAZEPAM }),
    ];
    expect(
      find(assessControlledSubstanceRisk([], unknown).signals, RiskSignalCode.EarlyRefill),
    ).toBeUndefined();
    expect(
      find(
        assessControlledSubstanceRisk([], fills(23), { earlyRefillFraction: 0.9 }).signals,
        RiskSignalCode.EarlyRefill,
      ),
    ).toMatchObject({ threshold: 27 });
  });
});

describe('bad input', () => {
  it('skips malformed, unusable and non-controlled records with a reason, and never throws on them', () => {
    const good = rx('ok', OXYCODONE, { supplyDays: 10 });
    const result = assessControlledSubstanceRisk(
      [
        good,
        { resource: null, prescriber: 'x', organisation: 'y' },
        { resource: { resourceType: 'Patient', id: 'p' }, prescriber: 'x', organisation: 'y' },
        { resource: { ...(good.resource as object), id: undefined }, prescriber: 'x', organisation: 'y' },
        { ...good, prescriber: '' },
        rx('gone', OXYCODONE, { status: 'entered-in-error' }),
        rx('amox', AMOXICILLIN),
        {
          ...good,
          resource: {
            ...(good.resource as object),
            id: 'ref',
            medicationCodeableConcept: undefined,
            medicationReference: { reference: 'Medication/m' },
          },
        },
        { ...good, resource: { ...(good.resource as object), id: 'nodate', authoredOn: '2024' } },
        null as unknown as TaggedPrescription,
      ],
      [
        { resource: 'nope', pharmacy: 'ph' },
        dispense('nodate', { day: 0, text: DIAZEPAM }),
        { ...dispense('x', { day: 0, text: DIAZEPAM }), pharmacy: '' },
        dispense('unknown-med', { day: 0 }),
      ].map((d, i) =>
        i === 1 ? { ...d, resource: { ...(d.resource as object), whenHandedOver: '2024-02-30' } } : d,
      ),
    );
    expect(result.skipped).toEqual([
      { kind: 'prescription', index: 1, reason: 'not-a-resource' },
      { kind: 'prescription', index: 2, reason: 'wrong-resource-type' },
      { kind: 'prescription', index: 3, reason: 'missing-id' },
      { kind: 'prescription', index: 4, reason: 'missing-tag' },
      { kind: 'prescription', index: 5, reason: 'status-excluded' },
      { kind: 'prescription', index: 6, reason: 'not-controlled' },
      { kind: 'prescription', index: 7, reason: 'medication-unresolved' },
      { kind: 'prescription', index: 9, reason: 'not-a-resource' },
      { kind: 'dispense', index: 0, reason: 'not-a-resource' },
      { kind: 'dispense', index: 1, reason: 'missing-date' },
      { kind: 'dispense', index: 2, reason: 'missing-tag' },
      { kind: 'dispense', index: 3, reason: 'medication-unresolved' },
      { kind: 'prescription', index: 8, reason: 'missing-date' },
    ]);
    expect(result.episodes.map((e) => e.source)).toEqual(['MedicationRequest/ok']);
  });

  it('refuses out-of-range options with a stable error code', () => {
    for (const options of [
      { mmeHigh: 0 },
      { mmeCaution: 100, mmeHigh: 90 },
      { prescriberThreshold: 1 },
      { pharmacyThreshold: 2.5 },
      { windowDays: 0 },
      { earlyRefillFraction: 0 },
      { earlyRefillFraction: 1.5 },
      { mmeCaution: Number.NaN },
    ]) {
      let caught: unknown;
      try {
        assessControlledSubstanceRisk([], [], options);
      } catch (e) {
        caught = e;
      }
      expect(isMdlError(caught) && caught.code).toBe('MDL_BAD_INPUT');
    }
  });

  it('reads a medication from a contained Medication', () => {
    const r = rx('c', 'placeholder', { supplyDays: 10, perDose: 3 });
    const resource = {
      ...(r.resource as object),
      medicationCodeableConcept: undefined,
      medicationReference: { reference: '#med' },
      contained: [{ resourceType: 'Medication', id: 'med', code: { text: OXYCODONE } }],
    };
    const result = assessControlledSubstanceRisk([{ ...r, resource }], []);
    expect(result.episodes[0]?.dailyMme).toEqual({ status: 'known', mme: 90 });
    expect(codes(result.signals)).toEqual([RiskSignalCode.MmeHigh]);
  });
});
