/**
 * Revocation and expiry rotate category keys, between real nodes on one real chain: the lab is granted the
 * patient's observations and receives them from the hospital with key epoch 0; the patient revokes; the
 * hospital writes a new observation. The lab — holding a copy of the hospital's blob store and every key it ever
 * received — cannot open it, and its next exchange request is denied. After a fresh grant its exchange brings the
 * new epoch and opens the record; when that grant expires (chain time moved past validUntil) the next write is
 * sealed under yet another epoch, again out of the lab's reach.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataCategory, isMdlError, MdlErrorCode } from '@medledger/core';
import {
  type CategoryKey,
  type KeyId,
  Keystore,
  openRecord,
  unwrapCategoryKey,
  XWingDecapsulationKey,
} from '@medledger/crypto';
import { FsBlobStore } from '@medledger/storage';
import { createTestClient, type Hex, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalConsortium } from '../src/consortium/LocalConsortium.js';
import { type ExchangeScenario, setUpExchangeScenario } from '../src/exchange/exchangeScenario.js';
import type { RunningNode } from '../src/Node.js';
import { startExchangeConsortium, until } from './helpers.js';

const PASSPHRASE = 'key rotation test passphrase';

describe('revocation and expiry rotate the category key', () => {
  let dir: string;
  let consortium: LocalConsortium;
  let hospital: RunningNode;
  let lab: RunningNode;
  let hospitalBlobs: FsBlobStore;
  let scenario: ExchangeScenario;
  let labKeys: { keyId: KeyId; decapsulationKey: XWingDecapsulationKey };
  let patientLocal: Uint8Array;
  let firstGrant: Hex;
  let secondGrant: Hex;
  let afterRevocation: { id: string; envelope: Uint8Array };

  /** The lab's doctor asks the hospital for the patient's observations; the resources received, or 404. */
  const exchange = async () => {
    const res = await fetch(`${lab.fhirUrl}/$exchange-request`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scenario.doctor.token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(scenario.parameters(['Observation'])),
    });
    const body = (await res.json()) as { entry?: { resource: { id: string; valueQuantity?: unknown } }[] };
    return { status: res.status, resources: (body.entry ?? []).map((e) => e.resource) };
  };
  /** Every category key the lab ever received, unwrapped with the lab's own key. */
  const keysTheLabHolds = async (): Promise<CategoryKey[]> => {
    const { rows } = await lab.db.query<{ envelope: Uint8Array }>('SELECT envelope FROM exchange_held_keys');
    return rows.map((r) => unwrapCategoryKey(new Uint8Array(r.envelope), labKeys));
  };
  /** What an attacker holding `keys` gets from an envelope: the plaintext, or the error code. */
  const attempt = (envelope: Uint8Array, keys: readonly CategoryKey[]) => {
    try {
      const { plaintext } = openRecord(envelope, (ref) =>
        keys.find((k) => k.ref.category === ref.category && k.ref.epoch === ref.epoch),
      );
      return JSON.parse(new TextDecoder().decode(plaintext)) as { id: string };
    } catch (error) {
      if (isMdlError(error, MdlErrorCode.KeyNotFound)) return 'no key of this epoch';
      throw error;
    }
  };
  /** The hospital writes an observation of the patient; its id and the sealed blob, read from the disk. */
  const hospitalWrites = async (value: number) => {
    const res = await fetch(`${hospital.fhirUrl}/Observation`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${scenario.custodianToken}`,
        'content-type': 'application/fhir+json',
      },
      body: JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        subject: { reference: `Patient/${scenario.patient.fhirId}` },
        valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const { rows } = await hospital.db.query<{ cid: string; epoch: number }>(
      `SELECT cid, epoch FROM resources WHERE type = 'Observation' AND id = $1`,
      [id],
    );
    return { id, epoch: rows[0]!.epoch, envelope: await hospitalBlobs.get(rows[0]!.cid) };
  };
  const rotationsAtHospital = async (consentId: Hex) =>
    (
      await hospital.db.query<{ category: number; epoch: number }>(
        'SELECT category, epoch FROM category_key_rotations WHERE consent_id = $1 AND pseudonym = $2',
        [Buffer.from(consentId.slice(2), 'hex'), patientLocal],
      )
    ).rows;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medledger-rotation-'));
    consortium = await startExchangeConsortium(dir, PASSPHRASE);
    const [h, l, regulator] = consortium.nodes;
    hospital = h!.node;
    lab = l!.node;
    hospitalBlobs = new FsBlobStore(join(h!.dataDir, 'blobs'));
    const bundle = Keystore.open(readFileSync(lab.keystorePath, 'utf8'), PASSPHRASE).active();
    labKeys = { keyId: bundle.keyId, decapsulationKey: new XWingDecapsulationKey(bundle.kemSecretKey) };
    scenario = await setUpExchangeScenario({
      requester: lab,
      custodian: hospital,
      regulator: regulator!.node,
      observations: 3,
      conditions: 1,
    });
    patientLocal = hospital.records.patientPseudonym(scenario.patient.fhirId);
  }, 480_000);

  afterAll(async () => {
    await consortium?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the granted lab receives the observations under key epoch 0', async () => {
    firstGrant = await scenario.grant([DataCategory.Observations]);
    const r = await exchange();
    expect(r.status).toBe(200);
    expect(r.resources.map((x) => x.id).sort()).toEqual([...scenario.ids.observations].sort());
    expect((await keysTheLabHolds()).map((k) => [k.ref.category, k.ref.epoch])).toEqual([
      [DataCategory.Observations, 0],
    ]);
  });

  it('after the revocation the hospital seals under a new epoch the lab cannot open', async () => {
    await scenario.revoke(firstGrant);
    // The revocation event rotates the hospital's observation key of this patient by itself (once), before
    // any write; the conditions were not covered by the grant and keep their epoch.
    await until('the rotation at the hospital', async () => {
      const rows = await rotationsAtHospital(firstGrant);
      return rows.length > 0 ? rows : undefined;
    });
    expect(await rotationsAtHospital(firstGrant)).toEqual([
      { category: DataCategory.Observations, epoch: 1 },
    ]);

    const written = await hospitalWrites(99);
    expect(written.epoch).toBe(1);
    afterRevocation = written;
    expect(await rotationsAtHospital(firstGrant)).toHaveLength(1);

    // The attacker's view: a copy of the hospital's blobs and every key the lab ever received.
    const held = await keysTheLabHolds();
    expect(attempt(written.envelope, held)).toBe('no key of this epoch');
    // The same keys still open what was released before the revocation (so the refusal above is the epoch's).
    const before = await hospital.db.query<{ cid: string }>(
      `SELECT cid FROM resources WHERE type = 'Observation' AND id = $1`,
      [scenario.ids.observations[0]],
    );
    expect(attempt(await hospitalBlobs.get(before.rows[0]!.cid), held)).toMatchObject({
      id: scenario.ids.observations[0],
    });
  });

  it('the revoked lab’s next exchange is denied', async () => {
    expect((await exchange()).status).toBe(404);
    expect((await keysTheLabHolds()).map((k) => k.ref.epoch)).toEqual([0]);
  });

  it('an exchange decided before a rotation releases no record of the newer epoch', async () => {
    // The custodian's bound from before its decision: epoch 0 only. The new observation is under epoch 1.
    const found = await hospital.records
      .system('exchange release')
      .sealedCompartment(patientLocal, [DataCategory.Observations], {
        limit: 1000,
        epochs: new Map([[DataCategory.Observations, 0]]),
      });
    expect(found.complete).toBe(false);
    const now = await hospital.records
      .system('exchange release')
      .sealedCompartment(patientLocal, [DataCategory.Observations], {
        limit: 1000,
        epochs: new Map([[DataCategory.Observations, 1]]),
      });
    expect(now.complete).toBe(true);
  });

  it('after a fresh grant the lab receives the new epoch and opens the record', async () => {
    secondGrant = await scenario.grant([DataCategory.Observations]);
    const r = await exchange();
    expect(r.status).toBe(200);
    expect(r.resources.map((x) => x.id)).toContain(afterRevocation.id);
    const held = await keysTheLabHolds();
    expect(held.map((k) => k.ref.epoch).sort()).toEqual([0, 1]);
    expect(attempt(afterRevocation.envelope, held)).toMatchObject({ id: afterRevocation.id });
  });

  it('when that grant expires, the next write is sealed under an epoch the lab never got', async () => {
    const grant = await hospital.consent.grant(secondGrant);
    const test = createTestClient({ mode: 'anvil', transport: http(consortium.rpcUrl) });
    const block = await hospital.ledger.publicClient.getBlock();
    await test.increaseTime({ seconds: grant!.validUntil - Number(block.timestamp) + 60 });
    await test.mine({ blocks: 1 });
    await hospital.consent.catchUp();
    expect(hospital.consent.now()).toBeGreaterThan(grant!.validUntil);

    const written = await hospitalWrites(120);
    expect(written.epoch).toBe(2);
    expect(await rotationsAtHospital(secondGrant)).toEqual([
      { category: DataCategory.Observations, epoch: 2 },
    ]);
    expect(attempt(written.envelope, await keysTheLabHolds())).toBe('no key of this epoch');
    expect((await exchange()).status).toBe(404);
    // The revoked grant's rotation is not repeated.
    expect(await rotationsAtHospital(firstGrant)).toEqual([
      { category: DataCategory.Observations, epoch: 1 },
    ]);
  });
});
