/**
 * A person's own API tokens, for their scripts and tools: `GET /account/tokens` lists them (never a value),
 * `POST /account/tokens` {label?, expiresAt?} mints one, `DELETE /account/tokens/:id` revokes one.
 *
 * Only the person mints, and only from a sign-in: the request must carry an access token of the node's
 * OpenID provider (an API token cannot mint another and so outlive itself) whose sign-in passed the second
 * factor their role requires (identity's meetsRoleAssurance: clinicians and administrators) and is at most
 * MINT_SIGN_IN_AGE_MS old (a refreshed session from last week does not count), granted the scope the token
 * will act with (`user/*.cruds`, patients `patient/*.cruds`: an app granted less cannot mint more). The
 * token records that
 * sign-in's `amr`, which the Authenticator checks on every use, and lives at most MAX_TOKEN_LIFETIME_MS
 * (DEFAULT_TOKEN_LIFETIME_MS when no expiry is asked for). Nobody else can mint, list or revoke a person's
 * tokens — administrators included (disabling the account stops them all). The bootstrap operator's token
 * (MEDLEDGER_ADMIN_TOKEN or its file) is the organisation's and is made at start, not here; integrations
 * are SMART Backend Services clients (features/clientFeature.ts).
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { type AccountId, type ApiTokenInfo, meetsRoleAssurance } from '@medledger/identity';
import type { FastifyInstance } from 'fastify';
import type { NodeContext } from '../NodeContext.js';
import { listTokensSchema, mintTokenSchema, revokeTokenSchema } from '../openapi/routeSchemas.js';
import { auditAdminAct } from './adminAudit.js';
import { badInput, forbidden, notFound, objectBody, optionalText, requirePerson } from './careRequests.js';

const DAY_MS = 24 * 3600 * 1000;
export const MAX_TOKEN_LIFETIME_MS = 90 * DAY_MS;
export const DEFAULT_TOKEN_LIFETIME_MS = 30 * DAY_MS;
export const MINT_SIGN_IN_AGE_MS = 15 * 60 * 1000;
/** Live (unexpired, unrevoked) tokens one person may hold. */
export const MAX_LIVE_TOKENS = 20;

const tokenView = (t: ApiTokenInfo) => ({
  id: t.id,
  label: t.label,
  createdAt: t.createdAt.toISOString(),
  expiresAt: t.expiresAt?.toISOString() ?? null,
  revokedAt: t.revokedAt?.toISOString() ?? null,
  amr: t.amr ?? [],
});

export function registerTokenRoutes(app: FastifyInstance, ctx: NodeContext) {
  app.get('/account/tokens', { schema: listTokensSchema }, async (request) => {
    const caller = requirePerson(request, 'API tokens');
    const tokens = await ctx.accounts.listApiTokens(caller.id as AccountId);
    return { tokens: tokens.map(tokenView) };
  });

  app.post('/account/tokens', { schema: mintTokenSchema }, async (request, reply) => {
    const caller = requirePerson(request, 'API tokens');
    auditAdminAct(request, 'token-mint', { account: caller.id });
    const credential = caller.credential;
    if (credential?.kind !== 'access-token') {
      auditAdminAct(request, 'token-mint', { account: caller.id }, true);
      throw forbidden('an API token is minted from a sign-in at this node, not from another API token');
    }
    const signedIn = credential.authTime?.getTime();
    if (
      !meetsRoleAssurance(caller.role, credential.amr) ||
      signedIn === undefined ||
      Date.now() - signedIn > MINT_SIGN_IN_AGE_MS
    ) {
      auditAdminAct(request, 'token-mint', { account: caller.id }, true);
      throw forbidden(
        'minting an API token needs a sign-in of the last 15 minutes with the second factor your role requires',
      );
    }
    // An API token acts with everything the person may do (patient/*.cruds or user/*.cruds), so it is
    // minted only from a sign-in granted that much — never from a narrower app's token.
    const level = caller.role === 'patient' ? 'patient' : 'user';
    const whole = caller.scopes.some(
      (s) =>
        s.kind === 'resource' &&
        s.level === level &&
        s.resourceType === '*' &&
        s.interactions.length === 5 &&
        s.constraints.length === 0,
    );
    if (!whole) {
      auditAdminAct(request, 'token-mint', { account: caller.id }, true);
      throw forbidden(`an API token is minted from a sign-in granted ${level}/*.cruds`);
    }
    const body = objectBody(request.body, true);
    const label = optionalText(body.label, 'label', 200) ?? 'API token';
    const now = Date.now();
    let expiresAt = new Date(now + DEFAULT_TOKEN_LIFETIME_MS);
    if (body.expiresAt !== undefined) {
      const ms = typeof body.expiresAt === 'string' ? Date.parse(body.expiresAt) : Number.NaN;
      if (Number.isNaN(ms) || ms <= now) throw badInput('expiresAt', 'a future ISO 8601 date-time');
      if (ms > now + MAX_TOKEN_LIFETIME_MS) throw badInput('expiresAt', 'at most 90 days from now');
      expiresAt = new Date(ms);
    }
    const live = (await ctx.accounts.listApiTokens(caller.id as AccountId)).filter(
      (t) => t.revokedAt === null && (t.expiresAt === null || t.expiresAt.getTime() > now),
    );
    if (live.length >= MAX_LIVE_TOKENS) {
      throw new MdlError(
        MdlErrorCode.Conflict,
        `at most ${MAX_LIVE_TOKENS} live API tokens: revoke one first`,
      );
    }
    const token = await ctx.accounts.createApiToken(caller.id as AccountId, {
      label,
      expiresAt,
      amr: credential.amr,
    });
    auditAdminAct(request, 'token-mint', { account: caller.id, token: token.id });
    return reply.code(201).send({
      id: token.id,
      accountId: caller.id,
      token: token.token,
      expiresAt: expiresAt.toISOString(),
      amr: credential.amr,
    });
  });

  app.delete<{ Params: { id: string } }>(
    '/account/tokens/:id',
    { schema: revokeTokenSchema },
    async (request, reply) => {
      const caller = requirePerson(request, 'API tokens');
      auditAdminAct(request, 'token-revoke', { account: caller.id, token: request.params.id });
      if (!(await ctx.accounts.revokeApiToken(request.params.id, caller.id as AccountId))) {
        throw notFound('no such live API token of yours');
      }
      return reply.code(204).send();
    },
  );
}
