/**
 * The interaction engine against the HL7 PDDI-CDS example requests (all 21, as CDS clients sent them: STU3
 * MedicationRequests, CDS Hooks 1.0 prefetch, the retired medication-prescribe hook), R4 equivalents of a few,
 * and non-interacting orders. Each file's expectation follows from its scenario and the PlanDefinition logic:
 * which pair interacts, and which modifiers (topical route, PPI, age, history of bleeding, corticosteroid,
 * aldosterone antagonist, a second NSAID, digoxin level, electrolytes, diuretics) the request carries.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUMMARY_MAX } from './cdsHooksCard.js';
import { interactionInputOf, parseInteractionRequest } from './cdsHooksRequest.js';
import { checkInteractions } from './checkInteractions.js';

const SHARED = new URL('../../../../../shared/data/', import.meta.url);
const REQUESTS = new URL('drugs/pddi-cds/cds-hooks-requests/', SHARED);

const BLEEDING = 'Potential interaction: warfarin + ketorolac — increased risk of bleeding';
const IBUPROFEN = 'Potential interaction: warfarin + ibuprofen — increased risk of bleeding';
const TOPICAL = 'Potential interaction: warfarin + topical diclofenac — no special precautions';
const DIGOXIN = 'Potential interaction: digoxin + cyclosporine — increased risk of digoxin toxicity';

/**
 * File → expected [indicator, summary] cards. The legacy scenarios were written for evaluation in August 2018
 * (their labs are dated 2018-07/08), the order-select/-sign ones in March 2020 (labs 2020-03-28).
 */
const EXPECTED: Record<string, [string, string][]> = {
  // Digoxin draft; cyclosporine active; digoxin 0.7 ng/mL and normal K, Mg, Ca, creatinine the day before.
  'digoxin-cyclosporine-order-select-coordination.json': [['warning', DIGOXIN]],
  'digoxin-cyclosporine-order-select-no-coordination.json': [['warning', DIGOXIN]],
  'digoxin-cyclosporine-order-sign-coordination.json': [['warning', DIGOXIN]],
  'digoxin-cyclosporine-order-sign-no-coordination.json': [['warning', DIGOXIN]],
  // Ketorolac draft, warfarin active, an acute duodenal ulcer with hemorrhage (history of UGIB), no PPI.
  'multi-update-draft-orders-1.json': [['critical', BLEEDING]],
  // Ketorolac and digoxin drafts against cyclosporine + digoxin: only digoxin interacts (no warfarin).
  'multi-update-draft-orders-2.json': [['warning', DIGOXIN]],
  // Ketorolac and digoxin drafts against warfarin: only ketorolac interacts (no cyclosporine).
  'multi-update-draft-orders-3.json': [['critical', BLEEDING]],
  'multi-update-draft-orders-4.json': [['warning', DIGOXIN]],
  // Cyclosporine draft; digoxin dispensed, digoxin level 2.3 ng/mL, furosemide.
  'request-digoxin-cyclosporine-scenario-01.json': [['critical', DIGOXIN]],
  // Cyclosporine draft; digoxin dispensed; potassium 0.9 mmol/L.
  'request-digoxin-cyclosporine-scenario-02.json': [['critical', DIGOXIN]],
  // Digoxin draft; cyclosporine active; only an eGFR: nothing potentiating, levels missing.
  'request-digoxin-cyclosporine-scenario-03.json': [['warning', DIGOXIN]],
  // Digoxin draft; digoxin dispensed and cyclosporine active; digoxin level 2.3 ng/mL.
  'request-digoxin-cyclosporine-scenario-04.json': [['critical', DIGOXIN]],
  // Topical diclofenac gel draft, warfarin active.
  'request-warfarin-nsaid-scenario-01.json': [['info', TOPICAL]],
  // Ibuprofen draft, warfarin, a PPI (rabeprazole): no risk factor.
  'request-warfarin-nsaid-scenario-02.json': [['warning', IBUPROFEN]],
  // Ibuprofen draft, warfarin dispensed, patient born 1948 (over 65), dexamethasone.
  'request-warfarin-nsaid-scenario-03.json': [['critical', IBUPROFEN]],
  // Ibuprofen draft, warfarin administered, under 65, a second ibuprofen order active.
  'request-warfarin-nsaid-scenario-04.json': [['critical', IBUPROFEN]],
  // Ibuprofen draft, warfarin statement, under 65, spironolactone.
  'request-warfarin-nsaid-scenario-05.json': [['critical', IBUPROFEN]],
  'warfarin-nsaids-order-select-coordination.json': [['critical', BLEEDING]],
  'warfarin-nsaids-order-select-no-coordination.json': [['critical', BLEEDING]],
  'warfarin-nsaids-order-sign-coordination.json': [['critical', BLEEDING]],
  'warfarin-nsaids-order-sign-no-coordination.json': [['critical', BLEEDING]],
};

function request(file: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(file, REQUESTS), 'utf8'));
}

function evaluate(body: unknown, now: Date) {
  const parsed = parseInteractionRequest(body);
  if (!parsed.ok) throw new Error(parsed.message);
  return checkInteractions(interactionInputOf(parsed.request, now));
}

const nowFor = (file: string) =>
  new Date(file.startsWith('request-') ? '2018-08-10T00:00:00Z' : '2020-03-29T00:00:00Z');

describe('the PDDI-CDS example requests', () => {
  const files = readdirSync(REQUESTS)
    .filter((f) => f.endsWith('.json'))
    .sort();

  it('are all 21 here, each with an expectation', () => {
    expect(files).toHaveLength(21);
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const file of Object.keys(EXPECTED)) {
    it(`${file} → ${EXPECTED[file]!.map(([i]) => i).join(', ')}`, () => {
      const { cards, ignored } = evaluate(request(file), nowFor(file));
      expect(ignored).toEqual([]);
      expect(cards.map((c) => [c.indicator, c.summary])).toEqual(EXPECTED[file]);
      for (const card of cards) {
        expect([...card.summary].length).toBeLessThanOrEqual(SUMMARY_MAX);
        expect(card.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(card.source.label).toMatch(/^HL7 PDDI-CDS/);
        expect(card.source.url).toMatch(/^https?:\/\//);
        if (card.suggestions?.length) expect(card.selectionBehavior).toBeDefined();
      }
    });
  }

  it('gives the same cards, uuids included, for the same request', () => {
    const file = 'warfarin-nsaids-order-select-coordination.json';
    expect(evaluate(request(file), nowFor(file))).toEqual(evaluate(request(file), nowFor(file)));
  });

  it('suggests replacing a draft NSAID by acetaminophen, or cancelling it, and adding a PPI', () => {
    const file = 'warfarin-nsaids-order-select-coordination.json';
    const [card] = evaluate(request(file), nowFor(file)).cards;
    expect(card!.selectionBehavior).toBe('at-most-one');
    const [substitute, cancel, ppi] = card!.suggestions!;
    expect(substitute!.label).toBe('Substitute ketorolac with acetaminophen');
    expect(substitute!.actions.map((a) => a.type)).toEqual(['delete', 'create']);
    expect(substitute!.actions[0]!.resourceId).toEqual(['MedicationRequest/ketorolac-draft-order-test']);
    expect(substitute!.actions[1]!.resource).toMatchObject({
      resourceType: 'MedicationRequest',
      status: 'draft',
    });
    expect(cancel!.actions).toEqual([substitute!.actions[0]]);
    expect(ppi!.actions[0]!.resource).toMatchObject({
      medicationCodeableConcept: { coding: [{ code: '198051' }] },
    });
    expect(card!.detail).toContain('| History of upper gastrointestinal bleeding | yes |');
  });

  it('does not suggest a PPI to a patient who takes one, and names the PPI', () => {
    const file = 'request-warfarin-nsaid-scenario-02.json';
    const [card] = evaluate(request(file), nowFor(file)).cards;
    expect(card!.suggestions!.map((s) => s.label)).not.toContain(
      'Add a proton pump inhibitor (omeprazole 20 mg daily)',
    );
    expect(card!.detail).toContain('| Proton pump inhibitor | yes (rabeprazole) |');
  });

  it('offers the missing digoxin level and labs as orders, and only those', () => {
    const missing = evaluate(request('request-digoxin-cyclosporine-scenario-03.json'), nowFor('request-'));
    expect(missing.cards[0]!.suggestions!.map((s) => s.label)).toEqual([
      'Cancel the digoxin order',
      'Order a digoxin level (order digoxin trough within 24 hours from the initiation of cyclosporine)',
      'Order for serum creatinine',
      'Order for electrolyte panel',
    ]);
    const present = evaluate(request('digoxin-cyclosporine-order-select-coordination.json'), nowFor('x'));
    expect(present.cards[0]!.suggestions!.map((s) => s.label)).toEqual(['Cancel the digoxin order']);
  });

  it('judges labs by their date: the same digoxin level a year later no longer counts', () => {
    const late = evaluate(
      request('request-digoxin-cyclosporine-scenario-04.json'),
      new Date('2019-08-10T00:00:00Z'),
    );
    expect(late.cards.map((c) => c.indicator)).toEqual(['warning']);
  });
});

const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const r4Order = (id: string, code: string, display: string, status = 'draft') => ({
  resourceType: 'MedicationRequest',
  id,
  status,
  intent: 'order',
  subject: { reference: 'Patient/p1' },
  medicationCodeableConcept: { coding: [{ system: RX, code, display }], text: display },
  dosageInstruction: [{ doseAndRate: [{ doseQuantity: { value: 1, unit: 'tablet' } }] }],
});
const bundle = (...resources: unknown[]) => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry: resources.map((resource) => ({ resource })),
});
const NOW = new Date('2024-05-01T00:00:00Z');

/** An STU3 MedicationRequest of the examples in R4 shape: encounter, category list, doseAndRate. */
function toR4(resource: Record<string, any>): Record<string, any> {
  if (resource.resourceType !== 'MedicationRequest') return resource;
  const { context, category, dosageInstruction, ...rest } = resource;
  return {
    ...rest,
    ...(context ? { encounter: context } : {}),
    ...(category ? { category: Array.isArray(category) ? category : [category] } : {}),
    ...(dosageInstruction
      ? {
          dosageInstruction: dosageInstruction.map(({ doseQuantity, ...d }: Record<string, any>) => ({
            ...d,
            ...(doseQuantity ? { doseAndRate: [{ doseQuantity }] } : {}),
          })),
        }
      : {}),
  };
}

function r4Request(file: string): Record<string, any> {
  const body = request(file);
  const convert = (bundle: Record<string, any>) => ({
    resourceType: 'Bundle',
    type: 'collection',
    entry: (bundle.entry ?? []).map((e: Record<string, any>) => ({ resource: toR4(e.resource ?? e) })),
  });
  const prefetch = Object.fromEntries(
    Object.entries(body.prefetch as Record<string, any>).map(([k, v]) => [
      k,
      v.resourceType === 'Bundle' ? convert(v) : v,
    ]),
  );
  return { ...body, context: { ...body.context, draftOrders: convert(body.context.draftOrders) }, prefetch };
}

describe('R4 equivalents of example requests give the same cards', () => {
  for (const file of [
    'warfarin-nsaids-order-sign-coordination.json',
    'warfarin-nsaids-order-select-no-coordination.json',
    'digoxin-cyclosporine-order-sign-coordination.json',
    'multi-update-draft-orders-3.json',
  ]) {
    it(file, () => {
      const r4 = r4Request(file);
      const orders = r4.context.draftOrders.entry.map(
        (e: { resource: Record<string, unknown> }) => e.resource,
      );
      expect(orders.every((o: Record<string, unknown>) => !('context' in o))).toBe(true);
      expect(evaluate(r4, nowFor(file))).toEqual(evaluate(request(file), nowFor(file)));
    });
  }
});

describe('R4 requests', () => {
  const warfarin = r4Order('w1', '855332', 'Warfarin Sodium 5 MG Oral Tablet', 'active');
  const naproxen = r4Order('n1', '849574', 'Naproxen sodium 220 MG Oral Tablet');

  it('an R4 order-sign request with prefetch: warfarin + naproxen, aged 70 → critical', () => {
    const { cards } = evaluate(
      {
        hook: 'order-sign',
        hookInstance: 'a3b1c2d4',
        context: { userId: 'Practitioner/d1', patientId: 'p1', draftOrders: bundle(naproxen) },
        prefetch: {
          patient: { resourceType: 'Patient', id: 'p1', birthDate: '1954-02-01' },
          medications: bundle(warfarin),
        },
      },
      NOW,
    );
    expect(cards.map((c) => [c.indicator, c.summary])).toEqual([
      ['critical', 'Potential interaction: warfarin + naproxen — increased risk of bleeding'],
    ]);
    expect(cards[0]!.detail).toContain('| Age 65 or over | yes |');
  });

  it('a contained Medication is read like a code on the order (R4 medicationReference)', () => {
    const draft = {
      resourceType: 'MedicationRequest',
      id: 'd2',
      status: 'draft',
      intent: 'order',
      contained: [
        { resourceType: 'Medication', id: 'm', code: { coding: [{ system: RX, code: '197606' }] } },
      ],
      medicationReference: { reference: '#m' },
      subject: { reference: 'Patient/p1' },
    };
    const cyclosporine = r4Order('c1', '315749', 'Cyclosporine 100 MG', 'active');
    const { cards } = checkInteractions({
      draftOrders: [draft],
      activeMedications: [cyclosporine],
      now: NOW,
    });
    expect(cards.map((c) => c.summary)).toEqual([DIGOXIN]);
  });

  it('a referenced Medication among the records is resolved too', () => {
    const draft = {
      ...r4Order('d3', '0', ''),
      medicationCodeableConcept: undefined,
      medicationReference: { reference: 'Medication/m9' },
    };
    const medication = {
      resourceType: 'Medication',
      id: 'm9',
      code: { coding: [{ system: RX, code: '834022' }] },
    };
    const { cards } = checkInteractions({
      draftOrders: [draft],
      activeMedications: [warfarin],
      patientRecords: [medication],
      now: NOW,
    });
    expect(cards.map((c) => c.summary)).toEqual([BLEEDING]);
  });

  it('both drugs as drafts interact once; a draft echoed in the active list does not interact with itself', () => {
    const both = checkInteractions({ draftOrders: [naproxen, { ...warfarin, status: 'draft' }], now: NOW });
    expect(both.cards).toHaveLength(1);
    const echoed = checkInteractions({ draftOrders: [naproxen], activeMedications: [naproxen], now: NOW });
    expect(echoed.cards).toEqual([]);
  });

  it('non-interacting orders give no cards', () => {
    const amoxicillin = r4Order('a1', '308192', 'Amoxicillin 500 MG Oral Tablet');
    const acetaminophen = r4Order('p1', '313782', 'Acetaminophen 325 MG Oral Tablet', 'active');
    expect(
      checkInteractions({
        draftOrders: [amoxicillin],
        activeMedications: [warfarin, acetaminophen],
        now: NOW,
      }).cards,
    ).toEqual([]);
    expect(
      checkInteractions({ draftOrders: [naproxen], activeMedications: [acetaminophen], now: NOW }).cards,
    ).toEqual([]);
    // Warfarin and an NSAID that are both already active: nothing new is being ordered.
    expect(
      checkInteractions({
        draftOrders: [amoxicillin],
        activeMedications: [warfarin, { ...naproxen, status: 'active' }],
        now: NOW,
      }).cards,
    ).toEqual([]);
  });

  it('a medication entered in error or cancelled is not taken', () => {
    const cards = checkInteractions({
      draftOrders: [naproxen],
      activeMedications: [{ ...warfarin, status: 'entered-in-error' }],
      now: NOW,
    });
    expect(cards.cards).toEqual([]);
    expect(cards.ignored).toEqual([{ role: 'active', index: 0, reason: 'not-taken' }]);
  });

  it('never throws on odd input: unusable parts are listed by position, not content', () => {
    const odd = [
      null,
      42,
      'x',
      [],
      { resourceType: 'Patient' },
      { resourceType: 'MedicationRequest' },
      { foo: 1 },
    ];
    const result = checkInteractions({
      draftOrders: [...odd, naproxen],
      activeMedications: { resourceType: 'Bundle', entry: [null, { resource: 7 }, { resource: warfarin }] },
      patientRecords: [
        { resourceType: 'Observation', valueQuantity: { value: 'high' } },
        { resourceType: 'Condition', code: 5 },
      ],
      now: new Date('not a date'),
    });
    expect(result.cards.map((c) => c.summary)).toEqual([
      'Potential interaction: warfarin + naproxen — increased risk of bleeding',
    ]);
    expect(result.ignored).toEqual([
      { role: 'draft', index: 0, reason: 'not-a-medication-order' },
      { role: 'draft', index: 1, reason: 'no-medication-code' },
    ]);
    expect(checkInteractions({ draftOrders: undefined, now: NOW })).toEqual({ cards: [], ignored: [] });
  });
});
