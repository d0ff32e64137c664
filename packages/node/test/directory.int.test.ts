/**
 * The directory and the named access log, on a real chain (a hospital and a regulator): anyone signed in lists
 * the registry's organisations by name; an organisation's key bundle is served with the hash the registry
 * commits to, and the bundle hashes to it (the check a browser makes); the public self-description gives the
 * name other nodes show. A patient's access log names who read the record (the doctor by display name, their
 * organisation by name), and shows the patient no network address, no account id or member address in the
 * names, and nothing about another patient. First, what a caller may do with a patient's record
 * (`GET /fhir/Patient/:id/$access`): the answer follows the node's one decision, and a caller who may see
 * nothing learns nothing — the same 404 as for a patient who does not exist.
 */
import { verifyAuditInclusion } from '@medledger/audit-log';
import { consortiumRegistryAbi } from '@medledger/contracts';
import { DataCategory } from '@medledger/core';
import {
  base64urlToBytes,
  bytesToHex,
  decodePublicKeyBundle,
  publicBundleCommitment,
} from '@medledger/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CareSetting, startCareSetting } from './careSetting.js';
import { inclusionClaim } from './helpers.js';

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

describe('the directory, named access logs and what a caller may see of a patient', () => {
  let s: CareSetting;
  let origin: string;
  const get = async (who: string | undefined, path: string) => {
    const res = await fetch(`${origin}${path}`, {
      headers: who ? { authorization: `Bearer ${s.tokens[who]}` } : {},
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    s = await startCareSetting();
    origin = new URL(s.url).origin;
  });
  afterAll(async () => {
    await s?.close();
  });

  it('without consent a clinician gets the very answer a missing patient gets; with it, what and until when', async () => {
    const { ids } = s;
    const missing = await s.call('doctor', 'GET', '/Patient/no-such-patient/$access', undefined, TREAT);
    const hidden = await s.call('doctor', 'GET', `/Patient/${ids.patient}/$access`, undefined, TREAT);
    expect(missing.status).toBe(404);
    expect(hidden).toEqual(missing);
    expect(JSON.stringify(hidden.body)).not.toContain(ids.patient);

    const validUntil = s.hospital.consent.now() + 3600;
    await s.grant({ categories: [DataCategory.Observations], validUntil });
    const granted = await s.call('doctor', 'GET', `/Patient/${ids.patient}/$access`, undefined, TREAT);
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
      const r = await s.call(who, 'GET', `/Patient/${id}/$access`, undefined, {
        'x-purpose-of-use': purpose,
      });
      expect({ who, purpose, ...r }).toEqual({ who, purpose, ...missing });
    }
    // The patient sees their whole record.
    const own = await s.call('patient', 'GET', `/Patient/${ids.patient}/$access`);
    expect(own.status).toBe(200);
    expect(allowedOf(own.body).filter((a) => a.action === 'read')).toHaveLength(12);
    expect(allowedOf(own.body).every((a) => a.via === 'own-record')).toBe(true);
  });

  it('lists the registry’s organisations by name, for anyone signed in', async () => {
    const self = await get(undefined, '/directory/self');
    expect(self.status).toBe(200);
    expect(self.body).toEqual({
      id: String(s.hospital.organisationId),
      name: expect.any(String),
      kind: 'hospital',
      self: true,
    });
    expect(self.body.name).toBe(`Hospital ${s.hospital.organisationId}`);

    const listed = await get('patient', '/directory/organisations');
    expect(listed.status).toBe(200);
    const kinds = (listed.body.organisations as { id: string; name: string; kind: string }[]).map(
      (o) => o.kind,
    );
    expect(kinds.sort()).toEqual(['hospital', 'regulator']);
    const regulator = listed.body.organisations.find((o: { kind: string }) => o.kind === 'regulator');
    // The regulator's node declares its own name; the hospital fetched it from the registry endpoint.
    expect(regulator.name).toBe(`Regulator ${regulator.id}`);
    for (const o of listed.body.organisations) {
      expect(Object.keys(o).sort()).toEqual(['id', 'kind', 'name', 'self']);
      expect(o.self).toBe(o.kind === 'hospital');
    }

    expect((await get(undefined, '/directory/organisations')).status).toBe(401);
  });

  it('serves each organisation’s key bundle with the hash the registry commits to', async () => {
    for (const id of [s.hospital.organisationId, 2]) {
      const r = await get('patient', `/directory/organisations/${id}/key-bundle`);
      expect(r.status).toBe(200);
      const onChain = await s.hospital.ledger.publicClient.readContract({
        address: s.hospital.ledger.deployment.contracts.ConsortiumRegistry.address,
        abi: consortiumRegistryAbi,
        functionName: 'organisation',
        args: [id],
      });
      expect(r.body.keyBundleHash).toBe(onChain.keyBundleHash.toLowerCase());
      const bundle = decodePublicKeyBundle(base64urlToBytes(r.body.keyBundle));
      expect(`0x${bytesToHex(publicBundleCommitment(bundle))}`).toBe(r.body.keyBundleHash);
    }
    expect((await get('patient', '/directory/organisations/99/key-bundle')).status).toBe(404);
    expect((await get('patient', '/directory/organisations/x/key-bundle')).status).toBe(400);
  });

  it('names who read the patient’s record, without addresses or other patients', async () => {
    await s.grant({ categories: [DataCategory.Observations] });
    const read = await s.call('doctor', 'GET', `/Observation/${s.ids.observation}`, undefined, {
      'x-purpose-of-use': 'TREAT',
    });
    expect(read.status).toBe(200);
    expect((await s.call('doctor', 'GET', `/Observation/${s.ids.otherObservation}`)).status).toBe(404);

    const log = await get('patient', `/audit/patients/${s.ids.patient}/events?_count=1000`);
    expect(log.status).toBe(200);
    const entries = log.body.entries as {
      event: Record<string, unknown>;
      agents: { person?: string; organisation?: string; role?: string; requestor: boolean }[];
    }[];
    const hospitalName = `Hospital ${s.hospital.organisationId}`;
    const doctorRead = entries.find((e) => e.agents.some((a) => a.person === 'doctor' && a.requestor));
    expect(doctorRead?.agents[0]).toEqual({
      person: 'doctor',
      organisation: hospitalName,
      role: 'doctor',
      requestor: true,
    });
    // Every entry still verifies: the names are beside the event, not in it.
    const bundle = await get('patient', `/directory/organisations/${s.hospital.organisationId}/key-bundle`);
    const key = decodePublicKeyBundle(base64urlToBytes(bundle.body.keyBundle)).signingPublicKey;
    for (const e of log.body.entries)
      expect(verifyAuditInclusion(inclusionClaim(e, log.body.checkpoint), key)).toBe(true);

    const text = JSON.stringify(log.body);
    expect(text).not.toMatch(/"network"/);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain(s.ids.other!);
    expect(text).not.toContain(s.ids.otherObservation!);
    // The names carry no ids or addresses.
    const names = JSON.stringify(entries.map((e) => e.agents));
    expect(names).not.toMatch(/0x[0-9a-f]{40}/i);
    expect(names).not.toContain(s.members.doctor.toLowerCase());
  });
});
