/**
 * Bulk export ($export, FHIR Bulk Data Access IG v2) on the care setting's hospital: system, patient and group
 * level; each caller gets exactly what it may read directly (the organisation everything, a backend client its
 * scopes, a patient their compartment, a clinician what consent grants, an unlicensed clinician nothing);
 * jobs are their owner's alone; malformed kick-offs are refused; files are sealed on disk and deleted on expiry.
 * Jobs are awaited through the node's job runner (`settled`), never against a clock.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataCategory } from '@medledger/core';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials } from '../../oidc/test/harness.js';
import { type CareSetting, startCareSetting } from './careSetting.js';

const KICK_OFF = { accept: 'application/fhir+json', prefer: 'respond-async' };

describe('bulk export', () => {
  let s: CareSetting;
  const ids: Record<string, string> = {};

  const send = async (
    token: string,
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ) => {
    const res = await fetch(path.startsWith('http') ? path : `${s.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  /** Kicks off, waits for the runner to finish the job, and returns its id and status response. */
  const startExport = async (token: string, path: string, method = 'GET', body?: unknown) => {
    const kick = await send(token, method, path, KICK_OFF, body);
    expect(kick.status, kick.text).toBe(202);
    const location = kick.headers.get('content-location')!;
    expect(location).toMatch(/\/fhir\/\$export-status\/[0-9a-f]{32}$/);
    const job = location.split('/').pop()!;
    expect(await s.hospital.bulkExports.settled(job)).toBe('completed');
    return { job, location };
  };

  /** The manifest and every output file's resources, as "Type/id" references (sorted). */
  const exported = async (token: string, path: string, method = 'GET', body?: unknown) => {
    const { job, location } = await startExport(token, path, method, body);
    const status = await send(token, 'GET', location);
    expect(status.status).toBe(200);
    const manifest = JSON.parse(status.text);
    const refs: string[] = [];
    const resources: Record<string, any>[] = [];
    for (const out of manifest.output) {
      const file = await send(token, 'GET', out.url, { accept: 'application/fhir+ndjson' });
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toContain('application/fhir+ndjson');
      const lines = file.text.split('\n').filter(Boolean);
      expect(lines).toHaveLength(out.count);
      for (const line of lines) {
        const r = JSON.parse(line);
        expect(r.resourceType).toBe(out.type);
        refs.push(`${r.resourceType}/${r.id}`);
        resources.push(r);
      }
    }
    return { job, location, manifest, refs: refs.sort(), resources };
  };

  const created = async (resource: Record<string, unknown>) => {
    const r = await s.call('admin', 'POST', `/${resource.resourceType}`, resource);
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  beforeAll(async () => {
    s = await startCareSetting();
    Object.assign(ids, s.ids);
    ids.third = await created({ resourceType: 'Patient', name: [{ family: 'Thirdperson' }] });
    ids.thirdObservation = await created({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'heart rate' },
      subject: { reference: `Patient/${ids.third}` },
    });
    ids.group = await created({
      resourceType: 'Group',
      type: 'person',
      actual: true,
      member: [
        { entity: { reference: `Patient/${ids.patient}` } },
        { entity: { reference: `${s.url}/Patient/${ids.other}` } },
        { entity: { reference: `Patient/${ids.third}` }, inactive: true },
      ],
    });
  }, 600_000);
  afterAll(async () => {
    await s?.close();
  });

  it('exports the whole system for the organisation, with a manifest as the IG describes', async () => {
    const before = new Date();
    const { manifest, refs, location } = await exported(s.tokens.admin!, '/$export');
    expect(refs).toEqual(
      [
        `Patient/${ids.patient}`,
        `Patient/${ids.other}`,
        `Patient/${ids.third}`,
        `Observation/${ids.observation}`,
        `Observation/${ids.otherObservation}`,
        `Observation/${ids.thirdObservation}`,
        `Condition/${ids.condition}`,
        `Organization/${ids.organization}`,
        `Group/${ids.group}`,
      ].sort(),
    );
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.request).toBe(`${new URL(s.url).origin}/fhir/$export`);
    expect(new Date(manifest.transactionTime).getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
    expect(manifest.error).toEqual([]);
    for (const out of manifest.output) expect(out.url.startsWith(`${s.url}/$export-file/`)).toBe(true);
    // The job stays until it expires: polling again gives the same manifest.
    const again = await send(s.tokens.admin!, 'GET', location);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.text)).toEqual(manifest);
    expect(again.headers.get('expires')).toBeTruthy();
  });

  it('a backend client exports what its system scopes allow, as it would read it directly', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const registered = await fetch(`${new URL(s.url).origin}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        clientId: 'registry-export',
        name: 'Registry export',
        jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] },
        scopes: ['system/Observation.rs'],
        firstParty: false,
      }),
    });
    expect(registered.status).toBe(201);
    const origin = new URL(s.url).origin;
    const token = await clientCredentials(
      { issuer: `${origin}/oauth` },
      {
        clientId: 'registry-export',
        kid: 'k1',
        privateKey: pair.privateKey,
        scope: 'system/Observation.rs',
        resource: s.url,
      },
    );
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    const { refs } = await exported(access_token, '/$export');
    const direct = JSON.parse((await send(access_token, 'GET', '/Observation?_count=100')).text);
    expect(refs).toEqual(direct.entry.map((e: any) => `Observation/${e.resource.id}`).sort());
    expect(refs).toHaveLength(3);
    // Asking for a type outside its scopes gives nothing of it (not an error, not a count).
    const conditions = await exported(access_token, '/$export?_type=Condition');
    expect(conditions.manifest.output).toEqual([]);
    expect((await send(access_token, 'GET', `/Condition/${ids.condition}`)).status).toBe(403);
  });

  it('exports a Group’s active member patients’ compartments (POST with a Parameters body too)', async () => {
    const { refs } = await exported(s.tokens.admin!, `/Group/${ids.group}/$export`);
    expect(refs).toEqual(
      [
        `Patient/${ids.patient}`,
        `Patient/${ids.other}`,
        `Observation/${ids.observation}`,
        `Observation/${ids.otherObservation}`,
        `Condition/${ids.condition}`,
        // Filed in the first member's compartment (the R4 Patient CompartmentDefinition names Group.member).
        `Group/${ids.group}`,
      ].sort(),
    );
    const posted = await exported(s.tokens.admin!, `/Group/${ids.group}/$export`, 'POST', {
      resourceType: 'Parameters',
      parameter: [
        { name: '_type', valueString: 'Observation' },
        { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
      ],
    });
    expect(posted.refs).toEqual(
      [`Observation/${ids.observation}`, `Observation/${ids.otherObservation}`].sort(),
    );
  });

  it('a patient’s own export is exactly their compartment, as $everything shows it to them', async () => {
    const { refs, job, manifest } = await exported(s.tokens.patient!, '/Patient/$export');
    const everything = JSON.parse(
      (await send(s.tokens.patient!, 'GET', `/Patient/${ids.patient}/$everything`)).text,
    );
    expect(refs).toEqual(
      everything.entry.map((e: any) => `${e.resource.resourceType}/${e.resource.id}`).sort(),
    );
    expect(refs).toEqual(
      [
        `Patient/${ids.patient}`,
        `Observation/${ids.observation}`,
        `Condition/${ids.condition}`,
        `Group/${ids.group}`,
      ].sort(),
    );
    // Through a Group naming others too, still only their own record.
    const group = await exported(s.tokens.patient!, `/Group/${ids.group}/$export`);
    expect(group.refs).toEqual(refs);
    // People do not export the whole system.
    const system = await send(s.tokens.patient!, 'GET', '/$export', KICK_OFF);
    expect(system.status).toBe(403);
    expect(JSON.parse(system.text).resourceType).toBe('OperationOutcome');
    // The files on disk are sealed: the patient's name, plain in the download, is nowhere in the bytes.
    const dir = s.hospital.bulkExports.directoryOf(job);
    const files = readdirSync(dir);
    expect(files.length).toBe(manifest.output.length);
    const download = await exported(s.tokens.patient!, '/Patient/$export?_type=Patient');
    expect(JSON.stringify(download.resources)).toContain('Testperson');
    const patientDir = s.hospital.bulkExports.directoryOf(download.job);
    const paths = [
      ...files.map((f) => join(dir, f)),
      ...readdirSync(patientDir).map((f) => join(patientDir, f)),
    ];
    for (const f of paths) {
      const bytes = readFileSync(f);
      expect(bytes.length).toBeGreaterThan(0);
      expect(bytes.includes(Buffer.from('Testperson'))).toBe(false);
      expect(bytes.includes(Buffer.from(ids.patient!))).toBe(false);
      expect(bytes.includes(Buffer.from('resourceType'))).toBe(false);
    }
  });

  it('a clinician exports exactly what consent grants, as they read it directly; unlicensed: nothing', async () => {
    const before = await exported(s.tokens.doctor!, '/Patient/$export');
    expect(before.manifest.output).toEqual([]);
    await s.grant({ categories: [DataCategory.Observations] });
    const { refs } = await exported(s.tokens.doctor!, '/Patient/$export');
    expect(refs).toEqual([`Observation/${ids.observation}`]);
    const direct = JSON.parse(
      (await send(s.tokens.doctor!, 'GET', `/Observation?patient=Patient/${ids.patient}`)).text,
    );
    expect(direct.entry.map((e: any) => `Observation/${e.resource.id}`)).toEqual(refs);
    // History under the same filter: the granted patient's observation only (not every patient's).
    const history = JSON.parse((await send(s.tokens.doctor!, 'GET', '/Observation/_history')).text);
    expect(history.entry.map((e: any) => `Observation/${e.resource.id}`)).toEqual(refs);
    expect((await send(s.tokens.doctor!, 'GET', `/Condition/${ids.condition}`)).status).toBe(404);
    expect((await send(s.tokens.doctor!, 'GET', `/Observation/${ids.otherObservation}`)).status).toBe(404);
    // The Group itself is not in what the grant covers: to the doctor it does not exist.
    const group = await send(s.tokens.doctor!, 'GET', `/Group/${ids.group}/$export`, KICK_OFF);
    expect(group.status).toBe(404);
    expect((await send(s.tokens.doctor!, 'GET', `/Group/${ids.group}`)).status).toBe(404);
    // The export is in the patient's access log: an Export event naming the doctor.
    const origin = new URL(s.url).origin;
    const log = await send(
      s.tokens.patient!,
      'GET',
      `${origin}/audit/patients/${ids.patient}/events?_count=1000`,
    );
    expect(log.status).toBe(200);
    const exports = JSON.parse(log.text).entries.filter(
      (e: any) =>
        e.event.type?.code === '110106' &&
        e.event.extension?.[0]?.valueString === 'POST /fhir/Patient/$export',
    );
    expect(exports.some((e: any) => e.event.agent[0].role?.[0]?.coding?.[0]?.code === 'doctor')).toBe(true);
    // A clinician without a valid licence gets nothing, though the grant is to the organisation.
    const unlicensed = await exported(s.tokens.unlicensed!, '/Patient/$export');
    expect(unlicensed.manifest.output).toEqual([]);
  });

  it('filters by _type and _since', async () => {
    const typed = await exported(s.tokens.admin!, '/$export?_type=Observation,Condition');
    expect(typed.refs).toEqual(
      [
        `Observation/${ids.observation}`,
        `Observation/${ids.otherObservation}`,
        `Observation/${ids.thirdObservation}`,
        `Condition/${ids.condition}`,
      ].sort(),
    );
    const since = new Date();
    const later = await created({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'later' },
      subject: { reference: `Patient/${ids.patient}` },
    });
    const recent = await exported(
      s.tokens.admin!,
      `/$export?_since=${encodeURIComponent(since.toISOString())}`,
    );
    expect(recent.refs).toEqual([`Observation/${later}`]);
    const own = await exported(
      s.tokens.patient!,
      `/Patient/$export?_since=${encodeURIComponent(since.toISOString())}`,
    );
    expect(own.refs).toEqual([`Observation/${later}`]);
  });

  it('refuses malformed kick-offs with an OperationOutcome and starts nothing', async () => {
    const admin = s.tokens.admin!;
    const cases: [string, Record<string, string>, number][] = [
      ['/$export', { accept: 'application/fhir+json' }, 400], // no Prefer: respond-async
      ['/$export', { prefer: 'respond-async' }, 400], // no Accept
      ['/$export?_outputFormat=text/csv', KICK_OFF, 400],
      ['/$export?_since=yesterday', KICK_OFF, 400],
      ['/$export?_type=NotAType', KICK_OFF, 400],
      ['/$export?_typeFilter=Observation%3Fstatus%3Dfinal', KICK_OFF, 400],
      ['/$export?_count=10', KICK_OFF, 400],
      ['/Group/no-such-group/$export', KICK_OFF, 404],
      [`/Group/${ids.group}/$export?_since=2020-13-45`, KICK_OFF, 400],
    ];
    for (const [path, headers, status] of cases) {
      const r = await send(admin, 'GET', path, headers);
      expect(r.status, path).toBe(status);
      expect(JSON.parse(r.text).resourceType).toBe('OperationOutcome');
      expect(r.headers.get('content-location')).toBeNull();
    }
    const notParameters = await send(admin, 'POST', '/$export', KICK_OFF, { resourceType: 'Patient' });
    expect(notParameters.status).toBe(400);
    // A Group the caller may not read is as unknown as one that does not exist.
    const hidden = await send(s.tokens.unlicensed!, 'GET', `/Group/${ids.group}/$export`, KICK_OFF);
    const missing = await send(s.tokens.unlicensed!, 'GET', '/Group/no-such-group/$export', KICK_OFF);
    expect(hidden.status).toBe(404);
    expect(hidden.text).toBe(missing.text);
  });

  it('a job is its owner’s alone: anyone else gets the answer a missing job gets', async () => {
    const { job, location, manifest } = await exported(s.tokens.patient!, '/Patient/$export');
    const missingJob = `${s.url}/$export-status/${'0'.repeat(32)}`;
    for (const who of ['doctor', 'insurer', 'admin'] as const) {
      const theirs = await send(s.tokens[who]!, 'GET', location);
      const missing = await send(s.tokens[who]!, 'GET', missingJob);
      expect(theirs.status).toBe(404);
      expect(theirs.text).toBe(missing.text);
      for (const out of manifest.output) {
        const file = await send(s.tokens[who]!, 'GET', out.url);
        expect(file.status).toBe(404);
        expect(file.text).toBe(missing.text);
      }
      expect((await send(s.tokens[who]!, 'DELETE', location)).status).toBe(404);
    }
    expect((await send(s.tokens.patient!, 'GET', location)).status).toBe(200);
    // Without a token: 401.
    expect((await fetch(location)).status).toBe(401);
    // The owner deletes it: gone, files and all.
    expect((await send(s.tokens.patient!, 'DELETE', location)).status).toBe(202);
    expect((await send(s.tokens.patient!, 'GET', location)).status).toBe(404);
    expect(() => readdirSync(s.hospital.bulkExports.directoryOf(job))).toThrow();
  });

  it('deletes a finished job and its files once it expires', async () => {
    const { job, location, manifest } = await exported(s.tokens.admin!, '/$export?_type=Patient');
    const dir = s.hospital.bulkExports.directoryOf(job);
    expect(readdirSync(dir).length).toBe(manifest.output.length);
    // Not yet expired: the sweep leaves it.
    await s.hospital.bulkExports.sweep(new Date(Date.now() + 60_000));
    expect((await send(s.tokens.admin!, 'GET', location)).status).toBe(200);
    // An hour and more later (the default expiry), it is gone.
    expect(await s.hospital.bulkExports.sweep(new Date(Date.now() + 3601_000))).toBeGreaterThanOrEqual(1);
    expect((await send(s.tokens.admin!, 'GET', location)).status).toBe(404);
    expect((await send(s.tokens.admin!, 'GET', manifest.output[0].url)).status).toBe(404);
    expect(() => readdirSync(dir)).toThrow();
  });
});
