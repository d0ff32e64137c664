/**
 * The search parameters medledger supports, per resource type, with the elements they index: the R4 (4.0.1)
 * SearchParameter definitions, translated into element paths by scripts/generateSearchParameters.ts (the
 * generated table is searchParameters.generated.ts). Names are R4's (`onset-date`, `authoredon`,
 * `vaccine-code`, …). Parameters R4 defines but the node does not index (composite, quantity, number, uri,
 * special, and expressions that are not simple element paths) are listed with the reason in
 * R4_UNSUPPORTED_SEARCH_PARAMETERS; parseSearch refuses them by name. docs/fhir.md describes the table.
 * `_id`, `_lastUpdated`, `_count`, `_sort` and `_offset` apply to every type and are not in this table.
 */
import { R4_SEARCH_PARAMETERS, R4_UNSUPPORTED_SEARCH_PARAMETERS } from './searchParameters.generated.js';

export type SearchParamKind =
  /** string, HumanName, Address: normalised starts-with (blind prefix tokens) and `:exact`. */
  | 'string'
  /** CodeableConcept / Coding (or a mix with plain codes): tokens `system|code` and `code`; `:text`. */
  | 'token'
  /** Identifier: tokens `system|value` and `|value`. */
  | 'identifier'
  /** A plain code, boolean, id or uri: the value itself. */
  | 'code'
  /** ContactPoint: the normalised value (phone numbers: digits only; otherwise lower case). */
  | 'telecom'
  /** Reference: `Type/id`, restricted to `targets`. */
  | 'reference'
  /** date / dateTime / instant / Period: start and end day granules (R4 range semantics). */
  | 'date';

export interface SearchParamDef {
  kind: SearchParamKind;
  /** Dotted element paths (choice types spelled out, e.g. `effectiveDateTime`). */
  paths: readonly (readonly string[])[];
  /** For references: the resource types the parameter may point to. */
  targets?: readonly string[];
  /** For ContactPoints: only those of this `system` (`phone`, `email`). */
  system?: string;
}

export const SEARCH_PARAMETERS: Readonly<Record<string, Readonly<Record<string, SearchParamDef>>>> =
  R4_SEARCH_PARAMETERS;

/** Parameters valid for every type, handled by the node itself rather than by index tokens. */
export const COMMON_SEARCH_PARAMETERS = ['_id', '_lastUpdated', '_count', '_sort', '_offset'] as const;

export function searchParametersOf(resourceType: string): Readonly<Record<string, SearchParamDef>> {
  return Object.hasOwn(SEARCH_PARAMETERS, resourceType) ? SEARCH_PARAMETERS[resourceType]! : {};
}

/** Why R4 parameter `name` of `resourceType` is not searchable here, or undefined when R4 does not define it. */
export function unsupportedSearchParameter(resourceType: string, name: string): string | undefined {
  const t = Object.hasOwn(R4_UNSUPPORTED_SEARCH_PARAMETERS, resourceType)
    ? R4_UNSUPPORTED_SEARCH_PARAMETERS[resourceType]!
    : {};
  return Object.hasOwn(t, name) ? t[name] : undefined;
}

/**
 * Whether `:text` is searchable on a parameter: coded (CodeableConcept / Coding) parameters, except the
 * Observation `combo-*` and `component-*` ones, whose text is that of `code` and `component.code` again (their
 * prefix tokens would triple an Observation's index rows for no new question).
 */
export function hasTextSearch(name: string, def: SearchParamDef): boolean {
  return def.kind === 'token' && !name.startsWith('combo-') && !name.startsWith('component-');
}
