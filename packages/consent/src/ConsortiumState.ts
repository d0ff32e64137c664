/**
 * The part of the consortium registry that consent and break-glass decisions read, rebuilt in memory by
 * replaying registry events in chain order: whether an organisation is active, which organisation a member
 * belongs to, and each member's licence. It answers exactly as ConsortiumRegistry's isOrganisationActive,
 * memberOf and hasValidLicence do at the block the events were read up to.
 *
 * Limits: the whole directory is held in memory (organisations, members and licences of one consortium: small).
 */
import type { Address } from 'viem';

export type RegistryEventKind =
  | 'admitted'
  | 'suspended'
  | 'reinstated'
  | 'member'
  | 'memberRemoved'
  | 'licence'
  | 'licenceRevoked';

/** One registry event as the consent index stores it (`at` is the block timestamp). */
export interface RegistryEvent {
  kind: RegistryEventKind;
  /** The organisation concerned; for licence events the issuer. */
  organisation: number;
  /** Member or licence holder (lowercase). */
  account?: Address;
  role?: number;
  at: number;
  /** Licence expiry. */
  expiresAt?: number;
}

/** A member's licence as ConsortiumRegistry keeps it. */
export interface LicenceState {
  issuer: number;
  issuedAt: number;
  expiresAt: number;
  /** 0: not revoked. */
  revokedAt: number;
}

/** The registry views a decision needs. */
export interface ConsortiumView {
  organisationActive(organisation: number): boolean;
  /** The member's organisation, 0 when the account is not a member. */
  memberOrganisation(account: Address): number;
  hasValidLicence(account: Address, at: number): boolean;
}

export class ConsortiumState implements ConsortiumView {
  readonly #active = new Map<number, boolean>();
  readonly #members = new Map<string, { organisation: number; role: number }>();
  readonly #licences = new Map<string, LicenceState>();

  static replay(events: Iterable<RegistryEvent>): ConsortiumState {
    const state = new ConsortiumState();
    for (const e of events) state.apply(e);
    return state;
  }

  apply(e: RegistryEvent): void {
    const account = e.account?.toLowerCase();
    switch (e.kind) {
      case 'admitted':
      case 'reinstated':
        this.#active.set(e.organisation, true);
        break;
      case 'suspended':
        this.#active.set(e.organisation, false);
        break;
      case 'member':
        if (account) this.#members.set(account, { organisation: e.organisation, role: e.role ?? 0 });
        break;
      case 'memberRemoved':
        if (account) this.#members.delete(account);
        break;
      case 'licence':
        // issueLicence overwrites the whole record, clearing an earlier revocation.
        if (account)
          this.#licences.set(account, {
            issuer: e.organisation,
            issuedAt: e.at,
            expiresAt: e.expiresAt ?? 0,
            revokedAt: 0,
          });
        break;
      case 'licenceRevoked': {
        const licence = account ? this.#licences.get(account) : undefined;
        if (licence) licence.revokedAt = e.at;
        break;
      }
    }
  }

  organisationActive(organisation: number): boolean {
    return this.#active.get(organisation) === true;
  }

  memberOrganisation(account: Address): number {
    return this.#members.get(account.toLowerCase())?.organisation ?? 0;
  }

  memberRole(account: Address): number | undefined {
    return this.#members.get(account.toLowerCase())?.role;
  }

  licenceOf(account: Address): LicenceState | undefined {
    const licence = this.#licences.get(account.toLowerCase());
    return licence ? { ...licence } : undefined;
  }

  /** ConsortiumRegistry.hasValidLicence: issued before `at`, not expired or revoked at `at`, still a member. */
  hasValidLicence(account: Address, at: number): boolean {
    if (this.memberOrganisation(account) === 0) return false;
    const licence = this.#licences.get(account.toLowerCase());
    if (!licence || licence.issuer === 0) return false;
    if (at < licence.issuedAt || at >= licence.expiresAt) return false;
    return licence.revokedAt === 0 || at < licence.revokedAt;
  }
}
