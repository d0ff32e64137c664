/**
 * The OpenAPI 3.1 document (GET /openapi.json) against the routes the node really registers: every non-FHIR
 * route declares a schema and is in the document with its method and path, every documented operation exists,
 * the document validates as OpenAPI 3.1, and docs/openapi.json is what the server generates
 * (`npm run openapi -w @medledger/node` rewrites it). The node runs with MEDLEDGER_CHECK_SCHEMAS=1: the
 * requests below — good and bad — are checked against their route's schema, and so is every answer.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isUndocumented,
  type RegisteredRoute,
  registeredRoutes,
  schemaMismatches,
} from '../src/openapi/openapi.js';
import { startTestNode, type TestNode, until } from './helpers.js';

const DOCS_COPY = new URL('../../../docs/openapi.json', import.meta.url);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** OpenAPI path template of a Fastify route: /admin/accounts/:id → /admin/accounts/{id}. */
const templateOf = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/**
 * The routes the document must show: all but the FHIR API and the OpenID provider's catch-all — and a route
 * whose schema says `hide: true`, a deliberate, reviewable choice (a plugin's CORS preflight catch-all, say).
 */
const documentable = (r: RegisteredRoute) =>
  !isUndocumented(r.url) && (r.schema as { hide?: boolean } | undefined)?.hide !== true;

describe('the OpenAPI document of the non-FHIR routes', () => {
  let node: TestNode;
  let origin: string;
  let document: Record<string, any>;

  const call = async (method: string, path: string, body?: unknown, token: string | null = node.token) => {
    const res = await fetch(`${origin}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: parsed };
  };

  beforeAll(async () => {
    process.env.MEDLEDGER_CHECK_SCHEMAS = '1';
    node = await startTestNode({ backend: 'pglite' });
    origin = new URL(node.url).origin;
    const res = await call('GET', '/openapi.json', undefined, null);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    document = res.body;
  }, 600_000);

  afterAll(async () => {
    await node?.close();
  });

  it('every non-FHIR route declares a schema that documents it', () => {
    const routes = registeredRoutes(node.node.app).filter(documentable);
    expect(routes.length).toBeGreaterThan(30);
    const lacking: string[] = [];
    for (const { method, url, schema } of routes) {
      const s = (schema ?? {}) as Record<string, any>;
      const missing = ['summary', 'description', 'tags', 'security', 'response'].filter(
        (k) => s[k] === undefined,
      );
      if (missing.length > 0) lacking.push(`${method} ${url} has no schema ${missing.join(', ')}`);
      else if (!s.deprecated && !Object.keys(s.response).some((status) => /^[23]\d\d$/.test(status))) {
        lacking.push(`${method} ${url} documents no success response (nor is it deprecated)`);
      }
    }
    expect(
      lacking,
      'non-FHIR routes must declare a schema (packages/node/src/openapi/routeSchemas.ts)',
    ).toEqual([]);
  });

  it('documents exactly the registered non-FHIR routes, and nothing under /fhir', () => {
    const registered = new Set(
      registeredRoutes(node.node.app)
        .filter(documentable)
        .map((r) => `${r.method} ${templateOf(r.url)}`),
    );
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(item).filter((k) => METHODS.includes(k))) {
        documented.add(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(
      [...registered].filter((r) => !documented.has(r)),
      'registered but not documented',
    ).toEqual([]);
    expect(
      [...documented].filter((d) => !registered.has(d)),
      'documented but not registered',
    ).toEqual([]);
    expect(Object.keys(document.paths).filter((p) => p.startsWith('/fhir') || p.includes('*'))).toEqual([]);
    // The public ones say so; the others ask for the bearer token.
    expect(document.paths['/openapi.json'].get.security).toEqual([]);
    expect(document.paths['/admin/accounts'].post.security).toEqual([{ bearer: [] }]);
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(
      document.paths['/admin/accounts'].post.responses['400'].content['application/fhir+json'].schema,
    ).toEqual({ $ref: '#/components/schemas/OperationOutcome' });
  });

  it('validates as OpenAPI 3.1', async () => {
    expect(document.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('the committed docs/openapi.json is what the server generates', () => {
    // Compared as JSON: `npm run openapi` writes it and lets the formatter lay it out.
    if (process.env.MEDLEDGER_WRITE_OPENAPI === '1') {
      writeFileSync(DOCS_COPY, `${JSON.stringify(document, null, 2)}\n`);
    }
    expect(
      JSON.parse(readFileSync(DOCS_COPY, 'utf8')),
      'docs/openapi.json is stale: run `npm run openapi -w @medledger/node`',
    ).toEqual(document);
  });

  it('requests and answers match their schemas; bad input keeps the node’s own OperationOutcome', async () => {
    // Describe-only: a body the schema would refuse still gets the route's own message, field named.
    const badRole = await call('POST', '/admin/accounts', {
      role: 'wizard',
      username: 'x',
      displayName: 'X',
    });
    expect(badRole.status).toBe(400);
    expect(badRole.type).toMatch(/^application\/fhir\+json/);
    expect(badRole.body.issue[0]).toMatchObject({
      code: 'invalid',
      diagnostics: 'role: one of the roles of docs/identity.md',
      expression: ['role'],
    });
    const notObject = await call('POST', '/admin/accounts', '[1]');
    expect(notObject.body.issue[0].expression).toEqual(['body']);
    const notJson = await call('POST', '/admin/accounts', '{"role":');
    expect(notJson.status).toBe(400);
    expect(notJson.body.resourceType).toBe('OperationOutcome');
    expect((await call('GET', '/admin/accounts?includeDisabled=maybe')).body.issue[0].expression).toEqual([
      'includeDisabled',
    ]);
    // Authentication comes before input: no token, 401 whatever the body.
    const anonymous = await call('POST', '/admin/accounts', { role: 'wizard' }, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.resourceType).toBe('OperationOutcome');

    // Good requests over the documented routes (answers checked against the response schemas).
    expect((await call('GET', '/healthz', undefined, null)).status).toBe(200);
    expect((await call('GET', '/readyz', undefined, null)).status).toBe(200);
    expect((await call('GET', '/metrics')).status).toBe(200);
    expect((await call('GET', '/.well-known/openid-configuration/oauth', undefined, null)).status).toBe(200);
    const nurse = await call('POST', '/admin/accounts', {
      role: 'nurse',
      username: 'openapi-nurse',
      displayName: 'Nurse of the OpenAPI test',
      password: 'a long enough nurse passphrase 42',
    });
    expect(nurse.status).toBe(201);
    const admin = await call('POST', '/admin/accounts', {
      role: 'admin',
      username: 'openapi-admin',
      displayName: 'Administrator of the OpenAPI test',
      password: 'a long enough admin passphrase 42',
    });
    expect(admin.status).toBe(201);
    const id = admin.body.account.id;
    expect((await call('GET', '/admin/accounts?role=nurse&includeDisabled=true')).status).toBe(200);
    expect((await call('GET', `/admin/accounts/${id}`)).status).toBe(200);
    expect((await call('POST', `/admin/accounts/${id}/totp`)).status).toBe(201);
    expect((await call('POST', `/admin/accounts/${id}/disable`)).status).toBe(200);
    expect((await call('POST', `/admin/accounts/${id}/enable`)).status).toBe(200);
    expect((await call('POST', `/admin/accounts/${id}/tokens`)).status).toBe(403);
    expect((await call('GET', '/admin/accounts/no-such-account')).status).toBe(404);

    const client = {
      clientId: 'openapi-test-app',
      name: 'OpenAPI test app',
      redirectUris: ['https://app.example/cb'],
      scopes: ['openid', 'fhirUser', 'launch/patient', 'patient/*.rs'],
      firstParty: false,
    };
    expect((await call('POST', '/admin/clients', client)).status).toBe(201);
    const proposed = await call('POST', '/admin/clients', { ...client, replace: true, firstParty: true });
    expect(proposed.status).toBe(201); // the operator's own registrations take effect at once
    const clients = await call('GET', '/admin/clients');
    expect(clients.status).toBe(200);
    expect(clients.body.clients.map((c: { clientId: string }) => c.clientId)).toContain('openapi-test-app');
    expect((await call('POST', '/admin/clients/openapi-test-app/confirm')).status).toBe(404);
    expect((await call('DELETE', '/admin/clients/openapi-test-app')).status).toBe(204);

    // The first checkpoint is signed on the audit log's own schedule, not by any request above: wait for it.
    const checkpoint = await until('the first audit checkpoint', async () => {
      const r = await call('GET', '/audit/checkpoint');
      return r.status === 404 ? undefined : r;
    });
    expect(checkpoint.status).toBe(200);
    const cp = checkpoint.body.id;
    expect((await call('GET', '/audit/checkpoint?anchored=maybe')).status).toBe(400);
    expect((await call('GET', `/audit/checkpoint/${cp}`)).status).toBe(200);
    expect((await call('GET', `/audit/proof/inclusion?index=0&checkpoint=${cp}`)).status).toBe(200);
    expect((await call('GET', `/audit/proof/consistency?from=${cp}&to=${cp}`)).status).toBe(200);
    expect((await call('GET', '/audit/events?_count=5')).status).toBe(200);
    expect((await call('GET', '/audit/export?_count=5&format=ocsf')).status).toBe(200);
    const unknownPatient = await call('GET', '/audit/patients/no-such-patient/events');
    expect(unknownPatient.status).toBe(200); // the node reads every log: an unknown patient has no events
    expect(unknownPatient.body.entries).toEqual([]);
    expect((await call('GET', '/audit/patients/not%20an%20id/events')).status).toBe(404);
    expect((await call('GET', '/audit/$verify')).body.ok).toBe(true);

    // Routes for people, auditors or regulators refuse the operator's token, in the documented shape.
    expect((await call('GET', '/account/tokens')).status).toBe(403);
    expect((await call('POST', '/account/webauthn/options')).status).toBe(403);
    expect((await call('GET', '/admin/break-glass')).status).toBe(403);
    expect(
      (await call('GET', '/licences?member=0x0000000000000000000000000000000000000001', undefined, null))
        .status,
    ).toBe(404);
    expect((await call('POST', '/admin/licences', {})).status).toBe(403);
    expect((await call('GET', '/admin/licences')).body).toMatchObject({ regulator: false });

    expect(schemaMismatches(node.node.app)).toEqual([]);
  });
});
