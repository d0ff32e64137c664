/**
 * The node's audit trail: every authenticated request — allowed or refused — leaves a sealed AuditEvent queued
 * before its response, integrated into the RFC 9162 log and checkpointed with the node's key; the verifier
 * recomputes everything and names the first divergence when a stored entry is altered.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DICTIONARY_V2 } from '../src/audit/eventCodec.js';
import { startTestNode, type TestNode, until } from './helpers.js';

describe('the audit trail of a node', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ backend: 'pglite' });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  let patientId: string;
  const entries = async () =>
    (await t.node.db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM audit_entries')).rows[0]!.n;
  const verify = async () => {
    const res = await fetch(t.url.replace(/\/fhir$/, '/audit/$verify'), {
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { ok: boolean; size: number; checkpoints: number; divergence?: any };
  };

  it('queues one AuditEvent per authenticated request before answering, refusals included', async () => {
    const before = await entries();
    const created = await t.fhir('POST', '/Patient', { resourceType: 'Patient', gender: 'other' });
    expect(created.status).toBe(201);
    patientId = created.body.id;
    const read = await t.fhir('GET', `/Patient/${created.body.id}`, undefined, {
      'x-purpose-of-use': 'HOPERAT',
    });
    expect(read.status).toBe(200);
    expect((await t.fhir('GET', '/Patient?_count=1')).status).toBe(200);
    expect((await t.fhir('GET', '/Patient/no-such-id')).status).toBe(404);
    expect((await t.fhir('POST', '/Patient', { resourceType: 'Patient', bogus: 1 })).status).toBe(400);
    // Each was acknowledged only after its event was queued.
    expect(await entries()).toBe(before + 5);
    // A request without a valid credential reaches no record, and is audited as such.
    expect((await fetch(`${t.url}/Patient`)).status).toBe(401);
    expect(await entries()).toBe(before + 6);
    // Public endpoints (metadata, health) are not.
    expect((await fetch(`${t.url}/metadata`)).status).toBe(200);
    expect(await entries()).toBe(before + 6);
  });

  it('keeps no plaintext in the log: events are sealed, leaves are salted commitments', async () => {
    // The events' real values, read back through the auditor's export (opened with the node's key).
    const exported = async () => {
      const res = await fetch(t.url.replace(/\/fhir$/, '/audit/export?_count=1000'), {
        headers: { authorization: `Bearer ${t.token}` },
      });
      expect(res.status).toBe(200);
      return (await res.text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, any>);
    };
    const events = await until('the created patient’s read integrated', async () => {
      const all = await exported();
      const read = all.some((e) => e.entity?.some((x: any) => x.what?.reference === `Patient/${patientId}`));
      return read ? all : undefined;
    });
    // Each value as the event spells it in JSON: these bytes appear nowhere but in a stored event.
    const fields = new Map<string, string>();
    for (const e of events) {
      for (const a of e.agent ?? []) {
        if (a.who?.identifier?.value) fields.set('account', `"value":"${a.who.identifier.value}"`);
        if (a.network?.address) fields.set('address', `"address":"${a.network.address}"`);
        for (const p of a.purposeOfUse ?? []) fields.set('purpose', `"code":"${p.coding[0].code}"`);
      }
      for (const x of e.entity ?? []) {
        if (x.what?.reference === `Patient/${patientId}`)
          fields.set('patient', `"reference":"Patient/${patientId}"`);
      }
      for (const x of e.extension ?? []) {
        if (x.url === 'urn:medledger:route') fields.set('route', `"valueString":"${x.valueString}"`);
      }
    }
    expect([...fields.keys()].sort()).toEqual(['account', 'address', 'patient', 'purpose', 'route']);
    const needles = [...fields.values()].map((v) => Buffer.from(v));

    // What an attacker holding the code reads from stored bytes: the bytes, and whatever they decompress to.
    const readings = (bytes: Buffer): Buffer[] => {
      const out = [bytes];
      for (const inflate of [
        () => inflateRawSync(bytes, { dictionary: DICTIONARY_V2 }),
        () => inflateRawSync(bytes),
        () => inflateSync(bytes),
        () => gunzipSync(bytes),
      ]) {
        try {
          out.push(inflate());
        } catch {
          // not that encoding
        }
      }
      return out;
    };
    const { rows } = await t.node.db.query<{ sealed_event: Uint8Array }>(
      'SELECT sealed_event FROM audit_entries',
    );
    expect(rows.length).toBeGreaterThanOrEqual(events.length);
    for (const r of rows) {
      for (const reading of readings(Buffer.from(r.sealed_event))) {
        for (const n of needles) expect(reading.includes(n), `a stored event shows ${n}`).toBe(false);
      }
    }
    // Every file the node wrote (database pages and write-ahead log included), as raw bytes.
    const files = readdirSync(t.dataDir, { recursive: true, withFileTypes: true })
      .filter((f) => f.isFile())
      .map((f) => join(f.parentPath, f.name));
    expect(files.length).toBeGreaterThan(50);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const n of needles) expect(bytes.includes(n), `${f} shows ${n}`).toBe(false);
    }
  });

  it('verifies the whole log, and names the entry an attacker altered', async () => {
    const good = await verify();
    expect(good.ok).toBe(true);
    expect(good.size).toBeGreaterThanOrEqual(5);
    expect(good.checkpoints).toBeGreaterThanOrEqual(1);

    // Swap two stored events: each still opens, but no longer matches its commitment.
    const { rows } = await t.node.db.query<{ seq: number; sealed_event: Uint8Array }>(
      'SELECT seq, sealed_event FROM audit_entries WHERE leaf_index IS NOT NULL ORDER BY leaf_index LIMIT 2',
    );
    const [a, b] = rows;
    await t.node.db.query('UPDATE audit_entries SET sealed_event = $1 WHERE seq = $2', [
      b!.sealed_event,
      a!.seq,
    ]);
    const bad = await verify();
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad.divergence)).toContain('commitment');
    await t.node.db.query('UPDATE audit_entries SET sealed_event = $1 WHERE seq = $2', [
      a!.sealed_event,
      a!.seq,
    ]);
    expect((await verify()).ok).toBe(true);
  });

  it('the CLI verifies the log, and exports it as NDJSON resuming from its cursor file', async () => {
    const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'medledger-audit-cli-'));
    const cursorFile = join(dir, 'cursor');
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--conditions=source', '--import', 'tsx', entry, ...args], {
        env: { ...process.env, MEDLEDGER_URL: t.url, MEDLEDGER_ADMIN_TOKEN: t.token },
      });
    try {
      const verified = await cli('audit', 'verify');
      expect(verified.stdout).toMatch(
        /^audit log: \d+ entries, \d+ checkpoints and \d+ on-chain anchors verified, .* consistent\n$/,
      );
      const first = (await cli('audit', 'export', '--cursor-file', cursorFile)).stdout.trim().split('\n');
      const ids = first.map((l) => Number(JSON.parse(l).id));
      expect(ids).toEqual(ids.map((_, i) => i));
      const cursor = Number(readFileSync(cursorFile, 'utf8'));
      expect(cursor).toBe(ids.length);
      await t.fhir('GET', '/Patient?_count=1');
      const second = (await cli('audit', 'export', '--format', 'ocsf', '--cursor-file', cursorFile)).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      // Nothing twice, nothing skipped: the next export starts where the last one stopped.
      expect(Number(second[0].metadata.uid)).toBe(cursor);
      const search = second.find((e) => e.api?.operation === 'GET /fhir/:type');
      expect(search).toMatchObject({ class_uid: 6003, activity_id: 2, activity_name: 'Read', status_id: 1 });
      const refused = await cli('audit', 'export', '--format', 'csv').then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(refused?.code).not.toBe(0);
      expect(refused?.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
