/**
 * The route that answers workflow calls from other nodes: `POST /fhir/$exchange-workflow` (public —
 * authenticated by the request's composite signature under the sender's registered bundle, like
 * `POST /fhir/$exchange`): sealed request bytes in, sealed answer bytes out (application/octet-stream). A
 * request that does not verify gets an OperationOutcome, never a sealed answer: 400 malformed, 401 forged,
 * tampered, re-addressed, unknown sender, expired or replayed.
 *
 * Every call answered or refused is audited (DICOM Export: this node discloses an answer to the sender), with
 * the sender organisation, the workflow request id and — when the handler names one — the local patient. Logs
 * carry the request id, the sender, the kind and the status; never a patient or any payload.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { FastifyInstance } from 'fastify';
import { EXCHANGE_EXPORT, peerAgents } from '../audit/auditEvents.js';
import type { Feature } from '../NodeContext.js';
import { isExchangeRefusal } from './ExchangeCustodian.js';
import { WORKFLOW_OPERATION, type WorkflowChannel } from './WorkflowChannel.js';

export const WORKFLOW_PATH = `/fhir/${WORKFLOW_OPERATION}`;
/** The system of the audit entity naming a workflow call: its request id, the same on both nodes. */
export const WORKFLOW_REQUEST_SYSTEM = 'urn:medledger:workflow-request';

const OCTETS = 'application/octet-stream';
/** The largest sealed request is 64 KiB of padded plaintext plus its envelope; refuse more before reading it. */
const REQUEST_BODY_LIMIT = 72 * 1024;

/** A workflow call as an audit entity (both nodes record it under its request id). */
export function workflowEntity(requestId: string): Record<string, unknown> {
  return {
    what: { identifier: { system: WORKFLOW_REQUEST_SYSTEM, value: requestId } },
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
      code: '2',
      display: 'System Object',
    },
  };
}

export function workflowFeature(channel: WorkflowChannel): Feature {
  return {
    publicPaths: [WORKFLOW_PATH],
    async register(app: FastifyInstance) {
      await app.register(async (scope) => {
        scope.addContentTypeParser(
          OCTETS,
          { parseAs: 'buffer', bodyLimit: REQUEST_BODY_LIMIT },
          (_r, body, done) => done(null, body),
        );
        scope.post(WORKFLOW_PATH, { bodyLimit: REQUEST_BODY_LIMIT }, async (request, reply) => {
          if (!Buffer.isBuffer(request.body)) {
            throw new MdlError(MdlErrorCode.BadInput, `the body must be ${OCTETS}`);
          }
          request.auditDetail = { type: EXCHANGE_EXPORT, action: 'R', denied: true };
          try {
            const answered = await channel.answer(new Uint8Array(request.body));
            request.auditDetail = {
              type: EXCHANGE_EXPORT,
              action: 'R',
              agents: peerAgents(answered.sender, answered.member, true).map((agent) =>
                answered.purposeOfUse ? { ...agent, purposeOfUse: [answered.purposeOfUse] } : agent,
              ),
              entities: [workflowEntity(answered.requestId)],
              ...(answered.subject ? { subjects: [{ pseudonym: answered.subject }] } : {}),
              denied: answered.status !== 'ok',
            };
            request.log.info(
              {
                workflow: answered.requestId,
                kind: answered.kind,
                sender: answered.sender,
                status: answered.status,
              },
              'workflow call answered',
            );
            return reply.type(OCTETS).send(Buffer.from(answered.bytes));
          } catch (error) {
            if (isExchangeRefusal(error)) {
              request.log.warn({ code: (error as MdlError).code }, 'workflow request refused');
            }
            throw error;
          }
        });
      });
    },
    async stop() {
      channel.destroy();
    },
  };
}
