/**
 * Consent enforcement at the FHIR API, end to end on a real chain: a hospital node and a regulator node in
 * one local consortium; a patient whose own keys sign an on-chain grant; practitioners whose membership and
 * licence are on the ledger. Every decision goes through the node's one access policy: role ceiling, licence,
 * SMART scopes and the patient's grant — denied reads answer 404 exactly like missing records, filtered
 * searches never say how much was hidden, and a revocation is effective from its block.
 */
import { type ConsentRelayer, consentFromFhir } from '@medledger/consent';
import { categoryMask, DataCategory } from '@medledger/core';
import type { PatientKeys } from '@medledger/identity';
import { createTestClient, type Hex, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalConsortium } from '../src/consortium/LocalConsortium.js';
import {
  CONSENT_ID_SYSTEM,
  DEADLINE_EXTENSION,
  NONCE_EXTENSION,
  SIGNATURE_EXTENSION,
} from '../src/features/consentFeature.js';
import { type CareSetting, PATIENT_PASSPHRASE, startCareSetting } from './careSetting.js';

describe('consent enforcement at the FHIR API', () => {
  let setting: CareSetting;
  let consortium: LocalConsortium;
  let patientKeys: PatientKeys;
  let relayer: ConsentRelayer;
  let ids: Record<string, string>;
  let call: CareSetting['call'];

  const searchIds = async (who: string, path: string) => {
    const r = await call(who, 'GET', path);
    expect(r.status).toBe(200);
    expect(r.body.total).toBeUndefined();
    return ((r.body.entry ?? []) as { resource: { id: string } }[]).map((e) => e.resource.id).sort();
  };
  const domain = () => setting.domain();

  beforeAll(async () => {
    setting = await startCareSetting();
    ({ consortium, patientKeys, relayer, ids, call } = setting);
  }, 600_000);

  afterAll(async () => {
    await setting?.close();
  });

  let consentId: Hex;

  it('without consent, a licensed doctor sees the directory but no patient data — as if it did not exist', async () => {
    expect((await call('doctor', 'GET', `/Organization/${ids.organization}`)).status).toBe(200);
    const denied = await call('doctor', 'GET', `/Observation/${ids.observation}`);
    const missing = await call('doctor', 'GET', '/Observation/does-not-exist');
    expect(denied.status).toBe(404);
    expect(denied.body).toEqual(missing.body);
    expect(await searchIds('doctor', '/Observation')).toEqual([]);
    expect((await call('doctor', 'GET', `/Patient/${ids.patient}/$everything`)).status).toBe(404);
  });

  it('a patient-signed grant opens exactly its category to this organisation', async () => {
    consentId = await setting.grant({ categories: [DataCategory.Observations, DataCategory.Demographics] });

    expect((await call('doctor', 'GET', `/Observation/${ids.observation}`)).status).toBe(200);
    expect((await call('doctor', 'GET', `/Patient/${ids.patient}`)).status).toBe(200);
    // Not granted: conditions; not this patient: the other one's observation.
    expect((await call('doctor', 'GET', `/Condition/${ids.condition}`)).status).toBe(404);
    expect((await call('doctor', 'GET', `/Observation/${ids.otherObservation}`)).status).toBe(404);
    expect(await searchIds('doctor', '/Observation')).toEqual([ids.observation]);
    expect(await searchIds('doctor', '/Condition')).toEqual([]);
    const everything = await searchIds('doctor', `/Patient/${ids.patient}/$everything`);
    expect(everything).toEqual([ids.observation, ids.patient].sort());
  });

  it('refuses what the grant does not cover: unlicensed member, other role, other purpose, writes', async () => {
    expect((await call('unlicensed', 'GET', `/Observation/${ids.observation}`)).status).toBe(404);
    expect(await searchIds('unlicensed', '/Observation')).toEqual([]);
    expect((await call('insurer', 'GET', `/Observation/${ids.observation}`)).status).toBe(404);
    const research = await call('doctor', 'GET', `/Observation/${ids.observation}`, undefined, {
      'x-purpose-of-use': 'HRESCH',
    });
    expect(research.status).toBe(404);
    expect(
      (
        await call('doctor', 'GET', `/Observation/${ids.observation}`, undefined, {
          'x-purpose-of-use': 'nope',
        })
      ).status,
    ).toBe(400);
    const write = await call('doctor', 'POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${ids.patient}` },
    });
    expect(write.status).toBe(403);
    expect((await call('doctor', 'GET', '/$verify')).status).toBe(403);
    expect((await call('doctor', 'GET', '/_history')).status).toBe(403);
  });

  it('a patient sees their own record, all of it, and nobody else’s', async () => {
    expect((await call('patient', 'GET', `/Condition/${ids.condition}`)).status).toBe(200);
    expect((await call('patient', 'GET', `/Observation/${ids.otherObservation}`)).status).toBe(404);
    expect(await searchIds('patient', '/Observation')).toEqual([ids.observation]);
    expect((await call('patient', 'GET', `/Patient/${ids.other}/$everything`)).status).toBe(404);
  });

  it('a revocation is effective from its block: the next read is denied', async () => {
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
    const { signature } = await patientKeys.signRevocation(consentId, domain(), deadline);
    await relayer.revoke({ consentId, deadline, signature });
    expect((await call('doctor', 'GET', `/Observation/${ids.observation}`)).status).toBe(404);
    expect(await searchIds('doctor', '/Observation')).toEqual([]);
  });

  describe('FHIR Consent at the API', () => {
    const PASSPHRASE = { 'x-medledger-key-passphrase': PATIENT_PASSPHRASE };
    const observationConsent = () => setting.observationConsent();

    it('refuses a Consent nobody signed, a wrong passphrase, another patient’s, a doctor’s, a deny provision', async () => {
      expect((await call('patient', 'POST', '/Consent', observationConsent())).status).toBe(400);
      const wrong = await call('patient', 'POST', '/Consent', observationConsent(), {
        'x-medledger-key-passphrase': 'not the passphrase',
      });
      expect(wrong.status).toBe(401);
      const other = { ...observationConsent(), patient: { reference: `Patient/${ids.other}` } };
      expect((await call('patient', 'POST', '/Consent', other, PASSPHRASE)).status).toBe(404);
      expect((await call('doctor', 'POST', '/Consent', observationConsent(), PASSPHRASE)).status).toBe(404);
      const deny = observationConsent();
      deny.provision.type = 'deny';
      const refused = await call('patient', 'POST', '/Consent', deny, PASSPHRASE);
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.body)).toContain('Consent.provision.type');
      // None of these granted anything.
      expect((await call('doctor', 'GET', `/Observation/${ids.observation}`)).status).toBe(404);
    });

    it('a patient’s Consent, signed with their custodial key, is the grant; DELETE revokes it', async () => {
      const posted = await call('patient', 'POST', '/Consent', observationConsent(), PASSPHRASE);
      expect(posted.status).toBe(201);
      const consentId = posted.body.identifier.find((i: any) => i.system === CONSENT_ID_SYSTEM)?.value;
      expect(consentId).toMatch(/^0x[0-9a-f]{64}$/);
      const grants = await consortium.nodes[0]!.node.consent.grantsOf(patientKeys.pseudonym);
      expect(grants.find((g) => g.id === consentId)?.resourceClasses).toBe(
        categoryMask(DataCategory.Observations),
      );
      expect((await call('doctor', 'GET', `/Observation/${ids.observation}`)).status).toBe(200);
      expect((await call('doctor', 'GET', `/Consent/${posted.body.id}`)).status).toBe(404);
      expect((await call('patient', 'GET', `/Consent/${posted.body.id}`)).status).toBe(200);

      const asDoctor = await call('doctor', 'DELETE', `/Consent/${posted.body.id}`, undefined, PASSPHRASE);
      expect(asDoctor.status).toBe(404);
      const asPatient = await call('patient', 'DELETE', `/Consent/${posted.body.id}`, undefined, PASSPHRASE);
      expect(asPatient.status).toBe(204);
      expect((await call('doctor', 'GET', `/Observation/${ids.observation}`)).status).toBe(404);
    });

    it('accepts a Consent the patient’s own app signed, and a withdrawal by status inactive', async () => {
      const resource = observationConsent();
      const nonce = 77n;
      const terms = await consentFromFhir(resource, {
        resolvePatient: () => patientKeys.pseudonym,
        resolveActor: () => ({ organisation: consortium.nodes[0]!.node.organisationId }),
        nonce,
      });
      const deadline = Math.floor(Date.now() / 1000) + 300;
      const { signature } = await patientKeys.signConsent(terms, domain(), BigInt(deadline));
      resource.extension = [
        { url: SIGNATURE_EXTENSION, valueString: signature },
        { url: DEADLINE_EXTENSION, valueDateTime: new Date(deadline * 1000).toISOString() },
        { url: NONCE_EXTENSION, valueString: String(nonce) },
      ];
      // A signature over other terms (one more purpose) is refused by the contract: nothing is granted.
      const tampered = structuredClone(resource);
      tampered.provision.purpose.push({
        system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
        code: 'HOPERAT',
      });
      expect((await call('patient', 'POST', '/Consent', tampered)).status).toBe(401);
      expect((await call('doctor', 'GET', `/Observation/${ids.observation}`)).status).toBe(404);

      const posted = await call('patient', 'POST', '/Consent', resource);
      expect(posted.status).toBe(201);
      expect(JSON.stringify(posted.body)).not.toContain(signature.slice(2, 40));
      expect((await call('doctor', 'GET', `/Observation/${ids.observation}`)).status).toBe(200);

      const withdrawn = await call(
        'patient',
        'PUT',
        `/Consent/${posted.body.id}`,
        { ...posted.body, status: 'inactive' },
        PASSPHRASE,
      );
      expect(withdrawn.status).toBe(200);
      expect(withdrawn.body.status).toBe('inactive');
      expect((await call('doctor', 'GET', `/Observation/${ids.observation}`)).status).toBe(404);
    });
  });

  // Last: it moves the chain's clock an hour ahead, past deadlines the tests above sign from the wall clock.
  it('a time-limited grant opens the record until its end, to the second, and not after', async () => {
    const consent = consortium.nodes[0]!.node.consent;
    const validUntil = consent.now() + 3600;
    await setting.grant({ categories: [DataCategory.Conditions], validUntil });
    expect((await call('doctor', 'GET', `/Condition/${ids.condition}`)).status).toBe(200);
    // The chain's clock, not the wall clock, decides: interval mining paused, so each block below is the only
    // one mined and the node decides at exactly its timestamp.
    const chain = createTestClient({ mode: 'anvil', transport: http(consortium.rpcUrl) });
    const mineAt = async (timestamp: number) => {
      await chain.setNextBlockTimestamp({ timestamp: BigInt(timestamp) });
      await chain.mine({ blocks: 1 });
      await consent.catchUp();
      expect(consent.now()).toBe(timestamp);
    };
    await chain.setIntervalMining({ interval: 0 });
    try {
      await mineAt(validUntil - 1);
      expect((await call('doctor', 'GET', `/Condition/${ids.condition}`)).status).toBe(200);
      expect(await searchIds('doctor', '/Condition')).toEqual([ids.condition]);
      await mineAt(validUntil);
      expect((await call('doctor', 'GET', `/Condition/${ids.condition}`)).status).toBe(404);
      expect(await searchIds('doctor', '/Condition')).toEqual([]);
    } finally {
      await chain.setIntervalMining({ interval: 1 });
    }
  });
});
