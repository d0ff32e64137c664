/**
 * Who saw my record? On a real chain, a patient's access log at the hospital: a doctor's read under the
 * patient's grant and a refused read (denied; break-glass flags: care.int) — each an AuditEvent naming the
 * patient, served with its salt and an inclusion proof against a signed checkpoint that the patient checks
 * independently (verifyAuditInclusion, the node's public key). Another patient's events never appear; others
 * asking for the log get 404. Auditors see all of the organisation's events and export them (FHIR or OCSF
 * NDJSON) with a resumable cursor. The proof API serves checkpoints with their on-chain anchor and
 * consistency proofs between them.
 */
import {
  type AuditEventJson,
  committedAuditEvent,
  verifyAuditInclusion,
  verifyCheckpointConsistency,
  verifyCheckpointSignature,
  verifyEntryInclusion,
  verifyNetworkAddresses,
} from '@medledger/audit-log';
import { DataCategory } from '@medledger/core';
import { base64urlToBytes, decodePublicKeyBundle } from '@medledger/crypto';
import type { AccountId } from '@medledger/identity';
import { auditLogKey } from '@medledger/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckpointJson, ProvenEntryJson } from '../src/audit/AuditTrail.js';
import { personApiToken } from '../src/consortium/personSignIn.js';
import { type CareSetting, startCareSetting } from './careSetting.js';
import { inclusionClaim, signedCheckpoint, until } from './helpers.js';

/** The wire shapes, as the node's API declares them (events typed loosely: the tests read into them). */
type ProvenEntry = Omit<ProvenEntryJson, 'event'> & { event: AuditEventJson & Record<string, any> };
type Checkpoint = Omit<CheckpointJson, 'anchor'> & { anchor: Record<string, any> | null };
interface Page {
  checkpoint: Checkpoint;
  entries: ProvenEntry[];
  next?: number;
}

const bytes = base64urlToBytes;
const isJson = (type: string) => type.includes('json') && !type.includes('ndjson');
const signed = signedCheckpoint;
const claimOf = inclusionClaim;

describe('access logs, proofs and the SIEM export', () => {
  let s: CareSetting;
  let origin: string;
  let publicKey: Uint8Array;

  const get = async (who: string, path: string) => {
    const res = await fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${s.tokens[who]}` } });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      body: text && isJson(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined,
    };
  };
  const patientLog = async (who = 'patient', patient = s.ids.patient!): Promise<Page> => {
    const r = await get(who, `/audit/patients/${patient}/events?_count=1000`);
    expect(r.status).toBe(200);
    return r.body as Page;
  };
  const routeOf = (e: ProvenEntry) => e.event.extension?.[0]?.valueString as string;

  beforeAll(async () => {
    s = await startCareSetting();
    origin = s.url.replace(/\/fhir$/, '');
    // The key checkpoints are signed with, as anyone gets it: the bundle the registry's hash commits to.
    const bundle = await fetch(`${s.url}/.well-known/medledger-key-bundle`);
    publicKey = decodePublicKeyBundle(new Uint8Array(await bundle.arrayBuffer())).signingPublicKey;
    const auditor = await s.hospital.accounts.createAccount({
      username: 'auditor',
      displayName: 'Auditor',
      role: 'auditor',
      organisation: s.hospital.organisationId,
    });
    s.tokens.auditor = (await personApiToken(s.hospital, auditor.id as AccountId)).token;
    const administrator = await s.hospital.accounts.createAccount({
      username: 'administrator',
      displayName: 'Administrator',
      role: 'admin',
      organisation: s.hospital.organisationId,
    });
    s.tokens.administrator = (await personApiToken(s.hospital, administrator.id as AccountId)).token;
  }, 600_000);
  afterAll(async () => {
    await s?.close();
  });

  it('a patient sees who read and who was refused, each provable against a signed checkpoint', async () => {
    const { ids } = s;
    // Refused: no grant yet (the client sees only a 404).
    expect((await s.call('doctor', 'GET', `/Observation/${ids.observation}`)).status).toBe(404);
    await s.grant({ categories: [DataCategory.Observations] });
    expect((await s.call('doctor', 'GET', `/Observation/${ids.observation}`)).status).toBe(200);
    // Another patient's record, read by the organisation: not in this patient's log.
    expect((await s.call('admin', 'GET', `/Observation/${ids.otherObservation}`)).status).toBe(200);
    const log = await patientLog();
    const cp = log.checkpoint;
    expect(verifyCheckpointSignature(signed(cp), publicKey)).toBe(true);
    for (const e of log.entries) {
      const claim = claimOf(e, cp);
      expect(verifyAuditInclusion(claim, publicKey)).toBe(true);
      // A doctored event (another agent) no longer matches its commitment.
      const forged = { ...e.event, agent: [{ who: { display: 'someone else' }, requestor: true }] };
      expect(verifyAuditInclusion({ ...claim, event: forged }, publicKey)).toBe(false);
    }
    const doctorEvents = log.entries.filter(
      (e) => e.event.agent[0].altId === `urn:medledger:member:${s.members.doctor.toLowerCase()}`,
    );
    const reads = doctorEvents.filter((e) => routeOf(e) === 'GET /fhir/:type/:id');
    const refused = reads.find((e) => e.event.outcome === '4');
    expect(refused?.event.outcomeDesc).toBe('denied by the access policy');
    expect(refused?.event.entity).toContainEqual({ what: { reference: `Observation/${ids.observation}` } });
    const granted = reads.find((e) => e.event.outcome === '0' && !e.breakGlass);
    expect(granted?.event.entity[0].what.reference).toBe(`Observation/${ids.observation}`);
    expect(granted?.event.agent[0].purposeOfUse).toBeUndefined(); // none asserted: treatment by default
    // Nothing about the other patient.
    expect(JSON.stringify(log.entries)).not.toContain(ids.otherObservation);
  });

  it('shows the patient no network address; the auditor and the export see it, matching its commitment', async () => {
    await s.call('doctor', 'GET', `/Observation/${s.ids.observation}`);
    const log = await get('patient', `/audit/patients/${s.ids.patient}/events?_count=1000`);
    expect(log.status).toBe(200);
    // The requests came from this machine; the node saw 127.0.0.1 or its IPv6-mapped form.
    expect(log.text).not.toContain('127.0.0.1');
    expect(log.text).not.toMatch(/::ffff:/i);
    expect(log.text).not.toContain('"network"');
    const page = log.body as Page;
    const indices = page.entries.map((e) => e.index);
    expect(indices.length).toBeGreaterThan(0);
    for (const e of page.entries)
      expect(verifyAuditInclusion(claimOf(e, page.checkpoint), publicKey)).toBe(true);

    // The same entries in the auditor's view of that patient's log: the doctor's address, opening its commitment.
    const audited = (await get('auditor', `/audit/patients/${s.ids.patient}/events?_count=1000`))
      .body as Page;
    const shared = audited.entries.filter((e) => indices.includes(e.index));
    expect(shared).toHaveLength(indices.length);
    for (const e of shared) {
      expect(e.event.agent[0].network.address).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      expect(verifyNetworkAddresses(e.event)).toBe(true);
      const patients = page.entries.find((p) => p.index === e.index)!;
      expect(committedAuditEvent(e.event)).toEqual(patients.event);
    }

    const fhir = (await get('auditor', '/audit/export?_count=1000')).text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const exported = fhir.filter((l) => indices.includes(Number(l.id)));
    expect(exported).toHaveLength(indices.length);
    for (const l of exported) {
      expect(l.agent[0].network.address).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      expect(verifyNetworkAddresses(l)).toBe(true);
    }
    const ocsf = (await get('auditor', '/audit/export?format=ocsf&_count=1000')).text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const read = ocsf.find((e) => e.api?.operation === 'GET /fhir/:type/:id');
    expect(read.src_endpoint.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  });

  it('the log is only the patient’s, their auditors’ and the organisation’s to see', async () => {
    const other = await get('doctor', `/audit/patients/${s.ids.patient}/events`);
    const missing = await get('doctor', '/audit/patients/no-such-patient/events');
    expect(other.status).toBe(404);
    expect(other.text).toBe(missing.text);
    expect((await get('patient', `/audit/patients/${s.ids.other}/events`)).status).toBe(404);
    expect((await get('auditor', `/audit/patients/${s.ids.patient}/events`)).status).toBe(200);
    expect((await get('doctor', '/audit/events')).status).toBe(403);
    expect((await get('patient', '/audit/export')).status).toBe(403);
    const bad = await get('auditor', '/audit/events?cursor=-1');
    expect(bad.status).toBe(400);
    expect(bad.body.resourceType).toBe('OperationOutcome');
    expect((await get('auditor', '/audit/export?format=csv')).status).toBe(400);
    expect((await get('auditor', '/audit/events?_count=1001')).status).toBe(400);
    expect((await fetch(`${origin}/audit/checkpoint`)).status).toBe(401);
  });

  it('the auditor pages through every event; the SIEM export resumes where it stopped', async () => {
    const first = (await get('auditor', '/audit/events?_count=5')).body as Page;
    expect(first.entries.map((e) => e.index)).toEqual([0, 1, 2, 3, 4]);
    const second = (await get('auditor', `/audit/events?_count=5&cursor=${first.next}`)).body as Page;
    expect(second.entries[0]!.index).toBe(5);

    let cursor = 0;
    const lines: Record<string, any>[] = [];
    for (let round = 0; round < 1000; round++) {
      const r = await get('auditor', `/audit/export?_count=7&cursor=${cursor}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('application/fhir+ndjson');
      const page = r.text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      cursor = Number(r.headers.get('x-medledger-next-cursor'));
      lines.push(...page);
      // The end of the log for now (each export request is itself audited: the log never stays still).
      if (page.length < 7) break;
    }
    expect(lines.map((l) => Number(l.id))).toEqual(lines.map((_, i) => i)); // every entry once, in order
    expect(lines.every((l) => l.resourceType === 'AuditEvent')).toBe(true);
    expect(lines.some((l) => l.outcomeDesc === 'denied by the access policy')).toBe(true);

    const ocsf = await get('auditor', '/audit/export?format=ocsf&_count=1000');
    const events = ocsf.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThanOrEqual(lines.length);
    const read = events.find((e) => e.api?.operation === 'GET /fhir/:type/:id' && e.status_id === 1);
    expect(read).toMatchObject({ class_uid: 6003, type_uid: 600302, unmapped: { break_glass: false } });
    expect(events.find((e) => e.status_detail === 'denied by the access policy')).toMatchObject({
      status_id: 2,
      actor: { user: { type: 'urn:medledger:account' } },
    });
  });

  it('serves checkpoints with their on-chain anchor, inclusion and consistency proofs', async () => {
    const a = (await get('patient', '/audit/checkpoint')).body as Checkpoint;
    await s.call('doctor', 'GET', `/Observation/${s.ids.observation}`);
    // The node signs a checkpoint every second when the log grew.
    const b = await until('the next checkpoint', async () => {
      const c = (await get('patient', '/audit/checkpoint')).body as Checkpoint;
      return c.size > a.size ? c : undefined;
    });
    const consistency = await get('patient', `/audit/proof/consistency?from=${a.id}&to=${b.id}`);
    expect(consistency.status).toBe(200);
    expect(verifyCheckpointConsistency(signed(a), signed(b), consistency.body.proof.map(bytes))).toBe(true);
    expect(verifyCheckpointConsistency(signed(b), signed(a), consistency.body.proof.map(bytes))).toBe(false);
    expect((await get('patient', `/audit/proof/consistency?from=${b.id}&to=${a.id}`)).status).toBe(400);

    const inclusion = (await get('patient', `/audit/proof/inclusion?index=${a.size - 1}&checkpoint=${b.id}`))
      .body;
    expect(
      verifyEntryInclusion(
        bytes(inclusion.commitment),
        a.size - 1,
        b.size,
        inclusion.proof.map(bytes),
        bytes(b.root),
      ),
    ).toBe(true);
    expect((await get('patient', `/audit/proof/inclusion?index=${b.size}&checkpoint=${b.id}`)).status).toBe(
      400,
    );
    expect((await get('patient', '/audit/checkpoint/999999')).status).toBe(404);

    // Anchored on-chain: the checkpoint's anchor names its block and transaction, and AuditAnchor holds it.
    const anchored = await until('an anchored checkpoint', async (): Promise<Checkpoint | undefined> => {
      const r = await get('patient', '/audit/checkpoint?anchored=true');
      return r.status === 200 && r.body.size >= b.size ? r.body : undefined;
    });
    expect(verifyCheckpointSignature(signed(anchored), publicKey)).toBe(true);
    expect(anchored.anchor).toMatchObject({ status: 'confirmed', blockNumber: expect.any(Number) });
    expect(anchored.anchor!.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    const receipt = await s.hospital.ledger.publicClient.getTransactionReceipt({
      hash: anchored.anchor!.txHash,
    });
    expect(Number(receipt.blockNumber)).toBe(anchored.anchor!.blockNumber);
    const onChain = await s.hospital.ledger.latestAuditCheckpoint(
      s.hospital.organisationId,
      auditLogKey(anchored.logId),
    );
    expect(onChain.treeSize).toBeGreaterThanOrEqual(anchored.size);
    expect((await get('patient', '/audit/checkpoint?anchored=maybe')).status).toBe(400);
  });

  it('audit verify checks every anchored root against the chain', async () => {
    const res = await get('admin', '/audit/$verify');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true });
    expect(res.body.anchors).toBeGreaterThanOrEqual(1);
  });

  it('the organisation’s auditors run audit verify; its administrators read the node status; nobody else', async () => {
    const verified = await get('auditor', '/audit/$verify');
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ ok: true, size: expect.any(Number) });
    for (const who of ['doctor', 'patient', 'administrator']) {
      const refused = await get(who, '/audit/$verify');
      expect(refused.status).toBe(403);
      expect(refused.body.resourceType).toBe('OperationOutcome');
    }
    const status = await get('administrator', '/fhir/$status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ anchoring: expect.any(Object), ledger: expect.any(Object) });
    expect((await get('admin', '/fhir/$status')).status).toBe(200);
    for (const who of ['doctor', 'patient', 'auditor']) {
      expect((await get(who, '/fhir/$status')).status).toBe(403);
    }
    // The patient never reaches administration either.
    expect((await get('patient', '/admin/accounts')).status).toBe(403);
    expect((await get('patient', '/admin/break-glass')).status).toBe(403);
  });
});
