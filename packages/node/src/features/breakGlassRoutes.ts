/**
 * Break-glass (docs/administration.md): emergency read access to a patient's record without consent — only for a
 * practitioner whose role has the capability and whose licence is valid, only with a stated reason, only for
 * a duration within the consortium's cap, always noticed to the patient and always queued for review.
 *
 * - POST /fhir/Patient/:id/$break-glass {reason, minutes?} (JSON, or FHIR Parameters with `reason` valueString
 *   and `minutes` valueInteger): openBreakGlass sent from the practitioner's custodial member key, with the
 *   salted hash of the reason (the reason itself is sealed here, sealedText.ts); once the consent index has
 *   the block, the existing access policy lets the practitioner read that patient's record until the expiry.
 * - POST /fhir/$break-glass/:sessionId/end: the practitioner ends their session early (endBreakGlass).
 * - the auditors' review queue and reviews: breakGlassReviewRoutes.ts.
 *
 * Refusals: a role without the capability, a member key the node does not hold, no valid licence → 403
 * (they say nothing about a patient); an unknown or unlinked patient → 404; a missing reason or a duration
 * beyond the cap → 400 naming the field. The opening is in the request's audit event (flagged break-glass)
 * and on-chain; the duration cap is read from ConsentManager at each request.
 */
import type { BreakGlassSession } from '@medledger/consent';
import { consentManagerAbi } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { hexToBytes } from '@medledger/crypto';
import { roleHas } from '@medledger/identity';
import type { FastifyInstance } from 'fastify';
import type { Hex } from 'viem';
import type { NodeContext } from '../NodeContext.js';
import type { BreakGlassNotices } from './breakGlassNotices.js';
import {
  badInput,
  forbidden,
  isoOf,
  justification,
  notFound,
  objectBody,
  positiveId,
  requirePerson,
} from './careRequests.js';
import type { MemberKeys } from './memberKeys.js';
import { commitText } from './sealedText.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
/** Minutes of access when the request names none (bounded by the cap). */
export const DEFAULT_BREAK_GLASS_MINUTES = 60;
const MAX_REASON = 2000;

interface OpenRequest {
  reason: string;
  minutes: number | undefined;
  parameters: boolean;
}

/** The request body: FHIR Parameters or plain JSON, with exactly the known fields. */
function openRequest(body: unknown): OpenRequest {
  const o = objectBody(body);
  let reason: unknown;
  let minutes: unknown;
  let parameters = false;
  if (o.resourceType === 'Parameters') {
    parameters = true;
    if (!Array.isArray(o.parameter)) throw badInput('parameter', 'Parameters need a parameter list');
    for (const p of o.parameter as Record<string, unknown>[]) {
      if (p?.name === 'reason' && reason === undefined) reason = p.valueString;
      else if (p?.name === 'minutes' && minutes === undefined) minutes = p.valueInteger ?? p.valuePositiveInt;
      else throw badInput('parameter', 'only one reason (valueString) and one minutes (valueInteger)');
    }
  } else {
    for (const key of Object.keys(o)) {
      if (key !== 'reason' && key !== 'minutes') throw badInput(key, 'unknown field');
    }
    ({ reason, minutes } = o);
  }
  const stated = justification(reason, 'reason', MAX_REASON);
  if (minutes !== undefined && (!Number.isSafeInteger(minutes) || (minutes as number) < 1)) {
    throw badInput('minutes', 'a positive whole number of minutes');
  }
  return { reason: stated, minutes: minutes as number | undefined, parameters };
}

export function registerBreakGlassRoutes(
  app: FastifyInstance,
  ctx: NodeContext,
  memberKeys: MemberKeys,
  notices: BreakGlassNotices,
) {
  const durationCap = () =>
    ctx.ledger.rpc('reading the break-glass cap', () =>
      ctx.ledger.publicClient.readContract({
        address: ctx.ledger.deployment.contracts.ConsentManager.address,
        abi: consentManagerAbi,
        functionName: 'breakGlassDurationCap',
      }),
    );
  /** The consent index with the chain's newest block (a licence or session may be a block old). */
  const fresh = async () => {
    await ctx.consent.refreshHead();
    await ctx.consent.ensureFresh();
  };

  // Whether the patient exists is the one thing break-glass reads without the practitioner's access.
  const patients = ctx.records.system('break-glass patient lookup');
  /** The on-chain pseudonym of a local, linked, not deleted Patient; 404 otherwise. */
  const chainPatient = async (id: string): Promise<Hex> => {
    try {
      await patients.read('Patient', id);
    } catch (error) {
      if (
        error instanceof MdlError &&
        (error.code === MdlErrorCode.NotFound || error.code === MdlErrorCode.Gone)
      ) {
        throw notFound();
      }
      throw error;
    }
    const chain = await ctx.links.chainPseudonymOf(ctx.db, ctx.records.patientPseudonym(id));
    if (!chain) throw notFound();
    return chain;
  };

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$break-glass', async (request, reply) => {
    const caller = requirePerson(request, 'break-glass');
    if (!roleHas(caller.role, 'break-glass')) throw forbidden('this role may not break the glass');
    request.access?.requireInteraction('Patient', 'read');
    const input = openRequest(request.body);
    const member = caller.member;
    if (!member || !(await memberKeys.holds(member))) {
      throw forbidden('break-glass needs a member account whose key this node holds');
    }
    await fresh();
    if (!ctx.consent.consortium.hasValidLicence(member, ctx.consent.now())) {
      throw forbidden('break-glass needs a valid practitioner licence');
    }
    const capMinutes = Math.floor((await durationCap()) / 60);
    const minutes = input.minutes ?? Math.min(DEFAULT_BREAK_GLASS_MINUTES, capMinutes);
    if (minutes > capMinutes) {
      throw badInput('minutes', `at most ${capMinutes} (the consortium's break-glass cap)`);
    }
    const patientId = request.params.id;
    const patient = await chainPatient(patientId);

    const { hash, sealed } = commitText(ctx.sealingKey, 'break-glass-reason', input.reason);
    const reasonKey = hexToBytes(hash.slice(2));
    await ctx.db.query(
      `INSERT INTO care_break_glass_reasons (reason_hash, account_id, member_address, patient_fhir_id, sealed)
       VALUES ($1, $2, $3, $4, $5)`,
      [reasonKey, caller.id, member, patientId, sealed],
    );
    let opened: Awaited<ReturnType<typeof ctx.relayer.openBreakGlass>>;
    try {
      const client = await memberKeys.client(member);
      if (!client) throw forbidden('break-glass needs a member account whose key this node holds');
      opened = await ctx.relayer.openBreakGlass(client, {
        patient,
        reasonHash: hash,
        duration: minutes * 60,
      });
    } catch (error) {
      await ctx.db.query('DELETE FROM care_break_glass_reasons WHERE reason_hash = $1', [reasonKey]);
      throw error;
    }
    await ctx.db.query('UPDATE care_break_glass_reasons SET session_id = $2 WHERE reason_hash = $1', [
      reasonKey,
      opened.id,
    ]);
    request.log.warn({ breakGlassSession: opened.id }, 'break-glass opened');
    await ctx.consent.waitForBlock(opened.blockNumber);
    const session: BreakGlassSession = (await ctx.consent.breakGlassSession(opened.id)) ?? {
      id: opened.id,
      patient,
      member,
      organisation: ctx.organisationId,
      reasonHash: hash,
      openedAt: opened.expiresAt - minutes * 60,
      expiresAt: opened.expiresAt,
      openedBlock: Number(opened.blockNumber),
      openedTx: opened.transactionHash,
    };
    const communication = await notices.notify(session, patientId);
    const notification = communication ? `Communication/${communication}` : undefined;
    if (input.parameters) {
      return reply
        .code(201)
        .type(FHIR_JSON)
        .send({
          resourceType: 'Parameters',
          parameter: [
            { name: 'session', valueString: String(session.id) },
            { name: 'opened', valueInstant: isoOf(session.openedAt) },
            { name: 'expires', valueInstant: isoOf(session.expiresAt) },
            ...(notification ? [{ name: 'notification', valueReference: { reference: notification } }] : []),
          ],
        });
    }
    return reply.code(201).send({
      sessionId: session.id,
      openedAt: isoOf(session.openedAt),
      expiresAt: isoOf(session.expiresAt),
      ...(notification ? { notification } : {}),
      transaction: opened.transactionHash,
    });
  });

  app.post<{ Params: { sessionId: string } }>('/fhir/$break-glass/:sessionId/end', async (request) => {
    const caller = requirePerson(request, 'break-glass');
    const id = positiveId(request.params.sessionId, 'sessionId');
    await fresh();
    const session = await ctx.consent.breakGlassSession(id);
    if (!session || !caller.member || session.member.toLowerCase() !== caller.member.toLowerCase()) {
      throw notFound('no such break-glass session of yours');
    }
    if (session.expiresAt <= ctx.consent.now()) {
      throw new MdlError(MdlErrorCode.Conflict, 'the session is already over');
    }
    const client = await memberKeys.client(caller.member);
    if (!client) throw forbidden('ending a session needs the member key this node holds');
    const ended = await ctx.relayer.endBreakGlass(client, id);
    await ctx.consent.waitForBlock(ended.blockNumber);
    const after = await ctx.consent.breakGlassSession(id);
    return {
      sessionId: id,
      endedAt: isoOf(after?.endedAt ?? ctx.consent.now()),
      transaction: ended.transactionHash,
    };
  });
}
