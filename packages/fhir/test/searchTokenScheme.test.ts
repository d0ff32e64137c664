/**
 * SEARCH_TOKEN_SCHEME must change whenever the tokens of some resource change (docs/fhir.md, "Search index
 * upgrades"): nodes rebuild their index only when it does. This pins a fingerprint of every token searchValuesOf
 * gives the HL7 examples and a Synthea bundle to the scheme number. When it fails after a deliberate change of
 * the tokens: bump SEARCH_TOKEN_SCHEME (searchValuesOf.ts), add a row to the table in docs/fhir.md, and record the
 * new scheme and fingerprint below. Never update the fingerprint alone.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FhirResource } from '../src/FhirResource.js';
import { SEARCH_TOKEN_SCHEME, searchValuesOf } from '../src/searchValuesOf.js';
import { hl7Examples, syntheaBundles } from './data.js';

const PINNED = { scheme: 2, fingerprint: 'bb0416083b2d8a9ccaf9fd3a5e0f3f33079c0108d398eaffdd98eb0fdf8e94fb' };

function fingerprint(): string {
  const resources = [
    ...hl7Examples().map((e) => e.resource as FhirResource),
    ...syntheaBundles()[0]!.bundle.entry.map((e) => e.resource as FhirResource),
  ];
  const lines = resources.flatMap((r, i) =>
    searchValuesOf(r).map((t) => `${i}\u0000${r.resourceType}\u0000${t.param}\u0000${t.value}`),
  );
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex');
}

describe('SEARCH_TOKEN_SCHEME', () => {
  it('changes whenever the tokens of some resource change', () => {
    const now = fingerprint();
    if (SEARCH_TOKEN_SCHEME === PINNED.scheme) {
      expect(now, 'the tokens changed: bump SEARCH_TOKEN_SCHEME (see the comment at the top)').toBe(
        PINNED.fingerprint,
      );
    } else {
      expect(SEARCH_TOKEN_SCHEME, 'a new scheme: record it and its fingerprint here').toBe(PINNED.scheme);
    }
  });
});
