/**
 * Cross-organisation exchange between real nodes over HTTP, on one real chain: a hospital's doctor asks the
 * lab's node for a patient's records. The lab checks membership, licence and the patient's own on-chain consent,
 * releases the records sealed as stored with their category keys wrapped to the hospital, and both nodes keep
 * the same receipt. Forged, replayed and tampered requests are refused; what travels between the nodes is
 * captured and must contain nothing readable.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsentRelayer } from '@medledger/consent';
import { consortiumRegistryAbi } from '@medledger/contracts';
import { DataCategory } from '@medledger/core';
import {
  bytesToHex,
  decodePublicKeyBundle,
  generateKeyBundle,
  publicBundleCommitment,
} from '@medledger/crypto';
import { createExchangeRequest, OrganisationKeys } from '@medledger/exchange';
import { devAccount } from '@medledger/ledger';
import { type Hex, keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalConsortium } from '../src/consortium/LocalConsortium.js';
import { EXCHANGE_RECEIPT_SYSTEM } from '../src/exchange/exchangeFeature.js';
import {
  type ExchangeScenario,
  measureExchange,
  setUpExchangeScenario,
} from '../src/exchange/exchangeScenario.js';
import type { RunningNode } from '../src/Node.js';
import { startExchangeConsortium } from './helpers.js';

interface Captured {
  url: string;
  request: Uint8Array;
  status: number;
  response: Uint8Array;
}

describe('cross-organisation exchange between nodes', () => {
  let dir: string;
  let consortium: LocalConsortium;
  let hospital: RunningNode;
  let lab: RunningNode;
  let scenario: ExchangeScenario;
  let consentId: Hex;
  const wire: Captured[] = [];
  const realFetch = globalThis.fetch;
  const tokens: Record<string, string> = {};

  const exchange = async (token: string, body: unknown) => {
    const res = await realFetch(`${hospital.fhirUrl}/$exchange-request`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const postToLab = async (bytes: Uint8Array) => {
    const res = await realFetch(`${lab.fhirUrl}/$exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  const receipts = async (node: RunningNode) =>
    (
      await node.db.query<{ id: Uint8Array; side: string; outcome: string; records: number }>(
        'SELECT receipt_id AS id, side, outcome, records FROM exchange_receipts ORDER BY recorded_at',
      )
    ).rows.map((r) => ({ ...r, id: bytesToHex(r.id) }));
  const lastExchange = () => {
    const last = wire.at(-1);
    if (!last) throw new Error('nothing on the wire');
    return last;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medledger-exchange-'));
    consortium = await startExchangeConsortium(dir, 'exchange test passphrase');
    const [h, l, regulator] = consortium.nodes.map((n) => n.node);
    hospital = h!;
    lab = l!;
    // Dev account 5 is funded on the embedded chain: the doctor can open a break-glass session themself.
    scenario = await setUpExchangeScenario({
      requester: hospital,
      custodian: lab,
      regulator: regulator!,
      observations: 5,
      conditions: 1,
      memberKey: toHex(devAccount(5).privateKey),
    });
    tokens.unlicensed = await scenario.addPerson('unlicensed', 'doctor', { licensed: false });
    tokens.insurer = await scenario.addPerson('insurer', 'insurer');
    tokens.admin = readFileSync(hospital.adminTokenFile!, 'utf8').trim();
    // Tap the node-to-node traffic (both nodes run in this process): the exact bytes sent and received.
    globalThis.fetch = async (input, init) => {
      const res = await realFetch(input, init);
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith('/$exchange')) {
        wire.push({
          url,
          request: new Uint8Array(init?.body as Uint8Array),
          status: res.status,
          response: new Uint8Array(await res.clone().arrayBuffer()),
        });
      }
      return res;
    };
  }, 600_000);

  afterAll(async () => {
    globalThis.fetch = realFetch;
    await consortium?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the key bundle the registry commits to', async () => {
    const res = await realFetch(`${lab.fhirUrl}/.well-known/medledger-key-bundle`);
    expect(res.status).toBe(200);
    const bundle = decodePublicKeyBundle(new Uint8Array(await res.arrayBuffer()));
    const profile = await lab.ledger.publicClient.readContract({
      address: lab.ledger.deployment.contracts.ConsortiumRegistry.address,
      abi: consortiumRegistryAbi,
      functionName: 'organisation',
      args: [lab.organisationId],
    });
    expect(`0x${bytesToHex(publicBundleCommitment(bundle))}`).toBe(profile.keyBundleHash);
    expect(profile.keyBundleUri).toBe(`${lab.fhirUrl}/.well-known/medledger-key-bundle`);
  });

  it('without consent the lab denies, and the hospital answers 404', async () => {
    const r = await exchange(scenario.doctor.token, scenario.parameters(['Observation']));
    expect(r.status).toBe(404);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(lastExchange().status).toBe(200); // a signed, sealed denial
  });

  it('with the patient’s consent, releases exactly the observations, as the lab stored them', async () => {
    consentId = await scenario.grant([DataCategory.Observations]);
    const before = wire.length;
    const r = await exchange(scenario.doctor.token, scenario.parameters(['Observation']));
    expect(r.status).toBe(200);
    expect(r.body.resourceType).toBe('Bundle');
    expect(r.body.type).toBe('collection');
    const resources = (r.body.entry as { resource: Record<string, any>; fullUrl: string }[]).map(
      (e) => e.resource,
    );
    expect(resources.map((x) => x.resourceType)).toEqual(scenario.ids.observations.map(() => 'Observation'));
    expect(resources.map((x) => x.id).sort()).toEqual([...scenario.ids.observations].sort());
    const labToken = readFileSync(lab.adminTokenFile!, 'utf8').trim();
    for (const resource of resources) {
      const stored = await realFetch(`${lab.fhirUrl}/Observation/${resource.id}`, {
        headers: { authorization: `Bearer ${labToken}` },
      });
      expect(resource).toEqual(await stored.json());
    }
    expect(wire.length).toBe(before + 1);

    // Both nodes hold the same receipt; the hospital holds the keys and sealed records it received.
    const receiptId = r.body.identifier.value as string;
    expect(r.body.identifier.system).toBe(EXCHANGE_RECEIPT_SYSTEM);
    const atLab = (await receipts(lab)).find((x) => x.id === receiptId);
    const atHospital = (await receipts(hospital)).find((x) => x.id === receiptId);
    expect(atLab).toMatchObject({ side: 'custodian', outcome: 'released', records: resources.length });
    expect(atHospital).toMatchObject({ side: 'requester', outcome: 'released', records: resources.length });
    const held = await hospital.db.query<{ n: number }>(
      'SELECT count(*)::int8 AS n FROM exchange_held_records WHERE custodian = $1',
      [lab.organisationId],
    );
    expect(Number(held.rows[0]!.n)).toBe(resources.length);
    const heldKeys = await hospital.db.query<{ category: number }>('SELECT category FROM exchange_held_keys');
    expect(heldKeys.rows.map((k) => k.category)).toEqual([DataCategory.Observations]);

    // Both audit trails name the exchange by its receipt: the lab's release (DICOM Export, the hospital and its
    // doctor as the requesting agents), the hospital's import.
    const auditEvents = async (node: RunningNode) => {
      const token = readFileSync(node.adminTokenFile!, 'utf8').trim();
      const res = await realFetch(`${node.fhirUrl.replace(/\/fhir$/, '')}/audit/events?_count=1000`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as { entries: { event: Record<string, any> }[] };
      return body.entries
        .map((e) => e.event)
        .filter((e) => JSON.stringify(e.entity ?? []).includes(receiptId));
    };
    const [released] = await auditEvents(lab);
    expect(released?.type.code).toBe('110106');
    expect(released?.outcome).toBe('0');
    expect(released?.agent[0].who.identifier.value).toBe(String(hospital.organisationId));
    expect(released?.agent[0].requestor).toBe(true);
    const [imported] = await auditEvents(hospital);
    expect(imported?.type.code).toBe('110107');
    expect(imported?.agent.map((a: any) => a.who.identifier?.value)).toContain(String(lab.organisationId));
  });

  it('takes the custodian by its name in the directory, and refuses a name no organisation has', async () => {
    const named = (value: string) => {
      const params = scenario.parameters(['Observation']) as { parameter: Record<string, unknown>[] };
      const parameter = params.parameter.map((p) =>
        p.name === 'custodian' ? { name: 'custodian', valueString: value } : p,
      );
      return { ...params, parameter };
    };
    const before = wire.length;
    const ok = await exchange(scenario.doctor.token, named(`  lab ${lab.organisationId} `));
    expect(ok.status).toBe(200);
    expect(ok.body.entry).toHaveLength(scenario.ids.observations.length);
    expect(wire.length).toBe(before + 1);
    const unknown = await exchange(scenario.doctor.token, named('No Such Clinic'));
    expect(unknown.status).toBe(400);
    expect(unknown.body.issue[0].diagnostics).toMatch(/custodian names no active organisation/);
    expect(wire.length).toBe(before + 1); // refused before anything was sent
  });

  it('puts nothing readable on the wire', () => {
    expect(wire.length).toBeGreaterThanOrEqual(2);
    const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
    const secrets = [
      scenario.patient.pseudonym.slice(2),
      scenario.patient.pseudonym.slice(2).toUpperCase(),
      scenario.doctor.member.slice(2).toLowerCase(),
      'resourceType',
      'Observation',
      'Exchangeperson',
      'Heart rate',
      scenario.patient.fhirId,
      ...scenario.ids.observations,
    ];
    for (const { request, response } of wire) {
      expect(request.length).toBe(9363); // every request has one size
      for (const text of [latin1(request), latin1(response)]) {
        for (const s of secrets) expect(text.includes(s)).toBe(false);
      }
      // Nor as raw bytes: the pseudonym and the member address.
      const raw = [
        Buffer.from(scenario.patient.pseudonym.slice(2), 'hex'),
        Buffer.from(scenario.doctor.member.slice(2), 'hex'),
      ];
      for (const bytes of raw) {
        expect(Buffer.from(request).includes(bytes)).toBe(false);
        expect(Buffer.from(response).includes(bytes)).toBe(false);
      }
    }
    // A denial and a small release fall in the same size bucket.
    expect(new Set(wire.map((w) => w.response.length)).size).toBe(1);
  });

  it('does not release conditions: not consented, so a request naming them is denied as a whole', async () => {
    expect((await exchange(scenario.doctor.token, scenario.parameters(['Condition']))).status).toBe(404);
    expect(
      (await exchange(scenario.doctor.token, scenario.parameters(['Observation', 'Condition']))).status,
    ).toBe(404);
  });

  it('denies another purpose and an unlicensed member', async () => {
    expect(
      (await exchange(scenario.doctor.token, scenario.parameters(['Observation'], 'HOPERAT'))).status,
    ).toBe(404);
    expect((await exchange(tokens.unlicensed!, scenario.parameters(['Observation']))).status).toBe(404);
    // The lab answered both, with denials.
    const denied = (await receipts(lab)).filter((x) => x.outcome === 'denied');
    expect(denied.length).toBeGreaterThanOrEqual(5);
  });

  it('refuses callers that cannot ask: system accounts, roles that may not read, malformed requests', async () => {
    const before = wire.length;
    expect((await exchange(tokens.admin!, scenario.parameters(['Observation']))).status).toBe(403);
    expect((await exchange(tokens.insurer!, scenario.parameters(['Observation']))).status).toBe(403);
    expect((await exchange(scenario.doctor.token, { resourceType: 'Parameters' })).status).toBe(400);
    expect((await exchange(scenario.doctor.token, scenario.parameters(['Organization']))).status).toBe(400);
    const self = scenario.parameters(['Observation']) as {
      parameter: { name: string; valueInteger?: number }[];
    };
    self.parameter[0]!.valueInteger = hospital.organisationId;
    expect((await exchange(scenario.doctor.token, self)).status).toBe(400);
    const unknown = scenario.parameters(['Observation']) as typeof self;
    unknown.parameter[0]!.valueInteger = 9999;
    expect((await exchange(scenario.doctor.token, unknown)).status).toBe(404);
    expect(wire.length).toBe(before); // nothing was sent
  });

  it('refuses replayed request bytes and releases nothing', async () => {
    const released = wire.find((w) => w.response.length > 0 && w.status === 200)!;
    const before = await receipts(lab);
    const replay = await postToLab(released.request);
    expect(replay.status).toBe(401);
    expect(replay.type).toMatch(/^application\/fhir\+json/);
    expect(JSON.parse(replay.text).resourceType).toBe('OperationOutcome');
    expect(await receipts(lab)).toEqual(before);
  });

  it('refuses tampered bytes', async () => {
    // A fresh request, captured, then altered before the lab sees it again.
    const r = await exchange(scenario.doctor.token, scenario.parameters(['Observation']));
    expect(r.status).toBe(200);
    const bytes = lastExchange().request;
    const before = await receipts(lab);
    for (const at of [12, 100, bytes.length - 1]) {
      const tampered = new Uint8Array(bytes);
      tampered[at]! ^= 0x01;
      expect((await postToLab(tampered)).status).toBe(401);
    }
    expect((await postToLab(bytes.slice(0, -1))).status).toBe(400);
    expect((await postToLab(new Uint8Array(0))).status).toBe(400);
    expect(await receipts(lab)).toEqual(before);
  });

  it('refuses a request signed by an organisation that is not the claimed requester', async () => {
    const labBundle = decodePublicKeyBundle(
      new Uint8Array(
        await (await realFetch(`${lab.fhirUrl}/.well-known/medledger-key-bundle`)).arrayBuffer(),
      ),
    );
    const before = await receipts(lab);
    // Keys the registry does not hold for the hospital, claiming to be the hospital — and an unknown id.
    for (const organisation of [hospital.organisationId, 4242]) {
      const forger = OrganisationKeys.fromKeyBundle(organisation, generateKeyBundle());
      const { bytes } = createExchangeRequest({
        requester: forger,
        custodian: { organisation: lab.organisationId, bundle: labBundle },
        practitioner: {
          member: scenario.doctor.member,
          licence: keccak256(toHex(`licence ${scenario.doctor.member}`)),
        },
        patient: scenario.patient.pseudonym,
        purpose: 0,
        categories: [DataCategory.Observations],
      });
      forger.destroy();
      const r = await postToLab(bytes);
      expect(r.status).toBe(401);
      expect(r.text).not.toContain('0x');
    }
    expect(await receipts(lab)).toEqual(before);
  });

  it('releases under an active break-glass session for the emergency purpose, and only then', async () => {
    expect((await exchange(scenario.doctor.token, scenario.parameters(['Condition'], 'ETREAT'))).status).toBe(
      404,
    );
    const relayer = new ConsentRelayer(hospital.ledger, { index: lab.consent });
    const member = await relayer.memberClient(devAccount(5).privateKey);
    const session = await relayer.openBreakGlass(member, {
      patient: scenario.patient.pseudonym,
      reasonHash: keccak256(toHex('unconscious on arrival')),
      duration: 900,
    });
    const r = await exchange(
      scenario.doctor.token,
      scenario.parameters(['Condition'], 'ETREAT', [{ name: 'breakGlass', valueInteger: session.id }]),
    );
    expect(r.status).toBe(200);
    expect((r.body.entry as { resource: { id: string } }[]).map((e) => e.resource.id)).toEqual(
      scenario.ids.conditions,
    );
    // Another session id than the member's own is denied.
    const wrong = await exchange(
      scenario.doctor.token,
      scenario.parameters(['Condition'], 'ETREAT', [{ name: 'breakGlass', valueInteger: session.id + 1 }]),
    );
    expect(wrong.status).toBe(404);
    await relayer.endBreakGlass(member, session.id);
  });

  it('measures exchanges for the bench', async () => {
    const m = await measureExchange({
      requesterUrl: hospital.fhirUrl,
      token: scenario.doctor.token,
      parameters: scenario.parameters(['Observation']),
      requests: 3,
      warmup: 1,
      baseline: { url: scenario.custodianUrl, token: scenario.custodianToken, path: scenario.localReadPath },
    });
    expect(m.requests).toBe(3);
    expect(m.resources).toBe(scenario.ids.observations.length);
    expect(m.baseline?.resources).toBe(scenario.ids.observations.length);
    expect(m.latencyMs.p50).toBeGreaterThan(0);
  });

  it('after revocation the lab denies again', async () => {
    await scenario.revoke(consentId);
    expect((await exchange(scenario.doctor.token, scenario.parameters(['Observation']))).status).toBe(404);
  });
});
