/**
 * FHIR R4 REST routes at /fhir. Each handler translates HTTP (headers, status codes, Location, ETag) to a call
 * of the request's `Records` — the record operations obtained for its caller when it was authenticated — and
 * back; the operations decide everything about the records themselves.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { isResourceType } from '@medledger/fhir';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { processBundle } from '../services/BundleProcessor.js';
import type { RecordService, Records, StoredResource } from '../services/RecordService.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

type TypeParams = { type: string };
type IdParams = { type: string; id: string };
type VersionParams = { type: string; id: string; vid: string };

function requireType(type: string): string {
  if (!isResourceType(type)) throw new MdlError(MdlErrorCode.NotFound, 'unknown resource type');
  return type;
}

/** Operator endpoints ($verify, $status) answer the node's own API tokens only (not people, not SMART clients). */
function requireOrganisation(request: FastifyRequest): void {
  if (!request.access?.unrestricted) {
    throw new MdlError(MdlErrorCode.Forbidden, 'this operation is for the node’s operators');
  }
}

/** The request's record operations (set with its access by the authentication hook). */
function recordsOf(request: FastifyRequest): Records {
  if (!request.records) throw new MdlError(MdlErrorCode.Unauthenticated, 'a valid bearer token is required');
  return request.records;
}

function query(request: FastifyRequest): URLSearchParams {
  const i = request.url.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : request.url.slice(i + 1));
}

/** ETag W/"n" from an If-Match header; anything else is a client error. */
function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^W\/"(\d{1,9})"$/.exec(value.trim());
  if (!m) throw new MdlError(MdlErrorCode.BadInput, 'If-Match must be a weak ETag such as W/"3"');
  return Number(m[1]);
}

function sendResource(reply: FastifyReply, stored: StoredResource, status = 200): FastifyReply {
  reply
    .code(status)
    .type(FHIR_JSON)
    .header('ETag', `W/"${stored.version}"`)
    .header('Last-Modified', stored.lastUpdated.toUTCString())
    .header('X-Medledger-Anchor', stored.anchor);
  return reply.send(stored.resource);
}

export function registerFhirRoutes(
  app: FastifyInstance,
  records: RecordService,
  capability: () => unknown,
  status: () => Promise<unknown>,
) {
  app.get('/fhir/metadata', async (_request, reply) => reply.type(FHIR_JSON).send(capability()));

  app.get('/fhir/$verify', async (request, reply) => {
    requireOrganisation(request);
    return reply.send(await records.verifyAll(request.access!));
  });
  app.get('/fhir/$status', async (request, reply) => {
    requireOrganisation(request);
    return reply.send(await status());
  });

  app.post('/fhir', async (request, reply) => {
    const representation = /return=representation/.test(String(request.headers.prefer ?? ''));
    const response = await processBundle(recordsOf(request), request.body, {
      representation,
      newId: () => records.newId(),
      locationOf: (s) => records.locationOf(s),
    });
    return reply.type(FHIR_JSON).send(response);
  });

  app.get('/fhir/_history', async (request, reply) =>
    reply.type(FHIR_JSON).send(await recordsOf(request).history({}, query(request))),
  );

  app.get<{ Params: TypeParams }>('/fhir/:type', async (request, reply) =>
    reply
      .type(FHIR_JSON)
      .send(await recordsOf(request).search(requireType(request.params.type), query(request))),
  );

  app.post<{ Params: TypeParams }>('/fhir/:type', async (request, reply) => {
    const type = requireType(request.params.type);
    const ifNoneExist = request.headers['if-none-exist'];
    const { stored, created } = await recordsOf(request).create(type, request.body, {
      ifNoneExist: typeof ifNoneExist === 'string' ? ifNoneExist : undefined,
    });
    if (created) reply.header('Location', records.locationOf(stored));
    return sendResource(reply, stored, created ? 201 : 200);
  });

  app.get<{ Params: TypeParams }>('/fhir/:type/_history', async (request, reply) =>
    reply
      .type(FHIR_JSON)
      .send(await recordsOf(request).history({ type: requireType(request.params.type) }, query(request))),
  );

  app.get<{ Params: IdParams }>('/fhir/:type/:id', async (request, reply) =>
    sendResource(reply, await recordsOf(request).read(requireType(request.params.type), request.params.id)),
  );

  app.put<{ Params: IdParams }>('/fhir/:type/:id', async (request, reply) => {
    const type = requireType(request.params.type);
    const ifMatch = parseIfMatch(request.headers['if-match'] as string | undefined);
    const { stored, created } = await recordsOf(request).update(type, request.params.id, request.body, {
      ifMatch,
    });
    if (created) reply.header('Location', records.locationOf(stored));
    return sendResource(reply, stored, created ? 201 : 200);
  });

  app.delete<{ Params: IdParams }>('/fhir/:type/:id', async (request, reply) => {
    const ifMatch = parseIfMatch(request.headers['if-match'] as string | undefined);
    await recordsOf(request).delete(requireType(request.params.type), request.params.id, { ifMatch });
    return reply.code(204).send();
  });

  app.post('/fhir/Patient/$match', async (request, reply) =>
    reply.type(FHIR_JSON).send(await recordsOf(request).matchPatients(request.body)),
  );

  app.get<{ Params: IdParams }>('/fhir/Patient/:id/$everything', async (request, reply) =>
    reply.type(FHIR_JSON).send(await recordsOf(request).everything(request.params.id, query(request))),
  );

  app.get<{ Params: IdParams }>('/fhir/:type/:id/_history', async (request, reply) =>
    reply
      .type(FHIR_JSON)
      .send(
        await recordsOf(request).history(
          { type: requireType(request.params.type), id: request.params.id },
          query(request),
        ),
      ),
  );

  app.get<{ Params: VersionParams }>('/fhir/:type/:id/_history/:vid', async (request, reply) => {
    const vid = request.params.vid;
    if (!/^\d{1,9}$/.test(vid)) throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
    return sendResource(
      reply,
      await recordsOf(request).vread(requireType(request.params.type), request.params.id, Number(vid)),
    );
  });
}
