/**
 * Who may hold which scope. Three decisions, each in one function:
 * - what a client may ask for at all (its registration is the ceiling; malformed or unknown scopes are refused);
 * - what a person actually gets (patient scopes and the patient launch context only with a patient context);
 * - what a system client gets with client_credentials (only `system/` scopes its registration covers).
 *
 * These decide what a token may *claim*; what the holder may read is still decided per request by the node's
 * consent enforcement, which also treats `user/` scopes as "whatever this user may see".
 */
import type { ResourceScope } from '@medledger/identity';
import type { AccountClaims } from './AccountAuthority.js';
import { isFixedScope, resourceScopeOf, smartScopeCovers } from './smartScopes.js';

export type ScopeCheck = { ok: true; scopes: string[] } | { ok: false; scope: string };

function coveredByRegistration(scope: ResourceScope, registered: readonly ResourceScope[]): boolean {
  return registered.some((r) => smartScopeCovers(r, scope));
}

/**
 * Scopes asked for at the authorization endpoint (a person is about to sign in): fixed scopes, and `patient/`
 * or `user/` scopes covered by the client's registration. Returns the resource scopes among them.
 */
export function checkUserFlowScopes(
  requested: readonly string[],
  registered: readonly ResourceScope[],
): ScopeCheck {
  const resource: string[] = [];
  for (const scope of requested) {
    if (isFixedScope(scope)) continue;
    const parsed = resourceScopeOf(scope);
    if (!parsed || parsed.level === 'system' || !coveredByRegistration(parsed, registered)) {
      return { ok: false, scope };
    }
    resource.push(scope);
  }
  return { ok: true, scopes: resource };
}

/** Scopes asked for with client_credentials: at least one, all `system/`, all covered by the registration. */
export function checkSystemScopes(
  requested: readonly string[],
  registered: readonly ResourceScope[],
): ScopeCheck {
  if (requested.length === 0) return { ok: false, scope: '' };
  for (const scope of requested) {
    const parsed = resourceScopeOf(scope);
    if (parsed?.level !== 'system' || !coveredByRegistration(parsed, registered)) {
      return { ok: false, scope };
    }
  }
  return { ok: true, scopes: [...requested] };
}

/** Whether an account may be granted a scope it (or its app) asked for. */
export function accountMayHold(scope: string, claims: AccountClaims): boolean {
  if (scope === 'launch/patient') return claims.patient !== undefined;
  if (isFixedScope(scope)) return true;
  const parsed = resourceScopeOf(scope);
  if (!parsed) return false;
  if (parsed.level === 'patient') return claims.patient !== undefined;
  return parsed.level === 'user';
}

/** The subset of `scopes` that a resource-server token may carry: fixed scopes and well-formed person scopes. */
export function personTokenScopes(scopes: Iterable<string>): string[] {
  const out: string[] = [];
  for (const scope of scopes) {
    if (isFixedScope(scope)) out.push(scope);
    else {
      const parsed = resourceScopeOf(scope);
      if (parsed && parsed.level !== 'system') out.push(scope);
    }
  }
  return out;
}
