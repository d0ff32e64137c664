/**
 * Patient activation: the organisation checks the patient's identity at the desk, creates their account
 * without a password (`POST /admin/accounts` with `activation: true`, accountRoutes.ts) and hands over a
 * one-time activation code — as text or as the link `/app/activate#code=…` (in the fragment, so it never
 * reaches a server log). The patient then, without any administrator knowing it, chooses:
 *
 * - their password (the identity password policy);
 * - their keys: custodial (the node creates them and seals them under that password, as for accounts created
 *   with a password) or self-held (their browser made them; the request carries only the public parts — the
 *   consent account's address and the public key bundle — and the node writes the pseudonym of that address
 *   into the Patient, which links records and consent: access/PatientLinks.ts);
 * - optionally a TOTP second factor: `POST /account/activate/totp` {code} starts the enrolment and answers the
 *   otpauth:// URI, and the activation carries a current `totpCode` from it, which confirms it.
 *
 * A code is 130 random bits, lives ACTIVATION_LIFETIME_MS, is stored only as SHA-256 and is consumed by the
 * activation that uses it. Both public routes count every attempt in a LoginThrottle per client address
 * (ACCOUNT_THROTTLE for the address's own bucket, so a few slips are free, then waits double) before looking
 * the code up; an unknown, used or expired code answers 404 without saying which. Administrators re-issue a
 * code (`POST /admin/accounts/:id/activation`) while the account awaits activation — the previous one dies.
 * Signed-in people without TOTP enrol one themselves: `POST /account/totp`, `POST /account/totp/confirm`.
 * A signed-in patient learns where their keys are and the consent-signing domain: `GET /account/keys`.
 *
 * Limits: the Patient's pseudonym identifier is written before the code is consumed, so two racing
 * activations with one code are decided by the pseudonym link (the second is refused); an activation that
 * fails after that write leaves the link and needs a new account. Nothing is sent to the patient: handing
 * the code over is the organisation's business (printed, or read out at the desk).
 */

import { patientPseudonymOf } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { base64urlToBytes, decodePublicKeyBundle } from '@medledger/crypto';
import {
  ACCOUNT_THROTTLE,
  type AccountId,
  addressBucket,
  assertPasswordPolicy,
  createPatientKeys,
  LoginThrottle,
  normaliseActivationCode,
} from '@medledger/identity';
import type { FastifyInstance } from 'fastify';
import { getAddress, isAddress } from 'viem';
import { PATIENT_PSEUDONYM_SYSTEM } from '../access/PatientLinks.js';
import type { NodeContext } from '../NodeContext.js';
import {
  activateAccountSchema,
  activationTotpSchema,
  confirmOwnTotpSchema,
  enrolOwnTotpSchema,
  ownKeysSchema,
  reissueActivationSchema,
} from '../openapi/routeSchemas.js';
import { accountView } from './accountRoutes.js';
import { auditAdminAct } from './adminAudit.js';
import {
  badInput,
  forbidden,
  notFound,
  objectBody,
  requireAdministrator,
  requirePerson,
} from './careRequests.js';

export const ACTIVATION_LIFETIME_MS = 7 * 24 * 3600 * 1000;
export const ACTIVATE_PATH = '/account/activate';
export const ACTIVATE_TOTP_PATH = '/account/activate/totp';

/** A fresh code for a patient account awaiting activation, with the link the patient opens. */
export async function issueActivation(ctx: NodeContext, accountId: AccountId) {
  const expiresAt = new Date(ctx.accounts.now().getTime() + ACTIVATION_LIFETIME_MS);
  const code = await ctx.accounts.issueActivationCode(accountId, expiresAt);
  const origin = new URL(ctx.baseUrl()).origin;
  return { code, link: `${origin}/app/activate#code=${code}`, expiresAt: expiresAt.toISOString() };
}

const noSuchCode = () => notFound('no such activation code, or it was used or has expired');

/** The keys the patient chose: custodial, or the public parts of keys their browser holds. */
function keyChoice(value: unknown) {
  const keys = objectBody(value);
  if (keys.custody === 'custodial') return { custody: 'custodial' as const };
  if (keys.custody !== 'self') throw badInput('keys.custody', "'custodial' or 'self'");
  if (typeof keys.consentAddress !== 'string' || !isAddress(keys.consentAddress, { strict: false })) {
    throw badInput('keys.consentAddress', 'the Ethereum address of the patient’s consent key');
  }
  if (typeof keys.publicBundle !== 'string' || keys.publicBundle.length > 20_000) {
    throw badInput('keys.publicBundle', 'the base64url encoding of the patient’s public key bundle');
  }
  try {
    decodePublicKeyBundle(base64urlToBytes(keys.publicBundle));
  } catch {
    throw badInput('keys.publicBundle', 'not a public key bundle whose self-signature verifies');
  }
  return {
    custody: 'self' as const,
    consentAddress: getAddress(keys.consentAddress),
    publicBundle: keys.publicBundle,
  };
}

export function registerActivationRoutes(app: FastifyInstance, ctx: NodeContext) {
  // Per address only: a code is 130 random bits, so the throttle is about load and noise, not the odds.
  const throttle = new LoginThrottle(ctx.db, { account: ACCOUNT_THROTTLE });
  const admit = (ip: string) => throttle.begin(`activation:${addressBucket(ip)}`, ip);

  const liveAccount = async (code: unknown) => {
    if (normaliseActivationCode(code) === undefined) throw noSuchCode();
    const account = await ctx.accounts.activationAccount(code as string);
    if (!account) throw noSuchCode();
    return account;
  };

  app.post(ACTIVATE_TOTP_PATH, { schema: activationTotpSchema }, async (request, reply) => {
    const body = objectBody(request.body);
    const ticket = await admit(request.ip);
    const account = await liveAccount(body.code);
    await throttle.succeeded(ticket);
    const { uri } = await ctx.accounts.beginTotpEnrolment(account.id);
    return reply.code(201).send({ otpauthUri: uri });
  });

  app.post(ACTIVATE_PATH, { schema: activateAccountSchema }, async (request) => {
    const body = objectBody(request.body);
    const ticket = await admit(request.ip);
    const account = await liveAccount(body.code);
    await throttle.succeeded(ticket);
    const fhirId = await ctx.accounts.pendingPatient(account.id);
    if (!fhirId) throw noSuchCode();
    if (typeof body.password !== 'string') throw badInput('password', 'choose a password');
    const keys = keyChoice(body.keys);
    // The password is checked before any key work, so a refused one changes nothing.
    try {
      assertPasswordPolicy(body.password, { username: account.username });
    } catch (error) {
      if (error instanceof MdlError && error.code === MdlErrorCode.BadInput) {
        throw badInput('password', error.message);
      }
      throw error;
    }
    if (body.totpCode !== undefined) {
      if (typeof body.totpCode !== 'string' || !/^\d{6,8}$/.test(body.totpCode)) {
        throw badInput('totpCode', 'the 6-digit code your authenticator app shows');
      }
      // Confirmed now; on a retry after a later failure the factor is already in force and is checked.
      const ok = account.secondFactors.totp
        ? await ctx.accounts.verifyTotp(account.id, body.totpCode)
        : await ctx.accounts.confirmTotpEnrolment(account.id, body.totpCode);
      if (!ok) {
        throw badInput(
          'totpCode',
          'that code does not match: type the code your app shows now (check your phone’s clock)',
        );
      }
    }
    const custodial = keys.custody === 'custodial' ? createPatientKeys(body.password) : undefined;
    try {
      const pseudonym = custodial ? custodial.pseudonym : patientPseudonymOf(keys.consentAddress!);
      const records = ctx.records.system('patient activation');
      const current = (await records.read('Patient', fhirId)).resource as Record<string, unknown>;
      const { meta: _meta, ...rest } = current;
      const identifier = Array.isArray(rest.identifier) ? rest.identifier : [];
      await records.update('Patient', fhirId, {
        ...rest,
        identifier: [...identifier, { system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym }],
      });
      const activated = await ctx.accounts.activatePatient(body.code as string, {
        password: body.password,
        pseudonym,
        ...(custodial ? { sealedKeys: custodial.sealed } : { publicBundle: keys.publicBundle! }),
      });
      return {
        account: accountView(activated),
        patient: { id: fhirId, pseudonym },
        custody: keys.custody,
      };
    } finally {
      custodial?.destroy();
    }
  });

  app.post<{ Params: { id: string } }>(
    '/admin/accounts/:id/activation',
    { schema: reissueActivationSchema },
    async (request, reply) => {
      requireAdministrator(request);
      auditAdminAct(request, 'activation-reissue', { account: request.params.id });
      const account = await ctx.accounts.getAccount(request.params.id);
      if (!account) throw notFound('no such account');
      if (!(await ctx.accounts.pendingPatient(account.id))) {
        throw new MdlError(MdlErrorCode.Conflict, 'only a patient account awaiting activation gets a code');
      }
      return reply.code(201).send({ activation: await issueActivation(ctx, account.id) });
    },
  );

  // Where the signed-in patient's keys are and what their browser signs consent for: the app decides its key
  // screens by it (unlock from the node's file or from the browser) and the EIP-712 domain of the grants.
  app.get('/account/keys', { schema: ownKeysSchema }, async (request) => {
    const caller = requirePerson(request, 'patient keys');
    if (caller.role !== 'patient') throw forbidden('patient keys are for patients');
    const account = await ctx.accounts.getAccount(caller.id);
    if (!account?.patient) throw notFound('this account has no patient keys yet');
    const custodial = (await ctx.accounts.patientKeys(account.id)) !== undefined;
    const publicBundle = await ctx.accounts.patientPublicBundle(account.id);
    return {
      custody: custodial ? 'custodial' : 'self',
      patient: account.patient.fhirId,
      pseudonym: account.patient.pseudonym,
      ...(publicBundle ? { publicBundle } : {}),
      consentManager: {
        chainId: ctx.ledger.chainId,
        verifyingContract: ctx.ledger.deployment.contracts.ConsentManager.address,
      },
    };
  });

  // A signed-in person adds TOTP themselves; replacing one already in force is the administrator's reset,
  // so a stolen session cannot swap the second factor.
  app.post('/account/totp', { schema: enrolOwnTotpSchema }, async (request, reply) => {
    const caller = requirePerson(request, 'a second factor');
    if (caller.credential?.kind !== 'access-token') {
      throw forbidden('a second factor is added from a sign-in at this node, not with an API token');
    }
    const account = await ctx.accounts.getAccount(caller.id);
    if (!account) throw notFound('no such account');
    if (account.secondFactors.totp) {
      throw new MdlError(
        MdlErrorCode.Conflict,
        'your account already has an authenticator app; ask your administrator to reset it',
      );
    }
    const { uri } = await ctx.accounts.beginTotpEnrolment(account.id);
    return reply.code(201).send({ otpauthUri: uri });
  });

  app.post('/account/totp/confirm', { schema: confirmOwnTotpSchema }, async (request) => {
    const caller = requirePerson(request, 'a second factor');
    if (caller.credential?.kind !== 'access-token') {
      throw forbidden('a second factor is added from a sign-in at this node, not with an API token');
    }
    const body = objectBody(request.body);
    if (typeof body.code !== 'string' || !/^\d{6,8}$/.test(body.code)) {
      throw badInput('code', 'the 6-digit code your authenticator app shows');
    }
    if (!(await ctx.accounts.confirmTotpEnrolment(caller.id as AccountId, body.code))) {
      throw badInput('code', 'that code does not match: type the code your app shows now');
    }
    const account = await ctx.accounts.getAccount(caller.id);
    return { account: accountView(account!) };
  });
}
