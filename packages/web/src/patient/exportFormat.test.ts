/// <reference types="node" />
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../api/fhir';
import {
  manifestFiles,
  ndjsonFileName,
  nextPage,
  parseProgress,
  pollDelayMs,
  recordBundle,
  recordFileName,
  sameOriginPath,
} from './exportFormat';

const SYNTHEA = fileURLToPath(new URL('../../../../../shared/data/synthea/r4-bundles/', import.meta.url));
const ORIGIN = 'http://127.0.0.1:4000';
const NOW = new Date('2026-12-07T10:00:00Z');

describe('exporting the whole record', () => {
  it('writes one collection Bundle, each resource once', () => {
    const bundle = JSON.parse(
      readFileSync(`${SYNTHEA}Christopher_Abshire_028250cc-cfc0-4dee-a771-78fde1275fcb.json`, 'utf8'),
    ) as { entry: { resource: Resource }[] };
    const resources = bundle.entry.map((e) => e.resource);
    const file = recordBundle([...resources, resources[3]!], NOW);
    expect(file.type).toBe('collection');
    expect(file.entry).toHaveLength(resources.length);
    expect(file.entry![0]!.fullUrl).toBe(`${resources[0]!.resourceType}/${resources[0]!.id}`);
    expect(JSON.parse(JSON.stringify(file)).timestamp).toBe('2026-12-07T10:00:00.000Z');
    expect(recordFileName(NOW)).toBe('my-record-2026-12-07.json');
    expect(ndjsonFileName('Observation', NOW)).toBe('my-record-Observation-2026-12-07.ndjson');
    expect(ndjsonFileName('../x', NOW)).toBe('my-record-x-2026-12-07.ndjson');
  });

  it('follows only same-origin links', () => {
    expect(sameOriginPath(`${ORIGIN}/fhir/$export-status/j1`, ORIGIN)).toBe('/fhir/$export-status/j1');
    expect(sameOriginPath('/fhir/Patient?x=1', ORIGIN)).toBe('/fhir/Patient?x=1');
    expect(sameOriginPath('https://elsewhere.example/fhir/x', ORIGIN)).toBeUndefined();
    expect(sameOriginPath(null, ORIGIN)).toBeUndefined();
    expect(
      nextPage(
        {
          resourceType: 'Bundle',
          link: [{ relation: 'next', url: `${ORIGIN}/fhir/Patient/p/$everything?_offset=500` }],
        },
        ORIGIN,
      ),
    ).toBe('/fhir/Patient/p/$everything?_offset=500');
    expect(
      nextPage({ resourceType: 'Bundle', link: [{ relation: 'self', url: ORIGIN }] }, ORIGIN),
    ).toBeUndefined();
  });

  it('reads the bulk export’s progress, pace and manifest', () => {
    expect(parseProgress('running: 120 resources exported')).toEqual({
      phase: 'running',
      count: 120,
      text: 'Exporting: 120 entries so far…',
    });
    expect(parseProgress('queued: 0 resources exported').phase).toBe('queued');
    expect(parseProgress(null)).toEqual({ phase: 'unknown', text: 'Exporting…' });
    expect(pollDelayMs('2')).toBe(2_000);
    expect(pollDelayMs('120')).toBe(5_000);
    expect(pollDelayMs('x')).toBe(1_000);
    expect(pollDelayMs(null)).toBe(1_000);
    const files = manifestFiles(
      {
        output: [
          { type: 'Observation', url: `${ORIGIN}/fhir/$export-file/j/f2`, count: 99 },
          { type: 'Encounter', url: `${ORIGIN}/fhir/$export-file/j/f1`, count: 21 },
          { type: 'Condition', url: 'https://elsewhere.example/f3', count: 1 },
        ],
      },
      ORIGIN,
      NOW,
    );
    expect(files).toEqual([
      {
        type: 'Encounter',
        count: 21,
        path: '/fhir/$export-file/j/f1',
        name: 'my-record-Encounter-2026-12-07.ndjson',
      },
      {
        type: 'Observation',
        count: 99,
        path: '/fhir/$export-file/j/f2',
        name: 'my-record-Observation-2026-12-07.ndjson',
      },
    ]);
  });
});
