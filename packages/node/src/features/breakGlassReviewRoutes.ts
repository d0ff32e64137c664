/**
 * The auditors' side of break-glass: the review queue of this organisation's sessions and the review itself.
 *
 * - GET /admin/break-glass?unreviewed=true[&afterId=n]: sessions opened by this organisation's members, as
 *   the consent index has them, with the stored reason opened (and checked against the on-chain hash), the
 *   practitioner, the patient at this node, and the review if there is one — for auditors of this
 *   organisation (role auditor, account and on-chain membership here). Reasons are clinical text: admins do
 *   not see them.
 * - POST /admin/break-glass/:id/review {justified, finding}: closeBreakGlassReview sent from the auditor's
 *   custodial member key with the salted hash of the finding (sealed here, sealedText.ts). Only once the
 *   session is over (the contract's rule), once per session; the contract also refuses self-review.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { hexToBytes } from '@medledger/crypto';
import { roleHas } from '@medledger/identity';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Hex } from 'viem';
import type { PersonCaller } from '../access/Caller.js';
import type { NodeContext } from '../NodeContext.js';
import { breakGlassQueueSchema, breakGlassReviewSchema } from '../openapi/routeSchemas.js';
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
import { commitText, openText } from './sealedText.js';

const MAX_FINDING = 4000;

export function registerBreakGlassReviewRoutes(
  app: FastifyInstance,
  ctx: NodeContext,
  memberKeys: MemberKeys,
) {
  const fresh = async () => {
    await ctx.consent.refreshHead();
    await ctx.consent.ensureFresh();
  };

  /** Auditors of this organisation, member of it on-chain. */
  const requireAuditor = async (request: FastifyRequest): Promise<PersonCaller & { member: Hex }> => {
    const caller = requirePerson(request, 'the break-glass review');
    if (!roleHas(caller.role, 'audit')) throw forbidden('the break-glass review queue is for auditors');
    const account = await ctx.accounts.getAccount(caller.id);
    await fresh();
    if (
      !caller.member ||
      account?.organisation !== ctx.organisationId ||
      ctx.consent.consortium.memberOrganisation(caller.member) !== ctx.organisationId
    ) {
      throw forbidden('the break-glass review queue is for this organisation’s auditors');
    }
    return caller as PersonCaller & { member: Hex };
  };

  app.get('/admin/break-glass', { schema: breakGlassQueueSchema }, async (request) => {
    await requireAuditor(request);
    const query = request.query as Record<string, unknown>;
    if (query.unreviewed !== undefined && !['true', 'false'].includes(String(query.unreviewed))) {
      throw badInput('unreviewed', 'true or false');
    }
    let afterId: number | undefined;
    if (query.afterId !== undefined) {
      if (typeof query.afterId !== 'string' || !/^\d{1,15}$/.test(query.afterId)) {
        throw badInput('afterId', 'a session id');
      }
      afterId = Number(query.afterId);
    }
    const sessions = await ctx.consent.breakGlassSessions({
      unreviewed: query.unreviewed === 'true',
      organisation: ctx.organisationId,
      ...(afterId === undefined ? {} : { afterId }),
      limit: 100,
    });
    const hashes = (hs: (Hex | undefined)[]) =>
      hs.filter((h): h is Hex => h !== undefined).map((h) => hexToBytes(h.slice(2)));
    const reasons = await ctx.db.query<{
      reason_hash: Uint8Array;
      account_id: string;
      patient_fhir_id: string;
      sealed: Uint8Array;
    }>(
      `SELECT reason_hash, account_id, patient_fhir_id, sealed FROM care_break_glass_reasons
        WHERE reason_hash = ANY($1::bytea[])`,
      [hashes(sessions.map((s) => s.reasonHash))],
    );
    const findings = await ctx.db.query<{ finding_hash: Uint8Array; sealed: Uint8Array }>(
      'SELECT finding_hash, sealed FROM care_break_glass_reviews WHERE finding_hash = ANY($1::bytea[])',
      [hashes(sessions.map((s) => s.review?.findingHash))],
    );
    const noticed = await ctx.db.query<{ session_id: number; patient_fhir_id: string }>(
      'SELECT session_id, patient_fhir_id FROM care_break_glass_notices WHERE session_id = ANY($1::int8[])',
      [sessions.map((s) => s.id)],
    );
    const noticedPatient = new Map(noticed.rows.map((r) => [Number(r.session_id), r.patient_fhir_id]));
    const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`;
    const reasonOf = new Map(reasons.rows.map((r) => [hex(r.reason_hash), r]));
    const findingOf = new Map(findings.rows.map((r) => [hex(r.finding_hash), r.sealed]));
    const now = ctx.consent.now();
    const out = [];
    for (const s of sessions) {
      const row = reasonOf.get(s.reasonHash.toLowerCase());
      const practitioner = row
        ? await ctx.accounts.getAccount(row.account_id)
        : await ctx.accounts.findByMemberAddress(s.member);
      const finding = s.review && findingOf.get(s.review.findingHash.toLowerCase());
      const patientId = row?.patient_fhir_id ?? noticedPatient.get(s.id);
      out.push({
        id: s.id,
        member: s.member,
        practitioner: practitioner
          ? { accountId: practitioner.id, displayName: practitioner.displayName, role: practitioner.role }
          : null,
        patient: patientId ? `Patient/${patientId}` : null,
        reason: (row && openText(ctx.sealingKey, 'break-glass-reason', s.reasonHash, row.sealed)) ?? null,
        openedAt: isoOf(s.openedAt),
        expiresAt: isoOf(s.expiresAt),
        ...(s.endedAt !== undefined ? { endedEarly: true } : {}),
        active: s.openedAt <= now && now < s.expiresAt,
        transaction: s.openedTx,
        ...(s.review
          ? {
              review: {
                auditor: s.review.auditor,
                justified: s.review.justified,
                reviewedAt: isoOf(s.review.reviewedAt),
                finding:
                  (finding &&
                    openText(ctx.sealingKey, 'break-glass-finding', s.review.findingHash, finding)) ??
                  null,
              },
            }
          : {}),
      });
    }
    return { sessions: out };
  });

  app.post<{ Params: { id: string } }>(
    '/admin/break-glass/:id/review',
    { schema: breakGlassReviewSchema },
    async (request) => {
      const auditor = await requireAuditor(request);
      const id = positiveId(request.params.id, 'id');
      const body = objectBody(request.body);
      if (typeof body.justified !== 'boolean') throw badInput('justified', 'true or false');
      const finding = justification(body.finding, 'finding', MAX_FINDING);
      const session = await ctx.consent.breakGlassSession(id);
      if (!session || session.organisation !== ctx.organisationId) throw notFound('no such session');
      if (session.review) throw new MdlError(MdlErrorCode.Conflict, 'the session is already reviewed');
      if (session.expiresAt > ctx.consent.now()) {
        throw new MdlError(MdlErrorCode.Conflict, 'the session is still running: review it once it is over');
      }
      if (!(await memberKeys.holds(auditor.member))) {
        throw forbidden('a review is sent with a member key this node holds');
      }
      const { hash, sealed } = commitText(ctx.sealingKey, 'break-glass-finding', finding);
      const findingKey = hexToBytes(hash.slice(2));
      await ctx.db.query(
        `INSERT INTO care_break_glass_reviews (finding_hash, session_id, auditor_id, justified, sealed)
       VALUES ($1, $2, $3, $4, $5)`,
        [findingKey, id, auditor.id, body.justified, sealed],
      );
      let relayed: Awaited<ReturnType<typeof ctx.relayer.closeBreakGlassReview>>;
      try {
        const client = await memberKeys.client(auditor.member);
        if (!client) throw forbidden('a review is sent with a member key this node holds');
        relayed = await ctx.relayer.closeBreakGlassReview(client, {
          id,
          justified: body.justified,
          findingHash: hash,
        });
      } catch (error) {
        await ctx.db.query('DELETE FROM care_break_glass_reviews WHERE finding_hash = $1', [findingKey]);
        throw error;
      }
      await ctx.db.query('UPDATE care_break_glass_reviews SET transaction = $2 WHERE finding_hash = $1', [
        findingKey,
        relayed.transactionHash,
      ]);
      await ctx.consent.waitForBlock(relayed.blockNumber);
      return {
        sessionId: id,
        justified: body.justified,
        findingHash: hash,
        transaction: relayed.transactionHash,
      };
    },
  );
}
