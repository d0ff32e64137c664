/**
 * Plans a transaction or batch Bundle: validates it, gives every POSTed entry with a `urn:uuid:` fullUrl a
 * new server id, rewrites every reference to such a urn (in any entry, at any depth) to `Type/<newid>`, and
 * orders the entries as R4 transaction processing requires (DELETE, then POST, then PUT, then GET; stable
 * within each). Nothing is executed here. Limits:
 * - conditional creates and conditional updates with a urn fullUrl get a provisional id; when the condition
 *   matches an existing resource the node must re-run `rewriteReferences` with the real id;
 * - batch entries must be independent, so a batch may not reference another entry's urn; a batch entry that
 *   cannot be planned (malformed request, invalid resource) is returned in `failed` and the others go on;
 * - PATCH entries carry a Parameters resource (FHIRPath Patch) or a Binary whose contentType is
 *   `application/json-patch+json` (JSON Patch, base64 in `data`); HEAD is not supported;
 * - conditional references (`Type?search`) are left as they are: the node resolves them under the caller's
 *   access when it processes the bundle.
 */

import type { FhirResource } from './FhirResource.js';
import { fhirPath, type PathSegment } from './fhirPath.js';
import { type Issue, issue } from './Issue.js';
import { isResourceType } from './resourceTypes.js';
import { validateResource } from './validateResource.js';

export type BundleMethod = 'DELETE' | 'POST' | 'PUT' | 'PATCH' | 'GET';

export type PlannedInteraction =
  | 'create'
  | 'update'
  | 'conditional-update'
  | 'delete'
  | 'conditional-delete'
  | 'patch'
  | 'read'
  | 'vread'
  | 'search'
  | 'operation';

export interface PlannedEntry {
  /** Position in Bundle.entry, for the response bundle (which keeps the request order). */
  index: number;
  method: BundleMethod;
  interaction: PlannedInteraction;
  resourceType: string;
  /** Server id: new for a create, from the URL for update / delete / read. */
  id?: string;
  versionId?: string;
  /** The query of a conditional update / delete or a search, without `?`. */
  query?: string;
  /** The operation name (`$lookup`) of an operation entry. */
  operation?: string;
  fullUrl?: string;
  /** The resource with references rewritten (and, for a create, `id` set to the new id). */
  resource?: FhirResource;
  ifNoneExist?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

export interface BundlePlan {
  type: 'transaction' | 'batch';
  /** In processing order. */
  entries: PlannedEntry[];
  /** fullUrl → `Type/id` for every entry whose identity the plan fixed. */
  references: Map<string, string>;
  /** Batch entries that could not be planned, with their issues (a transaction fails instead). */
  failed: { index: number; issues: Issue[] }[];
}

export type BundlePlanResult = { ok: true; plan: BundlePlan } | { ok: false; issues: Issue[] };

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const URN_UUID = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ORDER: Record<BundleMethod, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 3, GET: 4 };
const MAX_ISSUES = 10;

interface ParsedUrl {
  resourceType: string;
  id?: string;
  versionId?: string;
  query?: string;
  operation?: string;
}

/** Parses a relative request URL: `Type`, `Type/id`, `Type/id/_history/vid`, `Type?q`, `Type/$op`, `$op`. */
function parseRequestUrl(url: string): ParsedUrl | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? undefined : url.slice(q + 1);
  const parts = path.split('/');
  if (parts[0]?.startsWith('$')) {
    return parts.length === 1
      ? { resourceType: '', operation: parts[0], ...(query === undefined ? {} : { query }) }
      : undefined;
  }
  const [type, a, b, c, ...rest] = parts;
  if (type === undefined || !isResourceType(type) || rest.length > 0) return undefined;
  const withQuery = query === undefined ? {} : { query };
  if (a === undefined) return { resourceType: type, ...withQuery };
  if (a.startsWith('$') && b === undefined) return { resourceType: type, operation: a, ...withQuery };
  if (!ID.test(a)) return undefined;
  if (b === undefined) return query === undefined ? { resourceType: type, id: a } : undefined;
  if (b.startsWith('$') && c === undefined) return { resourceType: type, id: a, operation: b, ...withQuery };
  if (b === '_history' && c !== undefined && ID.test(c) && query === undefined) {
    return { resourceType: type, id: a, versionId: c };
  }
  return undefined;
}

/** Deep copy of `value` with every `reference` string found in `map` replaced by its target. */
export function rewriteReferences<T>(value: T, map: ReadonlyMap<string, string>): T {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, map)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === 'reference' && typeof v === 'string' ? (map.get(v) ?? v) : rewriteReferences(v, map);
  }
  return out as T;
}

/** Paths of `reference` strings that are urn:uuid and not in `known`. */
function unresolvedUrns(
  value: unknown,
  known: ReadonlyMap<string, string>,
  path: PathSegment[],
  out: PathSegment[][],
): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) unresolvedUrns(value[i], known, [...path, i], out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string' && v.startsWith('urn:uuid:') && !known.has(v))
        out.push([...path, k]);
      else unresolvedUrns(v, known, [...path, k], out);
    }
  }
}

interface EntryContext {
  fullUrls: Set<string>;
  references: Map<string, string>;
  newId: () => string;
}

function at(i: number, ...rest: PathSegment[]): string {
  return fhirPath('Bundle', ['entry', i, ...rest]);
}

function freshId(newId: () => string): string {
  const id = newId();
  if (!ID.test(id)) throw new Error('newId returned an invalid FHIR id');
  return id;
}

/** Plans one entry, or returns the issue that prevents it. */
function planEntry(
  entry: Record<string, unknown>,
  index: number,
  cx: EntryContext,
): PlannedEntry | Issue | Issue[] {
  const { fullUrls, references, newId } = cx;
  const request = entry.request as Record<string, unknown> | undefined;
  const resource = entry.resource as FhirResource | undefined;
  const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
  if (request === undefined) return issue('required', 'Entry has no request', at(index, 'request'));
  const method = request.method;
  const url = request.url;
  if (
    method !== 'POST' &&
    method !== 'PUT' &&
    method !== 'PATCH' &&
    method !== 'DELETE' &&
    method !== 'GET'
  ) {
    return issue(
      'not-supported',
      'request.method must be POST, PUT, PATCH, DELETE or GET',
      at(index, 'request', 'method'),
    );
  }
  if (typeof url !== 'string')
    return issue('required', 'Entry has no request.url', at(index, 'request', 'url'));
  const parsed = parseRequestUrl(url);
  if (parsed === undefined) {
    return issue('value', 'request.url is not a supported relative URL', at(index, 'request', 'url'));
  }
  if (fullUrl !== undefined) {
    if (fullUrls.has(fullUrl))
      return issue('duplicate', 'Two entries have the same fullUrl', at(index, 'fullUrl'));
    fullUrls.add(fullUrl);
  }
  const p: PlannedEntry = { index, method, interaction: 'read', resourceType: parsed.resourceType };
  if (fullUrl !== undefined) p.fullUrl = fullUrl;
  for (const h of ['ifNoneExist', 'ifMatch', 'ifNoneMatch', 'ifModifiedSince'] as const) {
    if (typeof request[h] === 'string') p[h] = request[h] as string;
  }
  if (resource !== undefined) {
    const checked = validateResource(resource, { allowConditionalReferences: true });
    if (!checked.ok) return reRooted(checked.issues, index);
  }
  const needsResource = method === 'POST' || method === 'PUT' || method === 'PATCH';
  if (needsResource && resource === undefined && parsed.operation === undefined) {
    return issue('required', 'Entry has no resource', at(index, 'resource'));
  }
  if (parsed.operation !== undefined) {
    if (method !== 'POST' && method !== 'GET') {
      return issue('not-supported', 'Operations take POST or GET', at(index, 'request', 'method'));
    }
    p.interaction = 'operation';
    p.operation = parsed.operation;
    if (parsed.id !== undefined) p.id = parsed.id;
    if (parsed.query !== undefined) p.query = parsed.query;
    if (resource !== undefined) p.resource = resource;
  } else if (method === 'POST') {
    if (parsed.id !== undefined || parsed.query !== undefined) {
      return issue('value', 'A create is POSTed to the type URL', at(index, 'request', 'url'));
    }
    if (resource!.resourceType !== parsed.resourceType) {
      return issue(
        'invalid',
        'Resource type does not match request.url',
        at(index, 'resource', 'resourceType'),
      );
    }
    const id = freshId(newId);
    p.interaction = 'create';
    p.id = id;
    p.resource = resource!;
    if (fullUrl !== undefined) references.set(fullUrl, `${parsed.resourceType}/${id}`);
  } else if (method === 'PUT') {
    if (resource!.resourceType !== parsed.resourceType) {
      return issue(
        'invalid',
        'Resource type does not match request.url',
        at(index, 'resource', 'resourceType'),
      );
    }
    p.resource = resource!;
    if (parsed.query !== undefined) {
      p.interaction = 'conditional-update';
      p.query = parsed.query;
      if (fullUrl !== undefined && URN_UUID.test(fullUrl)) {
        const id = freshId(newId);
        p.id = id;
        references.set(fullUrl, `${parsed.resourceType}/${id}`);
      }
    } else if (parsed.id !== undefined && parsed.versionId === undefined) {
      if (resource!.id !== parsed.id) {
        return issue('invalid', 'Resource id does not match request.url', at(index, 'resource', 'id'));
      }
      p.interaction = 'update';
      p.id = parsed.id;
      if (fullUrl !== undefined) references.set(fullUrl, `${parsed.resourceType}/${parsed.id}`);
    } else {
      return issue('value', 'An update is PUT to Type/id or Type?query', at(index, 'request', 'url'));
    }
  } else if (method === 'PATCH') {
    if (parsed.id === undefined || parsed.versionId !== undefined || parsed.query !== undefined) {
      return issue('value', 'A patch names Type/id', at(index, 'request', 'url'));
    }
    const isJsonPatch =
      resource!.resourceType === 'Binary' && resource!.contentType === 'application/json-patch+json';
    if (resource!.resourceType !== 'Parameters' && !isJsonPatch) {
      return issue(
        'not-supported',
        'A patch entry carries a Parameters (FHIRPath Patch) or a JSON Patch Binary',
        at(index, 'resource'),
      );
    }
    p.interaction = 'patch';
    p.id = parsed.id;
    p.resource = resource!;
  } else if (method === 'DELETE') {
    if (parsed.query !== undefined) {
      p.interaction = 'conditional-delete';
      p.query = parsed.query;
    } else if (parsed.id !== undefined && parsed.versionId === undefined) {
      p.interaction = 'delete';
      p.id = parsed.id;
    } else {
      return issue('value', 'A delete names Type/id or Type?query', at(index, 'request', 'url'));
    }
  } else {
    if (parsed.versionId !== undefined) {
      p.interaction = 'vread';
      p.id = parsed.id!;
      p.versionId = parsed.versionId;
    } else if (parsed.id !== undefined) {
      p.interaction = 'read';
      p.id = parsed.id;
    } else {
      p.interaction = 'search';
      if (parsed.query !== undefined) p.query = parsed.query;
    }
  }
  return p;
}

/** An embedded resource's issues (`Observation.status`) placed under its entry (`Bundle.entry[2].resource.status`). */
function reRooted(issues: Issue[], index: number): Issue[] {
  const prefix = at(index, 'resource');
  return issues.map((i) => ({
    ...i,
    expression: i.expression.map((e) => {
      const dot = e.indexOf('.');
      return dot < 0 ? prefix : prefix + e.slice(dot);
    }),
  }));
}

/** An entry's issues as checked alone (`Bundle.entry[0]…`) placed at its position (`Bundle.entry[4]…`). */
function atPosition(issues: Issue[], index: number): Issue[] {
  return issues.map((i) => ({
    ...i,
    expression: i.expression.map((e) => e.replace(/^Bundle\.entry\[0\]/, `Bundle.entry[${index}]`)),
  }));
}

/** The entry itself (all but its resource) against the schema, or its issues. */
function checkEntry(entry: unknown, index: number, type: string): Issue[] | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return [issue('structure', 'An entry must be a JSON object', at(index))];
  }
  const alone = { resourceType: 'Bundle', type, entry: [{ ...entry, resource: undefined }] };
  const r = validateResource(JSON.parse(JSON.stringify(alone)));
  return r.ok ? undefined : atPosition(r.issues, index);
}

export function planBundle(bundle: unknown, newId: () => string): BundlePlanResult {
  // The bundle is checked without its entries, each entry (its request, then its resource) on its own, so that
  // a batch can refuse one entry and go on with the others.
  const rawList =
    typeof bundle === 'object' && bundle !== null ? (bundle as { entry?: unknown }).entry : undefined;
  const shell = Array.isArray(rawList) ? { ...(bundle as object), entry: undefined } : bundle;
  const checked = validateResource(JSON.parse(JSON.stringify(shell ?? null)), {
    allowConditionalReferences: true,
  });
  if (!checked.ok) return { ok: false, issues: checked.issues };
  const b = bundle as FhirResource;
  if (b.resourceType !== 'Bundle') {
    return { ok: false, issues: [issue('invalid', 'Expected a Bundle', 'resourceType')] };
  }
  const type = b.type;
  if (type !== 'transaction' && type !== 'batch') {
    return {
      ok: false,
      issues: [issue('not-supported', 'Bundle.type must be transaction or batch', 'Bundle.type')],
    };
  }
  const rawEntries = (Array.isArray(b.entry) ? b.entry : []) as Record<string, unknown>[];
  const issues: Issue[] = [];
  const references = new Map<string, string>();
  const fullUrls = new Set<string>();
  const planned: PlannedEntry[] = [];
  const failed: { index: number; issues: Issue[] }[] = [];

  const context: EntryContext = { fullUrls, references, newId };
  rawEntries.forEach((entry, index) => {
    const p = checkEntry(entry, index, type) ?? planEntry(entry, index, context);
    const entryIssues = Array.isArray(p) ? p : 'severity' in p ? [p] : undefined;
    if (entryIssues === undefined) planned.push(p as PlannedEntry);
    else if (type === 'batch') failed.push({ index, issues: entryIssues });
    else issues.push(...entryIssues);
  });

  if (type === 'batch') {
    // Batch entries succeed or fail one by one, so one may not depend on another's new identity.
    references.clear();
  }
  for (const p of planned) {
    if (p.resource === undefined) continue;
    const rewritten = rewriteReferences(p.resource, references);
    if (p.interaction === 'create') rewritten.id = p.id!;
    p.resource = rewritten;
    const dangling: PathSegment[][] = [];
    unresolvedUrns(rewritten, references, [], dangling);
    if (type === 'batch' && dangling.length > 0) {
      failed.push({
        index: p.index,
        issues: dangling.map((d) =>
          issue(
            'invalid',
            'Batch entries cannot reference bundle-local urn:uuid identities',
            at(p.index, 'resource', ...d),
          ),
        ),
      });
      continue;
    }
    for (const d of dangling) {
      issues.push(
        issue(
          'invalid',
          type === 'batch'
            ? 'Batch entries cannot reference bundle-local urn:uuid identities'
            : 'Reference to a urn:uuid that no entry of the bundle defines',
          at(p.index, 'resource', ...d),
        ),
      );
    }
  }
  if (issues.length > 0) return { ok: false, issues: issues.slice(0, MAX_ISSUES) };
  const failedAt = new Set(failed.map((f) => f.index));
  const entries = planned.filter((p) => !failedAt.has(p.index));
  entries.sort((x, y) => ORDER[x.method] - ORDER[y.method] || x.index - y.index);
  return { ok: true, plan: { type, entries, references, failed } };
}
