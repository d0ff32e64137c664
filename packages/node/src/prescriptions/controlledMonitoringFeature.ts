/**
 * Controlled-substance monitoring across organisations (docs/prescriptions.md, *Controlled-substance monitoring
 * across organisations*):
 * - every node registers the `controlled-substance-history` workflow handler (controlledHistoryHandler.ts);
 * - `POST /fhir/$controlled-substance-history` (bearer; Parameters `patient`: `valueReference` Patient/{id} of
 *   this node, or `valueIdentifier` the ledger pseudonym): a prescriber with a controlled-substance registration
 *   or a pharmacist of a pharmacy (the consortium's rule, monitoringPolicy.ts) gets the patient's controlled
 *   prescriptions and dispenses from every organisation, with the risk signals.
 *
 * How: this node's own records (through the same named access and rule as the answering side); then, in
 * parallel (at most CONCURRENCY calls at once, each at most CALL_TIMEOUT_MS), every other active Hospital and
 * Clinic by the patient's pseudonym; then every other active Pharmacy, also by the on-chain ids of the
 * prescriptions found (a pharmacy's dispenses name the prescription, not the patient). Organisations that do not
 * answer are listed in an OperationOutcome — never fatal. `assessControlledSubstanceRisk` runs on the merged
 * records; the answer is a Bundle (collection): MedicationRequests and MedicationDispenses (ids made unique as
 * `<organisation>-<id>`, meta.tag naming the source organisation), DetectedIssues, the OperationOutcome.
 *
 * Answers: 200 the Bundle; 400 malformed Parameters; 401 no token; 403 a system caller, another role, or a
 * person the rule does not allow (no licence, no controlled registration, not a pharmacist of a pharmacy);
 * 404 a Patient reference the caller may not read. Audited here (the caller, the organisations asked, the
 * local patient, every workflow request id); logs carry counts and organisation ids, never the patient.
 * Limits: the signals use the library's default thresholds; the look-back is the policy's (365 days when off,
 * for this node's own records only).
 */

import { consortiumRegistryAbi, OrganisationKind } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { assessControlledSubstanceRisk, detectedIssuesFor } from '@medledger/prescriptions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Address, Hex } from 'viem';
import { PATIENT_PSEUDONYM_SYSTEM } from '../access/PatientLinks.js';
import { ORGANISATION_SYSTEM, peerAgents } from '../audit/auditEvents.js';
import type { OrganisationDirectory } from '../exchange/OrganisationDirectory.js';
import type { WorkflowChannel } from '../exchange/WorkflowChannel.js';
import { workflowEntity } from '../exchange/workflowFeature.js';
import type { Feature, NodeContext } from '../NodeContext.js';
import {
  CONTROLLED_HISTORY_KIND,
  controlledHistoryHandler,
  localControlledHistory,
  MONITORING_ACCESS,
  monitoringAskPayload,
} from './controlledHistoryHandler.js';
import { mayMonitor, readMonitoringPolicy } from './monitoringPolicy.js';
import { PRESCRIPTION_ID_SYSTEM } from './prescriptionOrder.js';

export const CONTROLLED_HISTORY_PATH = '/fhir/$controlled-substance-history';
const CONCURRENCY = 6;
const CALL_TIMEOUT_MS = 15_000;
const DEFAULT_LOOKBACK_DAYS = 365;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const badInput = (message: string) => new MdlError(MdlErrorCode.BadInput, `Parameters: ${message}`);

/** `patient`: exactly one, a local Patient reference or a canonical ledger pseudonym. */
function parsePatient(body: unknown): { reference: string } | { pseudonym: Hex } {
  if (!isObj(body) || body.resourceType !== 'Parameters' || !Array.isArray(body.parameter)) {
    throw badInput('the body must be a FHIR Parameters resource');
  }
  if (body.parameter.length !== 1 || !isObj(body.parameter[0]) || body.parameter[0].name !== 'patient') {
    throw badInput('exactly one parameter, patient, is expected');
  }
  const p = body.parameter[0];
  if (isObj(p.valueReference) && typeof p.valueReference.reference === 'string') {
    const m = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(p.valueReference.reference);
    if (!m) throw badInput('patient.valueReference must be Patient/{id} of this node');
    return { reference: m[1]! };
  }
  if (isObj(p.valueIdentifier)) {
    const { system, value } = p.valueIdentifier;
    if (system !== PATIENT_PSEUDONYM_SYSTEM || typeof value !== 'string' || !/^0x[0-9a-f]{64}$/.test(value)) {
      throw badInput(`patient.valueIdentifier must be a ledger pseudonym in ${PATIENT_PSEUDONYM_SYSTEM}`);
    }
    return { pseudonym: value as Hex };
  }
  throw badInput('patient must be a valueReference or a valueIdentifier');
}

/** Runs `tasks` with at most `limit` at once. */
async function bounded<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MdlError(MdlErrorCode.Unavailable, 'no answer in time')), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

interface Asked {
  organisation: number;
  requestId?: string;
  resources?: Obj[];
}

async function activeOrganisations(ctx: NodeContext, directory: OrganisationDirectory, kinds: number[]) {
  const count = await ctx.ledger.rpc('reading the registry', () =>
    ctx.ledger.publicClient.readContract({
      address: ctx.ledger.deployment.contracts.ConsortiumRegistry.address,
      abi: consortiumRegistryAbi,
      functionName: 'organisationCount',
    }),
  );
  const ids = Array.from({ length: Number(count) }, (_, i) => i + 1).filter(
    (id) => id !== ctx.organisationId && ctx.consent.consortium.organisationActive(id),
  );
  const profiles = await Promise.all(ids.map((id) => directory.profile(id)));
  return ids.filter((_, i) => profiles[i] !== undefined && kinds.includes(profiles[i]!.kind));
}

const prescriptionIdOf = (r: Obj): Hex | undefined => {
  const ids = Array.isArray(r.identifier) ? r.identifier : [];
  const found = ids.find(
    (i) => isObj(i) && i.system === PRESCRIPTION_ID_SYSTEM && typeof i.value === 'string',
  );
  return found ? ((found as Obj).value as Hex) : undefined;
};

export function controlledMonitoringFeature(
  ctx: NodeContext,
  channel: WorkflowChannel,
  directory: OrganisationDirectory,
): Feature {
  channel.register(CONTROLLED_HISTORY_KIND, controlledHistoryHandler(ctx, directory));
  const named = ctx.records.system(MONITORING_ACCESS);

  const ask = async (
    organisations: number[],
    payload: ReturnType<typeof monitoringAskPayload>,
  ): Promise<Asked[]> =>
    bounded(
      organisations.map((organisation) => async () => {
        try {
          const r = await withTimeout(
            channel.call(organisation, CONTROLLED_HISTORY_KIND, payload),
            CALL_TIMEOUT_MS,
          );
          const bundle = r.payload as Obj | undefined;
          if (bundle?.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) {
            return { organisation, requestId: r.requestId };
          }
          const resources = bundle.entry
            .map((e) => (isObj(e) ? e.resource : undefined))
            .filter(isObj)
            .filter((x) => x.resourceType === 'MedicationRequest' || x.resourceType === 'MedicationDispense');
          return { organisation, requestId: r.requestId, resources };
        } catch {
          return { organisation };
        }
      }),
      CONCURRENCY,
    );

  return {
    async register(app: FastifyInstance) {
      app.post(CONTROLLED_HISTORY_PATH, async (request: FastifyRequest, reply) => {
        const caller = request.access?.caller;
        if (caller?.kind !== 'person' || (caller.role !== 'doctor' && caller.role !== 'pharmacist')) {
          throw new MdlError(
            MdlErrorCode.Forbidden,
            'controlled-substance monitoring is for a prescriber or a pharmacist',
          );
        }
        const target = parsePatient(request.body);
        await ctx.consent.catchUp();
        const member = caller.member as Address | undefined;
        if (!member || !(await mayMonitor(ctx, directory, ctx.organisationId, member))) {
          throw new MdlError(
            MdlErrorCode.Forbidden,
            "the consortium's monitoring rule allows licensed prescribers with a controlled-substance registration and pharmacists of pharmacies",
          );
        }
        const records = request.records!;
        let patientId: string | undefined;
        let pseudonym: Hex | undefined;
        if ('reference' in target) {
          await records.read('Patient', target.reference); // 404 when the caller may not see them
          patientId = target.reference;
          pseudonym = await ctx.links.chainPseudonymOf(ctx.db, ctx.records.patientPseudonym(patientId));
        } else {
          pseudonym = target.pseudonym;
          const linked = (await ctx.links.recordPseudonymsOf(ctx.db, [pseudonym])).get(pseudonym);
          if (linked) {
            const found = (await records.search(
              'Patient',
              new URLSearchParams({ identifier: `${PATIENT_PSEUDONYM_SYSTEM}|${pseudonym}`, _count: '2' }),
            )) as { entry?: { resource?: Obj }[] };
            const id = found.entry?.[0]?.resource?.id;
            patientId = typeof id === 'string' ? id : undefined;
          }
        }
        const subject = patientId ? ctx.records.patientPseudonym(patientId) : undefined;
        request.auditDetail = { action: 'E', ...(subject ? { subjects: [{ pseudonym: subject }] } : {}) };

        const policy = await readMonitoringPolicy(ctx);
        const lookbackDays = policy.enabled ? policy.lookbackDays : DEFAULT_LOOKBACK_DAYS;
        // Own records: under the rule through the named access; with the policy off, as the caller may see them.
        const own: Obj[] = await localControlledHistory(ctx, policy.enabled ? named : records, {
          ...(patientId ? { patientId } : {}),
          prescriptions: [],
          lookbackDays,
        }).catch(() => []);
        const byOrganisation: { organisation: number; resources: Obj[] }[] = [
          { organisation: ctx.organisationId, resources: own },
        ];
        const asked: Asked[] = [];
        if (pseudonym) {
          const prescribers = await activeOrganisations(ctx, directory, [
            OrganisationKind.Hospital,
            OrganisationKind.Clinic,
          ]);
          const base = { pseudonym, member, prescriptions: [] as Hex[] };
          asked.push(...(await ask(prescribers, monitoringAskPayload(base))));
          const ids = new Set<Hex>();
          for (const r of [...own, ...asked.flatMap((a) => a.resources ?? [])]) {
            const id = r.resourceType === 'MedicationRequest' ? prescriptionIdOf(r) : undefined;
            if (id) ids.add(id);
          }
          const prescriptions = [...ids].slice(0, 100);
          const pharmacies = await activeOrganisations(ctx, directory, [OrganisationKind.Pharmacy]);
          asked.push(...(await ask(pharmacies, monitoringAskPayload({ ...base, prescriptions }))));
          if (policy.enabled && ctx.config.organisationKind === 'pharmacy' && prescriptions.length > 0) {
            const dispensed = await localControlledHistory(ctx, named, { prescriptions, lookbackDays });
            const seen = new Set(own.map((r) => `${r.resourceType}/${r.id}`));
            own.push(...dispensed.filter((r) => !seen.has(`${r.resourceType}/${r.id}`)));
          }
        }
        for (const a of asked) {
          if (a.resources) byOrganisation.push({ organisation: a.organisation, resources: a.resources });
        }
        request.auditDetail.agents = asked.flatMap((a) => peerAgents(a.organisation, undefined, false));
        request.auditDetail.entities = asked
          .filter((a) => a.requestId)
          .map((a) => workflowEntity(a.requestId!));

        // Merge: ids unique per organisation; a dispense's prescription linked by its on-chain id.
        const requests: Obj[] = [];
        const dispenses: Obj[] = [];
        const requestByChainId = new Map<string, string>();
        for (const { organisation, resources } of byOrganisation) {
          for (const r of resources) {
            const id = `${organisation}-${String(r.id)}`.slice(0, 64);
            if (r.resourceType === 'MedicationRequest') {
              const chainId = prescriptionIdOf(r);
              if (chainId) requestByChainId.set(chainId, id);
              requests.push({ ...r, id });
            } else dispenses.push({ ...r, id });
          }
        }
        for (const d of dispenses) {
          const auth = Array.isArray(d.authorizingPrescription) ? d.authorizingPrescription : [];
          d.authorizingPrescription = auth.filter(isObj).map((a) => {
            const chainId = isObj(a.identifier) ? String(a.identifier.value) : '';
            const local = requestByChainId.get(chainId);
            return local ? { ...a, reference: `MedicationRequest/${local}` } : a;
          });
        }
        const organisationOf = (r: Obj) => String(r.id).split('-')[0]!;
        const tagOf = (v: unknown) =>
          isObj(v) && isObj(v.identifier) ? String(v.identifier.value) : undefined;
        const assessment = assessControlledSubstanceRisk(
          requests.map((resource) => ({
            resource,
            prescriber: tagOf(resource.requester) ?? `${organisationOf(resource)}:unknown`,
            organisation: organisationOf(resource),
          })),
          dispenses.map((resource) => ({
            resource,
            pharmacy: organisationOf(resource),
            organisation: organisationOf(resource),
          })),
        );
        const issues = detectedIssuesFor(assessment.signals, {
          patient: patientId
            ? `Patient/${patientId}`
            : `Patient?identifier=${PATIENT_PSEUDONYM_SYSTEM}|${pseudonym}`,
          identified: new Date().toISOString(),
          author: `Organization?identifier=${ORGANISATION_SYSTEM}|${ctx.organisationId}`,
        });
        const silent = asked.filter((a) => !a.resources).map((a) => a.organisation);
        const outcome = {
          resourceType: 'OperationOutcome',
          issue: [
            ...silent.map((organisation) => ({
              severity: 'warning',
              code: 'incomplete',
              diagnostics: `organisation ${organisation} did not answer`,
              expression: [`Organization?identifier=${ORGANISATION_SYSTEM}|${organisation}`],
            })),
            ...(policy.enabled
              ? []
              : [
                  {
                    severity: 'information',
                    code: 'informational',
                    diagnostics:
                      "the consortium's monitoring policy is off: other organisations share nothing",
                  },
                ]),
            ...(silent.length === 0 && policy.enabled
              ? [
                  {
                    severity: 'information',
                    code: 'informational',
                    diagnostics: 'every organisation answered',
                  },
                ]
              : []),
          ],
        };
        request.log.info(
          {
            asked: asked.length,
            notAnswered: silent,
            records: requests.length + dispenses.length,
            signals: assessment.signals.length,
          },
          'controlled-substance history',
        );
        return reply.type(FHIR_JSON).send({
          resourceType: 'Bundle',
          type: 'collection',
          timestamp: new Date().toISOString(),
          entry: [...requests, ...dispenses, ...issues, outcome].map((resource) => ({ resource })),
        });
      });
    },
  };
}
