/**
 * The HTTP edge (Fastify): content types, authentication, the one mapping from errors to OperationOutcome,
 * metrics, and route registration. Only this layer knows HTTP; every rule about records lives in the
 * services it calls.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { operationOutcome, outcomeForError, parseJsonBody } from '@medledger/fhir';
import { retryAfterSeconds } from '@medledger/identity';
import type { AuthorizationServer } from '@medledger/oidc';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AccessPolicy } from './access/AccessPolicy.js';
import type { Caller } from './access/Caller.js';
import type { AuditTrail } from './audit/AuditTrail.js';
import type { AuditDetail } from './audit/auditEvents.js';
import type { Metrics } from './metrics.js';
import type { Feature } from './NodeContext.js';
import { registerFhirFormat, registerFhirRoutes } from './routes/fhir.js';
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
  '/.well-known/openid-configuration/oauth',
  '/.well-known/oauth-authorization-server/oauth',
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
  status: () => Promise<unknown>;
  bodyLimit: number;
  logLevel: string;
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
    // Request logs carry method, route and status only: URLs can contain identifiers, bodies PHI.
    logger: {
      level: deps.logLevel,
      serializers: {
        req: (req) => ({ method: req.method, route: req.routeOptions?.url ?? 'unmatched' }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
    },
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
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

  const publicPaths = new Set([
    ...PUBLIC_PATHS,
    ...(deps.features ?? []).flatMap((f) => f.publicPaths ?? []),
  ]);
  const isPublic = (path: string) => publicPaths.has(path) || path.startsWith('/oauth/');

  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = process.hrtime.bigint();
    const path = request.url.split('?')[0]!;
    if (isPublic(path)) return;
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
    oauth.get('/.well-known/oauth-authorization-server/oauth', handle);
    oauth.get('/.well-known/openid-configuration/oauth', handle);
  });
  app.get('/fhir/.well-known/smart-configuration', async (_request, reply) =>
    reply.send(deps.oauth.smartConfiguration),
  );

  registerHealthRoutes(app, deps.readiness, deps.metrics);
  for (const feature of deps.features ?? []) await feature.register(app);
  registerFhirRoutes(app, deps.records, deps.capabilityStatement, deps.status);
  return app;
}

declare module 'fastify' {
  interface FastifyRequest {
    startedAt?: bigint;
  }
}
