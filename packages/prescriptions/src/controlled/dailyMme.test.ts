import { describe, expect, it } from 'vitest';
import { classifyMedication } from './classifyMedication.js';
import { dailyDose } from './dailyDose.js';
import { dailyMme } from './dailyMme.js';

const every = (hours: number, dose: object = { value: 1 }) => [
  {
    timing: { repeat: { frequency: 1, period: hours, periodUnit: 'h' } },
    doseAndRate: [{ doseQuantity: dose }],
  },
];
const med = (text: string) => classifyMedication({ text });

describe('dailyDose', () => {
  it('multiplies the dose by administrations per day from repeat, timeOfDay and timing codes', () => {
    expect(dailyDose(every(6))).toMatchObject({ ok: true, amount: 4, kind: 'count' });
    expect(
      dailyDose([
        {
          timing: { repeat: { frequency: 3, period: 1, periodUnit: 'd' } },
          doseAndRate: [{ doseQuantity: { value: 2, unit: 'tablet' } }],
        },
      ]),
    ).toMatchObject({ ok: true, amount: 6 });
    expect(
      dailyDose([
        {
          timing: { repeat: { timeOfDay: ['08:00:00', '20:00:00'] } },
          doseAndRate: [{ doseQuantity: { value: 1 } }],
        },
      ]),
    ).toMatchObject({ ok: true, amount: 2 });
    expect(
      dailyDose([
        {
          timing: { code: { coding: [{ code: 'TID' }] } },
          doseAndRate: [{ doseQuantity: { value: 5, unit: 'mL' } }],
        },
      ]),
    ).toMatchObject({ ok: true, amount: 15, kind: 'mL' });
  });

  it('uses frequencyMax and the high end of a dose range: risk is judged on the most allowed', () => {
    expect(
      dailyDose([
        {
          timing: { repeat: { frequency: 1, frequencyMax: 2, period: 12, periodUnit: 'h' } },
          doseAndRate: [{ doseRange: { low: { value: 1 }, high: { value: 2 } } }],
        },
      ]),
    ).toMatchObject({ ok: true, amount: 8 });
  });

  it('takes maxDosePerPeriod for as-needed dosing', () => {
    const prn = [
      {
        asNeededBoolean: true,
        timing: { repeat: { frequency: 1, period: 4, periodUnit: 'h' } },
        doseAndRate: [{ doseQuantity: { value: 1 } }],
        maxDosePerPeriod: { numerator: { value: 8 }, denominator: { value: 1, unit: 'day' } },
      },
    ];
    expect(dailyDose(prn)).toMatchObject({ ok: true, amount: 8 });
    const onlyMax = [
      {
        asNeededBoolean: true,
        maxDosePerPeriod: { numerator: { value: 3 }, denominator: { value: 12, code: 'h' } },
      },
    ];
    expect(dailyDose(onlyMax)).toMatchObject({ ok: true, amount: 6 });
  });

  it('adds concurrent dosages and takes the largest of sequential ones', () => {
    const d = (sequence: number, hours: number) => ({ sequence, ...every(hours)[0] });
    expect(dailyDose([d(1, 12), d(1, 12)])).toMatchObject({ ok: true, amount: 4 });
    expect(dailyDose([d(1, 12), d(2, 6)])).toMatchObject({ ok: true, amount: 4 });
    const inMl = { sequence: 2, ...every(6, { value: 5, unit: 'mL' })[0] };
    expect(dailyDose([d(1, 12), inMl])).toEqual({ ok: false, reason: 'dose-unit' });
  });

  it('says why a daily dose is unknown', () => {
    expect(dailyDose(undefined)).toEqual({ ok: false, reason: 'no-dosage' });
    expect(dailyDose([])).toEqual({ ok: false, reason: 'no-dosage' });
    expect(dailyDose([{ timing: { repeat: { frequency: 1, period: 6, periodUnit: 'h' } } }])).toEqual({
      ok: false,
      reason: 'no-dose',
    });
    expect(dailyDose([{ doseAndRate: [{ doseQuantity: { value: 1 } }] }])).toEqual({
      ok: false,
      reason: 'no-frequency',
    });
    expect(dailyDose([{ asNeededBoolean: true, doseAndRate: [{ doseQuantity: { value: 1 } }] }])).toEqual({
      ok: false,
      reason: 'no-frequency',
    });
    expect(dailyDose(every(6, { value: 1, unit: 'drop' }))).toEqual({ ok: false, reason: 'dose-unit' });
    expect(dailyDose(every(6, { value: -1 }))).toEqual({ ok: false, reason: 'no-dose' });
    expect(
      dailyDose([
        {
          timing: { repeat: { period: 6, periodUnit: 'fortnight' } },
          doseAndRate: [{ doseQuantity: { value: 1 } }],
        },
      ]),
    ).toEqual({ ok: false, reason: 'no-frequency' });
  });
});

describe('dailyMme', () => {
  it('computes tablets: oxycodone 5 mg every 6 h is 30 MME, meperidine 50 mg every 4 h is 30 MME', () => {
    expect(
      dailyMme(med('Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet'), every(6)),
    ).toEqual({
      status: 'known',
      mme: 30,
    });
    expect(dailyMme(med('Meperidine Hydrochloride 50 MG Oral Tablet'), every(4))).toEqual({
      status: 'known',
      mme: 30,
    });
    expect(dailyMme(med('Methadone Hydrochloride 10 MG Oral Tablet'), every(8))).toEqual({
      status: 'known',
      mme: 141,
    });
    expect(dailyMme(med('traMADol Hydrochloride 50 MG Oral Tablet'), every(6, { value: 2 }))).toEqual({
      status: 'known',
      mme: 80,
    });
  });

  it('computes liquids from a dose in mL and refuses a dose count against a per-mL strength', () => {
    const liquid = med('Oxycodone Hydrochloride 1 MG/ML Oral Solution');
    expect(dailyMme(liquid, every(6, { value: 5, unit: 'mL' }))).toEqual({ status: 'known', mme: 30 });
    expect(dailyMme(liquid, every(6, { value: 1 }))).toEqual({ status: 'unknown', reason: 'dose-unit' });
  });

  it('computes transdermal fentanyl from mcg/h and patches worn, whatever the change interval', () => {
    const patch = med('72 HR Fentanyl 0.025 MG/HR Transdermal System');
    const change = [
      {
        timing: { repeat: { frequency: 1, period: 72, periodUnit: 'h' } },
        doseAndRate: [{ doseQuantity: { value: 1, unit: 'patch' } }],
      },
    ];
    expect(dailyMme(patch, change)).toEqual({ status: 'known', mme: 60 });
    const two = [{ ...change[0], doseAndRate: [{ doseQuantity: { value: 2, unit: 'patch' } }] }];
    expect(dailyMme(patch, two)).toEqual({ status: 'known', mme: 120 });
  });

  it('takes a dose in mg as mg of the opioid for a single-opioid product', () => {
    expect(dailyMme(med('Morphine Sulfate 15 MG Oral Tablet'), every(12, { value: 30, unit: 'mg' }))).toEqual(
      {
        status: 'known',
        mme: 60,
      },
    );
  });

  it('is not applicable to non-opioids and buprenorphine, and unknown without strength, factor or frequency', () => {
    expect(dailyMme(med('Diazepam 5 MG Oral Tablet'), every(8))).toEqual({ status: 'not-applicable' });
    expect(dailyMme(med('Buprenorphine 8 MG Sublingual Tablet'), every(24))).toEqual({
      status: 'not-applicable',
    });
    expect(dailyMme(med('Vicodin'), every(6))).toEqual({ status: 'unknown', reason: 'no-strength' });
    expect(dailyMme(med('Fentanyl 0.1 MG Buccal Tablet'), every(6))).toEqual({
      status: 'unknown',
      reason: 'no-factor-for-form',
    });
    expect(
      dailyMme(med('Oxycodone 5 MG Oral Tablet'), [{ doseAndRate: [{ doseQuantity: { value: 1 } }] }]),
    ).toEqual({
      status: 'unknown',
      reason: 'no-frequency',
    });
  });
});
