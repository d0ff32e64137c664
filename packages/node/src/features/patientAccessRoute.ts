/**
 * `GET /fhir/Patient/:id/$access` (OperationDefinition `Patient-access`): what the caller may do with this
 * patient's record right now, for the purpose of use it asserts (`X-Purpose-Of-Use`) — each data category and
 * action the node's one decision allows, how (a consent grant, a break-glass session, the patient's own
 * record, the organisation), until when, and the caller's active break-glass session. A clinician's chart
 * shows it as "What you may see".
 *
 * A caller who may do nothing with the record gets 404, exactly as for a missing patient: the answer never
 * says that a record exists which the caller may not see. The request is audited like any read of the record
 * (denied when nothing is allowed).
 *
 * Limits: it answers for this node's records only; grants with a data period are listed as the decision
 * treats them (only records without a clinical date).
 */
import { PURPOSE_CODES } from '@medledger/consent';
import { DataCategory } from '@medledger/core';
import type { FastifyInstance } from 'fastify';
import { isoOf, notFound } from './careRequests.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

const CATEGORY_CODES = new Map<number, string>(
  Object.entries(DataCategory).map(([name, value]) => [value, name.toLowerCase()]),
);
const CATEGORY_DISPLAY = new Map<number, string>(
  Object.entries(DataCategory).map(([name, value]) => [value, name]),
);
const PURPOSE_NAMES = new Map<number, string>(Object.entries(PURPOSE_CODES).map(([k, v]) => [v, k]));

export function registerPatientAccessRoute(app: FastifyInstance) {
  app.get<{ Params: { id: string } }>('/fhir/Patient/:id/$access', async (request, reply) => {
    const access = request.access;
    if (!access) throw notFound();
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(request.params.id)) throw notFound();
    const answer = await access.patientAccess(request.params.id);
    if (answer.allowed.length === 0) throw notFound();
    const caller = access.caller;
    const purpose = caller.kind === 'person' ? PURPOSE_NAMES.get(caller.purpose) : undefined;
    return reply.type(FHIR_JSON).send({
      resourceType: 'Parameters',
      parameter: [
        { name: 'patient', valueReference: { reference: `Patient/${request.params.id}` } },
        { name: 'at', valueInstant: isoOf(answer.at) },
        ...(purpose ? [{ name: 'purpose', valueCode: purpose }] : []),
        ...answer.allowed.map((a) => ({
          name: 'allowed',
          part: [
            {
              name: 'category',
              valueCoding: {
                system: 'urn:medledger:data-category',
                code: CATEGORY_CODES.get(a.category),
                display: CATEGORY_DISPLAY.get(a.category),
              },
            },
            { name: 'action', valueCode: a.action },
            { name: 'via', valueCode: a.via },
            ...(a.until !== undefined ? [{ name: 'until', valueInstant: isoOf(a.until) }] : []),
          ],
        })),
        ...(answer.breakGlass
          ? [
              {
                name: 'breakGlass',
                part: [
                  { name: 'session', valueString: String(answer.breakGlass.session) },
                  { name: 'expires', valueInstant: isoOf(answer.breakGlass.expiresAt) },
                ],
              },
            ]
          : []),
      ],
    });
  });
}
