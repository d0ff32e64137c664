/**
 * SMART on FHIR scope syntax (App Launch 2.x §3): `<context>/<resource>.<permissions>[?<query>]`, with v2
 * permissions (`c r u d s`, in that order) and the v1 forms `.read`, `.write`, `.*` mapped onto them. Also the
 * fixed OpenID / launch scopes this server knows. Pure functions, no I/O.
 *
 * Limits: the query part is kept as an opaque string (two scopes with queries match only when equal); EHR
 * launch (`launch`, `launch/encounter`) is not offered.
 */

/** Scopes that are not resource scopes: OpenID Connect and SMART launch context. */
export const FIXED_SCOPES = Object.freeze([
  'openid',
  'fhirUser',
  'launch/patient',
  'offline_access',
] as const);
export type FixedScope = (typeof FIXED_SCOPES)[number];

export type SmartContext = 'patient' | 'user' | 'system';

export interface SmartScope {
  readonly context: SmartContext;
  /** A FHIR resource type name, or `*`. */
  readonly resourceType: string;
  /** Canonical v2 permissions, a non-empty ordered subset of `cruds`. */
  readonly permissions: string;
  /** The `?param=value&…` part without the `?`, when present. */
  readonly query?: string;
}

const V2_ORDER = 'cruds';
const V1_PERMISSIONS: Readonly<Record<string, string>> = { read: 'rs', write: 'cud', '*': 'cruds' };
const SCOPE_SHAPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{1,63})\.([a-z*]{1,5})(?:\?(.+))?$/;
// Query: one or more name=value pairs; the value is whatever the scope syntax allows apart from '&'.
const QUERY_SHAPE =
  /^[A-Za-z0-9_.:-]+=[\x21\x23-\x25\x27-\x5B\x5D-\x7E]+(?:&[A-Za-z0-9_.:-]+=[\x21\x23-\x25\x27-\x5B\x5D-\x7E]+)*$/;

export function isFixedScope(scope: string): scope is FixedScope {
  return (FIXED_SCOPES as readonly string[]).includes(scope);
}

function canonicalPermissions(raw: string): string | undefined {
  const v1 = V1_PERMISSIONS[raw];
  if (v1 !== undefined) return v1;
  let last = -1;
  for (const ch of raw) {
    const at = V2_ORDER.indexOf(ch);
    // Out of order or repeated letters are malformed in v2, not a different permission set.
    if (at <= last) return undefined;
    last = at;
  }
  return raw.length > 0 ? raw : undefined;
}

/** Parses a SMART resource scope; undefined when the string is not one. */
export function parseSmartScope(scope: string): SmartScope | undefined {
  if (scope.length > 256) return undefined;
  const m = SCOPE_SHAPE.exec(scope);
  if (!m) return undefined;
  const permissions = canonicalPermissions(m[3]!);
  if (permissions === undefined) return undefined;
  const query = m[4];
  if (query !== undefined && !QUERY_SHAPE.test(query)) return undefined;
  return {
    context: m[1] as SmartContext,
    resourceType: m[2]!,
    permissions,
    ...(query === undefined ? {} : { query }),
  };
}

/** Whether holding `granted` already allows everything `requested` asks for. */
export function smartScopeCovers(granted: SmartScope, requested: SmartScope): boolean {
  if (granted.context !== requested.context) return false;
  if (granted.resourceType !== '*' && granted.resourceType !== requested.resourceType) return false;
  for (const p of requested.permissions) if (!granted.permissions.includes(p)) return false;
  return granted.query === undefined || granted.query === requested.query;
}

/** Splits a space-delimited scope parameter into distinct values. */
export function splitScopes(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return [...new Set(value.split(' ').filter((s) => s.length > 0))];
}
