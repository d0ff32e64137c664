/**
 * Records: the write and read paths (docs/node.md), in one place every FHIR interaction goes through.
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
 * Authorisation: nothing here is reachable without an AccessPolicy. Callers obtain a `Records` for a request's
 * access (`for(access)`) or, for the node's own code, for a named purpose (`system(purpose)`); every read, write,
 * search, history and `$everything` of it asks the one decision (access/decide.ts) — reads before a blob is
 * opened, writes before anything is sealed, list queries by the filter the decision builds, inside the index
 * query. A record the caller may not see answers exactly as one that does not exist: 404 "resource not found"
 * for read, vread, update, delete and history alike. Transaction bundles go through the same operations, their
 * writes committed together (`Records.transaction`).
 */

import type { ConsentIndex } from '@medledger/consent';
import { DataCategory, MdlError, MdlErrorCode, type RecordCategory, UNCATEGORISED } from '@medledger/core';
import {
  bytesToHex,
  bytesToUtf8,
  type CategoryKey,
  canonicalBytes,
  derivePatientPseudonym,
  equalBytes,
  hexToBytes,
  leafHash,
  openRecord,
  sealRecord,
  verifyInclusion,
} from '@medledger/crypto';
import {
  classifyResource,
  demographicsOf,
  MATCH_GRADE_URL,
  MAX_MATCH_COUNT,
  matchSearches,
  parseEverythingParameters,
  parseMatchParameters,
  parseSince,
  RESOURCE_TYPES,
  scoreMatch,
  searchParametersOf,
  validateResource,
  withinCareDates,
} from '@medledger/fhir';
import type { Interaction } from '@medledger/identity';
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
  type SearchQuery,
} from '@medledger/storage';
import { type AccessDeps, AccessPolicy, type RecordFacts } from '../access/AccessPolicy.js';
import type { Caller } from '../access/Caller.js';
import { declaredChainPseudonym, type PatientLinks } from '../access/PatientLinks.js';
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
  /** The consent index every decision about another patient's records reads. */
  consent: ConsentIndex;
  /** This node's organisation in the ConsortiumRegistry. */
  organisation: number;
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
   * BENCHMARK ONLY (startNode's benchmarkPlaintextBaseline, which no configuration reaches): store canonical
   * JSON unencrypted and anchor nothing, so the benchmark can measure what encryption and anchoring cost.
   */
  plaintextBaseline?: boolean;
  /**
   * Told of every committed write, after its database transaction committed (subscriptions/). Facts only —
   * type, id, version, pseudonym, category and the system-owned identifier systems it carries — never content.
   * It must not throw or block: it queues what it needs.
   */
  onCommit?: (writes: readonly CommittedWrite[]) => void;
}

/** What a committed write tells its listener (see RecordServiceDeps.onCommit). */
export interface CommittedWrite {
  type: string;
  id: string;
  version: number;
  deleted: boolean;
  lastUpdated: Date;
  pseudonym: Uint8Array;
  category: RecordCategory;
  systemOwned: boolean;
  /** The system-owned identifier systems on the version (a consent grant's, a break-glass notice's). */
  markers: readonly string[];
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
  category: RecordCategory;
  epoch: number;
  systemOwned: boolean;
  tokens: { param: string; token: string }[];
  resource: FhirResource | undefined;
  /** CID of the version this one replaces (null for a create or after a delete), chained in the commitment. */
  previousCid: string | null;
}

const DIRECTORY = 'urn:medledger:directory';

/** The one answer for a record that does not exist and for one the caller may not see. */
const notFound = () => new MdlError(MdlErrorCode.NotFound, 'resource not found');
const factsOf = (row: IndexedVersion): RecordFacts => ({
  type: row.type,
  pseudonym: row.pseudonym!,
  category: row.category as RecordCategory,
  systemOwned: row.systemOwned || row.type === 'Consent',
});

/** Identifier systems only the node's own routes may put on a record (a consent's grant, a break-glass notice). */
export const SYSTEM_OWNED_IDENTIFIERS: ReadonlySet<string> = new Set([
  'urn:medledger:consent-id',
  'urn:medledger:break-glass-session',
]);

/** Consent records and break-glass notices: changed only through their own routes. */
function isSystemOwned(resource: FhirResource): boolean {
  if (resource.resourceType === 'Consent') return true;
  const identifiers = Array.isArray(resource.identifier)
    ? (resource.identifier as { system?: unknown }[])
    : [];
  return identifiers.some((i) => typeof i?.system === 'string' && SYSTEM_OWNED_IDENTIFIERS.has(i.system));
}

/** The FHIR category codings of a resource (Observation.category, Condition.category…), for `?category=` scopes. */
function codingsOf(resource: FhirResource): { system?: string; code?: string }[] {
  const raw = resource.category;
  const concepts = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) as { coding?: unknown }[];
  return concepts.flatMap((c) =>
    Array.isArray(c?.coding) ? (c.coding as { system?: string; code?: string }[]) : [],
  );
}

/** One record version's place in the index order (type, id, version): where a paged verification resumes. */
export interface VersionKey {
  type: string;
  id: string;
  version: number;
}

export interface CreateOptions {
  /** FHIR conditional create: the search that, if it matches (under the caller's access), is the result. */
  ifNoneExist?: string | undefined;
  /** The id a bundle's plan assigned to this entry (server-generated, so references to it could be rewritten). */
  plannedId?: string | undefined;
}

export interface SealedCompartment {
  records: { type: string; id: string; cid: string; envelope: Uint8Array }[];
  keys: CategoryKey[];
  /** False when the patient has more records than `limit` (the caller refuses, or pages with `since`). */
  complete: boolean;
}

/** Writes collected by a transaction, committed together when it ends. */
interface WriteUnit {
  writes: PreparedWrite[];
}

/**
 * Record operations for one caller: what every route, feature and bundle uses. Obtained from
 * `RecordService.for(access)` (a request) or `RecordService.system(purpose)` (the node's own code).
 */
export interface Records {
  readonly access: AccessPolicy;
  read(type: string, id: string): Promise<StoredResource>;
  vread(type: string, id: string, version: number): Promise<StoredResource>;
  search(type: string, params: URLSearchParams): Promise<unknown>;
  /**
   * How many resources a type search matches among those this caller may see (FHIR `_summary=count`): the
   * search's own query, access filter inside, counted by the database — hidden resources are never counted.
   */
  count(type: string, params: URLSearchParams): Promise<number>;
  /**
   * The matches of one page of a type search for this caller as index entries only (nothing is decrypted): what
   * a chained parameter or a system-level merge needs before it loads anything.
   */
  searchIds(
    type: string,
    params: URLSearchParams,
  ): Promise<{ matches: { id: string; lastUpdated: Date }[]; hasMore: boolean }>;
  history(scope: { type?: string; id?: string }, params: URLSearchParams): Promise<unknown>;
  everything(patientId: string, params: URLSearchParams): Promise<unknown>;
  /**
   * FHIR `Patient/$match`: candidates found through the blind index among the patients this caller may
   * search (a patient finds only themself), decrypted and scored (fhir patientMatch.ts); a searchset Bundle.
   */
  matchPatients(parameters: unknown): Promise<unknown>;
  create(
    type: string,
    body: unknown,
    options?: CreateOptions,
  ): Promise<{ stored: StoredResource; created: boolean }>;
  update(
    type: string,
    id: string,
    body: unknown,
    options?: { ifMatch?: number | undefined },
  ): Promise<{ stored: StoredResource; created: boolean }>;
  delete(type: string, id: string, options?: { ifMatch?: number | undefined }): Promise<void>;
  /**
   * The ids of the current resources a conditional interaction's search matches, searched under the caller's
   * access (a record they may not see never matches): at most two, which is enough to tell none, one and several.
   */
  matches(type: string, criteria: string): Promise<string[]>;
  /**
   * The current versions of one patient's records in the given categories exactly as stored — sealed
   * envelopes with their CIDs — and the category keys they are sealed under: what a cross-organisation
   * exchange releases. Every category is decided for this caller first (the custodian decided for the
   * requester with the same decision; it releases with system access named for that).
   */
  sealedCompartment(
    pseudonym: Uint8Array,
    categories: readonly DataCategory[],
    options: { since?: Date | undefined; limit: number; epochs?: ReadonlyMap<DataCategory, number> },
  ): Promise<SealedCompartment>;
  /**
   * Runs `work` with Records whose writes are checked and sealed as they are made but committed together, in
   * one database transaction, when `work` returns — or not at all if it throws.
   */
  transaction<T>(work: (tx: Records) => Promise<T>): Promise<T>;
  /**
   * Bulk export (`$export`): the current resources this caller may read, a page at a time, decided as any read
   * (the caller's filter inside the index query). See ExportScope.
   */
  exportPages(scope: ExportScope, options: ExportOptions): AsyncGenerator<StoredResource[]>;
}

/**
 * What a bulk export covers: every resource (`system`), or patient compartments — of the given patients (a
 * Group's members) or, without `patients`, of every patient the caller may see something of.
 */
export type ExportScope = { kind: 'system' } | { kind: 'patients'; patients?: readonly string[] };

export interface ExportOptions {
  /** `_type`: only these resource types (absent: every type). */
  types?: readonly string[] | undefined;
  /** `_since`: only resources last updated at or after this instant. */
  since?: Date | undefined;
  /** Resources per page (default 200). */
  pageSize?: number | undefined;
}

const PATIENT = 'urn:medledger:patient';
const UNASSIGNED = 'urn:medledger:unassigned';

export class RecordService {
  readonly #d: RecordServiceDeps;
  readonly #search: Searcher;
  readonly #batchTrees = new BatchTreeCache();
  readonly #accessDeps: AccessDeps;

  constructor(deps: RecordServiceDeps) {
    this.#d = deps;
    this.#search = new Searcher(deps.indexKey);
    this.#accessDeps = {
      db: deps.db,
      consent: deps.consent,
      links: deps.links,
      organisation: deps.organisation,
      patientPseudonym: (id) => this.patientPseudonym(id),
      directoryPseudonym: (type) => this.directoryPseudonym(type),
      isDirectory: (type, pseudonym) => equalBytes(pseudonym, this.directoryPseudonym(type)),
    };
  }

  /** A request's access: the caller as the decision sees it. */
  accessFor(caller: Caller): AccessPolicy {
    return new AccessPolicy(caller, this.#accessDeps);
  }

  /** The record operations of one request. */
  for(access: AccessPolicy, unit?: WriteUnit): Records {
    const self = this;
    const records: Records = {
      access,
      read: (type, id) => self.#read(access, type, id),
      vread: (type, id, version) => self.#vread(access, type, id, version),
      search: (type, params) => self.#searchBundle(access, type, params),
      count: (type, params) => self.#count(access, type, params),
      async searchIds(type, params) {
        const page = await self.#searchPage(access, type, params);
        return {
          matches: page.rows.map((r) => ({ id: r.id, lastUpdated: r.lastUpdated })),
          hasMore: page.hasMore,
        };
      },
      history: (scope, params) => self.#history(access, scope, params),
      everything: (patientId, params) => self.#everything(access, patientId, params),
      matchPatients: (parameters) => self.#matchPatients(access, parameters),
      create: (type, body, options = {}) => self.#create(access, unit, type, body, options),
      update: (type, id, body, options = {}) => self.#update(access, unit, type, id, body, options),
      delete: (type, id, options = {}) => self.#delete(access, unit, type, id, options),
      matches: (type, criteria) => self.#matches(access, type, criteria),
      sealedCompartment: (pseudonym, categories, options) =>
        self.#sealedCompartment(access, pseudonym, categories, options),
      exportPages: (scope, options) => self.#exportPages(access, scope, options),
      async transaction(work) {
        if (unit) return work(records); // nested: part of the enclosing transaction
        const inner: WriteUnit = { writes: [] };
        const result = await work(self.for(access, inner));
        await self.#commit(inner.writes);
        return result;
      },
    };
    return records;
  }

  /**
   * Record operations for the node's own code, without a caller, named by what they are for (the name is the
   * caller id the decision and the audit trail see). Only routes that have made their own decision use it:
   * a patient's consent after the patient signed it, a break-glass notice, a patient's registration, an
   * exchange release the custodian decided.
   */
  system(purpose: string): Records {
    return this.for(AccessPolicy.system(purpose, this.#accessDeps));
  }

  /** A new server-assigned id (bundle planning assigns them before any entry is processed). */
  newId(): string {
    return this.#d.newId();
  }

  /** A resource's full URL on this node (a Bundle entry's fullUrl). */
  urlOf(type: string, id: string): string {
    return `${this.#d.baseUrl()}/${type}/${id}`;
  }

  /** This node's FHIR base URL. */
  baseUrl(): string {
    return this.#d.baseUrl();
  }

  locationOf(s: { type: string; id: string; version: number }): string {
    return `${this.#d.baseUrl()}/${s.type}/${s.id}/_history/${s.version}`;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Pseudonyms, categories and tokens

  /**
   * Where a record is filed: under its patient's pseudonym (every resource that names exactly one Patient, as
   * the R4 Patient CompartmentDefinition and the references it holds say — classifyResource), apart as
   * unassigned patient data (it names none it can be attributed to, or several), or in the directory (it names
   * no patient at all). Patient data no consent category covers is UNCATEGORISED: only the patient and the
   * organisation read it.
   */
  #pseudonymOf(resource: FhirResource): { pseudonym: Uint8Array; category: RecordCategory } {
    const c = classifyResource(resource);
    if (c.kind === 'shared') {
      return {
        pseudonym: this.#derive(DIRECTORY, resource.resourceType),
        category: DataCategory.Demographics,
      };
    }
    const category = c.category === 'uncategorised' ? UNCATEGORISED : c.category;
    const m = c.kind === 'patient' ? /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(c.patient) : null;
    if (m) return { pseudonym: this.#derive(PATIENT, m[1]!), category };
    return { pseudonym: this.#derive(UNASSIGNED, c.kind === 'patient' ? c.patient : 'none'), category };
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
  // Access checks (the decisions are decide.ts's, asked through the request's AccessPolicy)

  /** A version the caller may not read is, to them, a version that does not exist. */
  async #mayRead(access: AccessPolicy, row: IndexedVersion): Promise<void> {
    if (!(await access.may('read', factsOf(row)))) throw notFound();
  }

  /**
   * Checked before anything is sealed: the current version (if any) must be open to the caller for this
   * interaction — else 404, as if it did not exist — and so must the new one, filed where its content puts it
   * — else 403 (it reveals nothing the caller could not already see). People may not create records under
   * ids of their choosing: an update of a record that does not exist is a 404 for them too, so a PUT cannot
   * probe which ids exist.
   */
  async #mayWrite(
    access: AccessPolicy,
    interaction: Interaction,
    resource: FhirResource,
    id: string,
    current: IndexedVersion | undefined,
  ): Promise<void> {
    if (current && !(await access.may(interaction, factsOf(current)))) throw notFound();
    if (interaction === 'update' && (!current || current.deleted) && access.caller.kind === 'person') {
      access.noteRefusal();
      throw notFound();
    }
    const { pseudonym, category } = this.#pseudonymOf({ ...resource, id });
    const next = { type: resource.resourceType, pseudonym, category, systemOwned: isSystemOwned(resource) };
    if (!(await access.may(current ? interaction : 'create', next))) {
      throw new MdlError(MdlErrorCode.Forbidden, 'not permitted to write this record');
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Writes

  #validate(body: unknown, type: string, id?: string): FhirResource {
    if (type === 'Subscription') {
      // Subscriptions are the subscriber's own settings, kept apart from records (subscriptions/).
      throw new MdlError(
        MdlErrorCode.BadInput,
        'a Subscription is created with POST /fhir/Subscription (not in a bundle)',
      );
    }
    const result = validateResource(body);
    if (!result.ok) {
      throw new MdlError(MdlErrorCode.BadInput, result.issues[0]?.diagnostics ?? 'invalid resource', {
        issues: result.issues,
      });
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
      systemOwned: isSystemOwned(stored),
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
          systemOwned: w.systemOwned,
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
    if (this.#d.onCommit) {
      try {
        this.#d.onCommit(writes.map(committedWrite));
      } catch {
        // A listener's failure never fails a write that has committed.
      }
    }
  }

  /** Commits now, or adds to the enclosing transaction. */
  async #apply(unit: WriteUnit | undefined, w: PreparedWrite): Promise<void> {
    if (unit) unit.writes.push(w);
    else await this.#commit([w]);
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

  async #create(
    access: AccessPolicy,
    unit: WriteUnit | undefined,
    type: string,
    body: unknown,
    options: CreateOptions,
  ): Promise<{ stored: StoredResource; created: boolean }> {
    access.requireInteraction(type, 'create');
    const resource = this.#validate(body, type);
    if (options.ifNoneExist !== undefined) {
      const existing = await this.#conditionalMatch(access, type, options.ifNoneExist);
      if (existing) return { stored: existing, created: false };
    }
    const id = options.plannedId ?? this.#d.newId();
    await this.#mayWrite(access, 'create', resource, id, undefined);
    const w = await this.#prepare(this.#d.db, resource, id, 1, null, null);
    await this.#apply(unit, w);
    return { stored: this.#storedOf(w), created: true };
  }

  async #update(
    access: AccessPolicy,
    unit: WriteUnit | undefined,
    type: string,
    id: string,
    body: unknown,
    options: { ifMatch?: number | undefined },
  ): Promise<{ stored: StoredResource; created: boolean }> {
    checkId(id);
    access.requireInteraction(type, 'update');
    const resource = this.#validate(body, type, id);
    if (resource.id === undefined)
      throw new MdlError(MdlErrorCode.BadInput, 'an update must carry the resource id');
    const current = await this.#d.index.current(this.#d.db, type, id);
    await this.#mayWrite(access, 'update', resource, id, current);
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
    await this.#apply(unit, w);
    return { stored: this.#storedOf(w), created: currentVersion === null };
  }

  /**
   * Deletes the current version. A resource that does not exist, or that the caller may not see, is a 404;
   * deleting one already deleted (and visible to the caller) succeeds and changes nothing.
   */
  async #delete(
    access: AccessPolicy,
    unit: WriteUnit | undefined,
    type: string,
    id: string,
    options: { ifMatch?: number | undefined },
  ): Promise<void> {
    checkId(id);
    access.requireInteraction(type, 'delete');
    const current = await this.#d.index.current(this.#d.db, type, id);
    if (!current) throw notFound();
    if (!(await access.may('delete', factsOf(current)))) throw notFound();
    if (options.ifMatch !== undefined && options.ifMatch !== current.version) {
      throw new MdlError(MdlErrorCode.VersionConflict, 'If-Match does not name the current version');
    }
    if (current.deleted) return;
    await this.#apply(unit, {
      type,
      id,
      expectedVersion: current.version,
      version: current.version + 1,
      cid: null,
      deleted: true,
      lastUpdated: this.#d.now?.() ?? new Date(),
      pseudonym: current.pseudonym!,
      category: current.category as RecordCategory,
      epoch: current.epoch ?? 0,
      systemOwned: current.systemOwned,
      tokens: [],
      resource: undefined,
      previousCid: current.cid,
    });
  }

  /** See Records.matches. The search is the caller's, so its refusals (a bad parameter) are theirs too. */
  async #matches(access: AccessPolicy, type: string, criteria: string): Promise<string[]> {
    const params = new URLSearchParams(criteria.replace(/^[^?]*\?/, ''));
    if ([...params.keys()].length === 0) {
      throw new MdlError(MdlErrorCode.BadInput, 'a conditional interaction needs search criteria');
    }
    params.set('_count', '2');
    params.delete('_offset');
    const page = await this.#searchPage(access, type, params);
    return page.rows.map((r) => r.id);
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

  /**
   * The decision on one row, then its content. A caller whose scopes reach this type only under a
   * `?category=` constraint is decided on the resource's category codings, which only its content has: the
   * record is opened first, and a mismatch is, again, a record that does not exist.
   */
  async #readRow(access: AccessPolicy, row: IndexedVersion, gone: string): Promise<StoredResource> {
    if (!access.constrainedByCategory(row.type)) {
      await this.#mayRead(access, row);
      if (row.deleted) throw new MdlError(MdlErrorCode.Gone, gone);
      return this.#load(row);
    }
    const stored = row.deleted ? undefined : await this.#load(row);
    const codings = stored ? codingsOf(stored.resource) : [];
    if (!(await access.may('read', { ...factsOf(row), codings }))) throw notFound();
    if (!stored) throw new MdlError(MdlErrorCode.Gone, gone);
    return stored;
  }

  async #read(access: AccessPolicy, type: string, id: string): Promise<StoredResource> {
    checkId(id);
    access.requireInteraction(type, 'read');
    const row = await this.#d.index.current(this.#d.db, type, id);
    if (!row) throw notFound();
    return this.#readRow(access, row, 'resource was deleted');
  }

  async #vread(access: AccessPolicy, type: string, id: string, version: number): Promise<StoredResource> {
    checkId(id);
    access.requireInteraction(type, 'read');
    const row = await this.#d.index.version(this.#d.db, type, id, version);
    if (!row) throw notFound();
    return this.#readRow(access, row, 'this version is a deletion');
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
  // Search, history, $everything (the decision's filter inside the query; see Searcher)

  /** A conditional create's match, searched under the caller's access: a record they may not see never matches. */
  async #conditionalMatch(
    access: AccessPolicy,
    type: string,
    criteria: string,
  ): Promise<StoredResource | undefined> {
    const params = new URLSearchParams(criteria.replace(/^.*\?/, ''));
    params.set('_count', '2');
    const page = await this.#searchPage(access, type, params);
    if (page.rows.length > 1)
      throw new MdlError(MdlErrorCode.MultipleMatches, 'the condition matches more than one resource');
    const row = page.rows[0];
    return row ? this.#load(row) : undefined;
  }

  /** One page of a type search, filtered by the caller's access in the query (`index`: see #count). */
  async #searchPage(
    access: AccessPolicy,
    type: string,
    params: URLSearchParams,
    index: RecordIndex = this.#d.index,
  ) {
    access.requireInteraction(type, 'search');
    let filter = await access.filter([type]);
    const constraint = access.searchConstraint(type);
    if (constraint !== undefined) {
      // Only category-constrained scopes cover this search: the constraint is one more AND clause of it.
      if (constraint.length === 0 || !searchParametersOf(type).category) {
        return { rows: [], hasMore: false, count: 0, offset: 0 };
      }
      params = new URLSearchParams(params);
      params.append('category', constraint.join(','));
      filter = filter && { ...filter, types: [type] };
    }
    const page = await this.#search.run(this.#d.db, index, type, params, filter, {
      baseUrl: this.#d.baseUrl(),
    });
    for (const row of page.rows) access.touch(factsOf(row));
    return page;
  }

  /**
   * The number of matches of a search for this caller. The search is prepared exactly as for a page (the same
   * parsing, tokens, scope constraint and access filter); the index query it would run is then counted
   * instead of listed. A search that cannot match (an empty clause, a scope that covers nothing) never
   * reaches the index and counts 0.
   */
  async #count(access: AccessPolicy, type: string, params: URLSearchParams): Promise<number> {
    let query: SearchQuery | undefined;
    const probe: RecordIndex = Object.create(this.#d.index);
    probe.search = async (_q, s) => {
      query = s;
      return { rows: [], hasMore: false };
    };
    await this.#searchPage(access, type, params, probe);
    return query === undefined ? 0 : this.#d.index.count(this.#d.db, query);
  }

  /** A searchset entry for a matched resource. */
  #match(e: StoredResource) {
    return {
      fullUrl: `${this.#d.baseUrl()}/${e.type}/${e.id}`,
      resource: e.resource,
      search: { mode: 'match' },
    };
  }

  async #searchBundle(access: AccessPolicy, type: string, params: URLSearchParams): Promise<unknown> {
    const page = await this.#searchPage(access, type, params);
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

  async #matchPatients(access: AccessPolicy, parameters: unknown): Promise<unknown> {
    const parsed = parseMatchParameters(parameters);
    if (!parsed.ok) {
      throw new MdlError(MdlErrorCode.BadInput, parsed.issues[0]?.diagnostics ?? 'invalid $match input', {
        issues: parsed.issues,
      });
    }
    const { patient, onlyCertainMatches, count } = parsed.request;
    const input = demographicsOf(patient);
    const searches = matchSearches(input, MAX_MATCH_COUNT);
    if (searches.length === 0) {
      const text = 'The Patient has no identifier, name with birth date, phone or e-mail to match on';
      throw new MdlError(MdlErrorCode.BadInput, text, {
        issues: [{ severity: 'error', code: 'invalid', diagnostics: text, expression: ['resource'] }],
      });
    }
    // Each candidate search runs under the caller's access, exactly as a search of theirs would.
    const rows = new Map<string, IndexedVersion>();
    for (const params of searches) {
      for (const row of (await this.#searchPage(access, 'Patient', params)).rows) rows.set(row.id, row);
    }
    const scored = (await this.#loadMany([...rows.values()]))
      .map((e) => ({ e, ...scoreMatch(input, demographicsOf(e.resource as Record<string, unknown>)) }))
      .filter((m) => !onlyCertainMatches || m.grade === 'certain')
      .sort((a, b) => b.score - a.score || (a.e.id < b.e.id ? -1 : a.e.id > b.e.id ? 1 : 0))
      .slice(0, count);
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      link: [{ relation: 'self', url: `${this.#d.baseUrl()}/Patient/$match` }],
      entry: scored.map((m) => ({
        fullUrl: `${this.#d.baseUrl()}/Patient/${m.e.id}`,
        resource: m.e.resource,
        search: {
          extension: [{ url: MATCH_GRADE_URL, valueCode: m.grade }],
          mode: 'match',
          score: m.score,
        },
      })),
    };
  }

  /**
   * Patient/$everything: `_type` and `_since` are clauses of the index query; `start` / `end` (care dates,
   * which the blind index does not order) are applied to each page after decryption, so a page may hold
   * fewer entries than `_count` (paging stays that of the unfiltered compartment).
   */
  async #everything(access: AccessPolicy, patientId: string, params: URLSearchParams): Promise<unknown> {
    checkId(patientId);
    const parsed = parseEverythingParameters(params);
    if (!parsed.ok) {
      throw new MdlError(MdlErrorCode.BadInput, parsed.issues[0]!.diagnostics, { issues: parsed.issues });
    }
    const { types, since } = parsed.parameters;
    access.touchPatient(patientId);
    const patient = await this.#read(access, 'Patient', patientId);
    const { count, offset } = this.#search.paging(params);
    const filter = await access.filter([], 'read');
    const page = await this.#d.index.compartment(this.#d.db, this.patientPseudonym(patientId), {
      count,
      offset,
      ...(types ? { types } : {}),
      ...(since ? { since } : {}),
      ...(filter ? { access: filter } : {}),
    });
    const rows = page.rows.filter((r) => !(r.type === 'Patient' && r.id === patientId));
    for (const row of rows) access.touch(factsOf(row));
    const entries = (await this.#loadMany(rows)).filter((e) =>
      withinCareDates(e.resource as Record<string, unknown>, parsed.parameters),
    );
    const withPatient =
      offset === 0 &&
      (types === undefined || types.includes('Patient')) &&
      (since === undefined || patient.lastUpdated >= since);
    const all = withPatient ? [patient, ...entries] : entries;
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

  async #history(
    access: AccessPolicy,
    scope: { type?: string; id?: string },
    params: URLSearchParams,
  ): Promise<unknown> {
    if (scope.id !== undefined) checkId(scope.id);
    if (scope.type !== undefined) access.requireInteraction(scope.type, 'read');
    else if (access.caller.kind === 'person') {
      // System-wide history would list every type's directory: people ask per type.
      throw new MdlError(MdlErrorCode.Forbidden, 'system-wide history is for the organisation only');
    }
    const filter = await access.filter(scope.type ? [scope.type] : [], 'read');
    const { count, offset } = this.#search.paging(params);
    const sinceRaw = params.get('_since');
    const parsedSince = sinceRaw === null ? undefined : parseSince(sinceRaw);
    if (parsedSince?.ok === false) {
      throw new MdlError(MdlErrorCode.BadInput, parsedSince.issues[0]!.diagnostics, {
        issues: parsedSince.issues,
      });
    }
    const since = parsedSince?.since;
    const page = await this.#d.index.history(this.#d.db, {
      ...scope,
      ...(since ? { since } : {}),
      ...(filter ? { access: filter } : {}),
      count,
      offset,
    });
    if (scope.id !== undefined && page.rows.length === 0 && offset === 0) throw notFound();
    for (const row of page.rows) if (row.pseudonym) access.touch(factsOf(row));
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
   * See Records.sealedCompartment. At most `limit` records; `epochs` (keyEpochs.epochsNow before the decision)
   * bounds the key epochs released: `complete` is also false when a current version is sealed under a newer
   * epoch (one started after the decision).
   */
  async #sealedCompartment(
    access: AccessPolicy,
    pseudonym: Uint8Array,
    categories: readonly DataCategory[],
    options: { since?: Date | undefined; limit: number; epochs?: ReadonlyMap<DataCategory, number> },
  ): Promise<SealedCompartment> {
    for (const category of categories) {
      if (!(await access.may('read', { type: 'Bundle', pseudonym, category }))) throw notFound();
    }
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
    const chosen = rows.slice(0, options.limit);
    const bound = options.epochs;
    const complete =
      rows.length <= options.limit &&
      (!bound || chosen.every((r) => (r.epoch ?? 0) <= (bound.get(r.category as DataCategory) ?? -1)));
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
  // Bulk export (bulk/, the FHIR Bulk Data Access IG)

  /**
   * See Records.exportPages. System scope: type by type, the caller's filter for that type in the query (as a
   * search). Patient scope: compartment by compartment, the caller's filter in the query (as $everything). The
   * patients are the ones given (checked by the filter like any), the patient's own record for a patient, the
   * patients the filter lists for other people, and every registered patient for the organisation and SMART
   * clients (whose filter covers every patient by type). People may not export the whole system: they ask
   * for compartments. Anchor status is not looked up (export files carry no anchor header).
   */
  async *#exportPages(
    access: AccessPolicy,
    scope: ExportScope,
    options: ExportOptions,
  ): AsyncGenerator<StoredResource[]> {
    const count = Math.min(options.pageSize ?? 200, MAX_PAGE_SIZE);
    const since = options.since;
    const load = async (rows: IndexedVersion[]) => {
      for (const row of rows) access.touch(factsOf(row));
      return Promise.all(rows.map((r) => this.#load(r, null)));
    };
    if (scope.kind === 'system') {
      if (access.caller.kind === 'person') {
        throw new MdlError(
          MdlErrorCode.Forbidden,
          'system-level export is for the organisation and its systems; people export patient compartments',
        );
      }
      for (const type of options.types ?? RESOURCE_TYPES) {
        const filter = await access.filter([type], 'read');
        if (filter?.types?.length === 0) continue;
        for (let offset = 0, more = true; more; offset += count) {
          const page = await this.#d.index.search(this.#d.db, {
            type,
            filters: [],
            ...(since ? { lastUpdated: [{ op: 'ge' as const, at: since }] } : {}),
            ...(filter ? { access: filter } : {}),
            sort: 'lastUpdated',
            count,
            offset,
          });
          more = page.hasMore;
          if (page.rows.length > 0) yield await load(page.rows);
        }
      }
      return;
    }
    const types = options.types ? [...options.types] : [];
    const filter = await access.filter(types, 'read');
    if (filter?.types?.length === 0) return;
    const compartment = async function* (this: RecordService, pseudonym: Uint8Array) {
      for (let offset = 0, more = true; more; offset += count) {
        const page = await this.#d.index.compartment(this.#d.db, pseudonym, {
          count,
          offset,
          ...(options.types ? { types: options.types } : {}),
          ...(since ? { since } : {}),
          ...(filter ? { access: filter } : {}),
        });
        more = page.hasMore;
        if (page.rows.length > 0) yield await load(page.rows);
      }
    }.bind(this);
    const caller = access.caller;
    if (scope.patients) {
      for (const id of scope.patients) {
        if (/^[A-Za-z0-9\-.]{1,64}$/.test(id)) yield* compartment(this.patientPseudonym(id));
      }
    } else if (caller.kind === 'person' && caller.role === 'patient') {
      if (caller.patientId) yield* compartment(this.patientPseudonym(caller.patientId));
    } else if (filter === undefined || filter.everyPatient) {
      // Every registered patient's compartment, each read under the caller's filter: the list itself is
      // never returned, only what the filter lets through.
      for (let offset = 0, more = true; more; offset += MAX_PAGE_SIZE) {
        const patients = await this.#d.index.search(this.#d.db, {
          type: 'Patient',
          filters: [],
          sort: 'lastUpdated',
          count: MAX_PAGE_SIZE,
          offset,
        });
        more = patients.hasMore;
        for (const row of patients.rows) yield* compartment(this.patientPseudonym(row.id));
      }
    } else {
      const directories = new Set(RESOURCE_TYPES.map((t) => bytesToHex(this.directoryPseudonym(t))));
      for (const pseudonym of filter.pseudonyms) {
        if (!directories.has(bytesToHex(pseudonym))) yield* compartment(pseudonym);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Search index rebuild (a node upgraded to a new search-token scheme; medledger reindex)

  /**
   * Recomputes the search tokens of every resource's current version and replaces its rows, `batch` resources
   * per index transaction. Each record is decided on (the access must be the node's, asked for by name:
   * `records.system('search index rebuild').access`) and opened through the same blob → CID → decrypt path as a
   * read; nothing is returned but counts. A resource written meanwhile keeps the tokens its write gave it.
   * A record that cannot be opened (blob missing or altered, key or decryption failing: what `medledger verify`
   * reports) keeps no tokens and is counted as unreadable; any other failure (the blob store or database
   * unavailable) stops the rebuild.
   */
  async rebuildSearchTokens(
    access: AccessPolicy,
    options: { batch?: number; onBatch?: (progress: { resources: number; tokens: number }) => void } = {},
  ): Promise<{ resources: number; tokens: number; unreadable: number }> {
    if (!access.unrestricted) {
      throw new MdlError(MdlErrorCode.Forbidden, 'this operation is for the node’s operators');
    }
    const batch = options.batch ?? 200;
    const done = { resources: 0, tokens: 0, unreadable: 0 };
    const UNREADABLE: ReadonlySet<string> = new Set([
      MdlErrorCode.NotFound,
      MdlErrorCode.CidMismatch,
      MdlErrorCode.DecryptFailed,
      MdlErrorCode.KeyNotFound,
    ]);
    let after: IndexedVersion | undefined;
    for (;;) {
      const rows = await this.#d.index.currentVersions(this.#d.db, after, batch);
      if (rows.length === 0) break;
      const entries = await Promise.all(
        rows.map(async (row) => {
          const base = { type: row.type, id: row.id, version: row.version };
          if (row.deleted) return { ...base, tokens: [] };
          await this.#mayRead(access, row);
          try {
            const stored = await this.#load(row, null);
            return { ...base, tokens: this.#search.tokensOf(stored.resource) };
          } catch (error) {
            if (!(error instanceof MdlError) || !UNREADABLE.has(error.code)) throw error;
            done.unreadable++;
            return { ...base, tokens: [] };
          }
        }),
      );
      done.resources += await this.#d.index.replaceTokens(this.#d.db, entries);
      done.tokens += entries.reduce((n, e) => n + e.tokens.length, 0);
      options.onBatch?.({ resources: done.resources, tokens: done.tokens });
      if (rows.length < batch) break;
      after = rows[rows.length - 1];
    }
    return done;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Verification (medledger verify)

  /**
   * Checks every stored record version: its blob exists and matches its CID, it decrypts under the category key
   * and belongs to its index row, and its recomputed commitment is anchored (inclusion proof, composite
   * signature over the batch root, transaction receipt with the matching BatchAnchored event). Problems are
   * reported by record address only — never with content. With `limit`, it checks that many versions (in
   * type, id, version order, after `from` if given) and says in `next` where the following page starts.
   */
  async verifyAll(
    access: AccessPolicy,
    options: { from?: VersionKey | undefined; limit?: number | undefined } = {},
  ): Promise<{
    checked: number;
    anchored: number;
    pending: number;
    problems: string[];
    next?: VersionKey;
  }> {
    // It opens every record (to check it decrypts) and returns none: still, only the organisation runs it.
    if (!access.unrestricted) {
      throw new MdlError(MdlErrorCode.Forbidden, 'this operation is for the node’s operators');
    }
    const report: Awaited<ReturnType<RecordService['verifyAll']>> = {
      checked: 0,
      anchored: 0,
      pending: 0,
      problems: [],
    };
    // A batch holds up to a thousand records: build its tree, check its signature and fetch its anchoring
    // transaction's receipt once.
    const context = {
      ...this.#d.verifier,
      receipts: new Map(),
      trees: this.#batchTrees,
      signatures: new Map<string, boolean>(),
    };
    const { limit } = options;
    const pageSize = limit === undefined ? 500 : Math.min(limit + 1, 500);
    let last: VersionKey | undefined;
    for await (const row of this.#d.index.allVersions(this.#d.db, pageSize, options.from)) {
      // One row past the page: there is a next page, and it starts after the last version checked.
      if (limit !== undefined && report.checked === limit) {
        if (last) report.next = last;
        break;
      }
      last = { type: row.type, id: row.id, version: row.version };
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
}

export type { PreparedWrite };

function committedWrite(w: PreparedWrite): CommittedWrite {
  const identifiers = Array.isArray(w.resource?.identifier)
    ? (w.resource.identifier as { system?: unknown }[])
    : [];
  const markers = identifiers
    .map((i) => i?.system)
    .filter((s): s is string => typeof s === 'string' && SYSTEM_OWNED_IDENTIFIERS.has(s));
  return {
    type: w.type,
    id: w.id,
    version: w.version,
    deleted: w.deleted,
    lastUpdated: w.lastUpdated,
    pseudonym: w.pseudonym,
    category: w.category,
    systemOwned: w.systemOwned,
    markers,
  };
}

function checkId(id: string): void {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
}
