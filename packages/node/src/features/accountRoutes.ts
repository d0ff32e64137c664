/**
 * The administration API for accounts (/admin/accounts) and the patient's own key file
 * (/admin/patients/:id/keys). Creating an account does everything the role needs at once:
 *
 * - member roles (doctor, nurse, lab, pharmacist, insurer, researcher, auditor): a custodial member key
 *   (unless the member brings their own address), registered in the ConsortiumRegistry with the role's
 *   MemberRole from the node account and funded for gas; the account is created once the chain has it;
 * - patients: keys sealed under the patient's password (createPatientKeys), the account with its patient
 *   link, and a FHIR Patient written as the organisation carrying the on-chain pseudonym identifier — which
 *   links records and consent (access/PatientLinks.ts);
 * - admins: just the account.
 *
 * Answers never contain a secret (password, key, token) except the API token, shown once at its creation.
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
  badInput,
  forbidden,
  notFound,
  objectBody,
  optionalText,
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
function patientResource(id: string, displayName: string, demographics: unknown, pseudonym: string) {
  const given = demographics === undefined ? {} : objectBody(demographics);
  for (const field of ['resourceType', 'id', 'meta']) {
    if (field in given) throw badInput(`demographics.${field}`, 'is set by the node');
  }
  const identifier = Array.isArray(given.identifier) ? given.identifier : [];
  const resource = {
    resourceType: 'Patient',
    ...given,
    id,
    identifier: [...identifier, { system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym }],
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

  app.post('/admin/accounts', async (request, reply) => {
    requireAdministrator(request);
    const body = objectBody(request.body);
    if (!isRole(body.role)) throw badInput('role', 'one of the roles of docs/identity.md');
    const role: Role = body.role;
    const username = text(body.username, 'username', 64);
    const displayName = text(body.displayName, 'displayName', 200);
    const password = checkPassword(body.password, username, role === 'patient');
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
        return reply
          .code(201)
          .send({ account: await view(account), patient: { id: fhirId, pseudonym: keys.pseudonym } });
      } finally {
        keys.destroy();
      }
    }

    if (memberRole === undefined) {
      const account = await ctx.accounts.createAccount(base);
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
    return reply.code(201).send({ account: accountView(account, custodial) });
  });

  app.get('/admin/accounts', async (request) => {
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

  app.get<{ Params: { id: string } }>('/admin/accounts/:id', async (request) => {
    requireAdministrator(request);
    return { account: await view(await accountOf(request.params.id)) };
  });

  app.post<{ Params: { id: string } }>('/admin/accounts/:id/tokens', async (request, reply) => {
    requireAdministrator(request);
    const account = await accountOf(request.params.id);
    if (account.disabled) throw new MdlError(MdlErrorCode.Conflict, 'the account is disabled');
    const body = objectBody(request.body, true);
    const label = optionalText(body.label, 'label', 200) ?? 'issued by an administrator';
    let expiresAt: Date | undefined;
    if (body.expiresAt !== undefined) {
      const ms = typeof body.expiresAt === 'string' ? Date.parse(body.expiresAt) : Number.NaN;
      if (Number.isNaN(ms) || ms <= Date.now()) throw badInput('expiresAt', 'a future ISO 8601 date-time');
      expiresAt = new Date(ms);
    }
    const token = await ctx.accounts.createApiToken(account.id, {
      label,
      ...(expiresAt ? { expiresAt } : {}),
    });
    return reply.code(201).send({
      id: token.id,
      accountId: account.id,
      token: token.token,
      expiresAt: token.expiresAt?.toISOString() ?? null,
    });
  });

  // Second factor onboarding: the administrator starts a TOTP enrolment and hands the otpauth:// URI to the
  // person (as a QR code); their first login with a current code completes it. Clinicians and administrators
  // cannot log in interactively without one.
  app.post<{ Params: { id: string } }>('/admin/accounts/:id/totp', async (request, reply) => {
    requireAdministrator(request);
    const account = await accountOf(request.params.id);
    if (account.disabled) throw new MdlError(MdlErrorCode.Conflict, 'the account is disabled');
    const { uri } = await ctx.accounts.beginTotpEnrolment(account.id);
    return reply.code(201).send({ accountId: account.id, otpauthUri: uri });
  });

  app.post<{ Params: { id: string } }>('/admin/accounts/:id/disable', async (request) => {
    const caller = requireAdministrator(request);
    const account = await accountOf(request.params.id);
    if (account.id === caller.id) {
      throw new MdlError(MdlErrorCode.Conflict, 'an administrator cannot disable their own account');
    }
    await ctx.accounts.setDisabled(account.id as AccountId, true);
    return { account: await view(await accountOf(account.id)) };
  });

  // The patient's own sealed key file — what they download to hold their keys themselves.
  app.get<{ Params: { id: string } }>('/admin/patients/:id/keys', async (request, reply) => {
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
  });
}
