/**
 * The node end to end over HTTP, on both database backends: authentication, the FHIR REST interactions,
 * validation, transactions (all or nothing), search without totals, the PHI-free index, and anchoring verified
 * against the chain by `$verify`.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOOTSTRAP_ADMIN_ID } from '@medledger/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_CACHE_MS } from '../src/access/Authenticator.js';
import {
  hl7Examples,
  postgresReachable,
  rewriteRefs,
  startTestNode,
  syntheaBundle,
  type TestNode,
  until,
  withoutServerMeta,
} from './helpers.js';

const BUNDLE = 'Dannie_Schmitt_22d6efc6-2dc7-4f36-9d27-84fc6609c469.json';
const backends = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

describe.each(backends)('medledger node on %s', (backend) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ backend });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('answers metadata and health without a token, and nothing else', async () => {
    const meta = await fetch(`${t.url}/metadata`);
    expect(meta.status).toBe(200);
    expect((await meta.json()).resourceType).toBe('CapabilityStatement');
    expect((await fetch(t.url.replace('/fhir', '/healthz'))).status).toBe(200);
    expect((await fetch(t.url.replace('/fhir', '/readyz'))).status).toBe(200);
    for (const [path, headers] of [
      ['/Patient', {}],
      ['/Patient', { authorization: 'Bearer not-a-valid-token-but-long-enough-0123456789' }],
      ['/Patient', { authorization: `Basic ${t.token}` }],
    ] as const) {
      const res = await fetch(`${t.url}${path}`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await res.json()).resourceType).toBe('OperationOutcome');
    }
    expect((await fetch(t.url.replace('/fhir', '/metrics'))).status).toBe(401);
    const metrics = await fetch(t.url.replace('/fhir', '/metrics'), {
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(await metrics.text()).toContain('medledger_http_requests_total');
  });

  it('refuses a revoked token within the documented authentication cache window', async () => {
    const { id, token } = await t.node.accounts.createApiToken(BOOTSTRAP_ADMIN_ID, { label: 'test' });
    const asToken = () =>
      fetch(`${t.url}/Patient?_count=1`, { headers: { authorization: `Bearer ${token}` } });
    expect((await asToken()).status).toBe(200);
    expect(await t.node.accounts.revokeApiToken(id)).toBe(true);
    await new Promise((r) => setTimeout(r, AUTH_CACHE_MS + 250));
    expect((await asToken()).status).toBe(401);
  });

  it('imports a Synthea transaction bundle and reads every resource back unchanged but for ids and meta', async () => {
    const bundle = syntheaBundle(BUNDLE);
    const res = await t.fhir('POST', '', bundle);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('transaction-response');
    expect(res.body.entry).toHaveLength(bundle.entry.length);
    const map = new Map<string, string>();
    bundle.entry.forEach((e: any, i: number) => {
      const location: string = res.body.entry[i].response.location;
      expect(res.body.entry[i].response.status).toBe('201 Created');
      map.set(e.fullUrl, location.replace(`${t.url}/`, '').replace(/\/_history\/\d+$/, ''));
    });
    for (const [i, e] of (bundle.entry as any[]).entries()) {
      const ref = map.get(e.fullUrl)!;
      const got = await t.fhir('GET', `/${ref}`);
      expect(got.status, ref).toBe(200);
      expect(got.body.meta.versionId).toBe('1');
      const { id, ...fetched } = withoutServerMeta(got.body);
      expect(id).toBe(ref.split('/')[1]);
      const { id: _originalId, ...expected } = rewriteRefs(e.resource, map) as Record<string, unknown>;
      expect(fetched, `entry ${i} (${e.resource.resourceType})`).toEqual(expected);
    }
  });

  it('accepts every HL7 example (PUT with its id) and reads it back unchanged but for meta', async () => {
    for (const { file, resource } of hl7Examples()) {
      const put = await t.fhir('PUT', `/${resource.resourceType}/${resource.id}`, resource);
      expect(put.status, `${file}: ${JSON.stringify(put.body.issue ?? '')}`).toBe(201);
      const got = await t.fhir('GET', `/${resource.resourceType}/${resource.id}`);
      expect(withoutServerMeta(got.body), file).toEqual(withoutServerMeta(resource));
    }
  });

  it('refuses invalid input with an OperationOutcome naming the problem, and stores nothing', async () => {
    const marker = `urn:test:${Date.now()}`;
    const patient = (extra: object) => ({
      resourceType: 'Patient',
      identifier: [{ system: marker, value: 'x' }],
      ...extra,
    });
    const cases: [string, unknown, number, RegExp | undefined][] = [
      ['invalid JSON', '{"resourceType": "Patient",', 400, undefined],
      ['unknown element', patient({ favouriteColour: 'blue' }), 400, /favouriteColour/],
      ['wrong value type', patient({ birthDate: 19700101 }), 400, /birthDate/],
      [
        'malformed reference',
        patient({ generalPractitioner: [{ reference: 'not a reference' }] }),
        400,
        /generalPractitioner/,
      ],
      [
        'wrong resourceType',
        { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
        400,
        undefined,
      ],
      ['unknown resourceType', { resourceType: 'Spaceship' }, 400, /resourceType/],
    ];
    for (const [what, body, status, path] of cases) {
      const res = await t.fhir('POST', '/Patient', body);
      expect(res.status, what).toBe(status);
      expect(res.body.resourceType, what).toBe('OperationOutcome');
      if (path) expect(JSON.stringify(res.body.issue), what).toMatch(path);
    }
    const big = await t.fhir(
      'POST',
      '/Patient',
      patient({ text: { status: 'generated', div: `<div>${'x'.repeat(17 * 1024 * 1024)}</div>` } }),
    );
    expect(big.status).toBe(413);
    const unknownType = await t.fhir('GET', '/Spaceship');
    expect(unknownType.status).toBe(404);
    const search = await t.fhir('GET', `/Patient?identifier=${encodeURIComponent(`${marker}|x`)}`);
    expect(search.body.entry ?? []).toHaveLength(0);
  });

  it('stores nothing of a transaction whose last entry is invalid', async () => {
    const bundle = syntheaBundle('Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json');
    bundle.entry.at(-1).resource.unknownElement = true;
    const res = await t.fhir('POST', '', bundle);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.issue)).toMatch(/Bundle\.entry\[\d+\]/);
    const ssn = bundle.entry[0].resource.identifier.find(
      (i: any) => i.system === 'http://hl7.org/fhir/sid/us-ssn',
    );
    const found = await t.fhir(
      'GET',
      `/Patient?identifier=${encodeURIComponent(`${ssn.system}|${ssn.value}`)}`,
    );
    expect(found.body.entry ?? []).toHaveLength(0);
  });

  it('creates, updates with If-Match, reads versions, keeps history, deletes', async () => {
    const created = await t.fhir('POST', '/Patient', { resourceType: 'Patient', name: [{ family: 'Crud' }] });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.headers.get('location')).toBe(`${t.url}/Patient/${id}/_history/1`);
    expect(created.headers.get('etag')).toBe('W/"1"');
    const v2 = { ...created.body, name: [{ family: 'Crud', given: ['Two'] }] };
    expect((await t.fhir('PUT', `/Patient/${id}`, v2, { 'if-match': 'W/"7"' })).status).toBe(412);
    const updated = await t.fhir('PUT', `/Patient/${id}`, v2, { 'if-match': 'W/"1"' });
    expect(updated.status).toBe(200);
    expect(updated.body.meta.versionId).toBe('2');
    expect((await t.fhir('GET', `/Patient/${id}/_history/1`)).body.name).toEqual([{ family: 'Crud' }]);
    expect((await t.fhir('GET', `/Patient/${id}/_history/3`)).status).toBe(404);
    expect((await t.fhir('DELETE', `/Patient/${id}`)).status).toBe(204);
    expect((await t.fhir('GET', `/Patient/${id}`)).status).toBe(410);
    const history = await t.fhir('GET', `/Patient/${id}/_history`);
    expect(history.body.type).toBe('history');
    expect(history.body.entry.map((e: any) => e.request.method)).toEqual(['DELETE', 'PUT', 'POST']);
    expect((await t.fhir('GET', '/Patient/no-such-id')).status).toBe(404);
  });

  it('conditional create returns the existing resource', async () => {
    const body = { resourceType: 'Patient', identifier: [{ system: 'urn:test:cond', value: backend }] };
    const first = await t.fhir('POST', '/Patient', body, {
      'if-none-exist': `identifier=urn:test:cond|${backend}`,
    });
    const second = await t.fhir('POST', '/Patient', body, {
      'if-none-exist': `identifier=urn:test:cond|${backend}`,
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
  });

  it('searches by patient, code and date with paging links and never a total', async () => {
    const patients = await t.fhir('GET', '/Patient?identifier=http://hl7.org/fhir/sid/us-ssn|999-96-8089');
    expect(patients.body.entry).toHaveLength(1);
    const pid = patients.body.entry[0].resource.id;
    const page1 = await t.fhir('GET', `/Observation?patient=Patient/${pid}&_count=5`);
    expect(page1.status).toBe(200);
    expect(page1.body.total).toBeUndefined();
    expect(page1.body.entry).toHaveLength(5);
    const next = page1.body.link.find((l: any) => l.relation === 'next').url as string;
    const page2 = await t.fhir('GET', next.replace(t.url, ''));
    expect(page2.body.entry.length).toBeGreaterThan(0);
    const ids1 = new Set(page1.body.entry.map((e: any) => e.resource.id));
    expect(page2.body.entry.some((e: any) => ids1.has(e.resource.id))).toBe(false);
    const all = await t.fhir('GET', `/Observation?patient=Patient/${pid}&_count=1000`);
    const first = all.body.entry[0].resource;
    const coding = first.code.coding[0];
    const byCode = await t.fhir(
      'GET',
      `/Observation?patient=${pid}&code=${encodeURIComponent(`${coding.system}|${coding.code}`)}`,
    );
    expect(
      byCode.body.entry.every((e: any) => e.resource.code.coding.some((c: any) => c.code === coding.code)),
    ).toBe(true);
    const day = String(first.effectiveDateTime).slice(0, 10);
    const byDate = await t.fhir('GET', `/Observation?patient=${pid}&date=${day}`);
    expect(byDate.body.entry.length).toBeGreaterThan(0);
    expect(byDate.body.entry.every((e: any) => String(e.resource.effectiveDateTime).startsWith(day))).toBe(
      true,
    );
    const bad = await t.fhir('GET', '/Observation?colour=blue');
    expect(bad.status).toBe(400);
    const everything = await t.fhir('GET', `/Patient/${pid}/$everything?_count=1000`);
    expect(everything.body.entry[0].resource.resourceType).toBe('Patient');
    expect(everything.body.entry.length).toBeGreaterThan(50);
  });

  it('keeps no plaintext PHI in the index database or the data directory', async () => {
    const patient = syntheaBundle(BUNDLE).entry[0].resource;
    const needles = [
      patient.name[0].family,
      patient.name[0].given[0],
      patient.birthDate,
      '999-96-8089',
      patient.address[0].line[0],
    ];
    const columns = await t.node.db.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND data_type IN ('text', 'bytea', 'character varying', 'ARRAY', 'jsonb')`,
    );
    expect(columns.rows.length).toBeGreaterThan(5);
    for (const { table_name, column_name } of columns.rows) {
      const { rows } = await t.node.db.query<{ v: string }>(
        `SELECT "${column_name}"::text AS v FROM "${table_name}"`,
      );
      for (const r of rows)
        for (const n of needles) expect(String(r.v), `${table_name}.${column_name}`).not.toContain(n);
    }
    // Every file the node wrote (database pages, blobs, chain state, keystore) — as raw bytes.
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        statSync(p).isDirectory() ? walk(p) : files.push(p);
      }
    };
    walk(t.dataDir);
    expect(files.length).toBeGreaterThan(50);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const n of needles)
        expect(bytes.includes(Buffer.from(n)), `${f} contains ${n.length} PHI bytes`).toBe(false);
    }
  });

  it('anchors every record version, and medledger verify confirms each against blob, batch and chain', async () => {
    const report = await until(
      'all records anchored',
      async () => {
        const r = await t.fhir('GET', '/$verify');
        return r.body.pending === 0 ? r.body : undefined;
      },
      60_000,
    );
    expect(report.problems).toEqual([]);
    expect(report.checked).toBeGreaterThan(150);
    expect(report.anchored).toBe(report.checked);
    const read = await t.fhir('GET', '/Patient?identifier=http://hl7.org/fhir/sid/us-ssn|999-96-8089');
    const got = await t.fhir('GET', `/Patient/${read.body.entry[0].resource.id}`);
    expect(got.headers.get('x-medledger-anchor')).toBe('anchored');
  });

  it('refuses a tampered blob at read time, says only that integrity failed, and $verify names the record', async () => {
    const { rows } = await t.node.db.query<{ type: string; id: string; cid: string }>(
      "SELECT type, id, cid FROM resources WHERE type = 'Observation' AND NOT deleted LIMIT 1",
    );
    const { type, id, cid } = rows[0]!;
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        statSync(p).isDirectory() ? walk(p) : f === cid && files.push(p);
      }
    };
    walk(join(t.dataDir, 'blobs'));
    expect(files).toHaveLength(1);
    const original = readFileSync(files[0]!);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 1]! ^= 1;
    writeFileSync(files[0]!, tampered);
    try {
      const res = await t.fhir('GET', `/${type}/${id}`);
      expect(res.status).toBe(500);
      expect(res.body.issue[0].diagnostics).toBe('stored data failed an integrity check');
      const report = (await t.fhir('GET', '/$verify')).body;
      expect(report.problems).toHaveLength(1);
      expect(report.problems[0]).toMatch(new RegExp(`^${type}/${id}/_history/1: `));
    } finally {
      writeFileSync(files[0]!, original);
    }
    expect((await t.fhir('GET', `/${type}/${id}`)).status).toBe(200);
  });
});
