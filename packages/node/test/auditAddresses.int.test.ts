/**
 * The node's audit trail keeps clients' network addresses out of the leaves, on a real PGlite database with real
 * keys: a patient's view of an event holds no address and still verifies (verifyAuditInclusion); the auditor's
 * view and the export hold the address, which opens its commitment; `verify` passes and catches a sealed address
 * swapped for another. An event committed with its address in clear (before addresses were withheld) still
 * opens and verifies for auditors and the verifier; patients get it without the address, flagged `redacted`,
 * without its salt, its commitment's inclusion still provable.
 */
import { randomBytes } from 'node:crypto';
import {
  auditLogMigrations,
  commitAuditEvent,
  committedAuditEvent,
  queueAuditEntries,
  verifyAuditInclusion,
  verifyEntryInclusion,
  verifyNetworkAddresses,
} from '@medledger/audit-log';
import {
  AeadKey,
  base64urlToBytes,
  CompositeSigner,
  canonicalBytes,
  compositeKeygen,
} from '@medledger/crypto';
import { type Db, migrate, openPgliteDb } from '@medledger/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail } from '../src/audit/AuditTrail.js';
import { type AuditedRequest, auditEventsOf } from '../src/audit/auditEvents.js';
import { sealAuditEvent } from '../src/audit/eventCodec.js';
import { inclusionClaim } from './helpers.js';

const keys = compositeKeygen(new Uint8Array(randomBytes(64)));
const sealingKey = new Uint8Array(randomBytes(32));
const pseudonym = new Uint8Array(randomBytes(32));
const ADDRESSES = ['::ffff:127.0.0.1', '127.0.0.1'];

const request = (address: string): AuditedRequest => ({
  method: 'GET',
  route: '/fhir/:type/:id',
  params: { type: 'Observation', id: randomBytes(8).toString('hex') },
  status: 200,
  caller: { kind: 'person', id: 'doctor-1', role: 'doctor', scopes: [], purpose: 0 },
  address,
  subjects: [{ pseudonym, breakGlass: false }],
  denied: false,
});

describe('network addresses in the node’s audit trail', () => {
  let db: Db;
  let trail: AuditTrail;
  beforeAll(async () => {
    db = await openPgliteDb();
    await migrate(db, auditLogMigrations);
    trail = await AuditTrail.open(db, {
      logId: 'medledger:organisation:1',
      organisation: 1,
      sealingKey,
      signer: new CompositeSigner(keys.secretKey),
      publicKey: keys.publicKey,
    });
    // One event committed the way the node did before addresses were withheld: the address inside the leaf.
    const legacy = auditEventsOf(request('127.0.0.1'), 1, new Date())[0]!.event;
    const { salt, commitment } = commitAuditEvent(legacy);
    await queueAuditEntries(db, [
      {
        salt,
        commitment,
        sealedEvent: sealAuditEvent(new AeadKey(sealingKey), canonicalBytes(legacy)),
        subject: pseudonym,
      },
    ]);
    for (const address of ADDRESSES) await trail.record(request(address));
    await trail.recordLogin({ address: '::ffff:127.0.0.1', success: false, method: 'login' });
  });
  afterAll(async () => {
    await trail?.stop();
    await db?.close();
  });

  it('never shows a patient an address, and every new entry still verifies', async () => {
    const page = await trail.provenEntries({ from: 0, limit: 100, subject: pseudonym, view: 'patient' });
    expect(page.entries).toHaveLength(3);
    const text = JSON.stringify(page);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain('::ffff:');
    expect(text).not.toContain('"network"');
    expect(text).not.toContain('network-address-salt');
    const [legacy, ...fresh] = page.entries;
    for (const e of fresh) {
      expect(e.redacted).toBeUndefined();
      expect(verifyAuditInclusion(inclusionClaim(e, page.checkpoint), keys.publicKey)).toBe(true);
    }
    // The old entry: no address, no salt, flagged; its commitment is still provably in the log.
    expect(legacy).toMatchObject({ index: 0, redacted: true });
    expect(legacy!.salt).toBeUndefined();
    expect(
      verifyEntryInclusion(
        base64urlToBytes(legacy!.commitment),
        legacy!.index,
        page.checkpoint.size,
        legacy!.proof.map(base64urlToBytes),
        base64urlToBytes(page.checkpoint.root),
      ),
    ).toBe(true);
  });

  it('shows auditors and the export each address, matching its commitment', async () => {
    const page = await trail.provenEntries({ from: 0, limit: 100, view: 'auditor' });
    expect(page.entries).toHaveLength(4);
    const addresses = page.entries.map((e) => (e.event.agent as any[])[0].network?.address);
    expect(addresses).toEqual(['127.0.0.1', ...ADDRESSES, '::ffff:127.0.0.1']);
    for (const e of page.entries) {
      expect(verifyNetworkAddresses(e.event)).toBe(true);
      const claim = inclusionClaim(e, page.checkpoint);
      expect(verifyAuditInclusion({ ...claim, event: committedAuditEvent(e.event) }, keys.publicKey)).toBe(
        true,
      );
    }
    const exported = await trail.events(0, 100);
    expect(exported.map((e) => (e.event.agent as any[])[0].network.address)).toEqual(addresses);
    expect(exported.every((e) => verifyNetworkAddresses(e.event))).toBe(true);
  });

  it('verifies the log, and reports a sealed address swapped for another', async () => {
    expect(await trail.verify()).toMatchObject({ ok: true, size: 4 });
    // Someone holding the sealing key re-seals entry 1 with another address: it no longer opens its commitment.
    const { rows } = await db.query<{ seq: number; sealed_event: Uint8Array }>(
      'SELECT seq, sealed_event FROM audit_entries WHERE leaf_index = 1',
    );
    const [auditor] = (await trail.provenEntries({ from: 1, limit: 1, view: 'auditor' })).entries;
    const agent = (auditor!.event.agent as any[])[0];
    const forged = {
      ...auditor!.event,
      agent: [{ ...agent, network: { ...agent.network, address: '10.9.9.9' } }],
    };
    await db.query('UPDATE audit_entries SET sealed_event = $1 WHERE seq = $2', [
      sealAuditEvent(new AeadKey(sealingKey), canonicalBytes(forged)),
      rows[0]!.seq,
    ]);
    const report = await trail.verify();
    expect(report.ok).toBe(false);
    expect(report.divergence).toMatchObject({ kind: 'entry', index: 1, reason: 'commitment' });
    await db.query('UPDATE audit_entries SET sealed_event = $1 WHERE seq = $2', [
      rows[0]!.sealed_event,
      rows[0]!.seq,
    ]);
    expect((await trail.verify()).ok).toBe(true);
  });
});
