/**
 * The CDS Hooks services on a real node (hospital and regulator on a real chain, the care setting's licensed
 * doctor, patient and operator token): public discovery; a PDDI-CDS example request posted as an EHR sends it
 * gives its cards; malformed requests are 400 and change nothing; service calls need a bearer token; and what the
 * request does not prefetch is read from the node's records as the caller — a doctor without the patient's
 * consent gets exactly the answer of a patient with no medications, and the card once the patient grants access.
 * A second, single node loads the ONC list from ../shared/data as an operator would (MEDLEDGER_INTERACTION_LIST).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DataCategory } from '@medledger/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CareSetting, startCareSetting } from './careSetting.js';
import { SHARED, startTestNode, type TestNode } from './helpers.js';

const REQUESTS = new URL('drugs/pddi-cds/cds-hooks-requests/', SHARED);
const example = (file: string) => JSON.parse(readFileSync(new URL(file, REQUESTS), 'utf8'));
const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const SIGN = '/cds-services/medication-interactions-sign';
const SELECT = '/cds-services/medication-interactions-select';

const orderSign = (
  patientId: string,
  draft: Record<string, unknown>,
  prefetch?: Record<string, unknown>,
) => ({
  hook: 'order-sign',
  hookInstance: 'b5a2c1d0-0000-4000-8000-000000000001',
  context: {
    userId: 'Practitioner/example',
    patientId,
    draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: draft }] },
  },
  ...(prefetch ? { prefetch } : {}),
});
const medication = (id: string, patientId: string, status: string, code: string, display: string) => ({
  resourceType: 'MedicationRequest',
  ...(id ? { id } : {}),
  status,
  intent: 'order',
  subject: { reference: `Patient/${patientId}` },
  medicationCodeableConcept: { coding: [{ system: RX, code, display }], text: display },
});

async function post(origin: string, path: string, body: unknown, token?: string) {
  const res = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : {} };
}

describe('CDS Hooks services at the node', () => {
  let setting: CareSetting;
  let origin: string;
  let ids: Record<string, string>;
  let tokens: Record<string, string>;

  beforeAll(async () => {
    setting = await startCareSetting();
    ({ ids, tokens } = setting);
    origin = new URL(setting.url).origin;
    const created = await setting.call(
      'admin',
      'POST',
      '/MedicationRequest',
      medication('', ids.patient!, 'active', '855332', 'Warfarin Sodium 5 MG Oral Tablet'),
    );
    expect(created.status).toBe(201);
  }, 600_000);

  afterAll(async () => {
    await setting?.close();
  });

  const naproxenFor = (patientId: string) =>
    orderSign(
      patientId,
      medication('draft-1', patientId, 'draft', '849574', 'Naproxen sodium 220 MG Oral Tablet'),
    );
  const medicationCount = async () =>
    ((await setting.call('admin', 'GET', '/MedicationRequest?_count=1000')).body.entry ?? []).length;

  it('discovery is public and offers order-select and order-sign with prefetch templates', async () => {
    const res = await fetch(`${origin}/cds-services`);
    expect(res.status).toBe(200);
    const { services } = (await res.json()) as { services: Record<string, any>[] };
    expect(services.map((s) => [s.hook, s.id])).toEqual([
      ['order-select', 'medication-interactions-select'],
      ['order-sign', 'medication-interactions-sign'],
    ]);
    for (const s of services) {
      expect(s.prefetch).toMatchObject({
        patient: 'Patient/{{context.patientId}}',
        medications: 'MedicationRequest?patient={{context.patientId}}&status=active',
      });
      expect(s.title).toBeTruthy();
      expect(s.description).toBeTruthy();
    }
  });

  it('answers a PDDI-CDS example request as an EHR posts it (STU3 orders, prefetch under its own keys)', async () => {
    const sign = await post(
      origin,
      SIGN,
      example('warfarin-nsaids-order-sign-coordination.json'),
      tokens.admin,
    );
    expect(sign.status).toBe(200);
    expect(sign.body.cards.map((c: any) => [c.indicator, c.summary])).toEqual([
      ['critical', 'Potential interaction: warfarin + ketorolac — increased risk of bleeding'],
    ]);
    const select = await post(
      origin,
      SELECT,
      example('digoxin-cyclosporine-order-select-coordination.json'),
      tokens.admin,
    );
    expect(select.status).toBe(200);
    expect(select.body.cards.map((c: any) => c.summary)).toEqual([
      'Potential interaction: digoxin + cyclosporine — increased risk of digoxin toxicity',
    ]);
    // The retired medication-prescribe hook is taken at the order-sign service.
    const legacy = await post(origin, SIGN, example('request-warfarin-nsaid-scenario-01.json'), tokens.admin);
    expect(legacy.body.cards.map((c: any) => c.indicator)).toEqual(['info']);
  });

  it('answers an empty card list when nothing interacts', async () => {
    const amoxicillin = medication('d2', ids.patient!, 'draft', '308192', 'Amoxicillin 500 MG Oral Tablet');
    const res = await post(origin, SIGN, orderSign(ids.patient!, amoxicillin), tokens.admin);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ cards: [] });
  });

  it('refuses malformed requests with 400 (naming the field, not the data) and changes nothing', async () => {
    const before = await medicationCount();
    const good = naproxenFor(ids.patient!);
    const cases: [unknown, string][] = [
      [{ ...good, hook: 'order-select' }, 'this service answers the order-sign hook'],
      [{ ...good, hookInstance: undefined }, 'hookInstance must be a non-empty string'],
      [
        { ...good, context: { ...good.context, draftOrders: ['Naproxen'] } },
        'context.draftOrders must be a FHIR Bundle',
      ],
      [
        { ...good, context: { ...good.context, patientId: 'Amy Shaw' } },
        'context.patientId is not a FHIR id',
      ],
      [{ ...good, prefetch: 'Amy Shaw' }, 'prefetch must be an object'],
    ];
    for (const [body, message] of cases) {
      const res = await post(origin, SIGN, body, tokens.admin);
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].diagnostics).toBe(message);
      expect(res.text).not.toContain('Amy');
      expect(res.text).not.toContain(ids.patient);
    }
    expect((await post(origin, SIGN, '{"hook": ', tokens.admin)).status).toBe(400);
    expect((await post(origin, '/cds-services/no-such-service', good, tokens.admin)).status).toBe(404);
    expect(await medicationCount()).toBe(before);
  });

  it('service calls need a bearer token of the node', async () => {
    const good = naproxenFor(ids.patient!);
    expect((await post(origin, SIGN, good)).status).toBe(401);
    expect((await post(origin, SIGN, good, 'not-a-token-of-this-node')).status).toBe(401);
    expect(
      (await post(origin, SELECT, example('warfarin-nsaids-order-select-coordination.json'))).status,
    ).toBe(401);
  });

  it('reads missing prefetch as the caller: no consent is exactly a patient without medications', async () => {
    // The operator (system access) sees the patient's warfarin on the node.
    const system = await post(origin, SIGN, naproxenFor(ids.patient!), tokens.admin);
    expect(system.body.cards.map((c: any) => c.summary)).toEqual([
      'Potential interaction: warfarin + naproxen — increased risk of bleeding',
    ]);
    // A licensed doctor without the patient's consent: nothing — the same answer as for a patient with none.
    const denied = await post(origin, SIGN, naproxenFor(ids.patient!), tokens.doctor);
    const none = await post(origin, SIGN, naproxenFor(ids.other!), tokens.doctor);
    const unknown = await post(origin, SIGN, naproxenFor('no-such-patient'), tokens.doctor);
    expect(denied.status).toBe(200);
    expect(denied.text).toBe(none.text);
    expect(denied.text).toBe(unknown.text);
    expect(denied.body).toEqual({ cards: [] });

    // With the patient's grant of their medications to the organisation, the doctor gets the card.
    await setting.grant({ categories: [DataCategory.Medications, DataCategory.Demographics] });
    const granted = await post(origin, SIGN, naproxenFor(ids.patient!), tokens.doctor);
    expect(granted.body.cards.map((c: any) => c.summary)).toEqual([
      'Potential interaction: warfarin + naproxen — increased risk of bleeding',
    ]);
    // Prefetch the EHR sends is used as given (here: an empty medication list — the EHR's view).
    const prefetched = await post(
      origin,
      SIGN,
      {
        ...naproxenFor(ids.patient!),
        prefetch: { medications: { resourceType: 'Bundle', type: 'searchset', entry: [] } },
      },
      tokens.doctor,
    );
    expect(prefetched.body).toEqual({ cards: [] });
  });

  it('ships no drug-name list: without one loaded, simvastatin + amiodarone gives no card', async () => {
    const res = await post(origin, SIGN, simvastatinAmiodarone(), tokens.admin);
    expect(res.body).toEqual({ cards: [] });
  });
});

function simvastatinAmiodarone() {
  const simvastatin = medication('s1', 'p9', 'active', '312961', 'Simvastatin 20 MG Oral Tablet');
  const amiodarone = medication(
    'a1',
    'p9',
    'draft',
    '834357',
    '3 ML Amiodarone hydrocholoride 50 MG/ML Prefilled Syringe',
  );
  return orderSign('p9', amiodarone, {
    medications: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: simvastatin }] },
  });
}

describe('a node with an interaction list loaded (MEDLEDGER_INTERACTION_LIST)', () => {
  let node: TestNode;

  beforeAll(async () => {
    const list = fileURLToPath(new URL('drugs/onc-high-priority/onc_high_priority_members.csv', SHARED));
    node = await startTestNode({ backend: 'pglite', env: { MEDLEDGER_INTERACTION_LIST: list } });
  }, 600_000);

  afterAll(async () => {
    await node?.close();
  });

  it('flags the list’s pairs', async () => {
    const res = await post(new URL(node.url).origin, SIGN, simvastatinAmiodarone(), node.token);
    expect(res.status).toBe(200);
    expect(res.body.cards.map((c: any) => [c.indicator, c.summary, c.source.topic.code])).toEqual([
      ['critical', 'High-priority interaction: simvastatin + amiodarone (#25)', '25'],
    ]);
  });
});
