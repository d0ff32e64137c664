/**
 * Interactive login: username + password + second factor, behind the login throttle.
 *
 * One error for every refusal — unknown username, wrong password, disabled account, missing, wrong or
 * replayed second factor — MDL_INVALID_CREDENTIAL, and similar timing: an unknown username (or an account
 * without a password) is checked against a dummy hash of the same cost, so the scrypt time is always spent.
 * The second factor is only looked at once the password is right, so it is never an oracle on its own.
 *
 * The second factor is mandatory when one is enrolled; with `requireSecondFactorForPrivileged` (the default)
 * also for clinical roles and admins. Such an account without any factor cannot log in — unless an enrolment
 * is pending (AccountStore.beginTotpEnrolment, e.g. at account creation): then a code from the pending secret
 * both completes the enrolment and the login. Its refusal is the same MDL_INVALID_CREDENTIAL as a wrong
 * password (anything else would confirm the password to whoever typed it); only `onAttempt` — the audit
 * trail — is told the reason.
 *
 * `accountAuthority` adapts this to the OIDC server's account interface.
 */

import { randomUUID } from 'node:crypto';
import { isMdlError, MdlError, MdlErrorCode } from '@medledger/core';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Account, AccountId, AccountStore } from './AccountStore.js';
import type { LoginThrottle } from './LoginThrottle.js';
import { hashPassword, needsRehash, verifyPassword } from './passwords.js';
import { isClinicalRole, type Role } from './roles.js';
import type { WebAuthnService } from './webauthn.js';

export interface LoginRequest {
  username: string;
  password: string;
  /** A TOTP code. */
  totp?: string;
  /** A WebAuthn assertion for a challenge from WebAuthnService.authenticationOptions(username). */
  webauthn?: AuthenticationResponseJSON;
}

export interface LoginContext {
  /** The client's address (for throttling). */
  ip: string;
}

/** Authentication methods (RFC 8176 values, for the OIDC `amr` claim). */
export type AuthenticationMethod = 'pwd' | 'otp' | 'hwk' | 'mfa';

export interface LoginResult {
  account: Account;
  amr: AuthenticationMethod[];
}

export interface LoginServiceOptions {
  /** Needed for WebAuthn logins. */
  webauthn?: WebAuthnService;
  /** Second factor mandatory for clinical roles and admins even when none is enrolled (default true). */
  requireSecondFactorForPrivileged?: boolean;
  /**
   * Told of every attempt, success or refusal, before `login` answers (the node's audit trail). The account is
   * named when the username matched one, whatever else failed. A rejection fails the login.
   */
  onAttempt?: (attempt: LoginAttempt) => Promise<void>;
  /**
   * Checks a password against a PHC hash (default: `verifyPassword`). Injectable so a test can see which hash
   * every attempt was checked against — the equal-cost check of unknown usernames — without timing it.
   */
  verifyPassword?: (password: string, phc: string) => Promise<boolean>;
}

export interface LoginAttempt {
  success: boolean;
  accountId?: string;
  amr?: AuthenticationMethod[];
  ip: string;
  /** Why a refused attempt was refused (for the audit trail only; the caller is never told). */
  reason?: LoginRefusal;
}

export type LoginRefusal =
  | 'throttled'
  | 'unknown account'
  | 'wrong password'
  | 'account disabled'
  | 'no second factor enrolled'
  | 'second factor refused';

const MAX_INPUT = 1024;

function invalid(): MdlError {
  return new MdlError(MdlErrorCode.InvalidCredential, 'invalid username or credentials');
}

export function isPrivilegedRole(role: Role): boolean {
  return role === 'admin' || isClinicalRole(role);
}

/**
 * Whether a session (or a token minted from one) authenticated with `amr` carries what the role's
 * interactive login requires: a second factor (`mfa`) for clinical roles and administrators, a password at
 * least for everyone else. No methods at all (a token from before tokens carried their assurance) never do.
 */
export function meetsRoleAssurance(role: Role, amr: readonly string[] | null | undefined): boolean {
  if (!amr || amr.length === 0) return false;
  return !isPrivilegedRole(role) || amr.includes('mfa');
}

export class LoginService {
  readonly #store: AccountStore;
  readonly #throttle: LoginThrottle;
  readonly #webauthn: WebAuthnService | undefined;
  readonly #privilegedNeedSecondFactor: boolean;
  readonly #onAttempt: LoginServiceOptions['onAttempt'];
  readonly #verifyPassword: (password: string, phc: string) => Promise<boolean>;
  #dummyHash: Promise<string> | undefined;

  constructor(store: AccountStore, throttle: LoginThrottle, options: LoginServiceOptions = {}) {
    this.#store = store;
    this.#throttle = throttle;
    this.#webauthn = options.webauthn;
    this.#privilegedNeedSecondFactor = options.requireSecondFactorForPrivileged ?? true;
    this.#onAttempt = options.onAttempt;
    this.#verifyPassword = options.verifyPassword ?? verifyPassword;
  }

  /** A hash of a random password at the store's cost: what unknown usernames are checked against. */
  #dummy(): Promise<string> {
    this.#dummyHash ??= hashPassword(randomUUID(), this.#store.passwordCost);
    return this.#dummyHash;
  }

  async login(request: LoginRequest, context: LoginContext): Promise<LoginResult> {
    const attempt: { accountId?: string; reason?: LoginRefusal } = {};
    const ip = context?.ip ?? '';
    let result: LoginResult;
    try {
      result = await this.#login(request, context, attempt);
    } catch (error) {
      const { accountId } = attempt;
      const reason = isMdlError(error, MdlErrorCode.RateLimited) ? 'throttled' : attempt.reason;
      await this.#onAttempt?.({
        success: false,
        ip,
        ...(accountId ? { accountId } : {}),
        ...(reason ? { reason } : {}),
      });
      throw error;
    }
    await this.#onAttempt?.({ success: true, ip, accountId: result.account.id, amr: result.amr });
    return result;
  }

  async #login(
    request: LoginRequest,
    context: LoginContext,
    attempt: { accountId?: string; reason?: LoginRefusal },
  ): Promise<LoginResult> {
    const { username, password } = request ?? {};
    if (
      typeof username !== 'string' ||
      typeof password !== 'string' ||
      username.length === 0 ||
      username.length > MAX_INPUT ||
      password.length > MAX_INPUT
    ) {
      throw invalid();
    }
    const accountKey = Buffer.from(this.#store.usernameIndex(username)).toString('base64url');
    const ticket = await this.#throttle.begin(accountKey, context?.ip ?? '');

    const record = await this.#store.loginRecord(username);
    if (record) attempt.accountId = record.account.id;
    const hash = record?.passwordHash ?? (await this.#dummy());
    const passwordOk = (await this.#verifyPassword(password, hash)) && record?.passwordHash != null;
    attempt.reason = !record
      ? 'unknown account'
      : !passwordOk
        ? 'wrong password'
        : record.account.disabled
          ? 'account disabled'
          : undefined;
    if (!record || !passwordOk || record.account.disabled) throw invalid();
    const { account } = record;

    const amr: AuthenticationMethod[] = ['pwd'];
    const enrolled = account.secondFactors.totp || account.secondFactors.webauthn > 0;
    const required = enrolled || (this.#privilegedNeedSecondFactor && isPrivilegedRole(account.role));
    if (required) {
      const method = await this.#secondFactor(account, request, record.totpPending);
      if (method === 'none-enrolled') attempt.reason = 'no second factor enrolled';
      else if (!method) attempt.reason = 'second factor refused';
      if (method === 'none-enrolled' || !method) throw invalid();
      amr.push(method, 'mfa');
    }

    await this.#throttle.succeeded(ticket);
    if (needsRehash(hash, this.#store.passwordCost)) {
      // The cost was raised since this hash was made: upgrade it while the password is at hand.
      await this.#store.setPasswordHash(account.id, await hashPassword(password, this.#store.passwordCost));
    }
    return { account, amr };
  }

  async #secondFactor(
    account: Account,
    request: LoginRequest,
    totpPending: boolean,
  ): Promise<'otp' | 'hwk' | 'none-enrolled' | undefined> {
    const { totp, webauthn } = account.secondFactors;
    if (!totp && webauthn === 0 && !totpPending) return 'none-enrolled';
    if (typeof request.totp === 'string' && request.totp.length <= 16) {
      if (totp) return (await this.#store.verifyTotp(account.id, request.totp)) ? 'otp' : undefined;
      if (totpPending && webauthn === 0) {
        return (await this.#store.confirmTotpEnrolment(account.id, request.totp)) ? 'otp' : undefined;
      }
      return undefined;
    }
    if (request.webauthn !== undefined && this.#webauthn && webauthn > 0) {
      try {
        const id = await this.#webauthn.verifyAuthentication(account.username, request.webauthn);
        return id === account.id ? 'hwk' : undefined;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/** What an OIDC server's login interaction needs from the account system. */
export interface AccountAuthority {
  /** Throws MDL_INVALID_CREDENTIAL or MDL_RATE_LIMITED (with retryAfterSeconds). */
  authenticate(
    credentials: { username: string; password: string; otp?: string },
    context: { ip: string },
  ): Promise<{ accountId: string; amr: AuthenticationMethod[] }>;
  /** The claims of an enabled account; undefined for an unknown or disabled one (no more tokens for it). */
  claims(accountId: string): Promise<AccountClaims | undefined>;
}

export interface AccountClaims {
  role: Role;
  /** On-chain organisation id, in decimal (the OIDC server's claims are strings). */
  organisation: string;
  /** SMART `fhirUser`: "Patient/<id>" or "Practitioner/<id>", when the account has such a resource. */
  fhirUser?: string;
  /** SMART launch context: the patient's FHIR id, for patient accounts. */
  patient?: string;
}

/** The adapter the OIDC server (packages/oidc, its AccountAuthority) is given: exactly `authenticate` and `claims`. */
export function accountAuthority(loginService: LoginService, store: AccountStore): AccountAuthority {
  return {
    async authenticate(credentials, context) {
      const request: LoginRequest = { username: credentials?.username, password: credentials?.password };
      if (credentials?.otp !== undefined) request.totp = credentials.otp;
      const { account, amr } = await loginService.login(request, context);
      return { accountId: account.id, amr };
    },
    async claims(accountId) {
      const account =
        typeof accountId === 'string' ? await store.getAccount(accountId as AccountId) : undefined;
      if (!account || account.disabled) return undefined;
      const claims: AccountClaims = { role: account.role, organisation: String(account.organisation) };
      if (account.patient) {
        claims.fhirUser = `Patient/${account.patient.fhirId}`;
        claims.patient = account.patient.fhirId;
      } else if (account.practitionerId) {
        claims.fhirUser = `Practitioner/${account.practitionerId}`;
      }
      return claims;
    },
  };
}
