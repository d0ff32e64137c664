/**
 * The order form's logic against the real interaction engine (@medledger/prescriptions, the one the node's
 * CDS service and $prescribe run) and the HL7 PDDI-CDS warfarin–NSAID example request in shared/data: the
 * draft the form builds is checked, its card's "substitute" suggestion turns the draft into acetaminophen, and
 * the override extensions are the ones the node reads.
 */
import { readFileSync } from 'node:fs';
import { checkInteractions } from '@medledger/prescriptions';
import { describe, expect, it } from 'vitest';
import {
  alertsOf,
  applySuggestion,
  COMMON_DRUGS,
  DRAFT_ID,
  draftSuggestions,
  EMPTY_ORDER,
  INTERACTION_OVERRIDE_EXTENSION,
  type OrderDraft,
  orderResource,
  RXNORM,
  validateOrder,
} from './rxOrder';

const SHARED = new URL('../../../../../shared/data/', import.meta.url);
const NOW = new Date('2026-12-07T10:00:00Z');

/** The warfarin MedicationRequest of the PDDI-CDS example (its prefetch), as an active medication. */
const warfarin = (() => {
  const request = JSON.parse(
    readFileSync(
      new URL('drugs/pddi-cds/cds-hooks-requests/request-warfarin-nsaid-scenario-02.json', SHARED),
      'utf8',
    ),
  ) as unknown;
  let found: Record<string, unknown> | undefined;
  const walk = (v: unknown): void => {
    if (found || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) {
      v.forEach(walk);
      return;
    }
    const o = v as Record<string, unknown>;
    if (o.resourceType === 'MedicationRequest' && JSON.stringify(o).includes('"855295"')) found = o;
    else Object.values(o).forEach(walk);
  };
  walk(request);
  return found!;
})();

const ibuprofen: OrderDraft = { ...EMPTY_ORDER, pick: '197805', quantity: '20' };

describe('the prescriber’s order', () => {
  it('builds the MedicationRequest $prescribe reads: RxNorm coding, dosage, quantity, repeats, validity', () => {
    const r = orderResource(
      'p-1',
      { ...ibuprofen, timesPerDay: '3', repeats: '2', schedule: 'none' },
      {
        now: NOW,
      },
    );
    expect(r).toMatchObject({
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/p-1' },
      medicationCodeableConcept: {
        coding: [{ system: RXNORM, code: '197805', display: 'Ibuprofen 400 MG Oral Tablet' }],
      },
      dosageInstruction: [
        {
          text: '1 tablet 3 times a day',
          timing: { repeat: { frequency: 3, period: 1, periodUnit: 'd' } },
          doseAndRate: [{ doseQuantity: { value: 1, unit: 'tablet' } }],
        },
      ],
      dispenseRequest: {
        numberOfRepeatsAllowed: 2,
        quantity: { value: 20, unit: 'tablet' },
        validityPeriod: { start: NOW.toISOString(), end: '2027-01-06T10:00:00.000Z' },
      },
    });
    expect(r.extension).toEqual([
      {
        url: 'http://medledger.example/fhir/StructureDefinition/controlled-schedule',
        valueCode: 'none',
      },
    ]);
    expect(r.id).toBeUndefined();
  });

  it('refuses incomplete or malformed fields, each with what to enter', () => {
    expect(validateOrder(ibuprofen)).toEqual({});
    const e = validateOrder({
      ...EMPTY_ORDER,
      pick: 'other',
      code: '19x',
      display: ' ',
      dose: '-1',
      doseUnit: '',
      timesPerDay: '0',
      quantity: '1.5',
      repeats: '255',
      validDays: '',
    });
    expect(Object.keys(e).sort()).toEqual(
      ['code', 'display', 'dose', 'doseUnit', 'quantity', 'repeats', 'timesPerDay', 'validDays'].sort(),
    );
    expect(validateOrder(EMPTY_ORDER).pick).toMatch(/Choose a drug/);
  });

  it('turns a draft NSAID into acetaminophen with the real engine’s card for a patient on warfarin', () => {
    const draft = orderResource('p-1', ibuprofen, { now: NOW, id: DRAFT_ID });
    const { cards } = checkInteractions({
      draftOrders: [{ ...draft, subject: warfarin.subject }],
      activeMedications: [warfarin],
      now: NOW,
    });
    const card = cards.find((c) => c.indicator !== 'info');
    expect(card?.summary).toMatch(/warfarin/i);
    const changes = draftSuggestions(card!.suggestions);
    expect(changes.map((s) => s.label)).toEqual(
      expect.arrayContaining([expect.stringMatching(/acetaminophen/i)]),
    );
    const substitute = changes.find((s) => /acetaminophen/i.test(s.label))!;
    const applied = applySuggestion(ibuprofen, substitute);
    expect(applied?.change).toBe('replaced');
    expect(applied?.draft.pick).toBe('198440');
    expect(COMMON_DRUGS.find((d) => d.code === applied?.draft.pick)?.display).toMatch(/Acetaminophen/);
    // The same quantities are kept; the new draft raises no warfarin–NSAID card.
    expect(applied?.draft.quantity).toBe('20');
    const again = checkInteractions({
      draftOrders: [orderResource('p-1', applied!.draft, { now: NOW, id: DRAFT_ID })],
      activeMedications: [warfarin],
      now: NOW,
    });
    expect(again.cards.filter((c) => c.indicator !== 'info')).toEqual([]);
    // "Cancel the order" withdraws the draft; an extra order (a PPI) is advice, not a change of this draft.
    const cancel = changes.find((s) => /^Cancel/.test(s.label));
    expect(cancel && applySuggestion(ibuprofen, cancel)?.change).toBe('withdrawn');
    for (const s of card!.suggestions ?? []) {
      if (!changes.includes(s)) expect(applySuggestion(ibuprofen, s)).toBeUndefined();
    }
  });

  it('reads the alerts of a 409 and writes one override extension per card with its reason', () => {
    const alerts = alertsOf([
      { severity: 'error', code: 'business-rule', diagnostics: 'A critical one', expression: ['card:u-1'] },
      { severity: 'warning', code: 'business-rule', diagnostics: 'A warning', expression: ['card:u-2'] },
      { severity: 'error', code: 'invalid', diagnostics: 'not a card' },
    ]);
    expect(alerts).toEqual([
      { card: 'u-1', summary: 'A critical one', severity: 'critical' },
      { card: 'u-2', summary: 'A warning', severity: 'warning' },
    ]);
    const r = orderResource('p-1', ibuprofen, {
      now: NOW,
      overrides: new Map([['u-1', 'Patient will be monitored']]),
    });
    expect(r.extension).toEqual([
      {
        url: INTERACTION_OVERRIDE_EXTENSION,
        extension: [
          { url: 'card', valueString: 'u-1' },
          { url: 'reason', valueString: 'Patient will be monitored' },
        ],
      },
    ]);
  });
});
