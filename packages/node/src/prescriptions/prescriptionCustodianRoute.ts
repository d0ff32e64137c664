/**
 * POST /fhir/$prescription-exchange — the prescriber's node's endpoint for the prescription exchange (public:
 * the request's composite signature authenticates it, not a bearer token). Sealed request bytes in, sealed
 * answer bytes out (application/octet-stream); a request that does not verify gets the exchange's refusal
 * (no signed answer). Audited like a record exchange: the requesting pharmacy and pharmacist as agents, the
 * patient as subject when the prescription is ours, denied unless released. Logs carry the request id, the
 * pharmacy and the outcome — never the prescription id, a patient or content.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { FastifyInstance } from 'fastify';
import { EXCHANGE_EXPORT, peerAgents } from '../audit/auditEvents.js';
import { isExchangeRefusal } from '../exchange/ExchangeCustodian.js';
import type { NodeContext } from '../NodeContext.js';
import type { PrescriptionCustodian } from './PrescriptionCustodian.js';

export const PRESCRIPTION_EXCHANGE_PATH = '/fhir/$prescription-exchange';
const OCTETS = 'application/octet-stream';
/** A sealed prescription request is 4,096 bytes plus the envelope's overhead. */
const BODY_LIMIT = 8 * 1024;

export async function registerPrescriptionCustodianRoute(
  app: FastifyInstance,
  ctx: NodeContext,
  custodian: PrescriptionCustodian,
) {
  await app.register(async (scope) => {
    scope.addContentTypeParser(OCTETS, { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_r, body, done) =>
      done(null, body),
    );
    scope.post(PRESCRIPTION_EXCHANGE_PATH, { bodyLimit: BODY_LIMIT }, async (request, reply) => {
      if (!Buffer.isBuffer(request.body)) {
        throw new MdlError(MdlErrorCode.BadInput, `the body must be ${OCTETS}`);
      }
      request.auditDetail = { type: EXCHANGE_EXPORT, action: 'R', denied: true };
      try {
        const answer = await custodian.answer(new Uint8Array(request.body));
        const r = answer.request;
        request.auditDetail = {
          type: EXCHANGE_EXPORT,
          action: 'R',
          agents: peerAgents(r.requester.organisation, r.pharmacist, true),
          ...(answer.patientId
            ? { subjects: [{ pseudonym: ctx.records.patientPseudonym(answer.patientId) }] }
            : {}),
          denied: !answer.released,
        };
        request.log.info(
          {
            exchange: r.id,
            requester: r.requester.organisation,
            outcome: answer.released ? 'released' : 'denied',
          },
          'prescription exchange answered',
        );
        return reply.type(OCTETS).send(Buffer.from(answer.bytes));
      } catch (error) {
        if (isExchangeRefusal(error)) {
          request.log.warn({ code: (error as MdlError).code }, 'prescription exchange request refused');
        }
        throw error;
      }
    });
  });
}
