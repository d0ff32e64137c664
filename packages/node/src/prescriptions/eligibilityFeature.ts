/**
 * Insurance eligibility between nodes (docs/prescriptions.md, *Eligibility between nodes*):
 * - every node registers the `coverage-eligibility` workflow handler on its WorkflowChannel (it answers only
 *   at an Insurer organisation; elsewhere the channel's uniform refusal);
 * - `POST /fhir/$coverage-eligibility` (bearer): a pharmacist or a doctor asks the patient's insurer whether a
 *   drug is covered — FHIR Parameters in (eligibilityParameters.ts), the insurer's CoverageEligibilityResponse
 *   out. The CoverageEligibilityRequest is built with @medledger/prescriptions' `eligibilityRequestFor`, then
 *   re-addressed for the insurer: the patient as their ledger pseudonym, insurer and provider as consortium
 *   organisation ids — nothing local to this node travels.
 *
 * Who may ask: a person in the role `pharmacist` (before dispensing) or `doctor` (when prescribing) — the
 * roles that handle a prescription's drug; a system caller acts for nobody and is refused (403), like other
 * roles. Before anything is sent: the patient's Payment consent to that insurer for Medications or Claims
 * (eligibilityConsent.ts), else 403 and nothing leaves the node. Answers: 200 the response; 400 malformed
 * Parameters (nothing sent); 404 an unknown or inactive organisation, or one that gave no answer (it is not an
 * insurer, or refused — the same for every reason); 503 the insurer cannot be reached or its answer does not
 * verify. Both nodes audit the call under the same workflow request id; logs carry that id, the insurer and
 * the outcome, never the patient or the drug.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { WorkflowPayload } from '@medledger/exchange';
import { validateResource } from '@medledger/fhir';
import type { Role } from '@medledger/identity';
import { eligibilityRequestFor } from '@medledger/prescriptions';
import type { FastifyInstance } from 'fastify';
import { PATIENT_PSEUDONYM_SYSTEM } from '../access/PatientLinks.js';
import { ORGANISATION_SYSTEM, peerAgents } from '../audit/auditEvents.js';
import type { WorkflowChannel } from '../exchange/WorkflowChannel.js';
import { workflowEntity } from '../exchange/workflowFeature.js';
import type { OrganisationNames } from '../features/directoryRoutes.js';
import type { Feature, NodeContext } from '../NodeContext.js';
import { COVERAGE_ELIGIBILITY_KIND, coverageEligibilityHandler } from './coverageEligibilityHandler.js';
import { eligibilityConsented } from './eligibilityConsent.js';
import { type EligibilityAsk, parseEligibilityParameters } from './eligibilityParameters.js';

export const COVERAGE_ELIGIBILITY_PATH = '/fhir/$coverage-eligibility';
/** The roles that may ask an insurer about a drug: who dispenses it and who prescribes it. */
export const ELIGIBILITY_ROLES: readonly Role[] = Object.freeze(['pharmacist', 'doctor']);

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** `insurer` as a valueString names the organisation as the directory lists it: it becomes its id here. */
async function insurerById(body: unknown, names: OrganisationNames): Promise<unknown> {
  const params = (body as { parameter?: unknown } | null)?.parameter;
  if (!Array.isArray(params)) return body;
  const named = params.find(
    (p: { name?: unknown; valueString?: unknown }) =>
      p?.name === 'insurer' && typeof p.valueString === 'string',
  ) as { valueString: string } | undefined;
  if (!named) return body;
  const wanted = named.valueString.trim().toLowerCase();
  const matches = (await names.organisations()).filter((o) => o.name.toLowerCase() === wanted);
  if (matches.length !== 1) {
    throw new MdlError(
      MdlErrorCode.BadInput,
      matches.length === 0
        ? 'Parameters: insurer names no active organisation (GET /directory/organisations lists them)'
        : 'Parameters: insurer names more than one organisation; give its registry id (valueInteger)',
    );
  }
  return {
    ...(body as object),
    parameter: params.map((p) =>
      p === named ? { name: 'insurer', valueInteger: Number(matches[0]!.id) } : p,
    ),
  };
}

const organisationRef = (id: number) => ({ identifier: { system: ORGANISATION_SYSTEM, value: String(id) } });

/** The CoverageEligibilityRequest the insurer receives: built locally, then stripped of local references. */
function payloadFor(ask: EligibilityAsk, ownOrganisation: number): WorkflowPayload {
  const built = eligibilityRequestFor(ask.medicationRequest, {
    coverage: 'reference' in ask.coverage ? ask.coverage.reference : 'Coverage/by-identifier',
    insurer: `Organization/${ask.insurer}`,
    created: new Date().toISOString(),
    id: globalThis.crypto.randomUUID(),
    ...(ask.date ? { servicedDate: ask.date } : {}),
    ...(ask.purpose ? { purpose: ask.purpose } : {}),
  });
  if (!built.ok) {
    throw new MdlError(MdlErrorCode.BadInput, 'Parameters: the prescription cannot be asked about', {
      issues: built.outcome.issue.map((i) => ({
        severity: i.severity,
        code: i.code,
        diagnostics: i.diagnostics ?? 'invalid',
        expression: (i.expression ?? []).map(
          (e) => `Parameters.parameter.where(name='medicationRequest').${e}`,
        ),
      })),
    });
  }
  const request = {
    ...built.request,
    patient: { identifier: { system: PATIENT_PSEUDONYM_SYSTEM, value: ask.patient } },
    insurer: organisationRef(ask.insurer),
    provider: organisationRef(ownOrganisation),
    insurance: [{ focal: true, coverage: ask.coverage }],
  };
  const checked = validateResource(request);
  if (!checked.ok)
    throw new MdlError(MdlErrorCode.BadInput, 'Parameters: the eligibility request is not valid R4');
  return request as unknown as WorkflowPayload;
}

export function eligibilityFeature(
  ctx: NodeContext,
  channel: WorkflowChannel,
  names: OrganisationNames,
): Feature {
  channel.register(COVERAGE_ELIGIBILITY_KIND, coverageEligibilityHandler(ctx));
  return {
    async register(app: FastifyInstance) {
      app.post(COVERAGE_ELIGIBILITY_PATH, async (request, reply) => {
        const caller = request.access?.caller;
        if (caller?.kind !== 'person' || !ELIGIBILITY_ROLES.includes(caller.role)) {
          throw new MdlError(
            MdlErrorCode.Forbidden,
            `eligibility checks are made by a person in the role ${ELIGIBILITY_ROLES.join(' or ')}`,
          );
        }
        const ask = parseEligibilityParameters(await insurerById(request.body, names));
        if (ask.insurer === ctx.organisationId) {
          throw new MdlError(MdlErrorCode.BadInput, 'Parameters: insurer is this organisation');
        }
        const payload = payloadFor(ask, ctx.organisationId);
        const local = (await ctx.links.recordPseudonymsOf(ctx.db, [ask.patient])).get(ask.patient);
        request.auditDetail = {
          action: 'E',
          agents: peerAgents(ask.insurer, undefined, false),
          ...(local ? { subjects: [{ pseudonym: local }] } : {}),
        };
        // The patient may have granted a moment ago, relayed by another node: read the chain head now.
        await ctx.consent.catchUp();
        if (!(await eligibilityConsented(ctx.consent, ask.patient, ask.insurer))) {
          request.auditDetail.denied = true;
          throw new MdlError(
            MdlErrorCode.Forbidden,
            'the patient has not consented to share medication or claims data with this insurer for payment',
          );
        }
        const result = await channel.call(ask.insurer, COVERAGE_ELIGIBILITY_KIND, payload);
        request.auditDetail.entities = [workflowEntity(result.requestId)];
        const answer = result.payload;
        const outcome =
          answer === undefined
            ? 'refused'
            : answer.resourceType === 'CoverageEligibilityResponse'
              ? 'answered'
              : 'invalid';
        request.log.info(
          { workflow: result.requestId, insurer: ask.insurer, outcome },
          'eligibility checked',
        );
        if (answer === undefined) {
          request.auditDetail.denied = true;
          throw new MdlError(MdlErrorCode.NotFound, 'the organisation gave no eligibility answer');
        }
        if (outcome !== 'answered' || !validateResource(answer).ok) {
          throw new MdlError(
            MdlErrorCode.Unavailable,
            'the insurer could not answer the eligibility request',
          );
        }
        return reply.type(FHIR_JSON).send(answer);
      });
    },
  };
}
