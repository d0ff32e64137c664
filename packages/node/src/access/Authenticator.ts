/**
 * Bearer credentials → Caller. Two kinds are accepted on the FHIR API:
 * - access tokens (JWT) issued by the node's own OpenID provider (`/oauth`), verified by signature, issuer,
 *   audience and expiry without a database lookup (they live ten minutes);
 * - API tokens of accounts (256-bit random, only their SHA-256 stored; identity's AccountStore), for
 *   automation. The bootstrap admin's token acts as the organisation itself (a system caller with every
 *   interaction — what it is for: loading the EHR's data, operating the node); anyone else's, other
 *   administrators' included, acts as that person with `user/*.cruds` (patients: `patient/*.cruds`) scopes,
 *   still bound by role, licence and consent — an administrator's role reads no clinical data. A person's
 *   token is honoured only if it carries the assurance their role's login requires (minted by the person
 *   from a session that passed their second factor, features/tokenRoutes.ts); tokens without any (from
 *   before tokens carried it, when administrators minted them) are not. Further organisation-level
 *   integrations are SMART Backend Services clients, limited by their system scopes.
 *
 * API-token lookups are cached for AUTH_CACHE_MS: revoking a token or disabling an account takes effect
 * within that window. Failed lookups are never cached. The purpose of use comes from the
 * `X-Purpose-Of-Use` header (v3 PurposeOfUse codes), else the role's first purpose.
 */
import { createHash } from 'node:crypto';
import { Purpose } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  type Account,
  type AccountStore,
  BOOTSTRAP_ADMIN_ID,
  meetsRoleAssurance,
  parseScopes,
  roleDefinition,
} from '@medledger/identity';
import type { AccessTokenInfo } from '@medledger/oidc';
import type { Caller, PersonCaller } from './Caller.js';

export const AUTH_CACHE_MS = 5_000;

const PURPOSE_CODES: Record<string, Purpose> = {
  TREAT: Purpose.Treatment,
  HPAYMT: Purpose.Payment,
  HOPERAT: Purpose.Operations,
  HRESCH: Purpose.Research,
  ETREAT: Purpose.Emergency,
};

type TokenHolder = { account: Account; amr: string[] | null };

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface AuthenticatorDeps {
  accounts: AccountStore;
  verifyAccessToken: (token: string) => Promise<AccessTokenInfo>;
}

export class Authenticator {
  readonly #d: AuthenticatorDeps;
  readonly #cache = new Map<string, { holder: TokenHolder; until: number }>();

  constructor(deps: AuthenticatorDeps) {
    this.#d = deps;
  }

  /** The caller a bearer token stands for, or undefined (unknown, revoked, expired, disabled, malformed). */
  async authenticate(token: string, purposeHeader: string | undefined): Promise<Caller | undefined> {
    if (JWT.test(token)) {
      let info: AccessTokenInfo;
      try {
        info = await this.#d.verifyAccessToken(token);
      } catch {
        return undefined;
      }
      const scopes = parseScopes(info.scopes.join(' '));
      if (info.kind === 'system') return { kind: 'system', id: `client:${info.clientId}`, scopes };
      const account = await this.#d.accounts.getAccount(info.subject);
      if (!account || account.disabled) return undefined;
      return this.#person(account, scopes, purposeHeader, {
        kind: 'access-token',
        amr: info.amr ?? [],
        ...(info.authTime ? { authTime: info.authTime } : {}),
      });
    }
    const found = await this.#apiTokenAccount(token);
    if (!found) return undefined;
    const { account, amr } = found;
    if (account.id === BOOTSTRAP_ADMIN_ID) return { kind: 'system', id: account.id };
    if (!meetsRoleAssurance(account.role, amr)) return undefined;
    const all = account.role === 'patient' ? 'patient/*.cruds' : 'user/*.cruds';
    return this.#person(account, parseScopes(all), purposeHeader, { kind: 'api-token', amr: amr ?? [] });
  }

  #person(
    account: Account,
    scopes: PersonCaller['scopes'],
    purposeHeader: string | undefined,
    credential: NonNullable<PersonCaller['credential']>,
  ): PersonCaller {
    const caller: PersonCaller = {
      kind: 'person',
      id: account.id,
      role: account.role,
      ...(account.memberAddress ? { member: account.memberAddress } : {}),
      ...(account.patient ? { patientId: account.patient.fhirId } : {}),
      scopes,
      purpose: roleDefinition(account.role).purposes[0] ?? Purpose.Treatment,
      credential,
    };
    if (purposeHeader === undefined) return caller;
    const purpose = PURPOSE_CODES[purposeHeader.trim().toUpperCase()];
    if (purpose === undefined) {
      // The credential is good: the edge audits the refusal with the caller it names.
      throw Object.assign(
        new MdlError(
          MdlErrorCode.BadInput,
          `X-Purpose-Of-Use must be one of ${Object.keys(PURPOSE_CODES).join(', ')}`,
        ),
        { caller },
      );
    }
    return { ...caller, purpose };
  }

  async #apiTokenAccount(token: string): Promise<TokenHolder | undefined> {
    if (token.length < 32 || token.length > 512) return undefined;
    const key = createHash('sha256').update(token).digest('hex');
    const now = Date.now();
    const cached = this.#cache.get(key);
    if (cached && cached.until > now) return cached.holder;
    const holder = await this.#d.accounts.authenticateTokenWithAssurance(token);
    if (holder) {
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(key, { holder, until: now + AUTH_CACHE_MS });
    } else {
      this.#cache.delete(key);
    }
    return holder;
  }
}
