/**
 * Writes and bundles as FHIR R4 says, against one real care setting (chain, PGlite, crypto): conditional
 * references resolved in transactions (with the Synthea bulk NDJSON loaded as transactions), independent batch
 * entries, PATCH in both formats, conditional update / delete / read, Prefer, 405 / 406 / 415, `_format` and
 * `_pretty` — each with its refused cases, and from an attacker's side (a patient aiming at another patient's
 * records gets exactly what a missing record gets).
 */
import { readFileSync } from 'node:fs';
import { type AccountId, createPatientKeys } from '@medledger/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATIENT_PSEUDONYM_SYSTEM } from '../src/access/PatientLinks.js';
import { personApiToken, registerTokenApp } from '../src/consortium/personSignIn.js';
import { SHARED, startTestNode, type TestNode } from './helpers.js';

const NDJSON = new URL('synthea/bulk-ndjson-10-patients/', SHARED);
const ndjson = (type: string): Record<string, any>[] =>
  readFileSync(new URL(`${type}.000.ndjson`, NDJSON), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));

const put = (resource: Record<string, any>) => ({
  resource,
  request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
});
const tx = (entry: unknown[], type = 'transaction') => ({ resourceType: 'Bundle', type, entry });

describe('writes and bundles as R4 says', () => {
  let t: TestNode;
  const ids: Record<string, string> = {};
  const tokens: Record<string, string> = {};

  const call = async (
    who: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
  };
  const admin = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call('admin', method, path, body, headers);

  // One node: the organisation's token, and a patient (with an account and an API token of their own) who
  // must not reach another patient's records.
  beforeAll(async () => {
    t = await startTestNode({ backend: 'pglite' });
    tokens.admin = t.token;
    const created = async (resource: Record<string, unknown>) => {
      const r = await admin('POST', `/${resource.resourceType}`, resource);
      if (r.status !== 201) throw new Error(`creating ${resource.resourceType}: HTTP ${r.status}`);
      return r.body.id as string;
    };
    const keys = createPatientKeys('patient passphrase for the test', { scrypt: { N: 2 ** 14, r: 8, p: 1 } });
    ids.patient = await created({
      resourceType: 'Patient',
      identifier: [{ system: PATIENT_PSEUDONYM_SYSTEM, value: keys.pseudonym }],
    });
    ids.other = await created({ resourceType: 'Patient', name: [{ family: 'Otherperson' }] });
    ids.otherObservation = await created({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${ids.other}` },
    });
    const node = t.node;
    await registerTokenApp(new URL(t.url).origin, t.token);
    const account = await node.accounts.createAccount({
      username: 'patient',
      displayName: 'patient',
      role: 'patient' as never,
      organisation: node.organisationId,
      patient: { fhirId: ids.patient, pseudonym: keys.pseudonym },
    });
    tokens.patient = (await personApiToken(node, account.id as AccountId, { label: 'test' })).token;
    expect((await call('patient', 'GET', `/Patient/${ids.patient}`)).status).toBe(200);
  }, 600_000);
  afterAll(async () => t?.close());

  it('loads the Synthea bulk data as transactions, every Encounter linked to its Practitioner, Location and Organization', async () => {
    const practitioners = ndjson('Practitioner');
    const locations = ndjson('Location');
    const organizations = ndjson('Organization');
    // The directory first, in one transaction; then each patient with their encounters, whose conditional
    // references name practitioners, locations and organizations stored by the first.
    const directory = await admin(
      'POST',
      '',
      tx([...organizations, ...locations, ...practitioners].map(put)),
    );
    expect(directory.status, directory.text).toBe(200);
    const byIdentifier = new Map<string, string>();
    for (const r of [...practitioners, ...locations, ...organizations]) {
      for (const i of r.identifier ?? [])
        byIdentifier.set(`${r.resourceType}?identifier=${i.system}|${i.value}`, `${r.resourceType}/${r.id}`);
    }

    // All 13 patients and their 1,215 encounters.
    const patients = ndjson('Patient');
    const encounters = ndjson('Encounter');
    expect(patients).toHaveLength(13);
    expect(encounters).toHaveLength(1215);
    for (const patient of patients) {
      const own = encounters.filter((e) => e.subject.reference === `Patient/${patient.id}`);
      const res = await admin('POST', '', tx([patient, ...own].map(put)));
      expect(res.status, res.text).toBe(200);
      expect(res.body.entry.every((e: any) => /^20[01]/.test(e.response.status))).toBe(true);
    }
    let linked = 0;
    for (const original of encounters) {
      const stored = (await admin('GET', `/Encounter/${original.id}`)).body;
      const expected = (ref: string) => byIdentifier.get(ref);
      expect(stored.participant[0].individual.reference).toBe(
        expected(original.participant[0].individual.reference),
      );
      expect(stored.location[0].location.reference).toBe(expected(original.location[0].location.reference));
      expect(stored.serviceProvider.reference).toBe(expected(original.serviceProvider.reference));
      for (const ref of [
        stored.participant[0].individual.reference,
        stored.location[0].location.reference,
        stored.serviceProvider.reference,
      ]) {
        expect(ref).toMatch(/^(Practitioner|Location|Organization)\/[A-Za-z0-9.-]+$/);
      }
      linked++;
    }
    expect(linked).toBe(encounters.length);
  }, 1_800_000);

  it('fails a transaction whose conditional reference matches nothing (404) or several (412), naming the entry, storing nothing', async () => {
    const marker = { system: 'urn:test:conditional', value: 'not-stored' };
    const obs = (performer: string) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${ids.other}` },
      performer: [{ reference: performer }],
    });
    const none = await admin(
      'POST',
      '',
      tx([
        {
          resource: { resourceType: 'Patient', identifier: [marker] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: obs('Practitioner?identifier=urn:none|nothing'),
          request: { method: 'POST', url: 'Observation' },
        },
      ]),
    );
    expect(none.status).toBe(404);
    expect(none.body.resourceType).toBe('OperationOutcome');
    expect(none.body.issue[0].expression).toEqual(['Bundle.entry[1].resource.performer[0].reference']);
    expect(none.text).not.toContain('urn:none');
    const search = await admin('GET', `/Patient?identifier=${marker.system}|${marker.value}`);
    expect(search.body.entry ?? []).toHaveLength(0);

    const twin = { resourceType: 'Organization', identifier: [{ system: 'urn:test:twin', value: '1' }] };
    expect((await admin('POST', '/Organization', twin)).status).toBe(201);
    expect((await admin('POST', '/Organization', twin)).status).toBe(201);
    const several = await admin(
      'POST',
      '',
      tx([
        {
          resource: obs('Organization?identifier=urn:test:twin|1'),
          request: { method: 'POST', url: 'Observation' },
        },
      ]),
    );
    expect(several.status).toBe(412);
    expect(several.body.issue[0].code).toBe('multiple-matches');
    expect(several.body.issue[0].expression).toEqual(['Bundle.entry[0].resource.performer[0].reference']);
  });

  it('resolves a conditional reference to a resource created in the same transaction', async () => {
    const res = await admin(
      'POST',
      '',
      tx([
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'x' },
            subject: { reference: `Patient/${ids.other}` },
            performer: [{ reference: 'Practitioner?identifier=urn:test:local|1' }],
          },
          request: { method: 'POST', url: 'Observation' },
        },
        {
          resource: { resourceType: 'Practitioner', identifier: [{ system: 'urn:test:local', value: '1' }] },
          request: { method: 'POST', url: 'Practitioner' },
        },
      ]),
    );
    expect(res.status, res.text).toBe(200);
    const practitioner = new URL(res.body.entry[1].response.location).pathname
      .split('/')
      .slice(-4, -2)
      .join('/');
    const observation = new URL(res.body.entry[0].response.location).pathname
      .split('/')
      .slice(-4, -2)
      .join('/');
    expect((await admin('GET', `/${observation}`)).body.performer[0].reference).toBe(practitioner);
  });

  it('processes batch entries independently, malformed ones included', async () => {
    const res = await admin(
      'POST',
      '',
      tx(
        [
          {
            resource: { resourceType: 'Organization', name: 'Batch A' },
            request: { method: 'POST', url: 'Organization' },
          },
          {
            resource: { resourceType: 'Observation', code: { text: 'no status' } },
            request: { method: 'POST', url: 'Observation' },
          },
          { request: { method: 'DELETE', url: 'Organization/does-not-exist' } },
          { resource: { resourceType: 'Organization' }, request: { method: 'PUT' } },
          { request: { method: 'GET', url: `Patient/${ids.other}` } },
          {
            resource: { resourceType: 'Organization', name: 'Batch B' },
            request: { method: 'POST', url: 'Organization' },
          },
          {
            resource: {
              resourceType: 'Location',
              managingOrganization: { reference: 'Organization?identifier=urn:none|0' },
            },
            request: { method: 'POST', url: 'Location' },
          },
        ],
        'batch',
      ),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body.type).toBe('batch-response');
    const statuses = res.body.entry.map((e: any) => String(e.response.status).slice(0, 3));
    expect(statuses[0]).toBe('201');
    expect(statuses[1]).toBe('400');
    expect(res.body.entry[1].response.outcome.issue[0].expression[0]).toMatch(
      /^Bundle\.entry\[1\]\.resource\.status$/,
    );
    expect(statuses[2]).toBe('404');
    expect(statuses[3]).toBe('400');
    expect(statuses[5]).toBe('201');
    expect(statuses[6]).toBe('404');
    expect(res.body.entry[6].response.outcome.issue[0].expression).toEqual([
      'Bundle.entry[6].resource.managingOrganization.reference',
    ]);
  });

  it('patches with JSON Patch and FHIRPath Patch through update, honouring If-Match, refusing bad patches', async () => {
    const created = await admin('POST', '/Patient', {
      resourceType: 'Patient',
      gender: 'female',
      name: [{ family: 'Patchme' }],
    });
    const id = created.body.id;
    const jsonPatch = (ops: unknown, headers: Record<string, string> = {}) =>
      admin('PATCH', `/Patient/${id}`, JSON.stringify(ops), {
        'content-type': 'application/json-patch+json',
        ...headers,
      });
    const ok = await jsonPatch([{ op: 'replace', path: '/gender', value: 'other' }], { 'if-match': 'W/"1"' });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.gender).toBe('other');
    expect(ok.headers.get('etag')).toBe('W/"2"');
    expect(
      (await jsonPatch([{ op: 'replace', path: '/gender', value: 'male' }], { 'if-match': 'W/"1"' })).status,
    ).toBe(412);
    expect((await jsonPatch({ op: 'replace' })).status).toBe(400);
    expect((await jsonPatch([{ op: 'test', path: '/gender', value: 'male' }])).status).toBe(422);
    expect((await jsonPatch([{ op: 'replace', path: '/gender', value: 'not-a-gender' }])).status).toBe(400);
    expect((await jsonPatch([{ op: 'replace', path: '/id', value: 'another' }])).status).toBe(422);
    const fhirPath = await admin('PATCH', `/Patient/${id}`, {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'operation',
          part: [
            { name: 'type', valueCode: 'add' },
            { name: 'path', valueString: 'Patient' },
            { name: 'name', valueString: 'birthDate' },
            { name: 'value', valueDate: '1970-01-01' },
          ],
        },
      ],
    });
    expect(fhirPath.status, fhirPath.text).toBe(200);
    expect(fhirPath.body.birthDate).toBe('1970-01-01');
    expect(
      (await admin('PATCH', `/Patient/${id}`, 'gender=male', { 'content-type': 'text/plain' })).status,
    ).toBe(415);
    // Removing a required element is refused like a PUT without it.
    const obs = await admin('POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
    });
    const removed = await admin(
      'PATCH',
      `/Observation/${obs.body.id}`,
      JSON.stringify([{ op: 'remove', path: '/status' }]),
      {
        'content-type': 'application/json-patch+json',
      },
    );
    expect(removed.status).toBe(400);
    expect(removed.body.issue[0]).toMatchObject({ code: 'required', expression: ['Observation.status'] });
    // In a transaction, as a Binary.
    const data = Buffer.from(JSON.stringify([{ op: 'replace', path: '/gender', value: 'unknown' }])).toString(
      'base64',
    );
    const inTx = await admin(
      'POST',
      '',
      tx([
        {
          resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data },
          request: { method: 'PATCH', url: `Patient/${id}` },
        },
      ]),
    );
    expect(inTx.status, inTx.text).toBe(200);
    expect((await admin('GET', `/Patient/${id}`)).body.gender).toBe('unknown');
  });

  it('updates and deletes conditionally, 412 on several matches', async () => {
    const identifier = [{ system: 'urn:test:cu', value: 'one' }];
    const first = await admin('PUT', '/Patient?identifier=urn:test:cu|one', {
      resourceType: 'Patient',
      identifier,
      gender: 'male',
    });
    expect(first.status, first.text).toBe(201);
    const second = await admin('PUT', '/Patient?identifier=urn:test:cu|one', {
      resourceType: 'Patient',
      identifier,
      gender: 'female',
    });
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get('etag')).toBe('W/"2"');
    const wrongId = await admin('PUT', '/Patient?identifier=urn:test:cu|one', {
      resourceType: 'Patient',
      id: 'other-id',
      identifier,
    });
    expect(wrongId.status).toBe(400);
    await admin('POST', '/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:test:cu', value: 'two' }],
    });
    await admin('POST', '/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:test:cu', value: 'two' }],
    });
    expect(
      (await admin('PUT', '/Patient?identifier=urn:test:cu|two', { resourceType: 'Patient' })).status,
    ).toBe(412);
    expect((await admin('DELETE', '/Patient?identifier=urn:test:cu|two')).status).toBe(412);
    expect(
      (await admin('DELETE', '/Patient?identifier=urn:test:cu|one', undefined, { 'if-match': 'W/"1"' }))
        .status,
    ).toBe(412);
    expect((await admin('DELETE', '/Patient?identifier=urn:test:cu|one')).status).toBe(204);
    expect((await admin('GET', `/Patient/${first.body.id}`)).status).toBe(410);
    expect((await admin('DELETE', '/Patient?identifier=urn:test:cu|one')).status).toBe(204);
    expect((await admin('DELETE', '/Patient')).status).toBe(405);

    // In a transaction: a conditional update that matches, referenced by another entry through its fullUrl,
    // and a conditional delete.
    const existing = await admin('POST', '/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:test:cu', value: 'three' }],
    });
    const gone = await admin('POST', '/Organization', {
      resourceType: 'Organization',
      identifier: [{ system: 'urn:test:cu', value: 'gone' }],
    });
    const urn = 'urn:uuid:0b8c5a0e-8a43-4c55-9c0e-6c1b2f0d4e01';
    const res = await admin(
      'POST',
      '',
      tx([
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'x' },
            subject: { reference: urn },
          },
          request: { method: 'POST', url: 'Observation' },
        },
        {
          fullUrl: urn,
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: 'urn:test:cu', value: 'three' }],
            gender: 'male',
          },
          request: { method: 'PUT', url: 'Patient?identifier=urn:test:cu|three' },
        },
        { request: { method: 'DELETE', url: 'Organization?identifier=urn:test:cu|gone' } },
      ]),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body.entry[1].response.status).toBe('200 OK');
    const observation = new URL(res.body.entry[0].response.location).pathname
      .split('/')
      .slice(-4, -2)
      .join('/');
    expect((await admin('GET', `/${observation}`)).body.subject.reference).toBe(
      `Patient/${existing.body.id}`,
    );
    expect((await admin('GET', `/Patient/${existing.body.id}`)).body.gender).toBe('male');
    expect((await admin('GET', `/Organization/${gone.body.id}`)).status).toBe(410);
  });

  it('declares in its CapabilityStatement exactly the write interactions it implements', async () => {
    const metadata = await admin('GET', '/metadata');
    expect(metadata.body.patchFormat).toEqual(['application/json-patch+json', 'application/fhir+json']);
    const patient = metadata.body.rest[0].resource.find((r: any) => r.type === 'Patient');
    expect(patient).toMatchObject({
      updateCreate: true,
      conditionalCreate: true,
      conditionalRead: 'full-support',
      conditionalUpdate: true,
      conditionalDelete: 'single',
    });
    expect(patient.interaction.map((i: any) => i.code)).toContain('patch');
  });

  it('answers Prefer, conditional reads, 405, 406, 415, _format and _pretty', async () => {
    const minimal = await admin(
      'POST',
      '/Organization',
      { resourceType: 'Organization', name: 'Minimal' },
      { prefer: 'return=minimal' },
    );
    expect(minimal.status).toBe(201);
    expect(minimal.text).toBe('');
    expect(minimal.headers.get('location')).toMatch(/\/Organization\/[^/]+\/_history\/1$/);
    const outcome = await admin(
      'POST',
      '/Organization',
      { resourceType: 'Organization', name: 'OO' },
      { prefer: 'return=OperationOutcome' },
    );
    expect(outcome.body.resourceType).toBe('OperationOutcome');
    const location = new URL(minimal.headers.get('location')!).pathname
      .replace(/^.*\/fhir/, '')
      .replace(/\/_history\/1$/, '');

    const notModified = await admin('GET', location, undefined, { 'if-none-match': 'W/"1"' });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect((await admin('GET', location, undefined, { 'if-none-match': 'W/"9"' })).status).toBe(200);
    const future = new Date(Date.now() + 3600_000).toUTCString();
    expect((await admin('GET', location, undefined, { 'if-modified-since': future })).status).toBe(304);
    expect(
      (await admin('GET', location, undefined, { 'if-modified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' }))
        .status,
    ).toBe(200);

    for (const [method, path] of [
      ['PATCH', '/metadata'],
      ['DELETE', '/metadata'],
      ['PATCH', '/Patient'],
      ['POST', `/Patient/${ids.other}`],
    ] as const) {
      const res = await admin(method, path, method === 'DELETE' ? undefined : {});
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
    expect(
      (await admin('GET', `/Patient/${ids.other}`, undefined, { accept: 'application/fhir+xml' })).status,
    ).toBe(406);
    expect((await admin('GET', `/Patient/${ids.other}?_format=xml`)).status).toBe(406);
    expect((await admin('GET', `/Patient/${ids.other}?_format=text/turtle`)).status).toBe(406);
    expect((await admin('GET', `/Patient/${ids.other}?_format=json`)).status).toBe(200);
    expect(
      (await admin('GET', `/Patient/${ids.other}`, undefined, { accept: 'application/fhir+json' })).status,
    ).toBe(200);
    expect(
      (await admin('POST', '/Patient', '<Patient/>', { 'content-type': 'application/fhir+xml' })).status,
    ).toBe(415);
    expect(
      (await admin('POST', '/Patient', '[]', { 'content-type': 'application/json-patch+json' })).status,
    ).toBe(415);
    const pretty = await admin('GET', `/Patient/${ids.other}?_pretty=true&_format=application/fhir%2Bjson`);
    expect(pretty.status).toBe(200);
    expect(pretty.text).toContain('\n  "resourceType": "Patient"');
  });

  it('treats another patient’s records exactly as missing ones: PATCH, conditional update / delete / read, conditional references', async () => {
    const patient = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      call('patient', method, path, body, headers);
    const same = (a: { status: number; text: string }, b: { status: number; text: string }) => {
      expect(a.status).toBe(b.status);
      expect(a.text).toBe(b.text);
    };
    const ops = JSON.stringify([{ op: 'replace', path: '/status', value: 'cancelled' }]);
    const jp = { 'content-type': 'application/json-patch+json' };
    const hidden = await patient('PATCH', `/Observation/${ids.otherObservation}`, ops, jp);
    same(hidden, await patient('PATCH', '/Observation/no-such-record', ops, jp));
    expect(hidden.status).toBe(404);

    same(
      await patient('GET', `/Observation/${ids.otherObservation}`, undefined, { 'if-none-match': 'W/"1"' }),
      await patient('GET', '/Observation/no-such-record', undefined, { 'if-none-match': 'W/"1"' }),
    );

    const deleted = await patient('DELETE', `/Observation?_id=${ids.otherObservation}`);
    same(deleted, await patient('DELETE', '/Observation?_id=no-such-record'));
    expect((await admin('GET', `/Observation/${ids.otherObservation}`)).status).toBe(200);

    const body = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${ids.other}` },
    };
    same(
      await patient('PUT', `/Observation?_id=${ids.otherObservation}`, body),
      await patient('PUT', '/Observation?_id=no-such-record', body),
    );
    expect((await admin('GET', `/Observation/${ids.otherObservation}`)).body.meta.versionId).toBe('1');

    const withRef = (ref: string) =>
      tx([
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'x' },
            subject: { reference: ref },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ]);
    // No update-as-create for people: a PUT to an id that does not exist answers as a hidden record does.
    same(
      await patient('PUT', '/Observation/brand-new-id', { ...body, id: 'brand-new-id' }),
      await patient('PUT', `/Observation/${ids.otherObservation}`, { ...body, id: ids.otherObservation }),
    );

    const refHidden = await patient('POST', '', withRef(`Patient?_id=${ids.other}`));
    same(refHidden, await patient('POST', '', withRef('Patient?_id=no-such-record')));
    expect(refHidden.status).toBe(404);
  });
});
