/**
 * Checking CDS Hooks requests for the interaction services: what is required per hook, that errors name the
 * field and never echo content, and that the 1.0-style prefetch of the PDDI-CDS examples is found.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseInteractionRequest } from './cdsHooksRequest.js';

const REQUESTS = new URL('../../../../../shared/data/drugs/pddi-cds/cds-hooks-requests/', import.meta.url);
const load = (f: string) => JSON.parse(readFileSync(new URL(f, REQUESTS), 'utf8'));
const SECRET = 'Amy Shaw 1982-01-07';
const valid = () => ({
  hook: 'order-sign',
  hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
  context: { patientId: 'p1', draftOrders: { resourceType: 'Bundle', entry: [] } },
});

describe('parseInteractionRequest', () => {
  it('accepts the example requests and strips a Patient/ prefix from the patient id', () => {
    const legacy = parseInteractionRequest(load('request-warfarin-nsaid-scenario-03.json'));
    expect(legacy.ok && legacy.request.patientId).toBe('patient-warfarin-nsaid-over65-prefetch');
    // Prefetch of the retired hook: under context.prefetch and stray context.itemN keys.
    expect(legacy.ok && Object.keys(legacy.request.prefetch).sort()).toEqual(['item1', 'item2', 'item3']);
    const select = parseInteractionRequest(
      load('warfarin-nsaids-order-select-coordination.json'),
      'order-select',
    );
    expect(select.ok && select.request.draftOrders.map((r) => r.id)).toEqual(['ketorolac-draft-order-test']);
  });

  const cases: [string, (b: Record<string, any>) => unknown, string][] = [
    ['not an object', () => [SECRET], 'the request body must be a JSON object'],
    [
      'unknown hook',
      (b) => ({ ...b, hook: SECRET }),
      'hook must be one of order-select, order-sign, medication-prescribe',
    ],
    ['no hookInstance', (b) => ({ ...b, hookInstance: '' }), 'hookInstance must be a non-empty string'],
    ['no context', (b) => ({ ...b, context: SECRET }), 'context must be an object'],
    [
      'no patient',
      (b) => ({ ...b, context: { ...b.context, patientId: 7 } }),
      'context.patientId must be a string',
    ],
    [
      'bad patient id',
      (b) => ({ ...b, context: { ...b.context, patientId: SECRET } }),
      'context.patientId is not a FHIR id',
    ],
    [
      'draft orders not a Bundle',
      (b) => ({ ...b, context: { ...b.context, draftOrders: [SECRET] } }),
      'context.draftOrders must be a FHIR Bundle',
    ],
    ['prefetch not an object', (b) => ({ ...b, prefetch: [SECRET] }), 'prefetch must be an object'],
  ];
  for (const [what, mutate, message] of cases) {
    it(`refuses ${what}, naming the field and nothing of the content`, () => {
      const r = parseInteractionRequest(mutate(valid()));
      expect(r).toEqual({ ok: false, code: 'MDL_CDS_BAD_REQUEST', message });
      expect(JSON.stringify(r)).not.toContain('Amy');
    });
  }

  it('keeps a prefetch key the client answered (even with nothing), drops one it could not (null)', () => {
    const r = parseInteractionRequest({
      ...valid(),
      prefetch: { medications: { resourceType: 'Bundle', type: 'searchset' }, patient: null },
    });
    expect(r.ok && Object.keys(r.request.prefetch)).toEqual(['medications']);
  });

  it('requires selections for order-select, and the service hook', () => {
    const select = { ...valid(), hook: 'order-select' };
    expect(parseInteractionRequest(select)).toMatchObject({
      ok: false,
      message: 'context.selections must be an array of strings',
    });
    expect(parseInteractionRequest(valid(), 'order-select')).toMatchObject({
      ok: false,
      message: 'this service answers the order-select hook',
    });
    expect(parseInteractionRequest(valid(), 'order-sign').ok).toBe(true);
  });
});
