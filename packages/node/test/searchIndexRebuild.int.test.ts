/**
 * Upgrading a node in place to a new search-token scheme: a node started on an index written under an older
 * scheme (its tokens missing or wrong) rebuilds every resource's tokens before it serves, through the record
 * service's system access, and records the scheme; the next start rebuilds nothing. A rebuild cut short (the
 * scheme unrecorded while records exist) runs again. Only the node's own access may run it.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MdlErrorCode } from '@medledger/core';
import { SEARCH_TOKEN_SCHEME } from '@medledger/fhir';
import { RecordIndex } from '@medledger/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSearchTokenScheme } from '../src/services/searchIndexScheme.js';
import { SHARED, startTestNode, type TestNode } from './helpers.js';

type Json = Record<string, any>;

const synthea = JSON.parse(
  readFileSync(new URL('synthea/bulk-ndjson-10-patients/Patient.000.ndjson', SHARED), 'utf8').split('\n')[0]!,
) as Json;

describe('search index rebuild on a token-scheme change', () => {
  let t: TestNode;
  let patientId: string;
  let observationId: string;
  let goneId: string;
  const family = synthea.name[0].family as string;
  const birthDate = synthea.birthDate as string;

  const ids = async (path: string): Promise<string[]> => {
    const r = await t.fhir('GET', path);
    expect(r.status).toBe(200);
    return (r.body.entry ?? []).map((e: Json) => e.resource.id as string).sort();
  };
  const storedScheme = async () =>
    (await t.node.db.query<{ version: number }>('SELECT version FROM search_token_scheme')).rows.map((r) =>
      Number(r.version),
    );
  const tokenRows = async (id: string) =>
    Number(
      (await t.node.db.query<{ n: number }>('SELECT count(*) AS n FROM search_tokens WHERE id = $1', [id]))
        .rows[0]!.n,
    );
  const restart = async () => {
    const { dataDir } = t;
    await t.node.stop();
    t = await startTestNode({ backend: 'pglite', dataDir });
  };

  beforeAll(async () => {
    t = await startTestNode({ backend: 'pglite' });
    const { id: _id, ...patient } = synthea;
    const p = await t.fhir('POST', '/Patient', patient);
    expect(p.status).toBe(201);
    patientId = p.body.id;
    const o = await t.fhir('POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject: { reference: `Patient/${patientId}` },
      valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    expect(o.status).toBe(201);
    observationId = o.body.id;
    const gone = await t.fhir('POST', '/Patient', { resourceType: 'Patient', name: [{ family }] });
    goneId = gone.body.id;
    expect((await t.fhir('DELETE', `/Patient/${goneId}`)).status).toBe(204);
  }, 600_000);

  afterAll(async () => {
    await t?.close();
  });

  it('records the current scheme on a fresh data directory without rebuilding', async () => {
    expect(t.node.searchIndex).toMatchObject({ from: undefined, to: SEARCH_TOKEN_SCHEME, rebuilt: false });
    expect(await storedScheme()).toEqual([SEARCH_TOKEN_SCHEME]);
  });

  it('rebuilds the tokens of an index written under an older scheme at start, then not again', async () => {
    const byName = `/Patient?family=${encodeURIComponent(family)}`;
    const byBirthdate = `/Patient?birthdate=${birthDate}`;
    const byPatient = `/Observation?patient=Patient/${patientId}`;
    expect(await ids(byName)).toEqual([patientId]);
    expect(await ids(byBirthdate)).toEqual([patientId]);
    expect(await ids(byPatient)).toEqual([observationId]);

    // An index of an older scheme: the Patient's tokens are others, the Observation's are missing.
    await t.node.db.query('DELETE FROM search_tokens WHERE id = ANY($1)', [[patientId, observationId]]);
    await t.node.db.query(
      `INSERT INTO search_tokens (type, id, param, token) VALUES ('Patient', $1, 'name', 'AAAAAAAAAAAAAAAAAAAAAA'),
              ('Patient', $1, 'birthdate', 'BBBBBBBBBBBBBBBBBBBBBB')`,
      [patientId],
    );
    await t.node.db.query('UPDATE search_token_scheme SET version = 1');
    expect(await ids(byName)).toEqual([]);
    expect(await ids(byPatient)).toEqual([]);

    await restart();
    expect(t.node.searchIndex).toMatchObject({ from: 1, to: SEARCH_TOKEN_SCHEME, rebuilt: true });
    // Every resource the index holds (the deleted one included, which keeps no tokens).
    expect(t.node.searchIndex).toMatchObject({ resources: 3, unreadable: 0 });
    expect(t.node.searchIndex.tokens).toBeGreaterThan(10);
    expect(await storedScheme()).toEqual([SEARCH_TOKEN_SCHEME]);
    expect(await ids(byName)).toEqual([patientId]);
    expect(await ids(byBirthdate)).toEqual([patientId]);
    expect(await ids(`/Patient?birthdate=ge${birthDate.slice(0, 4)}&birthdate=le${birthDate}`)).toEqual([
      patientId,
    ]);
    expect(await ids(byPatient)).toEqual([observationId]);
    expect(await ids('/Observation?code=http://loinc.org|8867-4')).toEqual([observationId]);
    expect(await ids(`/Patient?_id=${patientId}&name:missing=false`)).toEqual([patientId]);
    const garbage = await t.node.db.query(
      "SELECT 1 FROM search_tokens WHERE token IN ('AAAAAAAAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBBBBBBBB')",
    );
    expect(garbage.rows).toEqual([]);
    expect(await tokenRows(goneId)).toBe(0);
    expect((await t.fhir('GET', `/Patient/${goneId}`)).status).toBe(410);

    await restart();
    expect(t.node.searchIndex).toMatchObject({
      from: SEARCH_TOKEN_SCHEME,
      rebuilt: false,
      resources: 0,
      tokens: 0,
      unreadable: 0,
    });
    expect(await ids(byName)).toEqual([patientId]);
  }, 600_000);

  it('rebuilds again when a rebuild was cut short (no scheme recorded, records present)', async () => {
    // One more record, whose blob has gone missing: it keeps no tokens and is counted, the rest is rebuilt.
    const lost = await t.fhir('POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patientId}` },
    });
    expect(lost.status).toBe(201);
    const { cid } = (
      await t.node.db.query<{ cid: string }>(
        "SELECT cid FROM resources WHERE type = 'Observation' AND id = $1",
        [lost.body.id],
      )
    ).rows[0]!;
    const blob = (readdirSync(join(t.dataDir, 'blobs'), { recursive: true }) as string[]).find((f) =>
      f.endsWith(cid),
    )!;
    rmSync(join(t.dataDir, 'blobs', blob));
    await t.node.db.query('DELETE FROM search_tokens WHERE id = $1', [observationId]);
    await t.node.db.query('DELETE FROM search_token_scheme');
    const lines: string[] = [];
    const check = await ensureSearchTokenScheme({
      db: t.node.db,
      index: new RecordIndex(),
      records: t.node.records,
      log: (l) => lines.push(l),
    });
    expect(check).toMatchObject({ from: undefined, rebuilt: true, resources: 4, unreadable: 1 });
    expect(await tokenRows(lost.body.id)).toBe(0);
    expect(await storedScheme()).toEqual([SEARCH_TOKEN_SCHEME]);
    expect(await ids(`/Observation?patient=Patient/${patientId}`)).toEqual([observationId]);
    // Progress is counts only: no name, date or id of any record.
    const logged = lines.join('\n');
    for (const phi of [family, birthDate, patientId, observationId]) expect(logged).not.toContain(phi);
  });

  it('refuses the rebuild to any access but the node’s own', async () => {
    const patient = t.node.records.accessFor({
      kind: 'person',
      id: 'someone',
      role: 'patient',
      patientId,
      scopes: [],
      purpose: 1,
    } as Parameters<typeof t.node.records.accessFor>[0]);
    await expect(t.node.records.rebuildSearchTokens(patient)).rejects.toMatchObject({
      code: MdlErrorCode.Forbidden,
    });
    const client = t.node.records.accessFor({ kind: 'system', id: 'client', scopes: [] });
    await expect(t.node.records.rebuildSearchTokens(client)).rejects.toMatchObject({
      code: MdlErrorCode.Forbidden,
    });
  });
});
