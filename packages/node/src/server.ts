/**
 * The HTTP edge (Fastify): content types, authentication, the one mapping from errors to OperationOutcome,
 * metrics, and route registration. Only this layer knows HTTP; every rule about records lives in the
 * services it calls.
 */

import fastifyCors from '@fastify/cors';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { operationOutcome, outcomeForError, parseJsonBody } from '@medledger/fhir';
import { retryAfterSeconds } from '@medledger/identity';
import type { AuthorizationServer } from '@medledger/oidc';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { AccessPolicy } from './access/AccessPolicy.js';
import type { Caller } from './access/Caller.js';
import type { AuditTrail } from './audit/AuditTrail.js';
import type { AuditDetail } from './audit/auditEvents.js';
import type { Metrics } from './metrics.js';
import type { Feature } from './NodeContext.js';
import { OPENAPI_PATH, registerOpenApi } from './openapi/openapi.js';
import {
  oauthServerMetadataSchema,
  openIdDiscoverySchema,
  rootOpenIdDiscoverySchema,
  smartConfigurationSchema,
} from './openapi/routeSchemas.js';
import { accessLogLine, debugLine, requestFacts } from './requestLog.js';
import { OPERATION_DEFINITIONS_PATH, registerFhirFormat, registerFhirRoutes } from './routes/fhir.js';
import { registerFhirSearchRoutes } from './routes/fhirSearch.js';
import { type Readiness, registerHealthRoutes } from './routes/health.js';
import type { RecordService, Records } from './services/RecordService.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's access policy, set by the authentication hook on every non-public route. */
    access?: AccessPolicy;
    /** The record operations for that access (the only way routes reach records). */
    records?: Records;
    /** What a feature adds to the request's audit event; on a public route, its presence asks for one. */
    auditDetail?: AuditDetail;
    /** Set when the request had no valid credential for a non-public route (audited as such). */
    unauthenticated?: boolean;
    /**
     * Set when authentication refused the request for another reason (an unknown purpose of use): audited,
     * with the caller when the credential named one.
     */
    refusedAtEdge?: { caller?: Caller };
  }
}

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Paths that answer without a bearer token (the OpenID provider authenticates its own requests). */
const PUBLIC_PATHS = new Set([
  '/fhir/metadata',
  '/healthz',
  '/readyz',
  '/fhir/.well-known/smart-configuration',
  '/.well-known/smart-configuration',
  '/.well-known/openid-configuration',
  '/.well-known/openid-configuration/oauth',
  '/.well-known/oauth-authorization-server/oauth',
  OPENAPI_PATH,
]);

export interface ServerDeps {
  /** The caller a bearer token stands for (undefined: refused). */
  authenticate: (token: string, purposeOfUse: string | undefined) => Promise<Caller | undefined>;
  /** The AccessPolicy of a caller. */
  accessFor: (caller: Caller) => AccessPolicy;
  /** The node's OpenID provider, mounted at /oauth. */
  oauth: Pick<AuthorizationServer, 'callback' | 'smartConfiguration'>;
  /** Feature modules (consent, break-glass, exchange, administration): their routes and public paths. */
  features?: readonly Feature[];
  /** Queues each authenticated request's AuditEvent before its response is sent. */
  audit?: Pick<AuditTrail, 'record'>;
  records: RecordService;
  metrics: Metrics;
  readiness: () => Promise<Readiness>;
  capabilityStatement: () => unknown;
  /** The OperationDefinition the node serves under an id (undefined: none). */
  operationDefinition?: (id: string) => unknown;
  status: () => Promise<unknown>;
  bodyLimit: number;
  /** Web origins allowed to call the FHIR API from a browser (CORS); empty: same-origin only. */
  corsOrigins?: readonly string[];
  logLevel: string;
  /** Where each request's line goes besides the console's `debug` level (requestLog.ts); none by default. */
  accessLog?: { write(line: string): void };
  /** The version the OpenAPI document states. */
  softwareVersion: string;
  /**
   * Check every request and response against its route's schema and record mismatches (openapi.ts) —
   * for tests; default: MEDLEDGER_CHECK_SCHEMAS=1.
   */
  checkSchemas?: boolean;
}

/** Request headers a browser app may send to the FHIR API, and response headers its script may read. */
export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Prefer',
  'If-Match',
  'If-None-Exist',
  'If-None-Match',
  'If-Modified-Since',
  'X-Purpose-Of-Use',
];
export const CORS_EXPOSED_HEADERS = ['ETag', 'Location', 'Content-Location', 'Last-Modified'];

/** Paths whose CORS is the FHIR API's (the OpenID provider's own paths answer CORS themselves). */
function isFhirApiPath(path: string): boolean {
  return (path === '/fhir' || path.startsWith('/fhir/')) && !path.startsWith('/fhir/.well-known/');
}

export function sendOutcome(reply: FastifyReply, error: unknown): FastifyReply {
  const { status, outcome } = outcomeForError(error);
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer realm="medledger"');
  const retryAfter = retryAfterSeconds(error);
  if (status === 429 && retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
  return reply.code(status).type(FHIR_JSON).send(outcome);
}

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(h);
  return m?.[1];
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: deps.bodyLimit,
    // The console gets start-up, warnings and errors; requests are one line each at debug or in the access
    // log (requestLog.ts), never with the URL: paths can hold identifiers, query strings PHI, bodies more.
    logger: {
      level: deps.logLevel,
      serializers: {
        req: (req) => ({ method: req.method, route: req.routeOptions?.url ?? 'unmatched' }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
    },
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });
  // Before any route: the OpenAPI document and its route list collect routes as they are registered.
  await registerOpenApi(app, {
    version: deps.softwareVersion,
    checkSchemas: deps.checkSchemas ?? process.env.MEDLEDGER_CHECK_SCHEMAS === '1',
  });

  // FHIR JSON (and plain JSON) bodies are parsed by the FHIR layer: size, UTF-8, syntax, duplicate keys.
  const parseBody = (
    _req: FastifyRequest,
    body: string | Buffer,
    done: (err: Error | null, value?: unknown) => void,
  ) => {
    const parsed = parseJsonBody(body, deps.bodyLimit);
    if (parsed.ok) return done(null, parsed.value);
    return done(
      new MdlError(MdlErrorCode.BadInput, parsed.issues[0]?.diagnostics ?? 'invalid JSON body', {
        issues: parsed.issues,
      }),
    );
  };
  app.addContentTypeParser(['application/fhir+json', 'application/json'], { parseAs: 'buffer' }, parseBody);
  registerFhirFormat(app, deps.bodyLimit);

  // CORS for browser apps on the allowed origins: registered before authentication, so a preflight (which
  // carries no credentials) is answered here. Any other origin gets no Access-Control-* header at all.
  const corsOrigins = new Set(deps.corsOrigins ?? []);
  await app.register(fastifyCors, {
    hook: 'onRequest',
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      const path = request.url.split('?')[0]!;
      const allowed = origin !== undefined && corsOrigins.has(origin) && isFhirApiPath(path);
      callback(null, {
        origin: allowed ? origin : false,
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        allowedHeaders: CORS_ALLOWED_HEADERS,
        exposedHeaders: CORS_EXPOSED_HEADERS,
        maxAge: 600,
        strictPreflight: true,
      });
    },
  });

  const publicPaths = new Set([
    ...PUBLIC_PATHS,
    ...(deps.features ?? []).flatMap((f) => f.publicPaths ?? []),
  ]);
  const publicPrefixes = (deps.features ?? []).flatMap((f) => f.publicPrefixes ?? []);
  const isPublic = (path: string) =>
    publicPaths.has(path) ||
    publicPrefixes.some((prefix) => path.startsWith(prefix)) ||
    path.startsWith('/oauth/') ||
    // The node's own OperationDefinitions: conformance resources, read-only, like /metadata.
    path === OPERATION_DEFINITIONS_PATH ||
    path.startsWith(`${OPERATION_DEFINITIONS_PATH}/`);

  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = process.hrtime.bigint();
    const path = request.url.split('?')[0]!;
    // OPTIONS carries no credentials (a CORS preflight, answered above when its origin is allowed).
    if (isPublic(path) || request.method === 'OPTIONS') return;
    const token = bearer(request);
    const purpose = request.headers['x-purpose-of-use'];
    let caller: Caller | undefined;
    try {
      caller = token
        ? await deps.authenticate(token, typeof purpose === 'string' ? purpose : undefined)
        : undefined;
    } catch (error) {
      const refused = (error as { caller?: Caller }).caller;
      request.refusedAtEdge = refused ? { caller: refused } : {};
      throw error;
    }
    if (!caller) {
      request.unauthenticated = true;
      return sendOutcome(
        reply,
        new MdlError(MdlErrorCode.Unauthenticated, 'a valid bearer token is required'),
      );
    }
    request.access = deps.accessFor(caller);
    request.records = deps.records.for(request.access);
  });

  // The AuditEvents of every authenticated request, every request refused for want of a credential or by the
  // authentication hook, and every public request a feature asks to audit (an exchange) are durably queued
  // before the response leaves: if they cannot be, the client gets an error instead of an acknowledgement.
  app.addHook('onSend', async (request, reply, payload) => {
    const access = request.access;
    const refused = request.refusedAtEdge;
    if (!deps.audit || (!access && !refused && !request.unauthenticated && !request.auditDetail)) {
      return payload;
    }
    const caller = access?.caller ?? refused?.caller;
    const route = request.routeOptions?.url ?? 'unmatched';
    const params = (request.params ?? {}) as Record<string, string>;
    if (access && route.startsWith('/fhir/Patient/:id') && params.id) access.touchPatient(params.id);
    const purpose = request.headers['x-purpose-of-use'];
    await deps.audit.record({
      method: request.method,
      route,
      params,
      status: reply.statusCode,
      ...(caller ? { caller } : {}),
      ...(typeof purpose === 'string' && /^[A-Z]{2,10}$/.test(purpose) ? { purposeOfUse: purpose } : {}),
      address: request.ip,
      subjects: access?.auditSubjects() ?? [],
      denied: access?.refused ?? false,
      ...(request.auditDetail ? { detail: request.auditDetail } : {}),
    });
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const started = request.startedAt;
    const seconds = started ? Number(process.hrtime.bigint() - started) / 1e9 : 0;
    deps.metrics.observe(request.routeOptions?.url ?? 'unmatched', request.method, reply.statusCode, seconds);
    if (deps.accessLog || deps.logLevel === 'debug') {
      const facts = requestFacts(request, reply, seconds * 1000);
      deps.accessLog?.write(accessLogLine(facts));
      request.log.debug(debugLine(facts));
    }
  });

  app.setErrorHandler((error, request, reply) => {
    // Fastify's own client errors (body too large, unsupported media type, bad content length…).
    const fastifyError = error as { statusCode?: number; code?: string; message?: string };
    if (fastifyError.statusCode && fastifyError.statusCode < 500 && fastifyError.code?.startsWith('FST_')) {
      const code =
        fastifyError.statusCode === 413
          ? 'too-long'
          : fastifyError.statusCode === 415
            ? 'not-supported'
            : 'invalid';
      return reply
        .code(fastifyError.statusCode)
        .type(FHIR_JSON)
        .send(
          operationOutcome([
            { severity: 'error', code, diagnostics: fastifyError.message ?? 'bad request', expression: [] },
          ]),
        );
    }
    const sent = sendOutcome(reply, error);
    if (reply.statusCode >= 500) {
      // Operators need server errors in the log, but an error's message may quote data (a driver's constraint
      // message can contain a key): log its class, code and stack frames, never its message.
      const e = error as { name?: string; code?: unknown; stack?: string };
      request.log.error(
        {
          error: e.name ?? 'Error',
          code: e.code,
          frames: (e.stack ?? '').split('\n').slice(1, 8).join('\n'),
        },
        'request failed',
      );
    }
    return sent;
  });

  app.setNotFoundHandler((_request, reply) =>
    sendOutcome(reply, new MdlError(MdlErrorCode.NotFound, 'no such endpoint')),
  );

  // The OpenID provider reads its own (form and JSON) bodies, so its routes get the raw request.
  await app.register(async (oauth) => {
    oauth.removeAllContentTypeParsers();
    oauth.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const handle = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      void deps.oauth.callback(request.raw, reply.raw);
    };
    oauth.all('/oauth/*', handle);
    // Discovery documents, with their CORS (allowed origins only) answered by the provider.
    for (const [url, schema] of [
      ['/.well-known/oauth-authorization-server/oauth', oauthServerMetadataSchema],
      ['/.well-known/openid-configuration/oauth', openIdDiscoverySchema],
      ['/.well-known/openid-configuration', rootOpenIdDiscoverySchema],
      ['/.well-known/smart-configuration', smartConfigurationSchema],
      ['/fhir/.well-known/smart-configuration', undefined],
    ] as const) {
      oauth.route({ method: 'GET', url, handler: handle, ...(schema ? { schema } : {}) });
      // The CORS preflight of the same document (answered by the provider too): not an API of its own.
      oauth.route({ method: 'OPTIONS', url, handler: handle, schema: { hide: true } });
    }
  });

  registerHealthRoutes(app, deps.readiness, deps.metrics);
  for (const feature of deps.features ?? []) await feature.register(app);
  await registerFhirSearchRoutes(app, deps.records);
  registerFhirRoutes(app, deps.records, deps.capabilityStatement, deps.status, deps.operationDefinition);
  return app;
}

declare module 'fastify' {
  interface FastifyRequest {
    startedAt?: bigint;
  }
}
