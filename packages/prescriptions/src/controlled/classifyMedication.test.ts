import { describe, expect, it } from 'vitest';
import { classifyMedication, controlledIngredientNames, RXNORM_SYSTEM } from './classifyMedication.js';
import { CONTROLLED_INGREDIENTS, controlledIngredient } from './controlledSubstances.js';
import { parseStrength } from './parseStrength.js';

const concept = (display: string, code?: string) => ({
  coding: [{ system: RXNORM_SYSTEM, ...(code === undefined ? {} : { code }), display }],
  text: display,
});

describe('parseStrength', () => {
  it('reads mass strengths per unit, per mL, per hour and per actuation', () => {
    expect(parseStrength('oxyCODONE Hydrochloride 5 MG Oral Tablet')).toEqual({ mg: 5, basis: 'unit' });
    expect(parseStrength('72 HR Fentanyl 0.025 MG/HR Transdermal System')).toEqual({ mg: 0.025, basis: 'h' });
    expect(parseStrength('1 ML Morphine Sulfate 4 MG/ML Injection')).toEqual({ mg: 4, basis: 'mL' });
    expect(parseStrength('Fentanyl 100 MCG/ACTUAT Nasal Spray')).toEqual({ mg: 0.1, basis: 'actuation' });
    expect(parseStrength('Codeine 0.5 G')).toEqual({ mg: 500, basis: 'unit' });
  });

  it('refuses what is not a mass strength rather than guessing', () => {
    expect(parseStrength('Clonazepam [Klonopin]')).toBeUndefined();
    expect(parseStrength('72 HR Fentanyl Transdermal System')).toBeUndefined();
    expect(parseStrength('insulin 70 UNT/ML')).toBeUndefined();
    expect(parseStrength('Morphine 0 MG Oral Tablet')).toBeUndefined();
    expect(parseStrength('Oxycodone 5 MGX')).toBeUndefined();
  });
});

describe('classifyMedication', () => {
  it('finds the opioid of a combination product, with its own strength, through tall-man lettering', () => {
    const c = classifyMedication(concept('Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet'));
    expect(c.ingredients.map((i) => [i.ingredient.name, i.strength])).toEqual([
      ['oxycodone', { mg: 5, basis: 'unit' }],
    ]);
    expect(c.transdermal).toBe(false);
  });

  it('reads a brand alias but never takes a strength from a segment that only names the brand', () => {
    const c = classifyMedication(
      concept('Hydrocodone Bitartrate 5 MG / Acetaminophen 325 MG Oral Tablet [Vicodin]'),
    );
    expect(c.ingredients.map((i) => [i.ingredient.name, i.strength?.mg])).toEqual([['hydrocodone', 5]]);
    const brandOnly = classifyMedication({ text: 'Vicodin' });
    expect(brandOnly.ingredients.map((i) => [i.ingredient.name, i.strength])).toEqual([
      ['hydrocodone', undefined],
    ]);
  });

  it('recognises a patch as transdermal', () => {
    const c = classifyMedication(concept('72 HR Fentanyl 0.025 MG/HR Transdermal System'));
    expect(c.transdermal).toBe(true);
    expect(c.ingredients[0]?.strength).toEqual({ mg: 0.025, basis: 'h' });
  });

  it('matches whole words only', () => {
    expect(
      controlledIngredientNames(
        concept(
          'Acetaminophen 21.7 MG/ML / Dextromethorphan Hydrobromide 1 MG/ML / doxylamine succinate 0.417 MG/ML Oral Solution',
        ),
      ),
    ).toEqual([]);
    expect(controlledIngredientNames({ text: 'Dihydrocodeine 16 MG' })).toEqual([]);
    expect(controlledIngredientNames({ text: 'Dextroamphetamine 10 MG' })).toEqual(['dextroamphetamine']);
    expect(controlledIngredientNames({ text: 'Hydromorphone 2 MG' })).toEqual(['hydromorphone']);
  });

  it('recognises RxNorm ingredient and known product codes without a display, and only under RxNorm', () => {
    expect(controlledIngredientNames({ coding: [{ system: RXNORM_SYSTEM, code: '7804' }] })).toEqual([
      'oxycodone',
    ]);
    expect(controlledIngredientNames({ coding: [{ system: RXNORM_SYSTEM, code: '1049221' }] })).toEqual([
      'oxycodone',
    ]);
    expect(
      controlledIngredientNames({ coding: [{ system: 'http://snomed.info/sct', code: '7804' }] }),
    ).toEqual([]);
  });

  it('classifies malformed values as not controlled', () => {
    for (const bad of [
      undefined,
      null,
      'oxycodone',
      42,
      { coding: 'x' },
      { coding: [null, 1] },
      { text: 5 },
    ]) {
      expect(classifyMedication(bad)).toEqual({ ingredients: [], transdermal: false });
    }
  });

  it('finds two controlled ingredients of one product in table order', () => {
    expect(
      controlledIngredientNames({
        text: 'Carisoprodol 200 MG / Aspirin 325 MG / Codeine Phosphate 16 MG Oral Tablet',
      }),
    ).toEqual(['codeine', 'carisoprodol']);
  });
});

describe('controlled substance table', () => {
  it('holds the CDC 2022 factors and the schedules named for the product', () => {
    const factor = (n: string) => controlledIngredient(n)?.mmeFactor;
    expect(factor('codeine')).toBe(0.15);
    expect(factor('hydrocodone')).toBe(1);
    expect(factor('hydromorphone')).toBe(5);
    expect(factor('methadone')).toBe(4.7);
    expect(factor('morphine')).toBe(1);
    expect(factor('oxycodone')).toBe(1.5);
    expect(factor('oxymorphone')).toBe(3);
    expect(factor('tapentadol')).toBe(0.4);
    expect(factor('tramadol')).toBe(0.2);
    expect(factor('meperidine')).toBe(0.1);
    expect(controlledIngredient('fentanyl')?.transdermalMmeFactor).toBe(2.4);
    expect(controlledIngredient('buprenorphine')).toMatchObject({ schedule: 'III', class: 'opioid' });
    expect(controlledIngredient('buprenorphine')?.mmeFactor).toBeUndefined();
    expect(controlledIngredient('zolpidem')?.schedule).toBe('IV');
    expect(controlledIngredient('carisoprodol')?.schedule).toBe('IV');
    expect(controlledIngredient('methylphenidate')?.schedule).toBe('II');
    for (const i of CONTROLLED_INGREDIENTS.filter((x) => x.class === 'benzodiazepine'))
      expect(i.schedule).toBe('IV');
  });

  it('lists each ingredient name and each RxNorm code once', () => {
    const names = CONTROLLED_INGREDIENTS.map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
    const codes = CONTROLLED_INGREDIENTS.flatMap((i) => i.rxnormIngredient ?? []);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
