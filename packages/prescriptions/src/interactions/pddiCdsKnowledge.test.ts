/**
 * The vendored PDDI-CDS knowledge is exactly what the committed script renders from shared/data, and holds the
 * value sets the rules rely on.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPddiInputs, PDDI_SOURCE, renderPddiKnowledge } from '../../scripts/pddiKnowledge.js';
import { PDDI_CDS_KNOWLEDGE } from './pddiCdsKnowledge.generated.js';

describe('pddiCdsKnowledge.generated.ts', () => {
  it('equals what scripts/generatePddiKnowledge.ts renders from ../shared/data', () => {
    const committed = readFileSync(new URL('./pddiCdsKnowledge.generated.ts', import.meta.url), 'utf8');
    expect(committed).toBe(renderPddiKnowledge(loadPddiInputs()));
  });

  it('states its provenance and licence in its header', () => {
    const committed = readFileSync(new URL('./pddiCdsKnowledge.generated.ts', import.meta.url), 'utf8');
    const header = committed.split('\n').slice(0, 3).join('\n');
    expect(header).toContain(PDDI_SOURCE.repository);
    expect(header).toContain(PDDI_SOURCE.commit);
    expect(header).toContain('CC0-1.0');
  });

  it('holds every value set of the data, codes trimmed, and the class compositions', () => {
    const csv = readFileSync(
      new URL('../../../../../shared/data/drugs/pddi-cds/pddi_cds_valueset_codes.csv', import.meta.url),
      'utf8',
    );
    const ids = new Set(
      csv
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split(',')[1]),
    );
    expect(new Set(Object.keys(PDDI_CDS_KNOWLEDGE.valueSets))).toEqual(ids);
    expect(PDDI_CDS_KNOWLEDGE.valueSets['valueset-potassium-LOINC'].codes).toContain('12812-4');
    expect(PDDI_CDS_KNOWLEDGE.composition['valueset-NSAIDS']).toContain('valueset-ketorolac');
    expect(PDDI_CDS_KNOWLEDGE.composition['valueset-PPIS']).toHaveLength(6);
  });
});
