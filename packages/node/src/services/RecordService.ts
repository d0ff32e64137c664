/**
 * Records: the write and read paths of shared/DESIGN.md, in one place every FHIR interaction goes through.
 *
 * Write: validate → assign id/version/lastUpdated → canonicalise (RFC 8785) → seal under the patient's
 * category key (a fresh data key per version) → store the envelope as a blob named by its CID → in ONE
 * database transaction: the index row (pseudonym, category, epoch, CID, blind search tokens) and the record's
 * anchor leaf in the ledger outbox. A crash before the commit leaves at most an orphaned ciphertext blob; after
 * it, the anchorer will anchor the leaf.
 *
 * Read: index row → blob (re-hashed against its CID) → unwrap the category key → decrypt → anchor status
 * (anchored with a verifying inclusion proof, or pending).
 *
 * Authorisation: every public method takes the caller's AccessPolicy (absent: unrestricted, for the node's own
 * internal use). Reads check each version before its blob is opened; searches, history and $everything carry
 * the policy's filter into the index query; writes are checked before anything is sealed or stored. Denied
 * reads, updates and deletes of patient data answer 404, exactly as for a record that does not exist.
 */
import { DataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import {
  bytesToHex,
  bytesToUtf8,
  type CategoryKey,
  canonicalBytes,
  derivePatientPseudonym,
  hexToBytes,
  leafHash,
  openRecord,
  sealRecord,
  verifyInclusion,
} from '@medledger/crypto';
import { dataCategoryOf, parseSince, patientReferenceOf, validateResource } from '@medledger/fhir';
import {
  type AnchorStatus,
  type anchorStatus,
  type anchorStatuses,
  BatchTreeCache,
  type enqueueLeaves,
  type LedgerClient,
  type verifyAnchored,
} from '@medledger/ledger';
import {
  type BlobStore,
  type Db,
  type IndexedVersion,
  MAX_PAGE_SIZE,
  type Queryable,
  type RecordIndex,
} from '@medledger/storage';
import type { AccessPolicy, RecordFacts } from '../access/AccessPolicy.js';
import { declaredChainPseudonym, type PatientLinks } from '../access/PatientLinks.js';
import { BundleProcessor } from './BundleProcessor.js';
import type { CategoryKeyRing } from './CategoryKeyRing.js';
import { Searcher } from './Searcher.js';

export type FhirResource = Record<string, unknown> & { resourceType: string; id?: string };

export interface StoredResource {
  type: string;
  id: string;
  version: number;
  lastUpdated: Date;
  resource: FhirResource;
  anchor: 'anchored' | 'pending';
}

export interface RecordServiceDeps {
  db: Db;
  index: RecordIndex;
  blobs: BlobStore;
  anchors: {
    enqueueLeaves: typeof enqueueLeaves;
    anchorStatus: typeof anchorStatus;
    anchorStatuses: typeof anchorStatuses;
    verifyAnchored: typeof verifyAnchored;
  };
  /** For `$verify`: the ledger and the node's composite public key that signs batch roots. */
  verifier: { ledger: LedgerClient; publicKey: Uint8Array };
  keys: CategoryKeyRing;
  /** Links between local patients and their on-chain pseudonyms (Patient.identifier, see PatientLinks). */
  links: PatientLinks;
  /** Keyed derivations: pseudonyms and blind-index tokens (from the node master secret). */
  pseudonymKey: Uint8Array;
  indexKey: Uint8Array;
  /** The node's key id, recorded as the author in record commitments. */
  authorKeyId: string;
  /** The public FHIR base URL (late-bound: with port 0 it is known only once the server listens). */
  baseUrl: () => string;
  newId: () => string;
  now?: () => Date;
  /**
   * BENCHMARK ONLY (MEDLEDGER_BENCH_PLAINTEXT_BASELINE=1): store canonical JSON unencrypted and anchor nothing,
   * so the benchmark can measure what encryption and anchoring cost. Never set on a node holding real data.
   */
  plaintextBaseline?: boolean;
}

/** A write prepared outside the transaction (validated, sealed, blob stored), applied inside it. */
interface PreparedWrite {
  type: string;
  id: string;
  expectedVersion: number | null;
  version: number;
  cid: string | null;
  deleted: boolean;
  lastUpdated: Date;
  pseudonym: Uint8Array;
  category: DataCategory;
  epoch: number;
  tokens: { param: string; token: string }[];
  resource: FhirResource | undefined;
  /** CID of the version this one replaces (null for a create or after a delete), chained in the commitment. */
  previousCid: string | null;
}

const DIRECTORY = 'urn:medledger:directory';

const notFound = () => new MdlError(MdlErrorCode.NotFound, 'resource not found');
const factsOf = (row: IndexedVersion): RecordFacts => ({
  type: row.type,
  pseudonym: row.pseudonym!,
  category: row.category as DataCategory,
});
const PATIENT = 'urn:medledger:patient';
const UNASSIGNED = 'urn:medledger:unassigned';

export class RecordService {
  readonly #d: RecordServiceDeps;
  readonly #search: Searcher;
  readonly #batchTrees = new BatchTreeCache();

  constructor(deps: RecordServiceDeps) {
    this.#d = deps;
    this.#search = new Searcher(deps.indexKey);
  }

  locationOf(s: { type: string; id: string; version: number }): string {
    return `${this.#d.baseUrl()}/${s.type}/${s.id}/_history/${s.version}`;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Pseudonyms, categories and tokens

  /** The pseudonym records are filed under: the patient's, or the node directory's for non-patient data. */
  #pseudonymOf(resource: FhirResource): { pseudonym: Uint8Array; category: DataCategory } {
    const category = dataCategoryOf(resource.resourceType);
    if (category === undefined) {
      return {
        pseudonym: this.#derive(DIRECTORY, resource.resourceType),
        category: DataCategory.Demographics,
      };
    }
    const ref = patientReferenceOf(resource);
    const m = ref ? /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(ref) : null;
    if (m) return { pseudonym: this.#derive(PATIENT, m[1]!), category };
    return { pseudonym: this.#derive(UNASSIGNED, ref ?? 'none'), category };
  }

  #derive(system: string, value: string): Uint8Array {
    return hexToBytes(derivePatientPseudonym(this.#d.pseudonymKey, system, value).slice(2));
  }

  /** Pseudonym of a patient by id (for $everything). */
  patientPseudonym(id: string): Uint8Array {
    return this.#derive(PATIENT, id);
  }

  /** The pseudonym non-patient resources of a type are filed under. */
  directoryPseudonym(type: string): Uint8Array {
    return this.#derive(DIRECTORY, type);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Access checks (the decisions are AccessPolicy's)

  /** A version the caller may not read is, to them, a version that does not exist. */
  async #mayRead(row: IndexedVersion, access: AccessPolicy | undefined): Promise<void> {
    access?.touch(factsOf(row));
    if (access && !access.unrestricted && !(await access.canRead(factsOf(row)))) throw notFound();
  }

  /**
   * Checked before anything is sealed: the current version (if any) must be writable by the caller — else
   * 404, as if it did not exist — and so must the new one, filed where its content puts it — else 403.
   */
  async #mayWrite(
    access: AccessPolicy | undefined,
    resource: FhirResource,
    id: string,
    current: IndexedVersion | undefined,
  ): Promise<void> {
    if (!access) return;
    if (current) access.touch(factsOf(current));
    const { pseudonym, category } = this.#pseudonymOf({ ...resource, id });
    access.touch({ type: resource.resourceType, pseudonym });
    if (access.unrestricted) return;
    if (current && !current.deleted && !(await access.canWrite(factsOf(current)))) throw notFound();
    if (!(await access.canWrite({ type: resource.resourceType, pseudonym, category }))) {
      throw new MdlError(MdlErrorCode.Forbidden, 'not permitted to write this record');
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Writes

  #validate(body: unknown, type: string, id?: string): FhirResource {
    const result = validateResource(body);
    if (!result.ok) {
      const err = new MdlError(MdlErrorCode.BadInput, result.issues[0]?.diagnostics ?? 'invalid resource');
      (err as MdlError & { issues?: unknown }).issues = result.issues;
      throw err;
    }
    const resource = result.resource as FhirResource;
    if (resource.resourceType !== type) {
      throw new MdlError(MdlErrorCode.BadInput, 'resourceType does not match the request URL');
    }
    if (id !== undefined && resource.id !== undefined && resource.id !== id) {
      throw new MdlError(MdlErrorCode.BadInput, 'resource id does not match the request URL');
    }
    return resource;
  }

  /** Seals and stores the blob of one new version; nothing in the index yet. */
  async #prepare(
    q: Queryable,
    resource: FhirResource,
    id: string,
    version: number,
    expectedVersion: number | null,
    previousCid: string | null,
  ): Promise<PreparedWrite> {
    const lastUpdated = this.#d.now?.() ?? new Date();
    const stored: FhirResource = {
      ...resource,
      id,
      meta: {
        ...(resource.meta as object | undefined),
        versionId: String(version),
        lastUpdated: lastUpdated.toISOString(),
      },
    };
    const { pseudonym, category } = this.#pseudonymOf(stored);
    declaredChainPseudonym(stored); // a malformed link is refused before anything is stored
    let epoch = 0;
    let blob: Uint8Array;
    if (this.#d.plaintextBaseline) {
      blob = canonicalBytes(stored);
    } else {
      const key = await this.#d.keys.current(q, pseudonym, category);
      epoch = key.ref.epoch;
      blob = sealRecord(
        key,
        { recordId: `${stored.resourceType}/${id}`, recordVersion: version },
        canonicalBytes(stored),
      );
    }
    const cid = await this.#d.blobs.put(blob);
    return {
      type: stored.resourceType,
      id,
      expectedVersion,
      version,
      cid,
      deleted: false,
      lastUpdated,
      pseudonym,
      category,
      epoch,
      tokens: this.#search.tokensOf(stored),
      resource: stored,
      previousCid,
    };
  }

  /** Applies prepared writes in one transaction: index rows and anchor leaves commit together or not at all. */
  async #commit(writes: PreparedWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.#d.db.transaction(async (tx) => {
      await this.#d.index.writeVersions(
        tx,
        writes.map((w) => ({
          type: w.type,
          id: w.id,
          expectedVersion: w.expectedVersion,
          cid: w.cid,
          lastUpdated: w.lastUpdated,
          pseudonym: w.pseudonym,
          category: w.category,
          epoch: w.epoch,
          deleted: w.deleted,
          tokens: w.tokens,
        })),
      );
      for (const w of writes) {
        const chain = w.resource && declaredChainPseudonym(w.resource);
        if (chain) await this.#d.links.link(tx, w.pseudonym, chain);
      }
      if (this.#d.plaintextBaseline) return;
      await this.#d.anchors.enqueueLeaves(
        tx,
        writes.map((w) => ({
          kind: 'record',
          sourceKey: `${w.type}/${w.id}/_history/${w.version}`,
          leafHash: leafHash(this.#commitment(w, w.previousCid)),
        })),
      );
    });
  }

  /**
   * The record commitment that is anchored: record id, version, CID, patient pseudonym, author and the
   * previous version's CID (so a version chain cannot be rewritten), canonical JSON.
   */
  #commitment(
    w: Pick<PreparedWrite, 'type' | 'id' | 'version' | 'cid' | 'deleted' | 'pseudonym'>,
    previousCid: string | null,
  ): Uint8Array {
    return canonicalBytes({
      type: w.type,
      id: w.id,
      version: w.version,
      cid: w.cid,
      deleted: w.deleted,
      pseudonym: bytesToHex(w.pseudonym),
      author: this.#d.authorKeyId,
      previous: previousCid,
    });
  }

  async create(
    type: string,
    body: unknown,
    options: { ifNoneExist?: string | undefined } = {},
    access?: AccessPolicy,
  ): Promise<{ stored: StoredResource; created: boolean }> {
    access?.requireInteraction(type, 'create');
    const resource = this.#validate(body, type);
    if (options.ifNoneExist !== undefined) {
      const existing = await this.#conditionalMatch(type, options.ifNoneExist, access);
      if (existing) return { stored: existing, created: false };
    }
    const id = this.#d.newId();
    await this.#mayWrite(access, resource, id, undefined);
    const w = await this.#prepare(this.#d.db, resource, id, 1, null, null);
    await this.#commit([w]);
    return { stored: this.#storedOf(w), created: true };
  }

  async update(
    type: string,
    id: string,
    body: unknown,
    options: { ifMatch?: number | undefined } = {},
    access?: AccessPolicy,
  ): Promise<{ stored: StoredResource; created: boolean }> {
    checkId(id);
    access?.requireInteraction(type, 'update');
    const resource = this.#validate(body, type, id);
    if (resource.id === undefined)
      throw new MdlError(MdlErrorCode.BadInput, 'an update must carry the resource id');
    const current = await this.#d.index.current(this.#d.db, type, id);
    await this.#mayWrite(access, resource, id, current);
    const currentVersion = current?.version ?? null;
    if (options.ifMatch !== undefined && options.ifMatch !== currentVersion) {
      throw new MdlError(MdlErrorCode.VersionConflict, 'If-Match does not name the current version');
    }
    const w = await this.#prepare(
      this.#d.db,
      resource,
      id,
      (currentVersion ?? 0) + 1,
      currentVersion,
      current?.cid ?? null,
    );
    await this.#commit([w]);
    return { stored: this.#storedOf(w), created: currentVersion === null };
  }

  async delete(type: string, id: string, access?: AccessPolicy): Promise<void> {
    checkId(id);
    access?.requireInteraction(type, 'delete');
    const current = await this.#d.index.current(this.#d.db, type, id);
    if (!current || current.deleted) return; // FHIR: deleting a missing or deleted resource succeeds
    access?.touch(factsOf(current));
    if (access && !access.unrestricted && !(await access.canWrite(factsOf(current)))) throw notFound();
    await this.#commit([
      {
        type,
        id,
        expectedVersion: current.version,
        version: current.version + 1,
        cid: null,
        deleted: true,
        lastUpdated: this.#d.now?.() ?? new Date(),
        pseudonym: current.pseudonym!,
        category: current.category as DataCategory,
        epoch: current.epoch ?? 0,
        tokens: [],
        resource: undefined,
        previousCid: current.cid,
      },
    ]);
  }

  #storedOf(w: PreparedWrite): StoredResource {
    return {
      type: w.type,
      id: w.id,
      version: w.version,
      lastUpdated: w.lastUpdated,
      resource: w.resource!,
      anchor: 'pending',
    };
  }

  // ---------------------------------------------------------------------------------------------------------
  // Reads

  async read(type: string, id: string, access?: AccessPolicy): Promise<StoredResource> {
    checkId(id);
    access?.requireInteraction(type, 'read');
    const row = await this.#d.index.current(this.#d.db, type, id);
    if (!row) throw notFound();
    await this.#mayRead(row, access);
    if (row.deleted) throw new MdlError(MdlErrorCode.Gone, 'resource was deleted');
    return this.#load(row);
  }

  async vread(type: string, id: string, version: number, access?: AccessPolicy): Promise<StoredResource> {
    checkId(id);
    access?.requireInteraction(type, 'read');
    const row = await this.#d.index.version(this.#d.db, type, id, version);
    if (!row) throw new MdlError(MdlErrorCode.NotFound, 'version not found');
    await this.#mayRead(row, access);
    if (row.deleted) throw new MdlError(MdlErrorCode.Gone, 'this version is a deletion');
    return this.#load(row);
  }

  /** Blob → CID check → decrypt with the category key → anchor status. */
  async #load(row: IndexedVersion, prefetched?: AnchorStatus | null): Promise<StoredResource> {
    // The blob read (file I/O) and the anchor status (a query) do not depend on each other.
    const sourceKey = `${row.type}/${row.id}/_history/${row.version}`;
    const [envelope, status] = await Promise.all([
      this.#d.blobs.get(row.cid!),
      prefetched !== undefined || this.#d.plaintextBaseline
        ? prefetched
        : this.#d.anchors.anchorStatus(this.#d.db, sourceKey, this.#batchTrees),
    ]);
    if (this.#d.plaintextBaseline) {
      const resource = JSON.parse(bytesToUtf8(envelope)) as FhirResource;
      return {
        type: row.type,
        id: row.id,
        version: row.version,
        lastUpdated: row.lastUpdated,
        resource,
        anchor: 'pending',
      };
    }
    const key = await this.#d.keys.resolve(this.#d.db, {
      pseudonym: row.pseudonym!,
      category: row.category as DataCategory,
      epoch: row.epoch ?? 0,
    });
    const { header, plaintext } = openRecord(envelope, () => key);
    if (header.recordId !== `${row.type}/${row.id}` || header.recordVersion !== row.version) {
      throw new MdlError(MdlErrorCode.DecryptFailed, 'envelope does not belong to this index row');
    }
    const resource = JSON.parse(bytesToUtf8(plaintext)) as FhirResource;
    return {
      type: row.type,
      id: row.id,
      version: row.version,
      lastUpdated: row.lastUpdated,
      resource,
      anchor: this.#anchored(status ?? null),
    };
  }

  #anchored(s: AnchorStatus | null): 'anchored' | 'pending' {
    if (
      s?.state !== 'anchored' ||
      !s.proof ||
      !s.root ||
      s.leafIndex === undefined ||
      s.treeSize === undefined
    ) {
      return 'pending';
    }
    return verifyInclusion(s.leafHash, s.leafIndex, s.treeSize, s.proof, s.root) ? 'anchored' : 'pending';
  }

  /** Loads a page of rows with one anchor-status query for all of them. */
  async #loadMany(rows: IndexedVersion[]): Promise<StoredResource[]> {
    const keys = rows.map((r) => `${r.type}/${r.id}/_history/${r.version}`);
    const statuses = this.#d.plaintextBaseline
      ? new Map<string, AnchorStatus>()
      : await this.#d.anchors.anchorStatuses(this.#d.db, keys, this.#batchTrees);
    return Promise.all(rows.map((r, i) => this.#load(r, statuses.get(keys[i]!) ?? null)));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Search, history, $everything, bundles: see Searcher and BundleProcessor

  async #conditionalMatch(
    type: string,
    criteria: string,
    access: AccessPolicy | undefined,
  ): Promise<StoredResource | undefined> {
    const params = new URLSearchParams(criteria.replace(/^.*\?/, ''));
    params.set('_count', '2');
    const filter = await access?.filter([type]);
    const page = await this.#search.run(this.#d.db, this.#d.index, type, params, filter);
    if (page.rows.length > 1)
      throw new MdlError(MdlErrorCode.MultipleMatches, 'the condition matches more than one resource');
    if (page.rows[0]) access?.touch(factsOf(page.rows[0]));
    return page.rows[0] ? this.#load(page.rows[0]) : undefined;
  }

  /** A searchset entry for a matched resource. */
  #match(e: StoredResource) {
    return {
      fullUrl: `${this.#d.baseUrl()}/${e.type}/${e.id}`,
      resource: e.resource,
      search: { mode: 'match' },
    };
  }

  async search(type: string, params: URLSearchParams, access?: AccessPolicy): Promise<unknown> {
    access?.requireInteraction(type, 'search');
    const filter = await access?.filter([type]);
    const page = await this.#search.run(this.#d.db, this.#d.index, type, params, filter);
    for (const row of page.rows) access?.touch(factsOf(row));
    const entries = await this.#loadMany(page.rows);
    return this.#bundle(
      'searchset',
      `${this.#d.baseUrl()}/${type}`,
      params,
      page.offset,
      page.count,
      page.hasMore,
      entries.map((e) => this.#match(e)),
    );
  }

  async everything(patientId: string, params: URLSearchParams, access?: AccessPolicy): Promise<unknown> {
    checkId(patientId);
    const patient = await this.read('Patient', patientId, access);
    const { count, offset } = this.#search.paging(params);
    const filter = await access?.filter([]);
    const page = await this.#d.index.compartment(this.#d.db, this.patientPseudonym(patientId), {
      count,
      offset,
      ...(filter ? { access: filter } : {}),
    });
    const rows = page.rows.filter((r) => !(r.type === 'Patient' && r.id === patientId));
    for (const row of rows) access?.touch(factsOf(row));
    const entries = await this.#loadMany(rows);
    const all = offset === 0 ? [patient, ...entries] : entries;
    return this.#bundle(
      'searchset',
      `${this.#d.baseUrl()}/Patient/${patientId}/$everything`,
      params,
      offset,
      count,
      page.hasMore,
      all.map((e) => this.#match(e)),
    );
  }

  async history(
    scope: { type?: string; id?: string },
    params: URLSearchParams,
    access?: AccessPolicy,
  ): Promise<unknown> {
    if (scope.id !== undefined) checkId(scope.id);
    if (scope.type !== undefined) access?.requireInteraction(scope.type, 'read');
    else if (access && !access.unrestricted && access.caller.kind === 'person') {
      // System-wide history would list every type's directory: people ask per type.
      throw new MdlError(MdlErrorCode.Forbidden, 'system-wide history is for the organisation only');
    }
    const filter = await access?.filter(scope.type ? [scope.type] : []);
    const { count, offset } = this.#search.paging(params);
    const sinceRaw = params.get('_since');
    const parsedSince = sinceRaw === null ? undefined : parseSince(sinceRaw);
    if (parsedSince?.ok === false) {
      const err = new MdlError(MdlErrorCode.BadInput, parsedSince.issues[0]!.diagnostics);
      (err as MdlError & { issues?: unknown }).issues = parsedSince.issues;
      throw err;
    }
    const since = parsedSince?.since;
    const page = await this.#d.index.history(this.#d.db, {
      ...scope,
      ...(since ? { since } : {}),
      ...(filter ? { access: filter } : {}),
      count,
      offset,
    });
    if (scope.id !== undefined && page.rows.length === 0 && offset === 0) {
      throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
    }
    for (const row of page.rows) if (row.pseudonym) access?.touch(factsOf(row));
    const entries = await Promise.all(
      page.rows.map(async (r) => {
        const url = `${this.#d.baseUrl()}/${r.type}/${r.id}`;
        const request = {
          method: r.deleted ? 'DELETE' : r.version === 1 ? 'POST' : 'PUT',
          url: `${r.type}/${r.id}`,
        };
        const response = {
          status: r.deleted ? '204' : r.version === 1 ? '201' : '200',
          lastModified: r.lastUpdated.toISOString(),
        };
        return r.deleted
          ? { fullUrl: url, request, response }
          : { fullUrl: url, resource: (await this.#load(r)).resource, request, response };
      }),
    );
    const base = [this.#d.baseUrl(), scope.type, scope.id].filter(Boolean).join('/');
    return this.#bundle('history', `${base}/_history`, params, offset, count, page.hasMore, entries);
  }

  /** A Bundle with self/next/previous links and, deliberately, no `total` (totals leak what is hidden). */
  #bundle(
    type: 'searchset' | 'history',
    url: string,
    params: URLSearchParams,
    offset: number,
    count: number,
    hasMore: boolean,
    entry: unknown[],
  ): unknown {
    const link = (o: number) => {
      const p = new URLSearchParams(params);
      p.set('_count', String(count));
      p.set('_offset', String(o));
      return `${url}?${p}`;
    };
    const links = [{ relation: 'self', url: link(offset) }];
    if (hasMore) links.push({ relation: 'next', url: link(offset + count) });
    if (offset > 0) links.push({ relation: 'previous', url: link(Math.max(0, offset - count)) });
    return { resourceType: 'Bundle', type, link: links, entry };
  }

  /** Counts from the index, for $status and metrics. */
  indexStats() {
    return this.#d.index.stats(this.#d.db);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Exchange (custodian side, see exchange/)

  /**
   * The current versions of one patient's records in the given categories exactly as stored — sealed envelopes
   * with their CIDs — and the category keys they are sealed under: what a cross-organisation exchange releases.
   * No access check here: the exchange decides on the ledger before calling. At most `limit` records;
   * `complete` is false when the patient has more (the caller refuses, or the requester pages with `since`).
   */
  async sealedRecordsOf(
    pseudonym: Uint8Array,
    categories: readonly DataCategory[],
    options: { since?: Date | undefined; limit: number },
  ): Promise<{
    records: { type: string; id: string; cid: string; envelope: Uint8Array }[];
    keys: CategoryKey[];
    complete: boolean;
  }> {
    if (this.#d.plaintextBaseline) {
      throw new MdlError(
        MdlErrorCode.Unsupported,
        'the plaintext benchmark baseline cannot exchange records',
      );
    }
    const rows: IndexedVersion[] = [];
    const seen = new Set<string>();
    let hasMore = true;
    for (let offset = 0; hasMore && rows.length <= options.limit; ) {
      const page = await this.#d.index.compartment(this.#d.db, pseudonym, {
        count: MAX_PAGE_SIZE,
        offset,
        categories,
        ...(options.since ? { since: options.since } : {}),
      });
      offset += page.rows.length;
      hasMore = page.hasMore;
      for (const row of page.rows) {
        if (row.cid && !seen.has(row.cid)) {
          seen.add(row.cid);
          rows.push(row);
        }
      }
    }
    const complete = rows.length <= options.limit;
    const chosen = rows.slice(0, options.limit);
    const keys = new Map<string, CategoryKey>();
    for (const row of chosen) {
      const ref = { pseudonym, category: row.category as DataCategory, epoch: row.epoch ?? 0 };
      const slot = `${ref.category}/${ref.epoch}`;
      if (keys.has(slot)) continue;
      const key = await this.#d.keys.resolve(this.#d.db, ref);
      if (!key) throw new MdlError(MdlErrorCode.KeyNotFound, 'a category key of this record is missing');
      keys.set(slot, key);
    }
    const envelopes = await Promise.all(chosen.map((row) => this.#d.blobs.get(row.cid!)));
    return {
      records: chosen.map((row, i) => ({
        type: row.type,
        id: row.id,
        cid: row.cid!,
        envelope: envelopes[i]!,
      })),
      keys: [...keys.values()],
      complete,
    };
  }

  // ---------------------------------------------------------------------------------------------------------
  // Verification (medledger verify)

  /**
   * Checks every stored record version: its blob exists and matches its CID, it decrypts under the category key
   * and belongs to its index row, and its recomputed commitment is anchored (inclusion proof, composite
   * signature over the batch root, transaction receipt with the matching BatchAnchored event). Problems are
   * reported by record address only — never with content.
   */
  async verifyAll(): Promise<{ checked: number; anchored: number; pending: number; problems: string[] }> {
    const report = { checked: 0, anchored: 0, pending: 0, problems: [] as string[] };
    // A batch holds up to a thousand records: fetch each anchoring transaction's receipt once.
    const context = { ...this.#d.verifier, receipts: new Map() };
    for await (const row of this.#d.index.allVersions(this.#d.db)) {
      report.checked++;
      const where = `${row.type}/${row.id}/_history/${row.version}`;
      if (!row.deleted) {
        try {
          await this.#load(row);
        } catch (error) {
          report.problems.push(`${where}: ${error instanceof MdlError ? error.message : 'unreadable'}`);
          continue;
        }
      }
      const previous =
        row.version > 1
          ? await this.#d.index.version(this.#d.db, row.type, row.id, row.version - 1)
          : undefined;
      const leaf = leafHash(
        this.#commitment(
          {
            type: row.type,
            id: row.id,
            version: row.version,
            cid: row.cid,
            deleted: row.deleted,
            pseudonym: row.pseudonym!,
          },
          previous?.cid ?? null,
        ),
      );
      const status = await this.#d.anchors.anchorStatus(this.#d.db, where, this.#batchTrees);
      if (!status) {
        report.problems.push(`${where}: no anchor leaf was queued`);
      } else if (status.state !== 'anchored') {
        report.pending++;
      } else if (await this.#d.anchors.verifyAnchored(this.#d.db, where, leaf, context)) {
        report.anchored++;
      } else {
        report.problems.push(`${where}: anchor does not verify against the record, its batch or the chain`);
      }
    }
    return report;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Bundles (transaction and batch)

  /** Used by BundleProcessor: validation, preparation and commit of many writes at once. */
  get internals() {
    return {
      validate: (body: unknown, type: string, id?: string) => this.#validate(body, type, id),
      prepare: (
        resource: FhirResource,
        id: string,
        version: number,
        expected: number | null,
        previousCid: string | null,
      ) => this.#prepare(this.#d.db, resource, id, version, expected, previousCid),
      commit: (writes: PreparedWrite[]) => this.#commit(writes),
      storedOf: (w: PreparedWrite) => this.#storedOf(w),
      conditionalMatch: (type: string, criteria: string, access: AccessPolicy | undefined) =>
        this.#conditionalMatch(type, criteria, access),
      mayWrite: (
        access: AccessPolicy | undefined,
        resource: FhirResource,
        id: string,
        current: IndexedVersion | undefined,
      ) => this.#mayWrite(access, resource, id, current),
      current: (type: string, id: string) => this.#d.index.current(this.#d.db, type, id),
      newId: () => this.#d.newId(),
    };
  }

  /** A transaction or batch Bundle (see BundleProcessor). */
  bundle(body: unknown, options: { representation?: boolean } = {}, access?: AccessPolicy): Promise<unknown> {
    return new BundleProcessor(this, access).process(body, options);
  }
}

export type { PreparedWrite };

function checkId(id: string): void {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
}
