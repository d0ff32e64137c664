/**
 * The node's audit trail: every authenticated request — allowed or refused — leaves a sealed AuditEvent queued
 * before its response, integrated into the RFC 9162 log and checkpointed with the node's key; the verifier
 * recomputes everything and names the first divergence when a stored entry is altered.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './helpers.js';

describe('the audit trail of a node', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ backend: 'pglite' });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

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
    expect((await t.fhir('GET', `/Patient/${created.body.id}`)).status).toBe(200);
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
    const { rows } = await t.node.db.query<{ sealed_event: Uint8Array }>(
      'SELECT sealed_event FROM audit_entries',
    );
    const text = Buffer.concat(rows.map((r) => Buffer.from(r.sealed_event))).toString('latin1');
    expect(text).not.toContain('AuditEvent');
    expect(text).not.toContain('Patient');
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
