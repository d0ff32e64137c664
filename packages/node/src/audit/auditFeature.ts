/**
 * The audit trail's HTTP side (docs/audit-log.md, *The node's API*). Every route needs a bearer token; bytes are
 * base64url; cursors are leaf indices (resume with the `next` a page returned).
 *
 * | route | who | what |
 * |---|---|---|
 * | `GET /audit/checkpoint[?anchored=true]`, `/audit/checkpoint/:id` | anyone authenticated | the latest (latest anchored, or a given) signed checkpoint and its on-chain anchor |
 * | `GET /audit/proof/inclusion?index&checkpoint` | anyone authenticated | an entry's commitment and audit path to a checkpoint |
 * | `GET /audit/proof/consistency?from&to` | anyone authenticated | the consistency proof between two checkpoints |
 * | `GET /audit/patients/:id/events?cursor&_count` | the patient, auditors, the node | the patient's events, opened, each with salt and inclusion proof (the patient: without network addresses) |
 * | `GET /audit/events?cursor&_count` | auditors, the node | every event of the organisation, the same way |
 * | `GET /audit/export?cursor&_count&format=fhir\|ocsf` | auditors, the node | SIEM export: NDJSON, next cursor in `X-Medledger-Next-Cursor` |
 * | `GET /audit/$verify` | auditors, the node | the independent verification (`medledger audit verify`) |
 *
 * A patient's log asked for by anyone else answers 404, like a record that does not exist.
 */
import { MdlError, MdlErrorCode, UNCATEGORISED } from '@medledger/core';
import type { FastifyRequest } from 'fastify';
import type { AccessPolicy } from '../access/AccessPolicy.js';
import { decide } from '../access/decide.js';
import type { Feature } from '../NodeContext.js';
import {
  auditEventsSchema,
  auditExportSchema,
  auditVerifySchema,
  checkpointByIdSchema,
  checkpointSchema,
  consistencyProofSchema,
  inclusionProofSchema,
  patientEventsSchema,
} from '../openapi/routeSchemas.js';
import type { AuditTrail } from './AuditTrail.js';
import { toOcsf } from './ocsf.js';

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

function integer(raw: unknown, name: string, fallback?: number): number {
  if (raw === undefined && fallback !== undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) {
    throw new MdlError(MdlErrorCode.BadInput, `${name} must be a non-negative integer`);
  }
  return Number(raw);
}

function page(query: Record<string, unknown>): { from: number; limit: number } {
  const limit = integer(query._count, '_count', DEFAULT_PAGE);
  if (limit < 1 || limit > MAX_PAGE)
    throw new MdlError(MdlErrorCode.BadInput, `_count must be 1 to ${MAX_PAGE}`);
  return { from: integer(query.cursor, 'cursor', 0), limit };
}

/** Whether the caller may read the organisation's whole log (its auditors, the organisation) — not a patient. */
const readsWholeLog = (access: AccessPolicy) =>
  decide(access.subject, 'read', { type: 'AuditEvent', owner: 'organisation', category: UNCATEGORISED })
    .allow;

type Page = Awaited<ReturnType<AuditTrail['provenEntries']>>;

export interface AuditFeatureDeps {
  patientPseudonym(id: string): Uint8Array;
  /** A resolver of an event's agents to names, made per request (directoryRoutes' auditAgentNames). */
  agentNames?: () => (event: Readonly<Record<string, unknown>>) => Promise<unknown[]>;
}

export function auditFeature(audit: AuditTrail, deps: AuditFeatureDeps): Feature {
  /** The page with each entry's agents named (people and organisations; never ids or addresses). */
  const named = async (page: Page) => {
    if (!deps.agentNames) return page;
    const resolve = deps.agentNames();
    return {
      ...page,
      entries: await Promise.all(page.entries.map(async (e) => ({ ...e, agents: await resolve(e.event) }))),
    };
  };
  const requireAuditor = (request: FastifyRequest) => {
    if (!request.access?.allows('read', 'AuditEvent')) {
      throw new MdlError(MdlErrorCode.Forbidden, 'this is for the organisation’s auditors');
    }
  };
  return {
    register(app) {
      app.get<{ Querystring: Record<string, unknown> }>(
        '/audit/checkpoint',
        { schema: checkpointSchema },
        async (request) => {
          const anchored = request.query.anchored;
          if (anchored !== undefined && anchored !== 'true' && anchored !== 'false') {
            throw new MdlError(MdlErrorCode.BadInput, 'anchored must be true or false');
          }
          return audit.checkpoint(anchored === 'true' ? 'anchored' : 'latest');
        },
      );
      app.get<{ Params: { id: string } }>(
        '/audit/checkpoint/:id',
        { schema: checkpointByIdSchema },
        async (request) => audit.checkpoint({ id: integer(request.params.id, 'checkpoint id') }),
      );
      app.get<{ Querystring: Record<string, unknown> }>(
        '/audit/proof/inclusion',
        { schema: inclusionProofSchema },
        async (request) =>
          audit.inclusionProof(
            integer(request.query.index, 'index'),
            integer(request.query.checkpoint, 'checkpoint'),
          ),
      );
      app.get<{ Querystring: Record<string, unknown> }>(
        '/audit/proof/consistency',
        { schema: consistencyProofSchema },
        async (request) =>
          audit.consistencyProof(integer(request.query.from, 'from'), integer(request.query.to, 'to')),
      );

      app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
        '/audit/patients/:id/events',
        { schema: patientEventsSchema },
        async (request) => {
          if (!/^[A-Za-z0-9\-.]{1,64}$/.test(request.params.id)) {
            throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
          }
          // The patient's own record (AuditEvent is in the patient compartment), or the auditors'; reading a
          // patient's access log is itself audited against that patient.
          if (!request.access!.allows('read', 'AuditEvent', request.params.id)) {
            throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
          }
          return named(
            await audit.provenEntries({
              ...page(request.query),
              subject: deps.patientPseudonym(request.params.id),
              // Whoever is not an auditor or the node (the patient) never sees where requests came from.
              view: readsWholeLog(request.access!) ? 'auditor' : 'patient',
            }),
          );
        },
      );

      app.get<{ Querystring: Record<string, unknown> }>(
        '/audit/events',
        { schema: auditEventsSchema },
        async (request) => {
          requireAuditor(request);
          return named(await audit.provenEntries({ ...page(request.query), view: 'auditor' }));
        },
      );

      app.get<{ Querystring: Record<string, unknown> }>(
        '/audit/export',
        { schema: auditExportSchema },
        async (request, reply) => {
          requireAuditor(request);
          const { from, limit } = page(request.query);
          const format = request.query.format ?? 'fhir';
          if (format !== 'fhir' && format !== 'ocsf') {
            throw new MdlError(MdlErrorCode.BadInput, 'format must be fhir or ocsf');
          }
          const events = await audit.events(from, limit);
          const lines = events.map(({ index, event }) =>
            JSON.stringify(
              format === 'ocsf' ? toOcsf(event, index, audit.logId) : { ...event, id: String(index) },
            ),
          );
          const next = events.length > 0 ? events.at(-1)!.index + 1 : from;
          return reply
            .header('x-medledger-next-cursor', String(next))
            .type(format === 'ocsf' ? 'application/x-ndjson' : 'application/fhir+ndjson')
            .send(lines.length > 0 ? `${lines.join('\n')}\n` : '');
        },
      );

      // The organisation's auditors are the people who need this check, and it reveals nothing they cannot read
      // already (sizes, checkpoints, anchors, the first divergence's position — no event content).
      app.get('/audit/$verify', { schema: auditVerifySchema }, async (request) => {
        if (!request.access || !readsWholeLog(request.access)) {
          throw new MdlError(MdlErrorCode.Forbidden, 'this is for the organisation’s auditors and operators');
        }
        await audit.tick(); // integrate and sign what is queued, so the report covers every acknowledged request
        return audit.verify();
      });
    },
  };
}
