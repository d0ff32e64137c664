/**
 * The route schemas describe and do not enforce (packages/node/src/openapi/openapi.ts): on a documented route a
 * request the schema would refuse still reaches the handler untouched, the answer is plain JSON; in checking
 * mode mismatches are recorded, on the wire form of the answer; a /fhir route with a schema keeps Fastify's
 * validation. A bare Fastify instance with the node's OpenAPI registration, no node.
 */
// The route-schema fields @fastify/swagger adds to FastifySchema (summary, tags, …): the test typecheck reads the
// node's declarations, which do not carry the source's import of the plugin.
import type {} from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifySchema } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registeredRoutes, registerOpenApi, schemaMismatches } from '../src/openapi/openapi.js';
import { errors, json, object, str } from '../src/openapi/schemas.js';

const bodySchema = object({
  name: str('a name', { minLength: 1 }),
  when: str('when', { format: 'date-time' }),
});

async function server(checkSchemas: boolean): Promise<FastifyInstance> {
  const app = Fastify();
  await registerOpenApi(app, { version: 'test', checkSchemas });
  const schema: FastifySchema = {
    summary: 'echo',
    description: 'echo',
    tags: ['test'],
    security: [],
    body: bodySchema,
    // Query and path parameters are described as the text they are (the routes parse them).
    querystring: { type: 'object', properties: { n: { type: 'string', pattern: '^\\d+$' } } },
    response: {
      200: json('seen', object({ seen: { type: 'object', additionalProperties: true }, at: str('when') })),
      ...errors(400),
    },
  };
  app.post('/echo', { schema }, async (request, reply) => {
    const body = request.body as Record<string, unknown>;
    if (body.refuse) {
      return reply
        .code(400)
        .type('application/fhir+json')
        .send({ resourceType: 'OperationOutcome', issue: [] });
    }
    return { seen: { body, query: request.query }, at: new Date(0) };
  });
  app.post('/fhir/Thing', { schema: { body: bodySchema } }, async () => ({ ok: true }));
  await app.ready();
  return app;
}

describe('route schemas that describe', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    vi.restoreAllMocks();
  });

  it('pass every request to the route untouched and answer plain JSON', async () => {
    app = await server(false);
    const res = await app.inject({
      method: 'POST',
      url: '/echo?n=not-a-number',
      payload: { name: 7, extra: ['kept'] },
    });
    expect(res.statusCode).toBe(200);
    // No coercion (n stays text, name a number), nothing stripped, the Date as JSON.stringify writes it.
    expect(res.body).toBe(
      JSON.stringify({
        seen: { body: { name: 7, extra: ['kept'] }, query: { n: 'not-a-number' } },
        at: new Date(0),
      }),
    );
    expect(schemaMismatches(app)).toEqual([]);
    expect(registeredRoutes(app).map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /openapi.json',
      'POST /echo',
      'POST /fhir/Thing',
    ]);
  });

  it('in checking mode, record what the schemas would refuse — accepted requests and every answer', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    app = await server(true);
    const good = await app.inject({
      method: 'POST',
      url: '/echo?n=3',
      payload: { name: 'x', when: '2026-01-01T00:00:00Z' },
    });
    expect(good.statusCode).toBe(200);
    expect(schemaMismatches(app)).toEqual([]); // the Date is checked as the string it becomes

    await app.inject({ method: 'POST', url: '/echo', payload: { name: '', when: 'soon' } });
    expect(schemaMismatches(app).map((m) => m.part)).toEqual(['body']);

    // A refused request is the route's business; its answer is still checked (an issue is required).
    await app.inject({ method: 'POST', url: '/echo', payload: { name: '', refuse: true } });
    expect(schemaMismatches(app).map((m) => m.part)).toEqual(['body', 'response 400 application/fhir+json']);
    expect(schemaMismatches(app)[1]!.errors).toMatch(/issue/);
  });

  it('leave Fastify’s validation to FHIR routes that declare a schema', async () => {
    app = await server(false);
    const res = await app.inject({ method: 'POST', url: '/fhir/Thing', payload: { name: 7 } });
    expect(res.statusCode).toBe(400);
  });
});
