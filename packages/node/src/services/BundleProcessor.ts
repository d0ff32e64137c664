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
import { outcomeForError, type PlannedEntry, planBundle, rewriteReferences } from '@medledger/fhir';
import type { FhirResource, Records, StoredResource } from './RecordService.js';

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
    representation?: boolean;
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
  const { type, entries } = plan.plan;
  const results =
    type === 'transaction'
      ? await records.transaction((tx) => transaction(tx, entries, options.locationOf))
      : await batch(records, entries, options.locationOf);
  if (!options.representation) for (const r of results) if (r) delete r.resource;
  return { resourceType: 'Bundle', type: `${type}-response`, entry: results };
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
      const ifMatch = e.ifMatch === undefined ? undefined : /^W\/"(\d{1,9})"$/.exec(e.ifMatch)?.[1];
      if (e.ifMatch !== undefined && ifMatch === undefined) {
        throw new MdlError(MdlErrorCode.BadInput, 'If-Match must be a weak ETag such as W/"3"');
      }
      const { stored, created } = await records.update(
        e.resourceType,
        e.id!,
        { ...resource, id: e.id },
        { ifMatch: ifMatch === undefined ? undefined : Number(ifMatch) },
      );
      return result(stored, locationOf, created);
    }
    case 'delete':
      await records.delete(e.resourceType, e.id!);
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
  const one = async (e: PlannedEntry) => {
    try {
      results[e.index] = await apply(tx, e, remap, locationOf);
    } catch (error) {
      throw atEntry(error, e.index);
    }
  };
  // Entries are independent unless a conditional create may re-map references, which needs processing order.
  if (entries.some((e) => e.ifNoneExist !== undefined)) {
    for (const e of entries) await one(e);
  } else {
    for (let i = 0; i < entries.length; i += PREPARE_CONCURRENCY) {
      await Promise.all(entries.slice(i, i + PREPARE_CONCURRENCY).map(one));
    }
  }
  return results;
}

async function batch(
  records: Records,
  entries: PlannedEntry[],
  locationOf: (s: StoredResource) => string,
): Promise<EntryResult[]> {
  const results: EntryResult[] = new Array(entries.length);
  for (const e of entries) {
    try {
      results[e.index] = await apply(records, e, new Map(), locationOf);
    } catch (error) {
      const { status, outcome } = outcomeForError(atEntry(error, e.index));
      results[e.index] = { response: { status: String(status), outcome } };
    }
  }
  return results;
}
