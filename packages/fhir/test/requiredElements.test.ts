import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  loadStructureDefinitions,
  renderRequiredElements,
  requiredElementRules,
} from '../scripts/requiredElements.js';
import { REQUIRED_ELEMENTS } from '../src/index.js';

describe('required elements table', () => {
  it('is exactly what the generator renders from the R4 StructureDefinitions today', () => {
    const committed = readFileSync(new URL('../src/requiredElements.generated.ts', import.meta.url), 'utf8');
    expect(renderRequiredElements(requiredElementRules(loadStructureDefinitions()))).toBe(committed);
  });

  it('holds the R4 minimum cardinalities the spec states', () => {
    expect(REQUIRED_ELEMENTS.Observation?.status?.[0]).toBe(1);
    expect(REQUIRED_ELEMENTS.Observation?.code?.[0]).toBe(1);
    expect(REQUIRED_ELEMENTS['Observation.component']?.code?.[0]).toBe(1);
    expect(REQUIRED_ELEMENTS.MedicationRequest?.['medication[x]']?.[0]).toBe(1);
    expect(REQUIRED_ELEMENTS.Narrative?.div?.[0]).toBe(1);
    expect(REQUIRED_ELEMENTS.Patient?.gender).toBeUndefined();
  });
});
