/**
 * The HTTP side of bulk export (FHIR Bulk Data Access IG v2): the kick-off operations, the status URL a
 * client polls and may DELETE, and the output files. docs/fhir.md, *Bulk export*, says what is supported and
 * what is refused.
 *
 *   GET|POST /fhir/$export               system level (the organisation and SMART backend clients)
 *   GET|POST /fhir/Patient/$export       every patient compartment the caller may see (a patient: their own)
 *   GET|POST /fhir/Group/:id/$export     the compartments of the Group's member patients
 *   GET      /fhir/$export-status/:job   202 + X-Progress while it runs, 200 + manifest when done
 *   DELETE   /fhir/$export-status/:job   cancels and deletes the job and its files
 *   GET      /fhir/$export-file/:job/:f  one NDJSON output file
 */
import { Readable } from 'node:stream';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { isResourceType, operationOutcome, parseSince } from '@medledger/fhir';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../access/Caller.js';
import { recordsOf } from '../routes/fhirRequest.js';
import type { Records } from '../services/RecordService.js';
import type { BulkExports, ExportLevel, ExportRequest } from './BulkExports.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const OUTPUT_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
/** Parameters of the IG this server does not implement: refused rather than silently ignored. */
const UNSUPPORTED = new Set([
  '_typeFilter',
  '_elements',
  'patient',
  'includeAssociatedData',
  'organizeOutputBy',
]);
const PATIENT_REFERENCE = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/;

const bad = (message: string) => new MdlError(MdlErrorCode.BadInput, message);

function callerOf(request: FastifyRequest): Caller {
  if (!request.access) throw new MdlError(MdlErrorCode.Unauthenticated, 'a valid bearer token is required');
  return request.access.caller;
}

/** The kick-off's parameters, from the query (GET) or a Parameters resource (POST), as name → values. */
function parametersOf(request: FastifyRequest): [string, string][] {
  if (request.method === 'GET') {
    const i = request.url.indexOf('?');
    return [...new URLSearchParams(i < 0 ? '' : request.url.slice(i + 1))];
  }
  const body = request.body as { resourceType?: unknown; parameter?: unknown } | undefined;
  if (body === undefined || body === null) return [];
  if (body.resourceType !== 'Parameters')
    throw bad('the body of a POST $export must be a Parameters resource');
  if (body.parameter === undefined) return [];
  if (!Array.isArray(body.parameter)) throw bad('Parameters.parameter must be an array');
  return body.parameter.map((p: Record<string, unknown>) => {
    const name = p?.name;
    if (typeof name !== 'string') throw bad('every parameter needs a name');
    const value = p.valueString ?? p.valueInstant ?? p.valueDateTime ?? p.valueCode ?? p.valueUri;
    if (typeof value !== 'string') throw bad(`parameter ${name} needs a string, instant or code value`);
    return [name, value] as [string, string];
  });
}

/** Checks the kick-off's headers and parameters; anything the IG does not allow or we do not support: 400. */
function parseKickOff(request: FastifyRequest): Pick<ExportRequest, 'types' | 'since'> {
  const accept = String(request.headers.accept ?? '');
  if (!/(^|,)\s*application\/fhir\+json\s*(;|,|$)/.test(accept)) {
    throw bad('a bulk export request must send Accept: application/fhir+json');
  }
  if (!/(^|[,;\s])respond-async(\s*[,;]|\s*$)/.test(String(request.headers.prefer ?? ''))) {
    throw bad('a bulk export request must send Prefer: respond-async');
  }
  const types = new Set<string>();
  let since: string | undefined;
  for (const [name, value] of parametersOf(request)) {
    if (name === '_outputFormat') {
      if (!OUTPUT_FORMATS.has(value)) {
        throw bad('_outputFormat must be application/fhir+ndjson, application/ndjson or ndjson');
      }
    } else if (name === '_type') {
      for (const type of value.split(',').map((t) => t.trim())) {
        if (!isResourceType(type)) throw bad('_type names an unknown resource type');
        types.add(type);
      }
    } else if (name === '_since') {
      if (since !== undefined) throw bad('_since may be given once');
      const parsed = parseSince(value);
      if (!parsed.ok) throw bad('_since must be a FHIR instant');
      since = parsed.since.toISOString();
    } else if (UNSUPPORTED.has(name)) {
      throw new MdlError(MdlErrorCode.Unsupported, `the ${name} parameter of $export is not supported`);
    } else {
      throw bad('unknown $export parameter');
    }
  }
  return { ...(types.size > 0 ? { types: [...types] } : {}), ...(since ? { since } : {}) };
}

/** The member patients of a Group, read under the caller's access (a Group they may not read: 404). */
async function groupMembers(records: Records, id: string): Promise<string[]> {
  const { resource } = await records.read('Group', id);
  const members = Array.isArray(resource.member) ? (resource.member as Record<string, unknown>[]) : [];
  const ids = new Set<string>();
  for (const m of members) {
    if (m?.inactive === true) continue;
    const reference = (m?.entity as { reference?: unknown } | undefined)?.reference;
    const match = typeof reference === 'string' ? PATIENT_REFERENCE.exec(reference) : null;
    if (match) ids.add(match[1]!);
  }
  return [...ids];
}

export function registerBulkExportRoutes(
  app: FastifyInstance,
  exports: BulkExports,
  baseUrl: () => string,
): void {
  const statusUrl = (id: string) => `${baseUrl()}/$export-status/${id}`;

  const kickOff = async (
    request: FastifyRequest,
    reply: FastifyReply,
    level: ExportLevel,
    group?: string,
  ) => {
    const caller = callerOf(request);
    const parsed = parseKickOff(request);
    if (level === 'system' && caller.kind === 'person') {
      throw new MdlError(
        MdlErrorCode.Forbidden,
        'system-level export is for the organisation and its systems; people export patient compartments',
      );
    }
    const patients = group === undefined ? undefined : await groupMembers(recordsOf(request), group);
    const id = await exports.kickOff(caller, {
      url: `${new URL(baseUrl()).origin}${request.url}`,
      level,
      ...parsed,
      ...(patients ? { patients } : {}),
    });
    return reply
      .code(202)
      .type(FHIR_JSON)
      .header('Content-Location', statusUrl(id))
      .send(
        operationOutcome([
          {
            severity: 'information',
            code: 'informational',
            diagnostics: 'export accepted: poll the Content-Location URL for its status',
            expression: [],
          },
        ]),
      );
  };

  for (const method of ['GET', 'POST'] as const) {
    app.route({ method, url: '/fhir/$export', handler: (req, reply) => kickOff(req, reply, 'system') });
    app.route({
      method,
      url: '/fhir/Patient/$export',
      handler: (req, reply) => kickOff(req, reply, 'patient'),
    });
    app.route<{ Params: { id: string } }>({
      method,
      url: '/fhir/Group/:id/$export',
      handler: (req, reply) => kickOff(req, reply, 'group', req.params.id),
    });
  }

  app.get<{ Params: { job: string } }>('/fhir/$export-status/:job', async (request, reply) => {
    const status = await exports.status(callerOf(request), request.params.job);
    if (status.state === 'queued' || status.state === 'running') {
      return reply
        .code(202)
        .header('X-Progress', `${status.state}: ${status.exported} resources exported`)
        .header('Retry-After', '2')
        .send();
    }
    if (status.state === 'failed') {
      return reply
        .code(500)
        .type(FHIR_JSON)
        .send(
          operationOutcome([
            {
              severity: 'error',
              code: 'exception',
              diagnostics: 'the export failed; start a new one',
              expression: [],
            },
          ]),
        );
    }
    if (status.expiresAt) reply.header('Expires', status.expiresAt.toUTCString());
    return reply
      .code(200)
      .type('application/json; charset=utf-8')
      .send({
        transactionTime: status.transactionTime?.toISOString(),
        request: status.request,
        requiresAccessToken: true,
        output: status.files.map((f) => ({
          type: f.type,
          url: `${baseUrl()}/$export-file/${request.params.job}/${f.fileId}`,
          count: f.count,
        })),
        error: [],
      });
  });

  app.delete<{ Params: { job: string } }>('/fhir/$export-status/:job', async (request, reply) => {
    await exports.delete(callerOf(request), request.params.job);
    return reply
      .code(202)
      .type(FHIR_JSON)
      .send(
        operationOutcome([
          {
            severity: 'information',
            code: 'informational',
            diagnostics: 'export deleted',
            expression: [],
          },
        ]),
      );
  });

  app.get<{ Params: { job: string; file: string } }>(
    '/fhir/$export-file/:job/:file',
    async (request, reply) => {
      const chunks = await exports.file(callerOf(request), request.params.job, request.params.file);
      // The first chunk is opened before the status line goes out: a file that does not open is a 500 with
      // an OperationOutcome; a later bad chunk aborts the transfer (never a complete-looking partial file).
      const first = await chunks.next();
      async function* body() {
        if (!first.done) yield first.value;
        yield* chunks;
      }
      return reply.code(200).type('application/fhir+ndjson').send(Readable.from(body()));
    },
  );
}
