import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadResourceDefinitions, renderResourceElements } from '../scripts/resourceElements.js';
import type { FhirResource } from '../src/FhirResource.js';
import { MANDATORY_ELEMENTS, SUMMARY_ELEMENTS } from '../src/resourceElements.generated.js';
import { SUBSETTED_SYSTEM, shapeResource } from '../src/shapeResource.js';
import { hl7Examples, syntheaBundles } from './data.js';

const subsetted = (r: FhirResource) =>
  ((r.meta?.tag as { system: string; code: string }[] | undefined) ?? []).some(
    (t) => t.system === SUBSETTED_SYSTEM && t.code === 'SUBSETTED',
  );

const examples = hl7Examples().map((e) => e.resource as FhirResource);
const synthea = syntheaBundles()
  .slice(0, 3)
  .flatMap((b) => b.bundle.entry.map((e) => e.resource as FhirResource));

describe('the generated summary and mandatory element table', () => {
  it('is exactly what the generator renders from the R4 StructureDefinitions today', () => {
    const committed = readFileSync(new URL('../src/resourceElements.generated.ts', import.meta.url), 'utf8');
    expect(renderResourceElements(loadResourceDefinitions())).toBe(committed);
  });

  it('holds what R4 says for well-known types', () => {
    expect(SUMMARY_ELEMENTS.Patient).toEqual(expect.arrayContaining(['id', 'name', 'birthDate', 'gender']));
    expect(SUMMARY_ELEMENTS.Patient).not.toContain('photo');
    expect(SUMMARY_ELEMENTS.Observation).toContain('value[x]');
    expect(SUMMARY_ELEMENTS.Observation).not.toContain('note');
    expect(MANDATORY_ELEMENTS.Observation).toEqual(['status', 'code']);
    expect(MANDATORY_ELEMENTS.Patient).toEqual([]);
  });
});

describe('shapeResource', () => {
  const observation = synthea.find((r) => r.resourceType === 'Observation' && 'valueQuantity' in r)!;
  const patient = synthea.find((r) => r.resourceType === 'Patient')!;

  it('_summary=true keeps only summary elements of every HL7 example and tags it SUBSETTED', () => {
    expect(examples.length).toBeGreaterThan(20);
    for (const r of [...examples, ...synthea]) {
      const shaped = shapeResource(r, { summary: 'true' });
      const allowed = new Set(['resourceType', ...(SUMMARY_ELEMENTS[r.resourceType] ?? [])]);
      for (const k of Object.keys(shaped)) {
        const base = k.replace(/^_/, '');
        const ok =
          allowed.has(base) || [...allowed].some((a) => a.endsWith('[x]') && base.startsWith(a.slice(0, -3)));
        expect(ok, `${r.resourceType}.${k}`).toBe(true);
      }
      expect(shaped.id).toBe(r.id);
      expect(subsetted(shaped)).toBe(true);
    }
  });

  it('_summary=true keeps the choice value and drops text of a Synthea observation', () => {
    const shaped = shapeResource(observation, { summary: 'true' });
    expect(shaped.valueQuantity).toEqual(observation.valueQuantity);
    expect(shaped.code).toEqual(observation.code);
    expect(shaped).not.toHaveProperty('text');
    expect(shaped).not.toHaveProperty('category'); // not a summary element in R4
  });

  it('_summary=text keeps text, id, meta and mandatory elements', () => {
    const shaped = shapeResource(observation, { summary: 'text' });
    expect(Object.keys(shaped).sort()).toEqual(
      ['resourceType', 'id', 'meta', 'status', 'code', ...('text' in observation ? ['text'] : [])].sort(),
    );
  });

  it('_summary=data removes only the narrative', () => {
    const withText = [...examples, ...synthea].find((r) => 'text' in r)!;
    expect(withText).toBeDefined();
    const shaped = shapeResource(withText, { summary: 'data' });
    expect(shaped).not.toHaveProperty('text');
    const { text: _t, meta: _m, ...rest } = withText;
    const { meta: _m2, ...shapedRest } = shaped;
    expect(shapedRest).toEqual(rest);
    expect(subsetted(shaped)).toBe(true);
  });

  it('_elements keeps the listed and mandatory elements, choices by base name, primitive extensions with them', () => {
    const shaped = shapeResource(observation, { elements: ['value', 'subject'] });
    expect(Object.keys(shaped).sort()).toEqual(
      ['resourceType', 'id', 'meta', 'status', 'code', 'subject', 'valueQuantity'].sort(),
    );
    const p = shapeResource({ ...patient, _birthDate: { extension: [] } }, { elements: ['birthDate'] });
    expect(Object.keys(p).sort()).toEqual(['_birthDate', 'birthDate', 'id', 'meta', 'resourceType']);
  });

  it('keeps existing tags, adds SUBSETTED once and leaves the input untouched', () => {
    const tagged = { ...patient, meta: { tag: [{ system: 'urn:x', code: 'y' }] } };
    const once = shapeResource(tagged, { elements: ['name'] });
    const twice = shapeResource(once, { elements: ['name'] });
    expect(twice.meta?.tag).toEqual([
      { system: 'urn:x', code: 'y' },
      expect.objectContaining({ code: 'SUBSETTED' }),
    ]);
    expect(tagged.meta.tag).toHaveLength(1);
    expect(shapeResource(patient, {})).toBe(patient);
  });
});
