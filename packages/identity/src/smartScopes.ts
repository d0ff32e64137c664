/**
 * SMART on FHIR App Launch v2 scopes: parsing (with v1 compatibility) and the check a FHIR interaction makes
 * against the scopes of its access token.
 *
 * Grammar (SMART App Launch 2.x, "FHIR Resource Scope Syntax"):
 *   ( patient | user | system ) "/" ( ResourceType | "*" ) "." ( c?r?u?d?s? non-empty, in that order
 *                                                              | read | write | * )   v1: read=rs write=cud *=cruds
 *   [ "?" param=value ( "&" param=value )* ]
 * plus openid, fhirUser, profile, launch, launch/patient, launch/encounter, launch/<type>[?role=<uri>],
 * offline_access and online_access. Anything else is refused (MDL_BAD_INPUT) rather than guessed at — the
 * spec warns against reading ".read" as ".rd".
 *
 * Enforcement: a `patient/` scope covers only the token's patient (the target patient must be that patient);
 * `user/` and `system/` scopes delegate the user's or client's underlying permissions, which are decided
 * elsewhere (role ceiling, consent). Of the `?param=value` constraints only `category` is enforced; a scope
 * with any other constraint permits nothing (fail closed). Write access never implies read access.
 */

import { MdlError, MdlErrorCode } from '@medledger/core';

export type ScopeLevel = 'patient' | 'user' | 'system';
export type Interaction = 'create' | 'read' | 'update' | 'delete' | 'search';

const INTERACTIONS: readonly Interaction[] = ['create', 'read', 'update', 'delete', 'search'];
const LETTER: Record<Interaction, string> = { create: 'c', read: 'r', update: 'u', delete: 'd', search: 's' };

export interface ResourceScope {
  kind: 'resource';
  /** The scope as written. */
  scope: string;
  level: ScopeLevel;
  /** A FHIR resource type or "*". */
  resourceType: string;
  interactions: readonly Interaction[];
  /** SMART v1 syntax (.read/.write/.*) or v2 (.cruds). */
  version: 1 | 2;
  /** `?param=value` pairs, decoded, in order. */
  constraints: readonly (readonly [string, string])[];
}

export interface IdentityScope {
  kind: 'identity';
  scope: 'openid' | 'fhirUser' | 'profile';
}

export interface LaunchScope {
  kind: 'launch';
  scope: string;
  /** Undefined for the EHR-launch scope `launch`; else the lower-case context type ("patient", "encounter", …). */
  context?: string;
  role?: string;
}

export interface AccessScope {
  kind: 'access';
  scope: 'offline_access' | 'online_access';
}

export type SmartScope = ResourceScope | IdentityScope | LaunchScope | AccessScope;

function malformed(): MdlError {
  return new MdlError(MdlErrorCode.BadInput, 'malformed or unsupported scope');
}

// RFC 6749 §3.3 scope-token characters: printable ASCII except space, double quote and backslash.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const RESOURCE = /^(patient|user|system)\/([A-Z][A-Za-z]{0,63}|\*)\.([a-z*]+)(?:\?(.*))?$/;
const PARAM = /^[A-Za-z_][A-Za-z0-9_\-.:]{0,63}$/;
const V1: Record<string, readonly Interaction[]> = {
  read: ['read', 'search'],
  write: ['create', 'update', 'delete'],
  '*': INTERACTIONS,
};

function parseInteractions(text: string): { interactions: readonly Interaction[]; version: 1 | 2 } {
  const v1 = V1[text];
  if (v1) return { interactions: v1, version: 1 };
  // v2: a non-empty subsequence of "cruds", in order, each letter once.
  let position = 0;
  const interactions: Interaction[] = [];
  for (const ch of text) {
    const index = 'cruds'.indexOf(ch, position);
    if (index < 0) throw malformed();
    interactions.push(INTERACTIONS[index]!);
    position = index + 1;
  }
  if (interactions.length === 0) throw malformed();
  return { interactions, version: 2 };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw malformed();
  }
}

function parseQuery(query: string): [string, string][] {
  if (query.length === 0) throw malformed();
  return query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw malformed();
    const name = pair.slice(0, eq);
    if (!PARAM.test(name)) throw malformed();
    return [name, decode(pair.slice(eq + 1))];
  });
}

/** Parses one scope; throws MDL_BAD_INPUT for anything outside the grammar. */
export function parseScope(scope: string): SmartScope {
  if (typeof scope !== 'string' || scope.length > 2048 || !SCOPE_TOKEN.test(scope)) throw malformed();
  switch (scope) {
    case 'openid':
    case 'fhirUser':
    case 'profile':
      return { kind: 'identity', scope };
    case 'offline_access':
    case 'online_access':
      return { kind: 'access', scope };
    case 'launch':
      return { kind: 'launch', scope };
  }
  const launch = /^launch\/([a-z]{1,64})(?:\?(.*))?$/.exec(scope);
  if (launch) {
    const result: LaunchScope = { kind: 'launch', scope, context: launch[1]! };
    if (launch[2] !== undefined) {
      const params = parseQuery(launch[2]);
      // Only ?role= is defined for launch scopes, once.
      if (params.length !== 1 || params[0]![0] !== 'role') throw malformed();
      result.role = params[0]![1];
    }
    return result;
  }
  const m = RESOURCE.exec(scope);
  if (!m) throw malformed();
  const { interactions, version } = parseInteractions(m[3]!);
  return {
    kind: 'resource',
    scope,
    level: m[1] as ScopeLevel,
    resourceType: m[2]!,
    interactions,
    version,
    constraints: m[4] === undefined ? [] : parseQuery(m[4]),
  };
}

/** Parses a space-separated scope string (an OAuth `scope` parameter); duplicates are kept once. */
export function parseScopes(scopes: string): SmartScope[] {
  if (typeof scopes !== 'string') throw malformed();
  const seen = new Set<string>();
  const result: SmartScope[] = [];
  for (const token of scopes.split(' ')) {
    if (token === '') continue;
    if (seen.has(token)) continue;
    seen.add(token);
    result.push(parseScope(token));
  }
  return result;
}

/** A FHIR Coding as far as category matching needs it. */
export interface CategoryCoding {
  system?: string;
  code?: string;
}

export interface ScopeRequest {
  resourceType: string;
  interaction: Interaction;
  /** The patient the token was issued for (SMART launch context `patient`). */
  patientContext?: string;
  /**
   * The patient whose data this is: the resource's patient compartment owner, the patient a search is
   * restricted to, or the patient a new resource is created for. Undefined when it is no patient's.
   */
  targetPatient?: string;
  /** The resource's categories (Observation.category, Condition.category, …), for `?category=` scopes. */
  categories?: readonly CategoryCoding[];
}

/** FHIR token search semantics for one `category` value: system|code, |code, system|, or code. */
function tokenMatches(token: string, coding: CategoryCoding): boolean {
  const bar = token.indexOf('|');
  if (bar < 0) return coding.code === token;
  const system = token.slice(0, bar);
  const code = token.slice(bar + 1);
  if (system === '') return coding.system === undefined && coding.code === code;
  if (code === '') return coding.system === system;
  return coding.system === system && coding.code === code;
}

function constraintsHold(scope: ResourceScope, request: ScopeRequest, enforce: boolean): boolean {
  for (const [name, value] of scope.constraints) {
    if (name !== 'category') return false;
    if (!enforce) continue;
    // Comma-separated values are alternatives (FHIR search OR).
    const alternatives = value.split(',');
    const categories = request.categories ?? [];
    if (!categories.some((c) => alternatives.some((t) => tokenMatches(t, c)))) return false;
  }
  return true;
}

function scopeCovers(scope: ResourceScope, request: ScopeRequest, enforceConstraints: boolean): boolean {
  if (scope.resourceType !== '*' && scope.resourceType !== request.resourceType) return false;
  if (!scope.interactions.includes(request.interaction)) return false;
  if (scope.level === 'patient') {
    if (!request.patientContext || request.targetPatient !== request.patientContext) return false;
  }
  return constraintsHold(scope, request, enforceConstraints);
}

function resourceScopes(scopes: readonly SmartScope[] | string): ResourceScope[] {
  const parsed = typeof scopes === 'string' ? parseScopes(scopes) : scopes;
  return parsed.filter((s): s is ResourceScope => s.kind === 'resource');
}

/**
 * Whether the scopes permit this interaction on this resource. A `?category=` scope permits only a resource
 * with a matching category (pass `categories`); for searches, check each result this way and drop the rest.
 */
export function scopesPermit(scopes: readonly SmartScope[] | string, request: ScopeRequest): boolean {
  return resourceScopes(scopes).some((s) => scopeCovers(s, request, true));
}

/**
 * Whether the interaction may be attempted at all, before the resources are known (e.g. a search or a
 * type-level history): true if some scope could permit part of the result. Results must then be filtered
 * with `scopesPermit`.
 */
export function scopesAllowAttempt(
  scopes: readonly SmartScope[] | string,
  request: Omit<ScopeRequest, 'categories'>,
): boolean {
  return resourceScopes(scopes).some((s) => scopeCovers(s, request, false));
}

/** The v2 spelling of a resource scope's permissions ("rs", "cud", …). */
export function interactionLetters(interactions: readonly Interaction[]): string {
  return INTERACTIONS.filter((i) => interactions.includes(i))
    .map((i) => LETTER[i])
    .join('');
}
