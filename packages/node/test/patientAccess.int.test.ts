/**
 * What a caller may do with a patient's record (`GET /fhir/Patient/:id/$access`) and the consortium's
 * organisations by name (`GET /directory/organisations`), on a real chain: the answers follow the node's one
 * decision, and a caller who may see nothing learns nothing — the same 404 as for a patient who does not exist.
 */
import { DataCategory } from '@medledger/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CareSetting, startCareSetting } from './careSetting.js';

const TREAT = { 'x-purpose-of-use': 'TREAT' };

type Part = { name: string; valueCode?: string; valueInstant?: string; valueCoding?: { code?: string } };
const allowedOf = (body: Record<string, any>) =>
  (body.parameter as { name: string; part?: Part[] }[])
    .filter((p) => p.name === 'allowed')
    .map((p) => {
      const part = (n: string) => p.part!.find((x) => x.name === n);
      return {
        category: part('category')?.valueCoding?.code,
        action: part('action')?.valueCode,
        via: part('via')?.valueCode,
        until: part('until')?.valueInstant,
      };
    });

describe('what a caller may see of a patient, and the organisations by name', () => {
  let care: CareSetting;

  beforeAll(async () => {
    care = await startCareSetting();
  }, 180_000);
  afterAll(async () => {
    await care?.close();
  });

  it('without consent a clinician gets the very answer a missing patient gets; with it, what and until when', async () => {
    const { ids } = care;
    const missing = await care.call('doctor', 'GET', '/Patient/no-such-patient/$access', undefined, TREAT);
    const hidden = await care.call('doctor', 'GET', `/Patient/${ids.patient}/$access`, undefined, TREAT);
    expect(missing.status).toBe(404);
    expect(hidden).toEqual(missing);
    expect(JSON.stringify(hidden.body)).not.toContain(ids.patient);

    const validUntil = care.hospital.consent.now() + 3600;
    await care.grant({ categories: [DataCategory.Observations], validUntil });
    const granted = await care.call('doctor', 'GET', `/Patient/${ids.patient}/$access`, undefined, TREAT);
    expect(granted.status).toBe(200);
    expect(granted.body.resourceType).toBe('Parameters');
    expect(granted.body.parameter).toContainEqual({ name: 'purpose', valueCode: 'TREAT' });
    expect(allowedOf(granted.body)).toEqual([
      {
        category: 'observations',
        action: 'read',
        via: 'grant',
        until: new Date(validUntil * 1000).toISOString(),
      },
    ]);

    // The grant is for treatment: another purpose, another practitioner without a licence, another
    // patient, a role the grant does not make a clinician of — all the same 404.
    for (const [who, id, purpose] of [
      ['doctor', ids.patient, 'HRESCH'],
      ['unlicensed', ids.patient, 'TREAT'],
      ['doctor', ids.other, 'TREAT'],
      ['insurer', ids.patient, 'HPAYMT'],
    ] as const) {
      const r = await care.call(who, 'GET', `/Patient/${id}/$access`, undefined, {
        'x-purpose-of-use': purpose,
      });
      expect({ who, purpose, ...r }).toEqual({ who, purpose, ...missing });
    }
    // The patient sees their whole record.
    const own = await care.call('patient', 'GET', `/Patient/${ids.patient}/$access`);
    expect(own.status).toBe(200);
    expect(allowedOf(own.body).filter((a) => a.action === 'read')).toHaveLength(12);
    expect(allowedOf(own.body).every((a) => a.via === 'own-record')).toBe(true);
  });

  it('lists the consortium’s organisations by name, this node’s own marked, for people signed in only', async () => {
    const listed = await care.call('doctor', 'GET', '/../directory/organisations');
    expect(listed.status).toBe(200);
    const list = listed.body.organisations as Record<string, unknown>[];
    expect(list.map((o) => [o.kind, o.self])).toEqual([
      ['hospital', true],
      ['regulator', false],
    ]);
    expect(list[1]).toMatchObject({ id: '2', name: 'Regulator 2' });
    const anonymous = await fetch(new URL('/directory/organisations', care.url));
    expect(anonymous.status).toBe(401);
  });
});
