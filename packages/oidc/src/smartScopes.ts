/**
 * What this provider offers and issues on top of the one SMART scope grammar, `parseScope` in
 * @medledger/identity — the parser the node checks tokens with, so a scope is read the same way when it is
 * issued and when it is enforced (`?category=` constraints included). Pure functions, no I/O.
 *
 * Limits: of the scopes the grammar knows, only FIXED_SCOPES and resource scopes are offered (EHR launch —
 * `launch`, `launch/encounter` — and `profile` are not); a scope with constraints covers
 * another only when their constraints are equal.
 */
import { parseScope, type ResourceScope } from '@medledger/identity';

/** Scopes that are not resource scopes: OpenID Connect and SMART launch context. */
export const FIXED_SCOPES = Object.freeze([
  'openid',
  'fhirUser',
  'launch/patient',
  'offline_access',
  'online_access',
] as const);
export type FixedScope = (typeof FIXED_SCOPES)[number];

export function isFixedScope(scope: string): scope is FixedScope {
  return (FIXED_SCOPES as readonly string[]).includes(scope);
}

/** The resource scope a string is under the shared grammar; undefined for anything else, malformed included. */
export function resourceScopeOf(scope: string): ResourceScope | undefined {
  try {
    const parsed = parseScope(scope);
    return parsed.kind === 'resource' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function sameConstraints(a: ResourceScope, b: ResourceScope): boolean {
  return (
    a.constraints.length === b.constraints.length &&
    a.constraints.every(([name, value], i) => b.constraints[i]![0] === name && b.constraints[i]![1] === value)
  );
}

/** Whether holding `granted` already allows everything `requested` asks for. */
export function smartScopeCovers(granted: ResourceScope, requested: ResourceScope): boolean {
  if (granted.level !== requested.level) return false;
  if (granted.resourceType !== '*' && granted.resourceType !== requested.resourceType) return false;
  if (!requested.interactions.every((i) => granted.interactions.includes(i))) return false;
  return granted.constraints.length === 0 || sameConstraints(granted, requested);
}

/** Splits a space-delimited scope parameter into distinct values. */
export function splitScopes(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return [...new Set(value.split(' ').filter((s) => s.length > 0))];
}
