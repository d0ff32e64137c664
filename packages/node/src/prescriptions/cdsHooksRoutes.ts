/**
 * The CDS Hooks 2.0 HTTP routes: GET /cds-services (discovery, public, no patient data) and
 * POST /cds-services/{id} (behind the node's bearer tokens, audited like every authenticated request). A
 * malformed request is refused with 400 and an OperationOutcome that names the field, never its content; an
 * unknown service is 404. The check itself is @medledger/prescriptions' checkInteractions; nothing is written.
 * Left out: the CDS client's own JWT (CDS Hooks' `Authorization` from the EHR) and `fhirAuthorization`
 * (the node never calls back into the EHR's FHIR server) — the node's own tokens authenticate callers.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  checkInteractions,
  interactionInputOf,
  type NamedInteractionList,
  parseInteractionRequest,
} from '@medledger/prescriptions';
import type { FastifyInstance } from 'fastify';
import { readMissingPrefetch } from './cdsHooksData.js';
import { cdsDiscoverySchema, cdsServiceSchema } from './cdsHooksSchemas.js';
import { CDS_SERVICES, PREFETCH, type PrefetchKey, serviceById } from './cdsHooksServices.js';

export const CDS_SERVICES_PATH = '/cds-services';

export interface CdsHooksOptions {
  /** Drug-name interaction lists the operator loaded (MEDLEDGER_INTERACTION_LIST). */
  namedLists?: readonly NamedInteractionList[];
  /** The evaluation time (ages, lab windows); default: the clock. */
  now?: () => Date;
}

export function registerCdsHooksRoutes(app: FastifyInstance, options: CdsHooksOptions = {}): void {
  const now = options.now ?? (() => new Date());
  app.get(CDS_SERVICES_PATH, { schema: cdsDiscoverySchema }, async (_request, reply) =>
    reply.type('application/json').send({ services: CDS_SERVICES }),
  );

  app.post<{ Params: { id: string } }>(
    `${CDS_SERVICES_PATH}/:id`,
    { schema: cdsServiceSchema },
    async (request, reply) => {
      const service = serviceById(request.params.id);
      if (!service) throw new MdlError(MdlErrorCode.NotFound, 'no such CDS service');
      const parsed = parseInteractionRequest(request.body, service.hook);
      if (!parsed.ok) throw new MdlError(MdlErrorCode.BadInput, parsed.message);
      const missing = (Object.keys(PREFETCH) as PrefetchKey[]).filter((k) => !(k in parsed.request.prefetch));
      const fetched = await readMissingPrefetch(request.records!, parsed.request.patientId, missing);
      const { cards } = checkInteractions(interactionInputOf(parsed.request, now(), fetched), {
        ...(options.namedLists ? { namedLists: options.namedLists } : {}),
      });
      return reply.type('application/json').header('cache-control', 'no-store').send({ cards });
    },
  );
}
