/**
 * The write interactions FHIR R4 builds on others — PATCH, conditional update, conditional delete and the
 * resolution of conditional references — written only in terms of a caller's `Records`, so they decide nothing
 * themselves: every search is the caller's (a record they may not see never matches), every write goes through
 * `Records.update` / `create` / `delete` with their authorisation, validation and If-Match.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  applyFhirPathPatch,
  applyJsonPatch,
  conditionalReferencesOf,
  parseConditionalReference,
  rewriteReferences,
} from '@medledger/fhir';
import type { FhirResource, Records, StoredResource } from './RecordService.js';

export type PatchDocument =
  | { format: 'json-patch'; body: unknown }
  | { format: 'fhirpath-patch'; body: unknown };

/** The patch a request or bundle entry carries: a Parameters resource, or JSON Patch (directly or in a Binary). */
export function patchOfBinary(binary: FhirResource): PatchDocument {
  const data = typeof binary.data === 'string' ? binary.data : '';
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    throw new MdlError(MdlErrorCode.BadInput, 'the Binary does not hold a JSON Patch document');
  }
  return { format: 'json-patch', body };
}

/**
 * PATCH: the current version as the caller may read it, patched, then stored by `update` with If-Match on the
 * version that was patched (so a concurrent write is a 412, never lost). A record the caller may not see is a
 * 404 like any other.
 */
export async function patchRecord(
  records: Records,
  type: string,
  id: string,
  patch: PatchDocument,
  ifMatch: number | undefined,
): Promise<{ stored: StoredResource; created: boolean }> {
  const current = await records.read(type, id);
  if (ifMatch !== undefined && ifMatch !== current.version) {
    throw new MdlError(MdlErrorCode.VersionConflict, 'If-Match does not name the current version');
  }
  // The stored resource as it is, meta included (its profile and tags stay; versionId and lastUpdated are the
  // server's and are set anew when the result is stored).
  const resource = current.resource;
  const patched =
    patch.format === 'json-patch'
      ? applyJsonPatch(resource, patch.body)
      : applyFhirPathPatch(resource, patch.body);
  if (patched.resourceType !== type || patched.id !== id) {
    throw new MdlError(MdlErrorCode.Unprocessable, 'a patch may not change the resource type or id');
  }
  return records.update(type, id, patched, { ifMatch: current.version });
}

/**
 * Conditional update (`PUT Type?search`): no match → a create (with the body's id, if any, as an update);
 * one match → an update of it (the body's id, if any, must be its id); several → 412.
 */
export async function conditionalUpdate(
  records: Records,
  type: string,
  criteria: string,
  body: unknown,
  ifMatch: number | undefined,
): Promise<{ stored: StoredResource; created: boolean }> {
  const ids = await records.matches(type, criteria);
  if (ids.length > 1)
    throw new MdlError(MdlErrorCode.MultipleMatches, 'the condition matches more than one resource');
  const bodyId = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined;
  const match = ids[0];
  if (match === undefined) {
    if (bodyId === undefined) return records.create(type, body);
    if (typeof bodyId !== 'string') throw new MdlError(MdlErrorCode.BadInput, 'resource id must be a string');
    return records.update(type, bodyId, body, { ifMatch });
  }
  if (bodyId !== undefined && bodyId !== match) {
    throw new MdlError(
      MdlErrorCode.BadInput,
      'resource id does not match the resource the condition matches',
    );
  }
  return records.update(type, match, { ...(body as object), id: match }, { ifMatch });
}

/** Conditional delete (`DELETE Type?search`): no match → nothing to do; one → deleted; several → 412. */
export async function conditionalDelete(
  records: Records,
  type: string,
  criteria: string,
  ifMatch: number | undefined,
): Promise<void> {
  const ids = await records.matches(type, criteria);
  if (ids.length > 1)
    throw new MdlError(MdlErrorCode.MultipleMatches, 'the condition matches more than one resource');
  if (ids[0] !== undefined) await records.delete(type, ids[0], { ifMatch });
}

/**
 * Resources of the same transaction a conditional reference may point at, before they are stored (as HAPI
 * does): matched by `identifier=system|value` (or `identifier=value`) only.
 */
export interface LocalResource {
  type: string;
  id: string;
  resource: FhirResource;
}

function matchesLocally(local: LocalResource, resourceType: string, query: string): boolean | undefined {
  if (local.type !== resourceType) return false;
  const params = [...new URLSearchParams(query)];
  if (params.length !== 1 || params[0]![0] !== 'identifier') return undefined;
  const value = params[0]![1];
  const bar = value.indexOf('|');
  const [system, code] = bar < 0 ? [undefined, value] : [value.slice(0, bar), value.slice(bar + 1)];
  const identifiers = Array.isArray(local.resource.identifier)
    ? (local.resource.identifier as { system?: string; value?: string }[])
    : [];
  return identifiers.some((i) => i?.value === code && (system === undefined || (i?.system ?? '') === system));
}

/**
 * Resolves every conditional reference of a resource: each search runs once per distinct reference
 * (`cache`), under the caller's access, plus the transaction's own resources (`local`). Exactly one match →
 * `Type/id`; none → 404, several → 412, each naming the element (relative to the resource: the bundle places
 * it under its entry) and never the search's values.
 */
export async function resolveConditionalReferences(
  records: Records,
  resource: FhirResource,
  cache: Map<string, Promise<string[]>>,
  local: readonly LocalResource[] = [],
): Promise<FhirResource> {
  const found = conditionalReferencesOf(resource);
  if (found.length === 0) return resource;
  const resolved = new Map<string, string>();
  for (const { path, reference } of found) {
    if (resolved.has(reference)) continue;
    const where = elementPath(path);
    const parsed = parseConditionalReference(reference);
    if (!parsed)
      throw issueError(
        MdlErrorCode.BadInput,
        'invalid',
        'Conditional reference is not a supported search',
        where,
      );
    let search = cache.get(reference);
    if (!search) {
      search = records.matches(parsed.resourceType, parsed.query);
      cache.set(reference, search);
    }
    const stored = await search;
    const locals = local.filter((l) => matchesLocally(l, parsed.resourceType, parsed.query) === true);
    const ids = new Set([...stored, ...locals.map((l) => l.id)]);
    if (ids.size === 0) {
      throw issueError(
        MdlErrorCode.NotFound,
        'not-found',
        'Conditional reference matches no resource',
        where,
      );
    }
    if (ids.size > 1) {
      throw issueError(
        MdlErrorCode.MultipleMatches,
        'multiple-matches',
        'Conditional reference matches more than one resource',
        where,
      );
    }
    resolved.set(reference, `${parsed.resourceType}/${[...ids][0]}`);
  }
  return rewriteReferences(resource, resolved);
}

/** `participant[0].individual.reference`: an element path inside the resource (the bundle adds its entry). */
function elementPath(path: readonly (string | number)[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function issueError(code: MdlErrorCode, issueCode: string, message: string, where: string): MdlError {
  return new MdlError(code, message, {
    issues: [{ severity: 'error', code: issueCode, diagnostics: message, expression: [where] }],
  });
}
