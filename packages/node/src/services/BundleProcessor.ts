/**
 * Transaction and batch Bundles (FHIR R4 §3.1.0.11), through the same record operations as single requests —
 * the caller's `Records` — so a bundle can do nothing its entries could not do one by one. A transaction is
 * all-or-nothing: every entry is checked and sealed as it is processed, and all index rows and anchor leaves
 * commit in ONE database transaction at the end (`Records.transaction`); one failing entry stores nothing
 * (sealed blobs of a failed transaction stay behind as unreferenced ciphertext) and the transaction answers
 * with that entry's status and an OperationOutcome naming it. A batch processes each entry on its own and
 * reports each outcome in a `batch-response`.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  operationOutcome,
  outcomeForError,
  type PlannedEntry,
  planBundle,
  rewriteReferences,
} from '@medledger/fhir';
import {
  conditionalDelete,
  conditionalUpdate,
  type LocalResource,
  type PatchDocument,
  patchOfBinary,
  patchRecord,
  resolveConditionalReferences,
} from './conditionalWrites.js';
import type { FhirResource, Records, StoredResource } from './RecordService.js';

/** What the client asked to get back (`Prefer: return=…`). */
export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

/** Entries sealed and stored at once within a transaction (sealing is CPU, storing a blob an fsync). */
const PREPARE_CONCURRENCY = 32;

interface EntryResult {
  response: { status: string; location?: string; etag?: string; lastModified?: string; outcome?: unknown };
  resource?: unknown;
}

/** The error placed under the entry it came from: its issues (about the resource) under the entry's resource. */
function atEntry(error: unknown, index: number): unknown {
  if (!(error instanceof MdlError)) return error;
  return error.under(error.issues.length > 0 ? `Bundle.entry[${index}].resource` : `Bundle.entry[${index}]`);
}

/** Processes a transaction or batch Bundle for one caller. */
export async function processBundle(
  records: Records,
  body: unknown,
  options: {
    /** Default minimal: no resource in the entries' responses. */
    prefer?: ReturnPreference;
    newId: () => string;
    /** The Location of a stored version (the server's absolute URL). */
    locationOf: (s: StoredResource) => string;
  },
): Promise<unknown> {
  const plan = planBundle(body, options.newId);
  if (!plan.ok) {
    throw new MdlError(MdlErrorCode.BadInput, plan.issues[0]?.diagnostics ?? 'invalid bundle', {
      issues: plan.issues,
    });
  }
  const { type, entries, failed } = plan.plan;
  const results =
    type === 'transaction'
      ? await records.transaction((tx) => transaction(tx, entries, options.locationOf))
      : await batch(records, entries, options.locationOf);
  for (const f of failed) {
    const { status, outcome } = outcomeForError(
      new MdlError(MdlErrorCode.BadInput, f.issues[0]?.diagnostics ?? 'invalid entry', { issues: f.issues }),
    );
    results[f.index] = { response: { status: String(status), outcome } };
  }
  for (const r of results) {
    if (!r) continue;
    if (options.prefer !== 'representation') delete r.resource;
    if (options.prefer === 'OperationOutcome' && !r.response.outcome) {
      r.response.outcome = operationOutcome([
        { severity: 'information', code: 'informational', diagnostics: 'entry processed', expression: [] },
      ]);
    }
  }
  return { resourceType: 'Bundle', type: `${type}-response`, entry: results };
}

function ifMatchOf(e: PlannedEntry): number | undefined {
  if (e.ifMatch === undefined) return undefined;
  const m = /^W\/"(\d{1,9})"$/.exec(e.ifMatch.trim());
  if (!m) throw new MdlError(MdlErrorCode.BadInput, 'If-Match must be a weak ETag such as W/"3"');
  return Number(m[1]);
}

function patchOf(resource: FhirResource | undefined): PatchDocument {
  if (resource?.resourceType === 'Parameters') return { format: 'fhirpath-patch', body: resource };
  return patchOfBinary(resource!);
}

function result(stored: StoredResource, locationOf: (s: StoredResource) => string, created: boolean) {
  return {
    response: {
      status: created ? '201 Created' : '200 OK',
      location: locationOf(stored),
      etag: `W/"${stored.version}"`,
      lastModified: stored.lastUpdated.toISOString(),
    },
    resource: stored.resource,
  };
}

/** One entry through the caller's record operations; `remap` carries conditional creates' matches. */
async function apply(
  records: Records,
  e: PlannedEntry,
  remap: Map<string, string>,
  locationOf: (s: StoredResource) => string,
): Promise<EntryResult> {
  switch (e.interaction) {
    case 'create': {
      const resource = rewriteReferences(e.resource, remap) as FhirResource;
      const { stored, created } = await records.create(e.resourceType, resource, {
        ifNoneExist: e.ifNoneExist,
        plannedId: e.id,
      });
      if (!created) remap.set(`${e.resourceType}/${e.id}`, `${e.resourceType}/${stored.id}`);
      return result(stored, locationOf, created);
    }
    case 'update': {
      const resource = rewriteReferences(e.resource, remap) as FhirResource;
      if (resource.id !== undefined && resource.id !== e.id) {
        throw new MdlError(MdlErrorCode.BadInput, 'resource id does not match the entry request URL');
      }
      const { stored, created } = await records.update(
        e.resourceType,
        e.id!,
        { ...resource, id: e.id },
        { ifMatch: ifMatchOf(e) },
      );
      return result(stored, locationOf, created);
    }
    case 'conditional-update': {
      const resource = rewriteReferences(e.resource, remap) as FhirResource;
      // A transaction found the target beforehand (see transaction); a batch entry searches now.
      const target = remap.get(`conditional:${e.index}`);
      const { stored, created } = target
        ? await records.update(e.resourceType, target, { ...resource, id: target }, { ifMatch: ifMatchOf(e) })
        : target === '' && e.id !== undefined && resource.id === undefined
          ? await records.create(e.resourceType, resource, { plannedId: e.id })
          : await conditionalUpdate(records, e.resourceType, e.query!, resource, ifMatchOf(e));
      return result(stored, locationOf, created);
    }
    case 'patch': {
      const { stored } = await patchRecord(records, e.resourceType, e.id!, patchOf(e.resource), ifMatchOf(e));
      return result(stored, locationOf, false);
    }
    case 'delete':
      await records.delete(e.resourceType, e.id!, { ifMatch: ifMatchOf(e) });
      return { response: { status: '204 No Content' } };
    case 'conditional-delete':
      await conditionalDelete(records, e.resourceType, e.query!, ifMatchOf(e));
      return { response: { status: '204 No Content' } };
    default:
      throw new MdlError(MdlErrorCode.Unsupported, `${e.interaction} entries are not supported in bundles`);
  }
}

async function transaction(
  tx: Records,
  entries: PlannedEntry[],
  locationOf: (s: StoredResource) => string,
): Promise<EntryResult[]> {
  const remap = new Map<string, string>();
  const results: EntryResult[] = new Array(entries.length);
  // Conditional updates first find their target, so that references to their fullUrl name it.
  for (const e of entries) {
    if (e.interaction !== 'conditional-update') continue;
    try {
      const ids = await tx.matches(e.resourceType, e.query!);
      if (ids.length > 1) {
        throw new MdlError(MdlErrorCode.MultipleMatches, 'the condition matches more than one resource');
      }
      const target = ids[0];
      // No match: a create, with the id the plan gave its fullUrl (if any), which references already name.
      remap.set(`conditional:${e.index}`, target ?? '');
      if (target === undefined) continue;
      if (e.id !== undefined) remap.set(`${e.resourceType}/${e.id}`, `${e.resourceType}/${target}`);
      e.id = target;
    } catch (error) {
      throw atEntry(error, e.index);
    }
  }
  await matchConditionalCreates(tx, entries, remap);
  await resolveAll(tx, entries, remap);
  const one = async (e: PlannedEntry) => {
    try {
      results[e.index] = await apply(tx, e, remap, locationOf);
    } catch (error) {
      throw atEntry(error, e.index);
    }
  };
  // Every reference is re-mapped by now: the entries are independent.
  for (let i = 0; i < entries.length; i += PREPARE_CONCURRENCY) {
    await Promise.all(entries.slice(i, i + PREPARE_CONCURRENCY).map(one));
  }
  return results;
}

/**
 * Conditional creates (`ifNoneExist`) of a transaction search for their match before any entry is processed
 * (nothing the transaction writes is visible to its own searches anyway): a reference to the fullUrl of one
 * that matched then names the existing resource wherever the reference stands in the bundle, and the entries
 * can be processed concurrently. An entry that matched still goes through `create` with its condition (which
 * finds the match again and returns it, decided as any conditional create); one that did not is a plain create.
 */
async function matchConditionalCreates(
  tx: Records,
  entries: PlannedEntry[],
  remap: Map<string, string>,
): Promise<void> {
  const conditional = entries.filter((e) => e.interaction === 'create' && e.ifNoneExist !== undefined);
  for (let i = 0; i < conditional.length; i += PREPARE_CONCURRENCY) {
    await Promise.all(
      conditional.slice(i, i + PREPARE_CONCURRENCY).map(async (e) => {
        try {
          const ids = await tx.matches(e.resourceType, e.ifNoneExist!);
          if (ids.length > 1) {
            throw new MdlError(MdlErrorCode.MultipleMatches, 'the condition matches more than one resource');
          }
          if (ids[0] === undefined) delete e.ifNoneExist;
          else if (e.id !== undefined) remap.set(`${e.resourceType}/${e.id}`, `${e.resourceType}/${ids[0]}`);
        } catch (error) {
          throw atEntry(error, e.index);
        }
      }),
    );
  }
}

/**
 * Resolves the conditional references of every entry of a transaction (before any entry is processed), each
 * distinct search once, against stored resources the caller may see and the transaction's own resources.
 */
async function resolveAll(tx: Records, entries: PlannedEntry[], remap: Map<string, string>): Promise<void> {
  const local: LocalResource[] = entries
    .filter(
      (e) => e.resource && e.id !== undefined && (e.interaction === 'create' || e.interaction === 'update'),
    )
    .map((e) => ({ type: e.resourceType, id: e.id!, resource: e.resource! }));
  const cache = new Map<string, Promise<string[]>>();
  const pending = entries.filter((e) => e.resource && e.interaction !== 'patch');
  for (let i = 0; i < pending.length; i += PREPARE_CONCURRENCY) {
    await Promise.all(
      pending.slice(i, i + PREPARE_CONCURRENCY).map(async (e) => {
        try {
          e.resource = await resolveConditionalReferences(
            tx,
            rewriteReferences(e.resource!, remap),
            cache,
            local,
          );
        } catch (error) {
          throw atEntry(error, e.index);
        }
      }),
    );
  }
}

async function batch(
  records: Records,
  entries: PlannedEntry[],
  locationOf: (s: StoredResource) => string,
): Promise<EntryResult[]> {
  const results: EntryResult[] = new Array(entries.length);
  const cache = new Map<string, Promise<string[]>>();
  for (const e of entries) {
    try {
      if (e.resource && e.interaction !== 'patch') {
        e.resource = await resolveConditionalReferences(records, e.resource, cache);
      }
      results[e.index] = await apply(records, e, new Map(), locationOf);
    } catch (error) {
      const { status, outcome } = outcomeForError(atEntry(error, e.index));
      results[e.index] = { response: { status: String(status), outcome } };
    }
  }
  return results;
}
