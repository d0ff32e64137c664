/**
 * Transaction and batch Bundles (FHIR R4 §3.1.0.11). A transaction is all-or-nothing: every entry is validated
 * and sealed first, then all index rows and anchor leaves commit in ONE database transaction — one failing
 * entry stores nothing (sealed blobs of a failed transaction stay behind as unreferenced ciphertext). A batch
 * processes each entry on its own and reports each outcome.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { outcomeForError, type PlannedEntry, planBundle, rewriteReferences } from '@medledger/fhir';
import type { AccessPolicy } from '../access/AccessPolicy.js';
import type { FhirResource, PreparedWrite, RecordService, StoredResource } from './RecordService.js';

/** Entries sealed and stored at once within a transaction. */
const PREPARE_CONCURRENCY = 32;

interface EntryResult {
  response: { status: string; location?: string; etag?: string; lastModified?: string; outcome?: unknown };
  resource?: unknown;
}

function withPath(error: unknown, index: number): unknown {
  if (error instanceof MdlError) {
    const issues = (error as MdlError & { issues?: { expression?: string[] }[] }).issues;
    if (issues)
      for (const i of issues)
        i.expression = (i.expression ?? []).map((e) => `Bundle.entry[${index}].resource.${e}`);
    else
      (error as MdlError & { issues?: unknown }).issues = [
        {
          severity: 'error',
          code: 'invalid',
          diagnostics: error.message,
          expression: [`Bundle.entry[${index}]`],
        },
      ];
  }
  return error;
}

export class BundleProcessor {
  readonly #records: RecordService;

  readonly #access: AccessPolicy | undefined;

  constructor(records: RecordService, access?: AccessPolicy) {
    this.#records = records;
    this.#access = access;
  }

  /**
   * `representation` echoes each entry's resource in the response (FHIR `Prefer: return=representation`); the
   * default is minimal — status, location, ETag — which is what bulk loads need.
   */
  async process(body: unknown, options: { representation?: boolean } = {}): Promise<unknown> {
    const plan = planBundle(body, () => this.#records.internals.newId());
    if (!plan.ok) {
      const err = new MdlError(MdlErrorCode.BadInput, plan.issues[0]?.diagnostics ?? 'invalid bundle');
      (err as MdlError & { issues?: unknown }).issues = plan.issues;
      throw err;
    }
    const { type, entries } = plan.plan;
    const results = type === 'transaction' ? await this.#transaction(entries) : await this.#batch(entries);
    if (!options.representation) for (const r of results) if (r) delete r.resource;
    return {
      resourceType: 'Bundle',
      type: `${type}-response`,
      entry: results,
    };
  }

  /** Prepares one write entry (validated, sealed, blob stored) without touching the index. */
  async #prepare(
    e: PlannedEntry,
    remap: Map<string, string>,
  ): Promise<PreparedWrite | StoredResource | undefined> {
    const x = this.#records.internals;
    switch (e.interaction) {
      case 'create': {
        this.#access?.requireInteraction(e.resourceType, 'create');
        const resource = rewriteReferences(e.resource, remap) as FhirResource;
        if (e.ifNoneExist) {
          const existing = await x.conditionalMatch(e.resourceType, e.ifNoneExist, this.#access);
          if (existing) {
            remap.set(`${e.resourceType}/${e.id}`, `${e.resourceType}/${existing.id}`);
            return existing;
          }
        }
        // planBundle validated every entry's resource against its type; references were rewritten by us.
        await x.mayWrite(this.#access, resource, e.id!, undefined);
        return x.prepare(resource, e.id!, 1, null, null);
      }
      case 'update': {
        const resource = rewriteReferences(e.resource, remap) as FhirResource;
        const validated = resource;
        if (validated.id !== undefined && validated.id !== e.id) {
          throw new MdlError(MdlErrorCode.BadInput, 'resource id does not match the entry request URL');
        }
        this.#access?.requireInteraction(e.resourceType, 'update');
        const current = await x.current(e.resourceType, e.id!);
        await x.mayWrite(this.#access, validated, e.id!, current);
        const currentVersion = current?.version ?? null;
        if (e.ifMatch !== undefined && e.ifMatch !== `W/"${currentVersion}"`) {
          throw new MdlError(MdlErrorCode.VersionConflict, 'If-Match does not name the current version');
        }
        return x.prepare(validated, e.id!, (currentVersion ?? 0) + 1, currentVersion, current?.cid ?? null);
      }
      case 'delete':
        return undefined;
      default:
        throw new MdlError(MdlErrorCode.Unsupported, `${e.interaction} entries are not supported in bundles`);
    }
  }

  #result(p: PreparedWrite | StoredResource, created: boolean): EntryResult {
    const location = this.#records.locationOf(p);
    return {
      response: {
        status: created ? '201 Created' : '200 OK',
        location,
        etag: `W/"${p.version}"`,
        lastModified: p.lastUpdated.toISOString(),
      },
      resource: 'resource' in p ? p.resource : undefined,
    };
  }

  async #transaction(entries: PlannedEntry[]): Promise<EntryResult[]> {
    const remap = new Map<string, string>();
    const writes: PreparedWrite[] = [];
    const results: EntryResult[] = new Array(entries.length);
    const deletes = entries.filter((e) => e.interaction === 'delete');
    const work = entries.filter((e) => e.interaction !== 'delete');
    const prepareOne = async (e: PlannedEntry) => {
      try {
        const p = await this.#prepare(e, remap);
        if (p && 'cid' in p) {
          writes.push(p);
          results[e.index] = this.#result(p, p.expectedVersion === null);
        } else if (p) {
          results[e.index] = this.#result(p, false);
        }
      } catch (error) {
        throw withPath(error, e.index);
      }
    };
    // Sealing is CPU, storing blobs is I/O (an fsync each): prepare entries concurrently so the I/O overlaps —
    // unless a conditional create may re-map references, which needs processing order.
    if (work.some((e) => e.ifNoneExist !== undefined)) {
      for (const e of work) await prepareOne(e);
    } else {
      for (let i = 0; i < work.length; i += PREPARE_CONCURRENCY) {
        await Promise.all(work.slice(i, i + PREPARE_CONCURRENCY).map(prepareOne));
      }
    }
    if (deletes.length > 0) {
      throw new MdlError(MdlErrorCode.Unsupported, 'DELETE entries in transactions are not supported yet');
    }
    await this.#records.internals.commit(writes);
    return results;
  }

  async #batch(entries: PlannedEntry[]): Promise<EntryResult[]> {
    const results: EntryResult[] = new Array(entries.length);
    for (const e of entries) {
      try {
        if (e.interaction === 'delete') {
          await this.#records.delete(e.resourceType, e.id!, this.#access);
          results[e.index] = { response: { status: '204 No Content' } };
          continue;
        }
        const p = await this.#prepare(e, new Map());
        if (p && 'cid' in p) {
          await this.#records.internals.commit([p]);
          results[e.index] = this.#result(p, p.expectedVersion === null);
        } else if (p) {
          results[e.index] = this.#result(p, false);
        }
      } catch (error) {
        const { status, outcome } = outcomeForError(withPath(error, e.index));
        results[e.index] = { response: { status: String(status), outcome } };
      }
    }
    return results;
  }
}
