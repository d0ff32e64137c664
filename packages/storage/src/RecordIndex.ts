/**
 * The node's own index of the FHIR resources it holds: which versions exist, where their sealed blobs are
 * (CIDs), whose they are (32-byte patient pseudonyms), what consent category and category-key epoch they fall
 * under, and keyed blind-index tokens for search — and, beside it, the HPKE-wrapped category keys of each
 * holder. No plaintext PHI: resource bodies live only in sealed blobs; search values only as blind tokens
 * (token shape is enforced, so a plaintext value is refused rather than stored).
 *
 * Every method takes a Queryable, so the node composes index writes with its other writes (outbox, audit) in
 * one transaction. `writeVersion` given the Db itself runs in a transaction of its own.
 *
 * Concurrency: optimistic. A write names the version it was based on; the head row is claimed with a single
 * conditional statement (INSERT … ON CONFLICT DO NOTHING for a create, UPDATE … WHERE current_version = $n
 * otherwise), so of two writers based on the same version exactly one succeeds — on PostgreSQL under the
 * default READ COMMITTED the loser waits for the winner's row lock, re-checks, and matches nothing. A conflict
 * raises no SQL error: the caller's transaction stays usable.
 *
 * Limits: search matches blind tokens exactly (the node derives prefix / normalised tokens itself and
 * re-checks matches after decryption); results never carry a total, which would leak what consent hides.
 */
import { isRecordCategory, MdlError, MdlErrorCode, type RecordCategory } from '@medledger/core';
import { bytesToHex, type Cid, parseCid } from '@medledger/crypto';
import type { Db, Queryable } from './Db.js';
import type { Migration } from './migrate.js';
import { recordIndexMigrations } from './recordIndexMigrations.js';

/** One version of a resource as the index knows it (no content: that is in the blob named by `cid`). */
export interface IndexedVersion {
  type: string;
  id: string;
  version: number;
  /** The sealed record's blob; null for a delete. */
  cid: Cid | null;
  deleted: boolean;
  lastUpdated: Date;
  /** 32-byte patient pseudonym; null for resources that belong to no patient (Organization, Practitioner…). */
  pseudonym: Uint8Array | null;
  category: RecordCategory | null;
  epoch: number | null;
  /** Changed only by the node's own routes (consent records, break-glass notices), never by generic writes. */
  systemOwned: boolean;
}

/** A VersionWrite after validation, with its new version number. */
interface CheckedWrite {
  type: string;
  id: string;
  expected: number | null;
  version: number;
  lastUpdated: Date;
  deleted: boolean;
  cid: string | null;
  pseudonym: Uint8Array | null;
  category: number | null;
  epoch: number | null;
  systemOwned: boolean;
  tokens: SearchTokenEntry[];
}

export interface SearchTokenEntry {
  /** Search parameter name, e.g. "name", "identifier", "birthdate". */
  param: string;
  /** A blind-index token (crypto `blindIndexToken`): 22 base64url characters. */
  token: string;
}

export interface VersionWrite {
  type: string;
  id: string;
  /** The version this write is based on; null: the resource must not exist (not even deleted). */
  expectedVersion: number | null;
  /** The sealed record's blob; null exactly when `deleted`. */
  cid: string | null;
  lastUpdated: Date;
  pseudonym: Uint8Array | null;
  category: number | null;
  epoch: number | null;
  deleted: boolean;
  /** See IndexedVersion.systemOwned; default false. */
  systemOwned?: boolean | undefined;
  /** The new version's search tokens; they replace the previous version's. Must be empty for a delete. */
  tokens: readonly SearchTokenEntry[];
}

export interface Page<T> {
  rows: T[];
  /** Whether another page follows. There is deliberately no total. */
  hasMore: boolean;
}

export interface HistoryQuery {
  type?: string | undefined;
  /** Instance history; requires `type`. */
  id?: string | undefined;
  /** Versions written at or after this instant (FHIR `_since`). */
  since?: Date | undefined;
  /** Only versions of this patient. */
  pseudonym?: Uint8Array | undefined;
  /** Only versions in these categories (e.g. those the caller's consent covers). */
  categories?: readonly number[] | undefined;
  access?: AccessFilter | undefined;
  count: number;
  offset: number;
}

export type LastUpdatedOp = 'gt' | 'ge' | 'lt' | 'le' | 'eq';

/**
 * What a caller may see, applied inside the query so that pages stay full and nothing about hidden rows
 * (their number included) can be inferred: a row is visible iff its pseudonym is listed and its category's
 * bit is set in that pseudonym's mask. An empty list shows nothing.
 */
export interface AccessFilter {
  /** Only rows of these resource types (absent: any type). */
  types?: readonly string[] | undefined;
  /**
   * Every pseudonym and category (a client acting for the organisation, limited by type only); when set,
   * `pseudonyms` and `categoryMasks` are ignored. Absent or false: only the listed pseudonyms.
   */
  everyPatient?: boolean | undefined;
  pseudonyms: readonly Uint8Array[];
  /** Per pseudonym, a bitmask over record categories (bit c = category c visible). */
  categoryMasks: readonly number[];
}

export interface SearchQuery {
  type: string;
  /** `_id`: any of these. An empty list matches nothing. */
  ids?: readonly string[] | undefined;
  /**
   * AND of filters. `{ param, tokens }`: an OR of its tokens (no tokens matches nothing). `{ anyOf, not }`: true
   * when one alternative has all its tests true — a test holds when the resource has one of its tokens of
   * `param`, or any token of `param` when `tokens` is absent (presence, for `:missing`) — negated with `not`.
   */
  filters: readonly SearchFilter[];
  /** `_lastUpdated` comparisons, ANDed. */
  lastUpdated?: readonly { op: LastUpdatedOp; at: Date }[] | undefined;
  /** Only resources of this patient (patient compartment). */
  pseudonym?: Uint8Array | undefined;
  /** Only resources in these categories (consent filtering in the query, so pages stay full). */
  categories?: readonly number[] | undefined;
  access?: AccessFilter | undefined;
  sort: 'lastUpdated' | '-lastUpdated';
  count: number;
  offset: number;
}

export interface TokenTest {
  param: string;
  /** Absent: any token of the parameter (the resource has a value for it). An empty list is false. */
  tokens?: readonly string[] | undefined;
}

export type SearchFilter =
  | { param: string; tokens: readonly string[] }
  | { anyOf: readonly (readonly TokenTest[])[]; not?: boolean | undefined };

export interface CompartmentQuery {
  count: number;
  offset: number;
  /** `_type`: only these resource types. */
  types?: readonly string[] | undefined;
  categories?: readonly number[] | undefined;
  /** `_since`: resources last updated at or after this instant. */
  since?: Date | undefined;
  access?: AccessFilter | undefined;
}

export interface WrappedKeyRecord {
  pseudonym: Uint8Array;
  category: number;
  epoch: number;
  /** The holder's key-bundle id (crypto `KeyId`: 32 lower-case hex characters). */
  holderKeyId: string;
  /** The HPKE-wrapped category key (crypto `wrapCategoryKey`). */
  envelope: Uint8Array;
}

export interface IndexStats {
  /** Current, not deleted. */
  resources: number;
  deletedResources: number;
  versions: number;
  searchTokens: number;
  wrappedKeys: number;
  /** Current, not-deleted resources per type. */
  resourcesByType: Record<string, number>;
}

/** Largest page a query may ask for. */
export const MAX_PAGE_SIZE = 1000;

const TYPE = /^[A-Z][A-Za-z]{0,63}$/;
const ID = /^[A-Za-z0-9.-]{1,64}$/; // FHIR R4 id
const PARAM = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;
const TOKEN = /^[A-Za-z0-9_-]{22}$/; // BlindIndexToken: 128 bits, base64url, unpadded
const KEY_ID = /^[0-9a-f]{32}$/;
const INT4_MAX = 2 ** 31 - 1;
const OPS: Record<LastUpdatedOp, string> = { gt: '>', ge: '>=', lt: '<', le: '<=', eq: '=' };

function bad(message: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, message);
}

function checkType(type: unknown): string {
  if (typeof type !== 'string' || !TYPE.test(type))
    throw bad('resource type is not a FHIR resource type name');
  return type;
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || !ID.test(id)) throw bad('resource id is not a valid FHIR id');
  return id;
}

function checkInt(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw bad(`${what} must be an integer from ${min} to ${max}`);
  return value;
}

function checkDate(value: unknown, what: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw bad(`${what} must be a valid Date`);
  return value;
}

function checkPseudonym(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== 32) throw bad('pseudonym must be 32 bytes');
  return value;
}

function checkCategory(value: unknown): number {
  if (!isRecordCategory(value)) throw bad('category is not a record category');
  return value;
}

function checkPage(count: unknown, offset: unknown): { count: number; offset: number } {
  return {
    count: checkInt(count, 'count', 0, MAX_PAGE_SIZE),
    offset: checkInt(offset, 'offset', 0, Number.MAX_SAFE_INTEGER),
  };
}

function checkList<T>(value: unknown, what: string, check: (v: unknown) => T): T[] {
  if (!Array.isArray(value)) throw bad(`${what} must be an array`);
  if (value.length > 10_000) throw bad(`${what} has too many entries`);
  return value.map(check);
}

function isDb(q: Queryable): q is Db {
  return typeof (q as Partial<Db>).transaction === 'function';
}

/** Collects query parameters and hands out their placeholders. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** One token test as SQL on the row alias `r`; false when it cannot hold (an empty token list). */
function tokenTestClause(p: Params, t: TokenTest): string | false {
  if (typeof t?.param !== 'string' || !PARAM.test(t.param)) throw bad('search parameter name is malformed');
  if (t.tokens === undefined) {
    return `EXISTS (SELECT 1 FROM search_tokens t WHERE t.type = r.type AND t.id = r.id
                    AND t.param = ${p.add(t.param)})`;
  }
  const tokens = checkList(t.tokens, 'tokens', (x) => {
    if (typeof x !== 'string' || !TOKEN.test(x)) throw bad('search token is not a blind-index token');
    return x;
  });
  if (tokens.length === 0) return false;
  return `EXISTS (SELECT 1 FROM search_tokens t WHERE t.type = r.type AND t.param = ${p.add(t.param)}
                  AND t.token = ANY(${p.add(tokens)}::text[]) AND t.id = r.id)`;
}

/** A search filter as SQL, or a constant when it is decided without the data. */
function filterClause(p: Params, f: SearchFilter): string | boolean {
  if (typeof f !== 'object' || f === null) throw bad('search filter is malformed');
  let alternatives: readonly (readonly TokenTest[])[];
  let not = false;
  if ('anyOf' in f) {
    alternatives = checkList(f.anyOf, 'anyOf', (alt) => checkList(alt, 'tests', (t) => t as TokenTest));
    if (f.not !== undefined && typeof f.not !== 'boolean') throw bad('not must be a boolean');
    not = f.not === true;
  } else {
    alternatives = [[{ param: f.param, tokens: f.tokens }]];
  }
  const ors: string[] = [];
  for (const alt of alternatives) {
    if (alt.length === 0) throw bad('a search alternative has no tests');
    const ands: string[] = [];
    let possible = true;
    for (const t of alt) {
      const sql = tokenTestClause(p, t);
      if (sql === false) possible = false;
      else ands.push(sql);
    }
    if (possible) ors.push(ands.length === 1 ? ands[0]! : `(${ands.join(' AND ')})`);
  }
  if (ors.length === 0) return not;
  const sql = ors.length === 1 ? ors[0]! : `(${ors.join(' OR ')})`;
  return not ? `NOT ${sql}` : sql;
}

/** The SQL condition of an AccessFilter on the row alias `prefix` ('' or 'r.'). */
function accessClause(p: Params, access: AccessFilter, prefix: string): string {
  if (!access || !Array.isArray(access.pseudonyms) || !Array.isArray(access.categoryMasks))
    throw bad('access filter must list pseudonyms and category masks');
  if (access.pseudonyms.length !== access.categoryMasks.length)
    throw bad('access filter needs one category mask per pseudonym');
  const clauses: string[] = [];
  if (access.types !== undefined) {
    clauses.push(`${prefix}type = ANY(${p.add(checkList(access.types, 'types', checkType))}::text[])`);
  }
  if (access.everyPatient !== true) {
    const pseudonyms = access.pseudonyms.map(checkPseudonym);
    const masks = access.categoryMasks.map((m) => checkInt(m, 'category mask', 0, 0xffff));
    // The unnested columns are named apart from the table's: with an empty prefix, a column named `pseudonym`
    // here would shadow the row's own and the clause would hold for every row.
    clauses.push(`EXISTS (SELECT 1 FROM unnest(${p.add(pseudonyms)}::bytea[], ${p.add(masks)}::int[]) AS a(allowed, mask)
                  WHERE a.allowed = ${prefix}pseudonym AND (a.mask >> ${prefix}category) & 1 = 1)`);
  }
  return clauses.length > 0 ? `(${clauses.join(' AND ')})` : 'TRUE';
}

interface Row {
  type: string;
  id: string;
  version: number;
  cid: string | null;
  deleted: boolean;
  last_updated: Date;
  pseudonym: Uint8Array | null;
  category: number | null;
  epoch: number | null;
  system_owned: boolean;
}

const HEAD_COLUMNS =
  'type, id, current_version AS version, cid, deleted, last_updated, pseudonym, category, epoch, system_owned';
const HEAD_COLUMNS_R =
  'r.type, r.id, r.current_version AS version, r.cid, r.deleted, r.last_updated, r.pseudonym, r.category, r.epoch, r.system_owned';
const VERSION_COLUMNS =
  'type, id, version, cid, deleted, last_updated, pseudonym, category, epoch, system_owned';

/** A plain Uint8Array (pg returns Buffers): equal values compare equal whichever backend produced them. */
function plainBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function toVersion(r: Row): IndexedVersion {
  return {
    type: r.type,
    id: r.id,
    version: r.version,
    cid: r.cid as Cid | null,
    deleted: r.deleted,
    lastUpdated: r.last_updated,
    pseudonym: r.pseudonym === null ? null : plainBytes(r.pseudonym),
    category: r.category as RecordCategory | null,
    epoch: r.epoch,
    systemOwned: r.system_owned,
  };
}

function page(rows: Row[], count: number): Page<IndexedVersion> {
  return { rows: rows.slice(0, count).map(toVersion), hasMore: rows.length > count };
}

export class RecordIndex {
  /** The schema; run with `migrate(db, [...RecordIndex.migrations, …])`. */
  static readonly migrations: readonly Migration[] = recordIndexMigrations;

  /**
   * Writes the next version of a resource (1 on create) and replaces its search tokens (a delete removes
   * them). Throws MdlError(MDL_VERSION_CONFLICT) and writes nothing if the current version is not
   * `expectedVersion` (or the resource exists when it is null); MDL_BAD_INPUT for malformed input.
   */
  async writeVersion(q: Queryable, w: VersionWrite): Promise<{ version: number }> {
    const [result] = await this.writeVersions(q, [w]);
    return result!;
  }

  /**
   * Writes many versions with a handful of set-based statements (one per table), the way a transaction Bundle
   * or a bulk import needs it: the per-statement cost of the database, not the row count, dominates. Same rules
   * as writeVersion for every entry; a conflict on any entry throws MDL_VERSION_CONFLICT. Given the Db, the
   * batch runs in its own transaction and a conflict writes nothing; inside a caller's transaction, rows of
   * earlier entries of the same batch may already be written, so the caller must roll back (as the node's
   * record service does). A batch that touches one resource twice is applied entry by entry.
   */
  async writeVersions(q: Queryable, ws: readonly VersionWrite[]): Promise<{ version: number }[]> {
    if (isDb(q)) return q.transaction((tx) => this.writeVersions(tx, ws));
    const rows = ws.map((w) => this.#checkWrite(w));
    if (rows.length === 0) return [];
    const keys = new Set(rows.map((r) => `${r.type}/${r.id}`));
    if (keys.size !== rows.length) {
      const out: { version: number }[] = [];
      for (const w of ws) out.push((await this.writeVersions(q, [w]))[0]!);
      return out;
    }
    const col = <K extends keyof CheckedWrite>(list: CheckedWrite[], k: K) => list.map((r) => r[k]);
    const hex = (b: Uint8Array | null) => (b === null ? null : bytesToHex(b));
    const creates = rows.filter((r) => r.expected === null);
    const updates = rows.filter((r) => r.expected !== null);
    if (creates.length > 0) {
      const head = await q.query(
        `INSERT INTO resources (type, id, current_version, deleted, cid, last_updated, pseudonym, category, epoch,
                                system_owned)
         SELECT u.type, u.id, 1, u.deleted, u.cid, u.last_updated, decode(u.pseudonym, 'hex'), u.category, u.epoch,
                u.system_owned
           FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[], $5::timestamptz[], $6::text[],
                       $7::smallint[], $8::integer[], $9::boolean[])
                AS u(type, id, deleted, cid, last_updated, pseudonym, category, epoch, system_owned)
         ON CONFLICT (type, id) DO NOTHING`,
        [
          col(creates, 'type'),
          col(creates, 'id'),
          col(creates, 'deleted'),
          col(creates, 'cid'),
          col(creates, 'lastUpdated'),
          creates.map((r) => hex(r.pseudonym)),
          col(creates, 'category'),
          col(creates, 'epoch'),
          col(creates, 'systemOwned'),
        ],
      );
      if (head.rowCount !== creates.length) {
        throw new MdlError(MdlErrorCode.VersionConflict, 'a resource to be created already exists');
      }
    }
    if (updates.length > 0) {
      const head = await q.query(
        `UPDATE resources r
            SET current_version = u.expected + 1, deleted = u.deleted, cid = u.cid, last_updated = u.last_updated,
                pseudonym = decode(u.pseudonym, 'hex'), category = u.category, epoch = u.epoch,
                system_owned = u.system_owned
           FROM unnest($1::text[], $2::text[], $3::integer[], $4::boolean[], $5::text[], $6::timestamptz[],
                       $7::text[], $8::smallint[], $9::integer[], $10::boolean[])
                AS u(type, id, expected, deleted, cid, last_updated, pseudonym, category, epoch, system_owned)
          WHERE r.type = u.type AND r.id = u.id AND r.current_version = u.expected`,
        [
          col(updates, 'type'),
          col(updates, 'id'),
          col(updates, 'expected'),
          col(updates, 'deleted'),
          col(updates, 'cid'),
          col(updates, 'lastUpdated'),
          updates.map((r) => hex(r.pseudonym)),
          col(updates, 'category'),
          col(updates, 'epoch'),
          col(updates, 'systemOwned'),
        ],
      );
      if (head.rowCount !== updates.length) {
        throw new MdlError(
          MdlErrorCode.VersionConflict,
          'a resource is not at the version the write expected',
        );
      }
      await q.query(
        `DELETE FROM search_tokens t USING unnest($1::text[], $2::text[]) AS u(type, id)
          WHERE t.type = u.type AND t.id = u.id`,
        [col(updates, 'type'), col(updates, 'id')],
      );
    }
    await q.query(
      `INSERT INTO resource_versions (type, id, version, deleted, cid, last_updated, pseudonym, category, epoch,
                                     system_owned)
       SELECT u.type, u.id, u.version, u.deleted, u.cid, u.last_updated, decode(u.pseudonym, 'hex'), u.category, u.epoch,
              u.system_owned
         FROM unnest($1::text[], $2::text[], $3::integer[], $4::boolean[], $5::text[], $6::timestamptz[],
                     $7::text[], $8::smallint[], $9::integer[], $10::boolean[])
              AS u(type, id, version, deleted, cid, last_updated, pseudonym, category, epoch, system_owned)`,
      [
        col(rows, 'type'),
        col(rows, 'id'),
        col(rows, 'version'),
        col(rows, 'deleted'),
        col(rows, 'cid'),
        col(rows, 'lastUpdated'),
        rows.map((r) => hex(r.pseudonym)),
        col(rows, 'category'),
        col(rows, 'epoch'),
        col(rows, 'systemOwned'),
      ],
    );
    const tokens = rows.flatMap((r) => r.tokens.map((t) => [r.type, r.id, t.param, t.token] as const));
    if (tokens.length > 0) {
      await q.query(
        `INSERT INTO search_tokens (type, id, param, token)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT DO NOTHING`,
        [tokens.map((t) => t[0]), tokens.map((t) => t[1]), tokens.map((t) => t[2]), tokens.map((t) => t[3])],
      );
    }
    return rows.map((r) => ({ version: r.version }));
  }

  #checkWrite(w: VersionWrite): CheckedWrite {
    const type = checkType(w.type);
    const id = checkId(w.id);
    const expected =
      w.expectedVersion === null ? null : checkInt(w.expectedVersion, 'expectedVersion', 1, INT4_MAX - 1);
    const lastUpdated = checkDate(w.lastUpdated, 'lastUpdated');
    if (typeof w.deleted !== 'boolean') throw bad('deleted must be a boolean');
    const cid = w.cid === null ? null : parseCid(w.cid);
    if (w.deleted !== (cid === null)) throw bad('a delete has no cid and every other version has one');
    const pseudonym = w.pseudonym === null ? null : checkPseudonym(w.pseudonym);
    const category = w.category === null ? null : checkCategory(w.category);
    const epoch = w.epoch === null ? null : checkInt(w.epoch, 'epoch', 0, INT4_MAX);
    const tokens = checkList(w.tokens, 'tokens', (t) => {
      const { param, token } = (t ?? {}) as Partial<SearchTokenEntry>;
      if (typeof param !== 'string' || !PARAM.test(param)) throw bad('search parameter name is malformed');
      if (typeof token !== 'string' || !TOKEN.test(token))
        throw bad('search token is not a blind-index token');
      return { param, token };
    });
    if (w.deleted && tokens.length > 0) throw bad('a delete carries no search tokens');
    if (w.systemOwned !== undefined && typeof w.systemOwned !== 'boolean')
      throw bad('systemOwned must be a boolean');
    const version = expected === null ? 1 : expected + 1;
    return {
      type,
      id,
      expected,
      version,
      lastUpdated,
      deleted: w.deleted,
      cid,
      pseudonym,
      category,
      epoch,
      systemOwned: w.systemOwned === true,
      tokens,
    };
  }

  /** The current version (possibly a delete), or undefined if the resource never existed. */
  async current(q: Queryable, type: string, id: string): Promise<IndexedVersion | undefined> {
    const { rows } = await q.query<Row>(`SELECT ${HEAD_COLUMNS} FROM resources WHERE type = $1 AND id = $2`, [
      checkType(type),
      checkId(id),
    ]);
    return rows[0] && toVersion(rows[0]);
  }

  /** One version (vread), or undefined. */
  async version(
    q: Queryable,
    type: string,
    id: string,
    version: number,
  ): Promise<IndexedVersion | undefined> {
    const { rows } = await q.query<Row>(
      `SELECT ${VERSION_COLUMNS} FROM resource_versions WHERE type = $1 AND id = $2 AND version = $3`,
      [checkType(type), checkId(id), checkInt(version, 'version', 1, INT4_MAX)],
    );
    return rows[0] && toVersion(rows[0]);
  }

  /**
   * Instance (type + id), type (type) or system history, newest first, deletes included. Instance history is
   * ordered by version; the others by lastUpdated, then type, id and version.
   */
  async history(q: Queryable, h: HistoryQuery): Promise<Page<IndexedVersion>> {
    const { count, offset } = checkPage(h.count, h.offset);
    const p = new Params();
    const where: string[] = [];
    if (h.id !== undefined && h.type === undefined) throw bad('instance history needs a type');
    if (h.type !== undefined) where.push(`type = ${p.add(checkType(h.type))}`);
    if (h.id !== undefined) where.push(`id = ${p.add(checkId(h.id))}`);
    if (h.since !== undefined) where.push(`last_updated >= ${p.add(checkDate(h.since, 'since'))}`);
    if (h.pseudonym !== undefined) where.push(`pseudonym = ${p.add(checkPseudonym(h.pseudonym))}`);
    if (h.categories !== undefined)
      where.push(
        `category = ANY(${p.add(checkList(h.categories, 'categories', checkCategory))}::smallint[])`,
      );
    if (h.access !== undefined) where.push(accessClause(p, h.access, ''));
    const order = h.id !== undefined ? 'version DESC' : 'last_updated DESC, type DESC, id DESC, version DESC';
    const { rows } = await q.query<Row>(
      `SELECT ${VERSION_COLUMNS} FROM resource_versions
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${order} LIMIT ${p.add(count + 1)} OFFSET ${p.add(offset)}`,
      p.values,
    );
    return page(rows, count);
  }

  /** Current, not-deleted resources of one type matching every filter; fetches count + 1 to tell hasMore. */
  async search(q: Queryable, s: SearchQuery): Promise<Page<IndexedVersion>> {
    const { count, offset } = checkPage(s.count, s.offset);
    const { p, where, empty } = this.#searchWhere(s);
    if (empty) return { rows: [], hasMore: false };
    const dir = s.sort === 'lastUpdated' ? 'ASC' : 'DESC';
    const { rows } = await q.query<Row>(
      `SELECT ${HEAD_COLUMNS_R} FROM resources r
       WHERE ${where.join(' AND ')}
       ORDER BY r.last_updated ${dir}, r.id ${dir}
       LIMIT ${p.add(count + 1)} OFFSET ${p.add(offset)}`,
      p.values,
    );
    return page(rows, count);
  }

  /**
   * How many current, not-deleted resources match a search (FHIR `_summary=count`): the same conditions as
   * `search`, its access filter included, so hidden rows are never counted. Paging and sort are ignored.
   */
  async count(q: Queryable, s: SearchQuery): Promise<number> {
    const { p, where, empty } = this.#searchWhere(s);
    if (empty) return 0;
    const { rows } = await q.query<{ n: number | string }>(
      `SELECT count(*)::int AS n FROM resources r WHERE ${where.join(' AND ')}`,
      p.values,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** The WHERE conditions of a search (`empty`: it can match nothing, so no query is needed). */
  #searchWhere(s: SearchQuery): { p: Params; where: string[]; empty: boolean } {
    const p = new Params();
    const where = [`r.type = ${p.add(checkType(s.type))}`, 'NOT r.deleted'];
    let empty = false;
    if (s.ids !== undefined) {
      const ids = checkList(s.ids, 'ids', checkId);
      if (ids.length === 0) empty = true;
      where.push(`r.id = ANY(${p.add(ids)}::text[])`);
    }
    for (const f of checkList(s.filters, 'filters', (f) => f as SearchFilter)) {
      const sql = filterClause(p, f);
      if (sql === false) empty = true;
      else if (sql !== true) where.push(sql);
    }
    for (const c of s.lastUpdated === undefined ? [] : checkList(s.lastUpdated, 'lastUpdated', (c) => c)) {
      const { op, at } = (c ?? {}) as { op?: unknown; at?: unknown };
      if (typeof op !== 'string' || !Object.hasOwn(OPS, op)) throw bad('lastUpdated comparator is unknown');
      where.push(`r.last_updated ${OPS[op as LastUpdatedOp]} ${p.add(checkDate(at, 'lastUpdated'))}`);
    }
    if (s.pseudonym !== undefined) where.push(`r.pseudonym = ${p.add(checkPseudonym(s.pseudonym))}`);
    if (s.categories !== undefined) {
      const categories = checkList(s.categories, 'categories', checkCategory);
      if (categories.length === 0) empty = true;
      where.push(`r.category = ANY(${p.add(categories)}::smallint[])`);
    }
    if (s.access !== undefined) where.push(accessClause(p, s.access, 'r.'));
    if (s.sort !== 'lastUpdated' && s.sort !== '-lastUpdated')
      throw bad('sort must be lastUpdated or -lastUpdated');
    return { p, where, empty };
  }

  /** Current, not-deleted resources of one patient (Patient/$everything), ordered by type and id. */
  async compartment(q: Queryable, pseudonym: Uint8Array, c: CompartmentQuery): Promise<Page<IndexedVersion>> {
    const { count, offset } = checkPage(c.count, c.offset);
    const p = new Params();
    const where = [`pseudonym = ${p.add(checkPseudonym(pseudonym))}`, 'NOT deleted'];
    if (c.types !== undefined)
      where.push(`type = ANY(${p.add(checkList(c.types, 'types', checkType))}::text[])`);
    if (c.categories !== undefined)
      where.push(
        `category = ANY(${p.add(checkList(c.categories, 'categories', checkCategory))}::smallint[])`,
      );
    if (c.since !== undefined) where.push(`last_updated >= ${p.add(checkDate(c.since, 'since'))}`);
    if (c.access !== undefined) where.push(accessClause(p, c.access, ''));
    const { rows } = await q.query<Row>(
      `SELECT ${HEAD_COLUMNS} FROM resources WHERE ${where.join(' AND ')}
       ORDER BY type, id LIMIT ${p.add(count + 1)} OFFSET ${p.add(offset)}`,
      p.values,
    );
    return page(rows, count);
  }

  /** Stores a holder's wrapped category key; true if stored, false if that holder already had one (kept). */
  async putWrappedKey(q: Queryable, k: WrappedKeyRecord): Promise<boolean> {
    if (!(k.envelope instanceof Uint8Array) || k.envelope.length === 0)
      throw bad('envelope must be non-empty bytes');
    const { rowCount } = await q.query(
      `INSERT INTO wrapped_keys (pseudonym, category, epoch, holder_key_id, envelope) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING`,
      [
        checkPseudonym(k.pseudonym),
        checkCategory(k.category),
        checkInt(k.epoch, 'epoch', 0, INT4_MAX),
        checkKeyId(k.holderKeyId),
        k.envelope,
      ],
    );
    return rowCount === 1;
  }

  async wrappedKey(
    q: Queryable,
    pseudonym: Uint8Array,
    category: number,
    epoch: number,
    holderKeyId: string,
  ): Promise<Uint8Array | undefined> {
    const { rows } = await q.query<{ envelope: Uint8Array }>(
      `SELECT envelope FROM wrapped_keys
       WHERE pseudonym = $1 AND category = $2 AND epoch = $3 AND holder_key_id = $4`,
      [
        checkPseudonym(pseudonym),
        checkCategory(category),
        checkInt(epoch, 'epoch', 0, INT4_MAX),
        checkKeyId(holderKeyId),
      ],
    );
    return rows[0] && plainBytes(rows[0].envelope);
  }

  /** The key ids holding a wrapped copy of one category key (to re-wrap for them on rotation). */
  async wrappedKeyHolders(
    q: Queryable,
    pseudonym: Uint8Array,
    category: number,
    epoch: number,
  ): Promise<string[]> {
    const { rows } = await q.query<{ holder_key_id: string }>(
      `SELECT holder_key_id FROM wrapped_keys WHERE pseudonym = $1 AND category = $2 AND epoch = $3
       ORDER BY holder_key_id`,
      [checkPseudonym(pseudonym), checkCategory(category), checkInt(epoch, 'epoch', 0, INT4_MAX)],
    );
    return rows.map((r) => r.holder_key_id);
  }

  /** The newest epoch with any wrapped key for (patient, category), or undefined. */
  async latestEpoch(q: Queryable, pseudonym: Uint8Array, category: number): Promise<number | undefined> {
    const { rows } = await q.query<{ epoch: number | null }>(
      'SELECT max(epoch) AS epoch FROM wrapped_keys WHERE pseudonym = $1 AND category = $2',
      [checkPseudonym(pseudonym), checkCategory(category)],
    );
    return rows[0]?.epoch ?? undefined;
  }

  /**
   * Destroys wrapped keys: crypto-shredding (erasure: all of a patient's, or one category's) or revocation
   * hygiene (one holder's). Returns how many were deleted.
   */
  async deleteWrappedKeys(
    q: Queryable,
    d: { pseudonym: Uint8Array; category?: number | undefined; holderKeyId?: string | undefined },
  ): Promise<number> {
    const p = new Params();
    const where = [`pseudonym = ${p.add(checkPseudonym(d.pseudonym))}`];
    if (d.category !== undefined) where.push(`category = ${p.add(checkCategory(d.category))}`);
    if (d.holderKeyId !== undefined) where.push(`holder_key_id = ${p.add(checkKeyId(d.holderKeyId))}`);
    return (await q.query(`DELETE FROM wrapped_keys WHERE ${where.join(' AND ')}`, p.values)).rowCount;
  }

  /** The search-token scheme the stored tokens were computed under, or undefined if none was recorded. */
  async tokenScheme(q: Queryable): Promise<number | undefined> {
    const { rows } = await q.query<{ version: number }>('SELECT version FROM search_token_scheme');
    return rows[0] === undefined ? undefined : Number(rows[0].version);
  }

  /** Records the search-token scheme of every stored token (written last by a rebuild: see docs/storage.md). */
  async setTokenScheme(q: Queryable, version: number): Promise<void> {
    checkInt(version, 'token scheme', 1, INT4_MAX);
    await q.query(
      `INSERT INTO search_token_scheme (singleton, version) VALUES (true, $1)
       ON CONFLICT (singleton) DO UPDATE SET version = excluded.version, updated_at = now()`,
      [version],
    );
  }

  /** Forgets the recorded search-token scheme: the next start rebuilds every resource's tokens. */
  async clearTokenScheme(q: Queryable): Promise<void> {
    await q.query('DELETE FROM search_token_scheme');
  }

  /** True when the index holds any resource (current or deleted). */
  async hasResources(q: Queryable): Promise<boolean> {
    const { rows } = await q.query('SELECT 1 FROM resources LIMIT 1');
    return rows.length > 0;
  }

  /**
   * The current version of every resource (deletes included), in (type, id) order, `pageSize` at a time
   * after `after` (keyset paging, for a search-index rebuild).
   */
  async currentVersions(
    q: Queryable,
    after: { type: string; id: string } | undefined,
    pageSize: number,
  ): Promise<IndexedVersion[]> {
    checkInt(pageSize, 'pageSize', 1, MAX_PAGE_SIZE);
    const { rows } =
      after === undefined
        ? await q.query<Row>(`SELECT ${HEAD_COLUMNS} FROM resources ORDER BY type, id LIMIT $1`, [pageSize])
        : await q.query<Row>(
            `SELECT ${HEAD_COLUMNS} FROM resources WHERE (type, id) > ($1, $2) ORDER BY type, id LIMIT $3`,
            [checkType(after.type), checkId(after.id), pageSize],
          );
    return rows.map(toVersion);
  }

  /**
   * Replaces the search tokens of resources still at the version they were computed from (a resource written
   * since keeps the tokens its write gave it), in one transaction when given the Db. A deleted resource gets
   * none. Returns how many resources were replaced.
   */
  async replaceTokens(
    q: Queryable,
    entries: readonly { type: string; id: string; version: number; tokens: readonly SearchTokenEntry[] }[],
  ): Promise<number> {
    if (isDb(q)) return q.transaction((tx) => this.replaceTokens(tx, entries));
    const checked = entries.map((e) => ({
      type: checkType(e.type),
      id: checkId(e.id),
      version: checkInt(e.version, 'version', 1, INT4_MAX),
      tokens: checkList(e.tokens, 'tokens', (t) => {
        const { param, token } = (t ?? {}) as Partial<SearchTokenEntry>;
        if (typeof param !== 'string' || !PARAM.test(param)) throw bad('search parameter name is malformed');
        if (typeof token !== 'string' || !TOKEN.test(token))
          throw bad('search token is not a blind-index token');
        return { param, token };
      }),
    }));
    if (checked.length === 0) return 0;
    // Lock the head rows: a concurrent write of one of them waits, or has already moved it on (then skip it).
    const { rows } = await q.query<{ type: string; id: string; deleted: boolean }>(
      `SELECT r.type, r.id, r.deleted FROM resources r, unnest($1::text[], $2::text[], $3::integer[]) AS u(type, id, v)
        WHERE r.type = u.type AND r.id = u.id AND r.current_version = u.v
        ORDER BY r.type, r.id FOR UPDATE OF r`,
      [checked.map((e) => e.type), checked.map((e) => e.id), checked.map((e) => e.version)],
    );
    const live = new Map(rows.map((r) => [`${r.type}/${r.id}`, r.deleted]));
    const kept = checked.filter((e) => live.has(`${e.type}/${e.id}`));
    if (kept.length === 0) return 0;
    await q.query(
      `DELETE FROM search_tokens t USING unnest($1::text[], $2::text[]) AS u(type, id)
        WHERE t.type = u.type AND t.id = u.id`,
      [kept.map((e) => e.type), kept.map((e) => e.id)],
    );
    const tokens = kept
      .filter((e) => live.get(`${e.type}/${e.id}`) === false)
      .flatMap((e) => e.tokens.map((t) => [e.type, e.id, t.param, t.token] as const));
    if (tokens.length > 0) {
      await q.query(
        `INSERT INTO search_tokens (type, id, param, token)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT DO NOTHING`,
        [tokens.map((t) => t[0]), tokens.map((t) => t[1]), tokens.map((t) => t[2]), tokens.map((t) => t[3])],
      );
    }
    return kept.length;
  }

  /**
   * Every version of every resource, in (type, id, version) order, fetched `pageSize` at a time (for
   * `medledger verify`), from the start or from just after the version `from`. Keyset paging: memory stays
   * flat however large the index.
   */
  async *allVersions(
    q: Queryable,
    pageSize = 500,
    from?: { type: string; id: string; version: number },
  ): AsyncGenerator<IndexedVersion> {
    checkInt(pageSize, 'pageSize', 1, MAX_PAGE_SIZE * 10);
    let after: Pick<Row, 'type' | 'id' | 'version'> | undefined = from;
    for (;;) {
      const { rows } =
        after === undefined
          ? await q.query<Row>(
              `SELECT ${VERSION_COLUMNS} FROM resource_versions ORDER BY type, id, version LIMIT $1`,
              [pageSize],
            )
          : await q.query<Row>(
              `SELECT ${VERSION_COLUMNS} FROM resource_versions WHERE (type, id, version) > ($1, $2, $3)
               ORDER BY type, id, version LIMIT $4`,
              [after.type, after.id, after.version, pageSize],
            );
      for (const r of rows) yield toVersion(r);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1];
    }
  }

  /** Counts for metrics. Exact counts (a scan each): scrape at minutes, not seconds, on a large index. */
  async stats(q: Queryable): Promise<IndexStats> {
    const { rows } = await q.query<Omit<IndexStats, 'resourcesByType'>>(
      `SELECT
         (SELECT count(*) FROM resources WHERE NOT deleted) AS "resources",
         (SELECT count(*) FROM resources WHERE deleted) AS "deletedResources",
         (SELECT count(*) FROM resource_versions) AS "versions",
         (SELECT count(*) FROM search_tokens) AS "searchTokens",
         (SELECT count(*) FROM wrapped_keys) AS "wrappedKeys"`,
    );
    const byType = await q.query<{ type: string; n: number }>(
      'SELECT type, count(*) AS n FROM resources WHERE NOT deleted GROUP BY type ORDER BY type',
    );
    return { ...rows[0]!, resourcesByType: Object.fromEntries(byType.rows.map((r) => [r.type, r.n])) };
  }
}

function checkKeyId(value: unknown): string {
  if (typeof value !== 'string' || !KEY_ID.test(value))
    throw bad('holder key id must be 32 lower-case hex characters');
  return value;
}
