/**
 * A SMART app in a real browser: a static page on another origin (its own local HTTP server) uses the
 * `fhirclient` library (its browser build, as published) for a standalone launch against one node — discovery
 * through `.well-known/smart-configuration`, authorization with PKCE, the node's sign-in and consent pages
 * driven by playwright-core, the token exchange, a refresh with fhirclient's defaults — and reads the patient
 * and a search. A page on an origin not in MEDLEDGER_CORS_ORIGINS is refused by the browser.
 *
 * The same node answers the rest of what such apps rely on: CORS headers (allowed origin only), the SMART
 * CapabilityStatement and OperationDefinitions, RS256 ID tokens verifiable with the JWKS, and $everything's
 * parameters, with refused and malformed cases.
 *
 * Needs /usr/bin/chromium: without it the browser part is skipped with a warning, or fails when
 * MEDLEDGER_REQUIRE_BROWSER=1 (as CI sets).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { AccountId } from '@medledger/identity';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../crypto/test/browser/runInChromium.js';
import { PATIENT_PSEUDONYM_SYSTEM } from '../src/access/PatientLinks.js';
import { NODE_OPERATIONS } from '../src/routes/fhir.js';
import { startTestNode, type TestNode } from './helpers.js';

const requireBrowser = process.env.MEDLEDGER_REQUIRE_BROWSER === '1';
const haveChromium = existsSync(CHROMIUM_PATH);
if (!haveChromium && !requireBrowser) {
  console.warn(
    `!!! SKIPPING the SMART app browser test: no Chromium at ${CHROMIUM_PATH} (CI sets MEDLEDGER_REQUIRE_BROWSER=1).`,
  );
}

const FHIR_CLIENT_JS = join(
  dirname(createRequire(import.meta.url).resolve('fhirclient/package.json')),
  'build/fhir-client.js',
);
const PASSWORD = 'a long passphrase for the smart app test';
const CLIENT_ID = 'smart-browser-app';

/** A static web app on its own origin: the launch page, the app page, fhirclient. */
function appPages(fhirBase: string, otherPatient: string): Record<string, string> {
  const page = (body: string) =>
    `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">` +
    `<script src="/fhir-client.js"></script></head><body><script>${body}</script></body></html>`;
  return {
    '/launch.html': page(`
      FHIR.oauth2.authorize({
        iss: ${JSON.stringify(fhirBase)},
        clientId: ${JSON.stringify(CLIENT_ID)},
        scope: 'openid fhirUser launch/patient offline_access patient/*.rs',
        redirectUri: 'app.html',
      }).catch((e) => { window.result = { error: String(e) }; });`),
    '/app.html': page(`
      (async () => {
        const client = await FHIR.oauth2.ready();
        const patient = await client.patient.read();
        const search = await client.request('Observation?patient=' + client.patient.id);
        const first = client.state.tokenResponse;
        await client.refresh();
        const second = client.state.tokenResponse;
        const again = await client.request('Patient/' + client.patient.id);
        const otherEverything = await client
          .request(${JSON.stringify(`Patient/${otherPatient}/$everything?_type=Observation`)})
          .then(() => 'read', (e) => e.status);
        window.result = {
          patientId: client.patient.id,
          family: patient.name[0].family,
          observations: (search.entry || []).map((e) => e.resource.id),
          scope: first.scope,
          idToken: first.id_token,
          refreshed: second.access_token !== first.access_token && second.refresh_token !== first.refresh_token,
          afterRefresh: again.id,
          otherEverything,
        };
      })().catch((e) => { window.result = { error: String(e && e.message || e) }; });`),
    '/elsewhere.html': page(`
      Promise.all([
        fetch(${JSON.stringify(`${fhirBase}/metadata`)}).then(() => 'read', (e) => 'refused: ' + e.name),
        fetch(${JSON.stringify(`${fhirBase}/.well-known/smart-configuration`)}).then(() => 'read', (e) => 'refused: ' + e.name),
      ]).then((r) => { window.result = r; });`),
  };
}

async function serveApp(pages: () => Record<string, string>): Promise<{ server: Server; origin: string }> {
  const script = readFileSync(FHIR_CLIENT_JS, 'utf8');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/fhir-client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      return void res.end(script);
    }
    const html = pages()[path];
    if (html === undefined) {
      res.writeHead(404);
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('a SMART app on another origin', () => {
  let node: TestNode;
  let app: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  let browser: Browser | undefined;
  let fhirBase = '';
  const ids: Record<string, string> = {};

  const admin = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    node.fhir(method, path, body, headers);

  beforeAll(async () => {
    app = await serveApp(() => appPages(fhirBase, ids.other ?? ''));
    other = await serveApp(() => appPages(fhirBase, ids.other ?? ''));
    node = await startTestNode({ backend: 'pglite', env: { MEDLEDGER_CORS_ORIGINS: app.origin } });
    fhirBase = node.url;
    const created = async (resource: Record<string, unknown>) => {
      const r = await admin('POST', `/${resource.resourceType}`, resource);
      if (r.status !== 201) throw new Error(`creating ${resource.resourceType}: HTTP ${r.status}`);
      return r.body.id as string;
    };
    const pseudonym = `0x${randomBytes(32).toString('hex')}`;
    ids.patient = await created({
      resourceType: 'Patient',
      identifier: [{ system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym }],
      name: [{ family: 'Browserperson' }],
    });
    ids.other = await created({ resourceType: 'Patient', name: [{ family: 'Otherperson' }] });
    const observation = (patient: string, when: string) =>
      created({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: `Patient/${patient}` },
        effectiveDateTime: when,
      });
    ids.early = await observation(ids.patient, '2019-03-04T10:00:00Z');
    ids.late = await observation(ids.patient, '2023-07-08T10:00:00Z');
    ids.others = await observation(ids.other, '2023-07-08T10:00:00Z');
    ids.condition = await created({
      resourceType: 'Condition',
      subject: { reference: `Patient/${ids.patient}` },
      code: { text: 'x' },
      onsetDateTime: '2021-01-01',
    });
    const account = await node.node.accounts.createAccount({
      username: 'browser.patient',
      displayName: 'Browser Patient',
      role: 'patient',
      organisation: node.node.organisationId,
      patient: { fhirId: ids.patient, pseudonym: pseudonym as `0x${string}` },
    });
    await node.node.accounts.setPassword(account.id as AccountId, PASSWORD);
    const registered = await fetch(`${new URL(node.url).origin}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        clientId: CLIENT_ID,
        name: 'Browser SMART app',
        redirectUris: [`${app.origin}/app.html`, `${other.origin}/app.html`],
        scopes: ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/*.rs'],
        firstParty: false,
      }),
    });
    expect(registered.status).toBe(201);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    for (const s of [app?.server, other?.server]) {
      s?.closeAllConnections();
      await new Promise((resolve) => s?.close(resolve));
    }
    await node?.close();
  });

  it('answers CORS for the allowed origin only, preflights included', async () => {
    const preflight = (origin: string) =>
      fetch(`${fhirBase}/Observation`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'authorization, content-type, if-match, prefer',
        },
      });
    const ok = await preflight(app.origin);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(app.origin);
    expect(ok.headers.get('access-control-allow-methods')).toContain('PUT');
    const allowed = ok.headers.get('access-control-allow-headers')!.toLowerCase();
    for (const h of ['authorization', 'content-type', 'prefer', 'if-match', 'if-none-exist']) {
      expect(allowed).toContain(h);
    }
    const refused = await preflight(other.origin);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect(refused.headers.get('access-control-allow-methods')).toBeNull();

    const read = await fetch(`${fhirBase}/Patient/${ids.patient}`, {
      headers: { origin: app.origin, authorization: `Bearer ${node.token}` },
    });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBe(app.origin);
    expect(read.headers.get('access-control-expose-headers')!.toLowerCase()).toContain('etag');
    expect(read.headers.get('access-control-expose-headers')!.toLowerCase()).toContain('location');
    const origin = new URL(fhirBase).origin;
    for (const url of [
      `${fhirBase}/metadata`,
      `${fhirBase}/.well-known/smart-configuration`,
      `${origin}/.well-known/smart-configuration`,
      `${origin}/.well-known/openid-configuration`,
    ]) {
      const good = await fetch(url, { headers: { origin: app.origin } });
      expect(good.status, url).toBe(200);
      expect(good.headers.get('access-control-allow-origin'), url).toBe(app.origin);
      const bad = await fetch(url, { headers: { origin: other.origin } });
      expect(bad.headers.get('access-control-allow-origin'), url).toBeNull();
    }
    const tokenPreflight = await fetch(`${origin}/oauth/token`, {
      method: 'OPTIONS',
      headers: { origin: other.origin, 'access-control-request-method': 'POST' },
    });
    expect(tokenPreflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('declares SMART security, history and its operations, and serves their definitions read-only', async () => {
    const metadata = await fetch(`${fhirBase}/metadata`);
    const cs = (await metadata.json()) as Record<string, any>;
    const rest = cs.rest[0];
    expect(rest.security.service[0].coding[0].code).toBe('SMART-on-FHIR');
    const uris = Object.fromEntries(
      rest.security.extension[0].extension.map((e: { url: string; valueUri: string }) => [e.url, e.valueUri]),
    );
    const smart = (await (await fetch(`${fhirBase}/.well-known/smart-configuration`)).json()) as Record<
      string,
      string
    >;
    expect(uris.authorize).toBe(smart.authorization_endpoint);
    expect(uris.token).toBe(smart.token_endpoint);
    expect(rest.security.cors).toBe(true);
    expect(rest.interaction.map((i: { code: string }) => i.code)).toContain('history-system');
    const patient = rest.resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patient.interaction.map((i: { code: string }) => i.code)).toContain('history-type');
    const declared = [
      ...rest.operation,
      ...rest.resource.flatMap((r: { operation?: unknown[] }) => r.operation ?? []),
    ] as { name: string; definition: string }[];
    expect(declared.map((o) => o.name).sort()).toEqual([
      'access',
      'controlled-substance-history',
      'coverage-eligibility',
      'everything',
      'exchange-request',
      'export',
      'export',
      'export',
      'get-ws-binding-token',
      'match',
      'status',
      'status',
      'verify',
    ]);
    for (const op of declared) {
      const res = await fetch(op.definition);
      expect(res.status, op.definition).toBe(200);
      const def = (await res.json()) as Record<string, unknown>;
      expect(def.resourceType).toBe('OperationDefinition');
      expect(def.code).toBe(op.name);
      expect(def.url).toBe(op.definition);
    }
    const all = (await (await fetch(`${fhirBase}/OperationDefinition`)).json()) as { total: number };
    expect(all.total).toBe(NODE_OPERATIONS.length);
    expect((await fetch(`${fhirBase}/OperationDefinition/Patient-nothing`)).status).toBe(404);
    expect((await fetch(`${fhirBase}/OperationDefinition?url=x`)).status).toBe(400);
    const put = await admin('PUT', '/OperationDefinition/verify', {
      resourceType: 'OperationDefinition',
      id: 'verify',
    });
    expect(put.status).toBe(405);
    expect(put.body.resourceType).toBe('OperationOutcome');
    expect((await admin('DELETE', '/OperationDefinition/verify')).status).toBe(405);
    expect((await admin('GET', '/OperationDefinition/verify')).body.code).toBe('verify');
  });

  it('answers $everything with _type, _since, start and end, and refuses malformed ones', async () => {
    const everything = async (query: string) => {
      const r = await admin('GET', `/Patient/${ids.patient}/$everything${query}`);
      expect(r.status, `${query} ${JSON.stringify(r.body).slice(0, 300)}`).toBe(200);
      return (r.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id).sort();
    };
    const sorted = (...xs: string[]) => [...xs].sort();
    expect(await everything('')).toEqual(sorted(ids.patient!, ids.early!, ids.late!, ids.condition!));
    expect(await everything('?_type=Observation')).toEqual(sorted(ids.early!, ids.late!));
    expect(await everything('?_type=Patient,Condition')).toEqual(sorted(ids.patient!, ids.condition!));
    expect(await everything('?start=2020&end=2022-06')).toEqual(sorted(ids.patient!, ids.condition!));
    expect(await everything('?start=2023-07-08')).toEqual(sorted(ids.patient!, ids.late!));
    expect(await everything('?end=2019-03-04&_type=Observation')).toEqual([ids.early]);
    expect(await everything('?_since=2999-01-01T00:00:00Z')).toEqual([]);
    const before = new Date(Date.now() - 3_600_000).toISOString();
    expect(await everything(`?_since=${encodeURIComponent(before)}&_type=Observation`)).toEqual(
      sorted(ids.early!, ids.late!),
    );
    for (const bad of [
      '?_type=Nothing',
      '?start=2020-02-30',
      '?end=soon',
      '?_since=x',
      '?start=2022&end=2021',
      '?foo=1',
    ]) {
      const r = await admin('GET', `/Patient/${ids.patient}/$everything${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.resourceType).toBe('OperationOutcome');
    }
  });

  describe.skipIf(!haveChromium && !requireBrowser)('in Chromium', () => {
    beforeAll(async () => {
      if (!haveChromium) throw new Error(`MEDLEDGER_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM_PATH}`);
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
    }, 120_000);

    it('launches with fhirclient, signs in and consents, reads the patient, searches and refreshes', async () => {
      const context = await browser!.newContext();
      const page = await context.newPage();
      await page.goto(`${app.origin}/launch.html`);
      await page.waitForSelector('input[name="password"]', { timeout: 60_000 });
      expect(new URL(page.url()).origin).toBe(new URL(fhirBase).origin);
      await page.fill('input[name="username"]', 'browser.patient');
      await page.fill('input[name="password"]', PASSWORD);
      await page.click('button[type="submit"]');
      await page.waitForSelector('text=Allow', { timeout: 60_000 });
      await page.click('button:has-text("Allow")');
      await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, undefined, {
        timeout: 60_000,
      });
      const result = (await page.evaluate(() => (window as { result?: unknown }).result)) as Record<
        string,
        any
      >;
      expect(result.error).toBeUndefined();
      expect(new URL(page.url()).origin).toBe(app.origin);
      expect(result.patientId).toBe(ids.patient);
      expect(result.family).toBe('Browserperson');
      expect([...result.observations].sort()).toEqual([ids.early, ids.late].sort());
      expect(result.observations).not.toContain(ids.others);
      expect(result.scope.split(' ')).toContain('offline_access');
      expect(result.refreshed).toBe(true);
      expect(result.afterRefresh).toBe(ids.patient);
      // Another patient's $everything, with parameters, is missing to this app (404), not forbidden.
      expect(result.otherEverything).toBe(404);
      // The ID token fhirclient received: RS256, verifiable with the node's published JWKS.
      expect(decodeProtectedHeader(result.idToken).alg).toBe('RS256');
      const origin = new URL(fhirBase).origin;
      const { payload } = await jwtVerify(
        result.idToken,
        createRemoteJWKSet(new URL(`${origin}/oauth/jwks`)),
        {
          issuer: `${origin}/oauth`,
          audience: CLIENT_ID,
          algorithms: ['RS256'],
        },
      );
      expect(payload.fhirUser).toBe(`${fhirBase}/Patient/${ids.patient}`);
      await context.close();
    }, 180_000);

    it('is refused by the browser from an origin that is not allowed', async () => {
      const context = await browser!.newContext();
      const page = await context.newPage();
      await page.goto(`${other.origin}/elsewhere.html`);
      await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, undefined, {
        timeout: 60_000,
      });
      expect(await page.evaluate(() => (window as { result?: unknown }).result)).toEqual([
        'refused: TypeError',
        'refused: TypeError',
      ]);
      await context.close();
    }, 120_000);
  });
});
