/**
 * FHIR R4 REST routes at /fhir. Each handler translates HTTP (headers, status codes, Location, ETag) to a call
 * of the request's `Records` — the record operations obtained for its caller when it was authenticated — and
 * back; the operations decide everything about the records themselves.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { operationOutcome, parseJsonBody } from '@medledger/fhir';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { processBundle, type ReturnPreference } from '../services/BundleProcessor.js';
import {
  conditionalDelete,
  conditionalUpdate,
  type PatchDocument,
  patchRecord,
} from '../services/conditionalWrites.js';
import type { RecordService, StoredResource } from '../services/RecordService.js';
import { query, recordsOf, requireType } from './fhirRequest.js';
import { verifyRecords } from './verifyPages.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const JSON_PATCH = 'application/json-patch+json';

/** `Prefer: return=minimal | representation | OperationOutcome` (default: representation). */
function preferOf(request: FastifyRequest): ReturnPreference | undefined {
  const m = /(?:^|[;,\s])return=(minimal|representation|OperationOutcome)\b/.exec(
    String(request.headers.prefer ?? ''),
  );
  return m?.[1] as ReturnPreference | undefined;
}

/** The media type of the request body, lower-cased, without parameters. */
function mediaTypeOf(request: FastifyRequest): string | undefined {
  const h = request.headers['content-type'];
  return typeof h === 'string' ? h.split(';')[0]!.trim().toLowerCase() : undefined;
}

/** A resource body (POST, PUT) is FHIR JSON: a JSON Patch document is for PATCH only. */
function requireResourceBody(request: FastifyRequest): void {
  if (mediaTypeOf(request) === JSON_PATCH) {
    throw new MdlError(MdlErrorCode.UnsupportedMediaType, 'this interaction takes application/fhir+json');
  }
}

/** Search criteria of a conditional update or delete: the query without result-format parameters. */
function criteriaOf(request: FastifyRequest): string {
  const params = query(request);
  params.delete('_format');
  params.delete('_pretty');
  if ([...params.keys()].length === 0) {
    throw new MdlError(MdlErrorCode.MethodNotAllowed, 'this method needs search criteria on a type endpoint');
  }
  return params.toString();
}

const notAllowed = async () => {
  throw new MdlError(MdlErrorCode.MethodNotAllowed, 'method not allowed on this endpoint');
};

type TypeParams = { type: string };
type IdParams = { type: string; id: string };
type VersionParams = { type: string; id: string; vid: string };

/** Operator endpoints ($verify, $status) answer the node's own API tokens only (not people, not SMART clients). */
function requireOrganisation(request: FastifyRequest): void {
  if (!request.access?.unrestricted) {
    throw new MdlError(MdlErrorCode.Forbidden, 'this operation is for the node’s operators');
  }
}

/** ETag W/"n" from an If-Match header; anything else is a client error. */
function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^W\/"(\d{1,9})"$/.exec(value.trim());
  if (!m) throw new MdlError(MdlErrorCode.BadInput, 'If-Match must be a weak ETag such as W/"3"');
  return Number(m[1]);
}

function sendResource(
  reply: FastifyReply,
  stored: StoredResource,
  status = 200,
  prefer: ReturnPreference = 'representation',
): FastifyReply {
  reply
    .code(status)
    .type(FHIR_JSON)
    .header('ETag', `W/"${stored.version}"`)
    .header('Last-Modified', stored.lastUpdated.toUTCString())
    .header('X-Medledger-Anchor', stored.anchor);
  if (prefer === 'minimal') return reply.send();
  if (prefer === 'OperationOutcome') {
    return reply.send(
      operationOutcome([
        {
          severity: 'information',
          code: 'informational',
          diagnostics: status === 201 ? 'resource created' : 'resource updated',
          expression: [],
        },
      ]),
    );
  }
  return reply.send(stored.resource);
}

/** Where the node's own OperationDefinitions are served (read-only, no credentials needed). */
export const OPERATION_DEFINITIONS_PATH = '/fhir/OperationDefinition';

/**
 * The operations the node implements, declared in its CapabilityStatement with their OperationDefinitions
 * (ids in @medledger/fhir's OPERATION_DEFINITIONS). An operation joins this list with its route.
 */
export const NODE_OPERATIONS: readonly string[] = Object.freeze([
  'Patient-everything',
  'Patient-match',
  'verify',
  'status',
  'exchange-request',
  'coverage-eligibility',
  'controlled-substance-history',
  'Patient-access',
  'export',
  'Patient-export',
  'Group-export',
  'Subscription-status',
  'Subscription-get-ws-binding-token',
]);

/**
 * Conditional read (R4 http.html#cread): 304 with no body when the client's copy is current — decided only
 * after the read succeeded, so a record the caller may not see still answers 404.
 */
function notModified(request: FastifyRequest, stored: StoredResource): boolean {
  const inm = request.headers['if-none-match'];
  if (typeof inm === 'string') {
    return inm.split(',').some((t) => t.trim() === `W/"${stored.version}"` || t.trim() === '*');
  }
  const ims = request.headers['if-modified-since'];
  if (typeof ims === 'string') {
    const since = Date.parse(ims);
    // HTTP dates have second precision.
    return !Number.isNaN(since) && Math.floor(stored.lastUpdated.getTime() / 1000) * 1000 <= since;
  }
  return false;
}

/** PATCH bodies: JSON Patch (RFC 6902) or FHIRPath Patch (a Parameters resource). */
function patchOf(request: FastifyRequest): PatchDocument {
  const type = mediaTypeOf(request);
  if (type === JSON_PATCH) return { format: 'json-patch', body: request.body };
  if (type === 'application/fhir+json' || type === 'application/json') {
    return { format: 'fhirpath-patch', body: request.body };
  }
  throw new MdlError(
    MdlErrorCode.UnsupportedMediaType,
    'PATCH takes application/json-patch+json or a FHIRPath Patch as application/fhir+json',
  );
}

/** Media types a FHIR response may be sent as (Accept and `_format`). */
const ACCEPTABLE = new Set([
  '*/*',
  'application/*',
  'application/json',
  'application/fhir+json',
  'application/json+fhir',
  'json',
]);

/** JSON in any FHIR flavour (`application/fhir+json`, `application/fhir+ndjson` for bulk files…) or a wildcard. */
function acceptable(value: string): boolean {
  return value
    .split(',')
    .map((v) => v.split(';')[0]!.trim().toLowerCase())
    .some((v) => ACCEPTABLE.has(v) || /^application\/[a-z0-9.+-]*json$/.test(v));
}

/**
 * Endpoints under /fhir that answer something other than JSON: the node-to-node exchanges and workflow calls
 * (sealed bytes).
 */
const NOT_JSON = new Set(['/fhir/$exchange', '/fhir/$prescription-exchange', '/fhir/$exchange-workflow']);

/**
 * The /fhir context: 406 for a response format other than FHIR JSON (Accept, `_format`), and `_pretty=true`
 * pretty-prints the JSON response.
 */
export function registerFhirFormat(app: FastifyInstance, bodyLimit: number): void {
  // JSON Patch bodies get the same checks as FHIR JSON (size, UTF-8, syntax, duplicate member names).
  app.addContentTypeParser(JSON_PATCH, { parseAs: 'buffer' }, (_request, body, done) => {
    const parsed = parseJsonBody(body as Buffer, bodyLimit);
    if (parsed.ok) return done(null, parsed.value);
    return done(
      new MdlError(MdlErrorCode.BadInput, parsed.issues[0]?.diagnostics ?? 'invalid JSON body', {
        issues: parsed.issues,
      }),
    );
  });
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!;
    if ((path !== '/fhir' && !path.startsWith('/fhir/')) || NOT_JSON.has(path)) return;
    const format = query(request).get('_format');
    if (format !== null && !acceptable(format)) {
      throw new MdlError(MdlErrorCode.NotAcceptable, 'this server answers in application/fhir+json only');
    }
    const accept = request.headers.accept;
    if (format === null && typeof accept === 'string' && accept.trim() !== '' && !acceptable(accept)) {
      throw new MdlError(MdlErrorCode.NotAcceptable, 'this server answers in application/fhir+json only');
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (typeof payload !== 'string' || payload === '' || !request.url.startsWith('/fhir')) return payload;
    if (query(request).get('_pretty') !== 'true') return payload;
    if (!/json/.test(String(reply.getHeader('content-type') ?? ''))) return payload;
    try {
      return JSON.stringify(JSON.parse(payload), null, 2);
    } catch {
      return payload;
    }
  });
}

export function registerFhirRoutes(
  app: FastifyInstance,
  records: RecordService,
  capability: () => unknown,
  status: () => Promise<unknown>,
  operationDefinition: (id: string) => unknown = () => undefined,
) {
  app.get('/fhir/metadata', async (_request, reply) => reply.type(FHIR_JSON).send(capability()));
  app.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url: '/fhir/metadata', handler: notAllowed });
  app.route({ method: ['PUT', 'PATCH', 'DELETE'], url: '/fhir', handler: notAllowed });

  // The node's OperationDefinitions: read and an unfiltered search; nothing can write them.
  app.get<{ Params: { id: string } }>(`${OPERATION_DEFINITIONS_PATH}/:id`, async (request, reply) => {
    const definition = NODE_OPERATIONS.includes(request.params.id)
      ? operationDefinition(request.params.id)
      : undefined;
    if (definition === undefined) throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
    return reply.type(FHIR_JSON).send(definition);
  });
  app.get(OPERATION_DEFINITIONS_PATH, async (request, reply) => {
    const params = query(request);
    for (const name of params.keys()) {
      if (name !== '_format' && name !== '_pretty') {
        throw new MdlError(MdlErrorCode.BadInput, 'OperationDefinition search takes no parameters');
      }
    }
    const entries = NODE_OPERATIONS.map((id) => operationDefinition(id)).filter((d) => d !== undefined);
    return reply.type(FHIR_JSON).send({
      resourceType: 'Bundle',
      type: 'searchset',
      total: entries.length,
      entry: entries.map((resource) => ({
        fullUrl: (resource as { url: string }).url,
        resource,
        search: { mode: 'match' },
      })),
    });
  });
  const readOnly = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(405)
      .header('Allow', 'GET')
      .type(FHIR_JSON)
      .send(
        operationOutcome([
          {
            severity: 'error',
            code: 'not-supported',
            diagnostics: "the node's OperationDefinitions are read-only",
            expression: [],
          },
        ]),
      );
  app.route({ method: ['POST'], url: OPERATION_DEFINITIONS_PATH, handler: readOnly });
  app.route({
    method: ['PUT', 'DELETE', 'PATCH', 'POST'],
    url: `${OPERATION_DEFINITIONS_PATH}/:id`,
    handler: readOnly,
  });

  app.get('/fhir/$verify', async (request, reply) => {
    requireOrganisation(request);
    return reply.send(await verifyRecords(request, records));
  });
  // Node status is administration (decide.ts): the operators and the organisation's administrators.
  app.get('/fhir/$status', async (request, reply) => {
    if (!request.access?.unrestricted && !request.access?.allows('read', 'Administration')) {
      throw new MdlError(
        MdlErrorCode.Forbidden,
        'this operation is for the node’s operators and administrators',
      );
    }
    return reply.send(await status());
  });

  app.post('/fhir', async (request, reply) => {
    requireResourceBody(request);
    const prefer = preferOf(request);
    const response = await processBundle(recordsOf(request), request.body, {
      ...(prefer ? { prefer } : {}),
      newId: () => records.newId(),
      locationOf: (s) => records.locationOf(s),
    });
    return reply.type(FHIR_JSON).send(response);
  });

  app.get('/fhir/_history', async (request, reply) =>
    reply.type(FHIR_JSON).send(await recordsOf(request).history({}, query(request))),
  );

  // GET /fhir/:type (search) is in fhirSearch.ts.

  app.post<{ Params: TypeParams }>('/fhir/:type', async (request, reply) => {
    const type = requireType(request.params.type);
    requireResourceBody(request);
    const ifNoneExist = request.headers['if-none-exist'];
    const { stored, created } = await recordsOf(request).create(type, request.body, {
      ifNoneExist: typeof ifNoneExist === 'string' ? ifNoneExist : undefined,
    });
    if (created) reply.header('Location', records.locationOf(stored));
    return sendResource(reply, stored, created ? 201 : 200, preferOf(request));
  });

  // Conditional update and delete (R4 http.html#cond-update, #cdelete), searched under the caller's access.
  app.put<{ Params: TypeParams }>('/fhir/:type', async (request, reply) => {
    const type = requireType(request.params.type);
    requireResourceBody(request);
    const ifMatch = parseIfMatch(request.headers['if-match'] as string | undefined);
    const { stored, created } = await conditionalUpdate(
      recordsOf(request),
      type,
      criteriaOf(request),
      request.body,
      ifMatch,
    );
    if (created) reply.header('Location', records.locationOf(stored));
    return sendResource(reply, stored, created ? 201 : 200, preferOf(request));
  });
  app.delete<{ Params: TypeParams }>('/fhir/:type', async (request, reply) => {
    const type = requireType(request.params.type);
    const ifMatch = parseIfMatch(request.headers['if-match'] as string | undefined);
    await conditionalDelete(recordsOf(request), type, criteriaOf(request), ifMatch);
    return reply.code(204).send();
  });
  app.patch<{ Params: TypeParams }>('/fhir/:type', async (request) => {
    requireType(request.params.type);
    return notAllowed();
  });

  app.get<{ Params: TypeParams }>('/fhir/:type/_history', async (request, reply) =>
    reply
      .type(FHIR_JSON)
      .send(await recordsOf(request).history({ type: requireType(request.params.type) }, query(request))),
  );

  app.get<{ Params: IdParams }>('/fhir/:type/:id', async (request, reply) => {
    const stored = await recordsOf(request).read(requireType(request.params.type), request.params.id);
    if (notModified(request, stored)) {
      return reply
        .code(304)
        .header('ETag', `W/"${stored.version}"`)
        .header('Last-Modified', stored.lastUpdated.toUTCString())
        .send();
    }
    return sendResource(reply, stored);
  });

  app.put<{ Params: IdParams }>('/fhir/:type/:id', async (request, reply) => {
    const type = requireType(request.params.type);
    requireResourceBody(request);
    const ifMatch = parseIfMatch(request.headers['if-match'] as string | undefined);
    const { stored, created } = await recordsOf(request).update(type, request.params.id, request.body, {
      ifMatch,
    });
    if (created) reply.header('Location', records.locationOf(stored));
    return sendResource(reply, stored, created ? 201 : 200, preferOf(request));
  });

  app.patch<{ Params: IdParams }>('/fhir/:type/:id', async (request, reply) => {
    const type = requireType(request.params.type);
    const ifMatch = parseIfMatch(request.headers['if-match'] as string | undefined);
    const { stored } = await patchRecord(
      recordsOf(request),
      type,
      request.params.id,
      patchOf(request),
      ifMatch,
    );
    return sendResource(reply, stored, 200, preferOf(request));
  });
  app.post<{ Params: IdParams }>('/fhir/:type/:id', async (request) => {
    requireType(request.params.type);
    return notAllowed();
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

  app.route<{ Params: VersionParams }>({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/fhir/:type/:id/_history/:vid',
    handler: async (request) => {
      requireType(request.params.type);
      return notAllowed();
    },
  });
  app.get<{ Params: VersionParams }>('/fhir/:type/:id/_history/:vid', async (request, reply) => {
    const vid = request.params.vid;
    if (!/^\d{1,9}$/.test(vid)) throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
    return sendResource(
      reply,
      await recordsOf(request).vread(requireType(request.params.type), request.params.id, Number(vid)),
    );
  });
}
