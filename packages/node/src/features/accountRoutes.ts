/**
 * The administration API for accounts (/admin/accounts) and the patient's own key file
 * (/admin/patients/:id/keys — for the patient alone: no administrator, operator or system client reaches
 * it). Creating an account does everything the role needs at once:
 *
 * - member roles (doctor, nurse, lab, pharmacist, insurer, researcher, auditor): a custodial member key
 *   (unless the member brings their own address), registered in the ConsortiumRegistry with the role's
 *   MemberRole from the node account and funded for gas; the account is created once the chain has it;
 * - patients: keys sealed under the patient's password (createPatientKeys), the account with its patient
 *   link, and a FHIR Patient written as the organisation carrying the on-chain pseudonym identifier — which
 *   links records and consent (access/PatientLinks.ts); or, with `activation: true` and no password, the
 *   account and its Patient awaiting activation and a one-time activation code the patient uses to choose
 *   their own password and keys (features/activationRoutes.ts) — no administrator ever knows them;
 * - admins: just the account.
 *
 * Administrators do not mint API tokens for people: a person mints their own (features/tokenRoutes.ts), and
 * the old route answers 403 (audited). Disabling refuses the last enabled administrator able to operate the
 * node (409); a disabled account is re-enabled by another administrator. Every act names its target account
 * in the request's AuditEvent (features/adminAudit.ts). Answers never contain a secret (password, key).
 * Limits: an account creation that fails after the member was registered on-chain leaves that member (and
 * its sealed key) behind; retrying creates a new member. A patient record write that fails after the
 * account was created disables the account.
 */
import { randomUUID } from 'node:crypto';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { validateResource } from '@medledger/fhir';
import {
  type Account,
  type AccountId,
  assertPasswordPolicy,
  createPatientKeys,
  isRole,
  type Role,
  roleDefinition,
} from '@medledger/identity';
import type { FastifyInstance } from 'fastify';
import { type Address, getAddress, isAddress } from 'viem';
import { PATIENT_PSEUDONYM_SYSTEM } from '../access/PatientLinks.js';
import type { NodeContext } from '../NodeContext.js';
import {
  adminMintTokenSchema,
  createAccountSchema,
  disableAccountSchema,
  enableAccountSchema,
  getAccountSchema,
  listAccountsSchema,
  ownAccountSchema,
  patientKeysSchema,
  totpEnrolmentSchema,
} from '../openapi/routeSchemas.js';
import { issueActivation } from './activationRoutes.js';
import { auditAdminAct } from './adminAudit.js';
import {
  badInput,
  forbidden,
  notFound,
  objectBody,
  requireAdministrator,
  requirePerson,
  text,
} from './careRequests.js';
import type { MemberKeys } from './memberKeys.js';

/** What the API shows of an account: no secrets, and whether the node holds the member's key. */
export function accountView(account: Account, custodial?: boolean) {
  return {
    id: account.id,
    username: account.username,
    displayName: account.displayName,
    role: account.role,
    organisation: account.organisation,
    ...(account.memberAddress ? { memberAddress: account.memberAddress } : {}),
    ...(custodial !== undefined && account.memberAddress ? { custodialMemberKey: custodial } : {}),
    ...(account.patient ? { patient: account.patient } : {}),
    ...(account.practitionerId ? { practitionerId: account.practitionerId } : {}),
    disabled: account.disabled,
    hasPassword: account.hasPassword,
    secondFactors: account.secondFactors,
    createdAt: account.createdAt.toISOString(),
    updatedAt: account.updatedAt.toISOString(),
  };
}

function checkPassword(password: unknown, username: string, required: boolean): string | undefined {
  if (password === undefined) {
    if (required)
      throw badInput('password', 'a patient account needs a password: it seals the patient’s keys');
    return undefined;
  }
  if (typeof password !== 'string') throw badInput('password', 'a string is required');
  try {
    assertPasswordPolicy(password, { username });
  } catch (error) {
    if (error instanceof MdlError && error.code === MdlErrorCode.BadInput) {
      throw badInput('password', error.message);
    }
    throw error;
  }
  return password;
}

/** The Patient resource a new patient account starts with: the given demographics and the pseudonym link. */
function patientResource(
  id: string,
  displayName: string,
  demographics: unknown,
  pseudonym: string | undefined,
) {
  const given = demographics === undefined ? {} : objectBody(demographics);
  for (const field of ['resourceType', 'id', 'meta']) {
    if (field in given) throw badInput(`demographics.${field}`, 'is set by the node');
  }
  const identifier = Array.isArray(given.identifier) ? given.identifier : [];
  if (identifier.some((i) => (i as { system?: unknown })?.system === PATIENT_PSEUDONYM_SYSTEM)) {
    throw badInput('demographics.identifier', `${PATIENT_PSEUDONYM_SYSTEM} is set by the node`);
  }
  const resource = {
    resourceType: 'Patient',
    ...given,
    id,
    identifier: [
      ...identifier,
      ...(pseudonym === undefined ? [] : [{ system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym }]),
    ],
    ...(given.name === undefined ? { name: [{ text: displayName }] } : {}),
  };
  const valid = validateResource(resource);
  if (!valid.ok) {
    throw new MdlError(MdlErrorCode.BadInput, 'demographics: not a valid Patient', { issues: valid.issues });
  }
  return resource;
}

export function registerAccountRoutes(app: FastifyInstance, ctx: NodeContext, memberKeys: MemberKeys) {
  const accountOf = async (id: string) => {
    const account = await ctx.accounts.getAccount(id);
    if (!account) throw notFound('no such account');
    return account;
  };
  const view = async (account: Account) =>
    accountView(account, account.memberAddress ? await memberKeys.holds(account.memberAddress) : undefined);

  // The signed-in person's own account: what an app decides its screens by (the web app does).
  app.get('/account', { schema: ownAccountSchema }, async (request) => {
    const caller = requirePerson(request, 'an account');
    return { account: await view(await accountOf(caller.id)) };
  });

  app.post('/admin/accounts', { schema: createAccountSchema }, async (request, reply) => {
    requireAdministrator(request);
    auditAdminAct(request, 'account-create', {});
    const body = objectBody(request.body);
    if (!isRole(body.role)) throw badInput('role', 'one of the roles of docs/identity.md');
    const role: Role = body.role;
    const username = text(body.username, 'username', 64);
    const displayName = text(body.displayName, 'displayName', 200);
    if (body.activation !== undefined && (body.activation !== true || role !== 'patient')) {
      throw badInput('activation', 'true, for a patient account the patient activates themselves');
    }
    const activation = body.activation === true;
    if (activation && body.password !== undefined) {
      throw badInput('password', 'the patient chooses their password when activating: leave it out');
    }
    const password = checkPassword(body.password, username, role === 'patient' && !activation);
    const memberRole = roleDefinition(role).memberRole;
    if (body.memberAddress !== undefined && memberRole === undefined) {
      throw badInput('memberAddress', 'this role has no on-chain member account');
    }
    if (body.demographics !== undefined && role !== 'patient') {
      throw badInput('demographics', 'only patient accounts have demographics');
    }
    if (await ctx.accounts.findByUsername(username)) {
      throw new MdlError(MdlErrorCode.Conflict, 'an account with this username exists');
    }
    const base = {
      username,
      displayName,
      role,
      organisation: ctx.organisationId,
      ...(password === undefined ? {} : { password }),
    };

    if (role === 'patient' && activation) {
      const fhirId = randomUUID();
      const resource = patientResource(fhirId, displayName, body.demographics, undefined);
      const account = await ctx.accounts.createAccount({ ...base, patient: { fhirId } });
      let issued: { code: string; link: string; expiresAt: string };
      try {
        await ctx.records.system('patient registration').update('Patient', fhirId, resource);
        issued = await issueActivation(ctx, account.id);
      } catch (error) {
        await ctx.accounts.setDisabled(account.id, true).catch(() => undefined);
        throw error;
      }
      auditAdminAct(request, 'account-create', { account: account.id });
      return reply
        .code(201)
        .send({ account: await view(account), patient: { id: fhirId }, activation: issued });
    }

    if (role === 'patient') {
      const fhirId = randomUUID();
      const keys = createPatientKeys(password!);
      try {
        const resource = patientResource(fhirId, displayName, body.demographics, keys.pseudonym);
        const account = await ctx.accounts.createAccount({
          ...base,
          patient: { fhirId, pseudonym: keys.pseudonym },
        });
        try {
          await ctx.accounts.setPatientKeys(account.id, keys.sealed);
          // The organisation registers its patient (PUT with the id the account links to).
          await ctx.records.system('patient registration').update('Patient', fhirId, resource);
        } catch (error) {
          await ctx.accounts.setDisabled(account.id, true).catch(() => undefined);
          throw error;
        }
        auditAdminAct(request, 'account-create', { account: account.id });
        return reply
          .code(201)
          .send({ account: await view(account), patient: { id: fhirId, pseudonym: keys.pseudonym } });
      } finally {
        keys.destroy();
      }
    }

    if (memberRole === undefined) {
      const account = await ctx.accounts.createAccount(base);
      auditAdminAct(request, 'account-create', { account: account.id });
      return reply.code(201).send({ account: await view(account) });
    }

    // A member: the node's custodial key, or the member's own address.
    let memberAddress: Address;
    let custodial: boolean;
    if (body.memberAddress !== undefined) {
      if (typeof body.memberAddress !== 'string' || !isAddress(body.memberAddress, { strict: false })) {
        throw badInput('memberAddress', 'an Ethereum address is required');
      }
      memberAddress = getAddress(body.memberAddress);
      if (await ctx.accounts.findByMemberAddress(memberAddress)) {
        throw new MdlError(MdlErrorCode.Conflict, 'an account with this member address exists');
      }
      custodial = false;
    } else {
      memberAddress = await memberKeys.create();
      custodial = true;
    }
    await ctx.consent.ensureFresh();
    const organisation = ctx.consent.consortium.memberOrganisation(memberAddress);
    if (organisation === 0) {
      await memberKeys.register(memberAddress, memberRole, { fund: custodial });
    } else if (organisation !== ctx.organisationId) {
      throw new MdlError(MdlErrorCode.Conflict, 'this member address belongs to another organisation');
    }
    const account = await ctx.accounts.createAccount({ ...base, memberAddress });
    auditAdminAct(request, 'account-create', { account: account.id });
    return reply.code(201).send({ account: accountView(account, custodial) });
  });

  app.get('/admin/accounts', { schema: listAccountsSchema }, async (request) => {
    requireAdministrator(request);
    const query = request.query as Record<string, unknown>;
    if (query.role !== undefined && !isRole(query.role)) throw badInput('role', 'unknown role');
    if (query.includeDisabled !== undefined && !['true', 'false'].includes(String(query.includeDisabled))) {
      throw badInput('includeDisabled', 'true or false');
    }
    const accounts = await ctx.accounts.listAccounts({
      ...(query.role ? { role: query.role as Role } : {}),
      includeDisabled: query.includeDisabled === 'true',
    });
    return { accounts: await Promise.all(accounts.map(view)) };
  });

  app.get<{ Params: { id: string } }>(
    '/admin/accounts/:id',
    { schema: getAccountSchema },
    async (request) => {
      requireAdministrator(request);
      return { account: await view(await accountOf(request.params.id)) };
    },
  );

  // Administrators mint no credential for anyone: it would let them act as that person (their patients'
  // records, their break-glass). The route stays to say so, and the attempt is audited with its target.
  app.post<{ Params: { id: string } }>(
    '/admin/accounts/:id/tokens',
    { schema: adminMintTokenSchema },
    async (request) => {
      requireAdministrator(request);
      auditAdminAct(request, 'token-mint', { account: request.params.id }, true);
      throw forbidden(
        'API tokens are minted by their owner only, from their own sign-in (POST /account/tokens)',
      );
    },
  );

  // Second factor onboarding: the administrator starts a TOTP enrolment and hands the otpauth:// URI to the
  // person (as a QR code); their first login with a current code completes it. Clinicians and administrators
  // cannot log in interactively without one.
  app.post<{ Params: { id: string } }>(
    '/admin/accounts/:id/totp',
    { schema: totpEnrolmentSchema },
    async (request, reply) => {
      requireAdministrator(request);
      auditAdminAct(request, 'totp-enrolment', { account: request.params.id });
      const account = await accountOf(request.params.id);
      if (account.disabled) throw new MdlError(MdlErrorCode.Conflict, 'the account is disabled');
      const { uri } = await ctx.accounts.beginTotpEnrolment(account.id);
      return reply.code(201).send({ accountId: account.id, otpauthUri: uri });
    },
  );

  // The node must keep someone able to operate it: an enabled administrator with a password or a live token
  // (the bootstrap operator's). Disabling the last one — oneself included — is refused, atomically.
  app.post<{ Params: { id: string } }>(
    '/admin/accounts/:id/disable',
    { schema: disableAccountSchema },
    async (request) => {
      requireAdministrator(request);
      auditAdminAct(request, 'account-disable', { account: request.params.id });
      const account = await accountOf(request.params.id);
      if (!(await ctx.accounts.disableUnlessLastOperator(account.id as AccountId))) {
        auditAdminAct(request, 'account-disable', { account: account.id }, true);
        throw new MdlError(
          MdlErrorCode.Conflict,
          'this is the last enabled administrator account able to operate the node: it cannot be disabled',
        );
      }
      return { account: await view(await accountOf(account.id)) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/admin/accounts/:id/enable',
    { schema: enableAccountSchema },
    async (request) => {
      const caller = requireAdministrator(request);
      auditAdminAct(request, 'account-enable', { account: request.params.id });
      const account = await accountOf(request.params.id);
      // A disabled account's credentials no longer authenticate; this says so should a cached one still do.
      if (account.id === caller.id) {
        auditAdminAct(request, 'account-enable', { account: account.id }, true);
        throw forbidden('a disabled account is re-enabled by another administrator');
      }
      if (account.disabled) await ctx.accounts.setDisabled(account.id as AccountId, false);
      return { account: await view(await accountOf(account.id)) };
    },
  );

  // The patient's own sealed key file — what they download to hold their keys themselves.
  app.get<{ Params: { id: string } }>(
    '/admin/patients/:id/keys',
    { schema: patientKeysSchema },
    async (request, reply) => {
      const caller = requirePerson(request, 'a patient key file');
      if (caller.role !== 'patient') throw forbidden('a patient key file is for the patient themselves');
      if (caller.patientId !== request.params.id) throw notFound();
      const account = await ctx.accounts.getAccount(caller.id);
      if (account?.patient?.fhirId !== request.params.id) throw notFound();
      const sealed = await ctx.accounts.patientKeys(account.id);
      if (!sealed) throw notFound('this node holds no key file for you');
      return reply
        .header('content-disposition', 'attachment; filename="medledger-patient-keys.json"')
        .header('cache-control', 'no-store')
        .type('application/json')
        .send(sealed);
    },
  );
}
