/**
 * The consent index's SQL: the cursor, block checkpoints, applying decoded chain events idempotently (the same
 * event applied twice leaves the same rows), rolling back everything above a block, and the reads decisions
 * need. Every function takes a Queryable so the caller decides the transaction.
 */
import type { Queryable } from '@medledger/storage';
import { type Address, bytesToHex, type Hash, type Hex, hexToBytes } from 'viem';
import type { RegistryEvent, RegistryEventKind } from './ConsortiumState.js';
import type { ConsentChainEvent } from './consentLogs.js';
import type { IndexedGrant } from './permittingGrant.js';

export interface Cursor {
  chainId: number;
  consentManager: Address;
  registry: Address;
  /** First block of the deployment (where indexing starts). */
  startBlock: number;
  blockNumber: number;
  blockHash: Hash;
  blockTimestamp: number;
}

export interface Checkpoint {
  number: number;
  hash: Hash;
  timestamp: number;
}

/** A break-glass session as indexed. */
export interface BreakGlassSession {
  id: number;
  patient: Hex;
  member: Address;
  organisation: number;
  reasonHash: Hex;
  openedAt: number;
  /** When access ends: the requested expiry, or the time the member ended the session. */
  expiresAt: number;
  /** Set when the member ended the session early. */
  endedAt?: number;
  openedBlock: number;
  openedTx: Hash;
  review?: { auditor: Address; justified: boolean; findingHash: Hex; reviewedAt: number; block: number };
}

/** What a chunk changed, for cache invalidation and notifications. */
export interface AppliedChanges {
  patients: Set<string>;
  registry: boolean;
  breakGlass: boolean;
}

const CHECKPOINTS_KEPT = 512;

export async function readCursor(q: Queryable): Promise<Cursor | undefined> {
  const { rows } = await q.query<{
    chain_id: number;
    consent_manager: string;
    registry: string;
    start_block: number;
    block_number: number;
    block_hash: string;
    block_timestamp: number;
  }>('SELECT * FROM ledger_consent_cursor');
  const r = rows[0];
  if (!r) return undefined;
  return {
    chainId: Number(r.chain_id),
    consentManager: r.consent_manager as Address,
    registry: r.registry as Address,
    startBlock: Number(r.start_block),
    blockNumber: Number(r.block_number),
    blockHash: r.block_hash as Hash,
    blockTimestamp: Number(r.block_timestamp),
  };
}

/** The cursor row, locked for the rest of the transaction (one writer at a time). */
export async function lockCursor(
  q: Queryable,
): Promise<{ blockNumber: number; blockHash: string } | undefined> {
  const { rows } = await q.query<{ block_number: number; block_hash: string }>(
    'SELECT block_number, block_hash FROM ledger_consent_cursor FOR UPDATE',
  );
  const r = rows[0];
  return r ? { blockNumber: Number(r.block_number), blockHash: r.block_hash } : undefined;
}

export async function writeCursor(q: Queryable, c: Cursor): Promise<void> {
  await q.query(
    `INSERT INTO ledger_consent_cursor
       (singleton, chain_id, consent_manager, registry, start_block, block_number, block_hash, block_timestamp,
        updated_at)
     VALUES (true, $1, $2, $3, $7, $4, $5, $6, now())
     ON CONFLICT (singleton) DO UPDATE SET chain_id = $1, consent_manager = $2, registry = $3, start_block = $7,
       block_number = $4, block_hash = $5, block_timestamp = $6, updated_at = now()`,
    [
      c.chainId,
      c.consentManager.toLowerCase(),
      c.registry.toLowerCase(),
      c.blockNumber,
      c.blockHash.toLowerCase(),
      c.blockTimestamp,
      c.startBlock,
    ],
  );
}

export async function addCheckpoints(q: Queryable, checkpoints: readonly Checkpoint[]): Promise<void> {
  if (checkpoints.length === 0) return;
  await q.query(
    `INSERT INTO ledger_consent_blocks (number, hash, timestamp)
     SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[])
     ON CONFLICT (number) DO UPDATE SET hash = EXCLUDED.hash, timestamp = EXCLUDED.timestamp`,
    [
      checkpoints.map((c) => c.number),
      checkpoints.map((c) => c.hash.toLowerCase()),
      checkpoints.map((c) => c.timestamp),
    ],
  );
  await q.query(
    `DELETE FROM ledger_consent_blocks WHERE number < (
       SELECT min(number) FROM (SELECT number FROM ledger_consent_blocks ORDER BY number DESC LIMIT $1) kept)`,
    [CHECKPOINTS_KEPT],
  );
}

/** Checkpoints, newest first. */
export async function recentCheckpoints(q: Queryable, limit = CHECKPOINTS_KEPT): Promise<Checkpoint[]> {
  const { rows } = await q.query<{ number: number; hash: string; timestamp: number }>(
    'SELECT number, hash, timestamp FROM ledger_consent_blocks ORDER BY number DESC LIMIT $1',
    [limit],
  );
  return rows.map((r) => ({
    number: Number(r.number),
    hash: r.hash as Hash,
    timestamp: Number(r.timestamp),
  }));
}

/** Forgets everything (another deployment, or no block of ours is on the chain any more). */
export async function wipe(q: Queryable): Promise<void> {
  for (const table of [
    'ledger_consent_grants',
    'ledger_consent_break_glass',
    'ledger_consent_registry_events',
    'ledger_consent_blocks',
    'ledger_consent_cursor',
  ]) {
    await q.query(`DELETE FROM ${table}`);
  }
}

/** Undoes every effect of blocks above `block`. */
export async function rollbackAbove(q: Queryable, block: number): Promise<void> {
  await q.query('DELETE FROM ledger_consent_grants WHERE granted_block > $1', [block]);
  await q.query(
    `UPDATE ledger_consent_grants SET revoked_block = NULL, revoked_tx = NULL, revoked_at = NULL
      WHERE revoked_block > $1`,
    [block],
  );
  await q.query('DELETE FROM ledger_consent_break_glass WHERE opened_block > $1', [block]);
  await q.query(
    'UPDATE ledger_consent_break_glass SET ended_block = NULL, ended_at = NULL WHERE ended_block > $1',
    [block],
  );
  await q.query(
    `UPDATE ledger_consent_break_glass
        SET reviewed_block = NULL, reviewed_at = NULL, auditor = NULL, justified = NULL, finding_hash = NULL
      WHERE reviewed_block > $1`,
    [block],
  );
  await q.query('DELETE FROM ledger_consent_registry_events WHERE block_number > $1', [block]);
  await q.query('DELETE FROM ledger_consent_blocks WHERE number > $1', [block]);
}

const bytes = (hex: Hex) => hexToBytes(hex);

/**
 * Applies decoded events in chain order. Each statement is a no-op when its effect is already there, so a chunk
 * applied twice (a crash between commit and the in-memory update, a retried sync) changes nothing.
 */
export async function applyEvents(
  q: Queryable,
  events: readonly (ConsentChainEvent & { blockTimestamp: number })[],
): Promise<AppliedChanges> {
  const changes: AppliedChanges = { patients: new Set(), registry: false, breakGlass: false };
  for (const e of events) {
    switch (e.kind) {
      case 'granted': {
        const t = e.terms;
        await q.query(
          `INSERT INTO ledger_consent_grants (consent_id, patient, grantee, grantee_member, actions,
             resource_classes, purposes, valid_from, valid_until, data_from, data_until, nonce, granted_block,
             granted_tx, granted_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (consent_id) DO NOTHING`,
          [
            bytes(e.id),
            bytes(t.patient),
            t.grantee,
            t.granteeMember.toLowerCase(),
            t.actions,
            t.resourceClasses,
            t.purposes,
            t.validFrom,
            t.validUntil,
            t.dataFrom,
            t.dataUntil,
            t.nonce.toString(),
            e.blockNumber,
            e.transactionHash,
            e.blockTimestamp,
          ],
        );
        changes.patients.add(t.patient.toLowerCase());
        break;
      }
      case 'revoked': {
        const { rows } = await q.query<{ patient: Uint8Array }>(
          `UPDATE ledger_consent_grants SET revoked_block = $2, revoked_tx = $3, revoked_at = $4
            WHERE consent_id = $1 AND revoked_block IS NULL RETURNING patient`,
          [bytes(e.id), e.blockNumber, e.transactionHash, e.blockTimestamp],
        );
        for (const r of rows) changes.patients.add(bytesToHex(r.patient));
        break;
      }
      case 'breakGlassOpened':
        await q.query(
          `INSERT INTO ledger_consent_break_glass (id, patient, member, organisation, reason_hash, opened_at,
             expires_at, opened_block, opened_tx)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
          [
            e.id,
            bytes(e.patient),
            e.member,
            e.organisation,
            bytes(e.reasonHash),
            e.blockTimestamp,
            e.expiresAt,
            e.blockNumber,
            e.transactionHash,
          ],
        );
        changes.breakGlass = true;
        break;
      case 'breakGlassEnded':
        await q.query(
          `UPDATE ledger_consent_break_glass SET ended_block = $2, ended_at = $3
            WHERE id = $1 AND ended_block IS NULL`,
          [e.id, e.blockNumber, e.blockTimestamp],
        );
        changes.breakGlass = true;
        break;
      case 'breakGlassReviewed':
        await q.query(
          `UPDATE ledger_consent_break_glass
              SET reviewed_block = $2, reviewed_at = $3, auditor = $4, justified = $5, finding_hash = $6
            WHERE id = $1 AND reviewed_block IS NULL`,
          [e.id, e.blockNumber, e.blockTimestamp, e.auditor, e.justified, bytes(e.findingHash)],
        );
        changes.breakGlass = true;
        break;
      case 'registry':
        await q.query(
          `INSERT INTO ledger_consent_registry_events
             (block_number, log_index, kind, organisation, account, role, at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (block_number, log_index) DO NOTHING`,
          [
            e.blockNumber,
            e.logIndex,
            e.event.kind,
            e.event.organisation,
            e.event.account ?? null,
            e.event.role ?? null,
            e.blockTimestamp,
            e.event.expiresAt ?? null,
          ],
        );
        changes.registry = true;
        break;
    }
  }
  return changes;
}

export async function loadRegistryEvents(q: Queryable): Promise<RegistryEvent[]> {
  const { rows } = await q.query<{
    kind: RegistryEventKind;
    organisation: number;
    account: string | null;
    role: number | null;
    at: number;
    expires_at: number | null;
  }>(
    `SELECT kind, organisation, account, role, at, expires_at FROM ledger_consent_registry_events
      ORDER BY block_number, log_index`,
  );
  return rows.map((r) => ({
    kind: r.kind,
    organisation: Number(r.organisation),
    ...(r.account ? { account: r.account as Address } : {}),
    ...(r.role !== null ? { role: Number(r.role) } : {}),
    at: Number(r.at),
    ...(r.expires_at !== null ? { expiresAt: Number(r.expires_at) } : {}),
  }));
}

interface GrantRow {
  consent_id: Uint8Array;
  patient: Uint8Array;
  grantee: number;
  grantee_member: string;
  actions: number;
  resource_classes: number;
  purposes: number;
  valid_from: number;
  valid_until: number;
  data_from: number;
  data_until: number;
  nonce: string;
  granted_block: number;
  granted_tx: string;
  granted_at: number;
  revoked_block: number | null;
  revoked_tx: string | null;
  revoked_at: number | null;
}

function grantOf(r: GrantRow): IndexedGrant {
  return {
    id: bytesToHex(r.consent_id),
    patient: bytesToHex(r.patient),
    grantee: Number(r.grantee),
    granteeMember: r.grantee_member as Address,
    actions: Number(r.actions),
    resourceClasses: Number(r.resource_classes),
    purposes: Number(r.purposes),
    validFrom: Number(r.valid_from),
    validUntil: Number(r.valid_until),
    dataFrom: Number(r.data_from),
    dataUntil: Number(r.data_until),
    nonce: BigInt(r.nonce),
    grantedAt: Number(r.granted_at),
    grantedBlock: Number(r.granted_block),
    grantedTx: r.granted_tx as Hash,
    ...(r.revoked_block !== null
      ? {
          revokedAt: Number(r.revoked_at),
          revokedBlock: Number(r.revoked_block),
          revokedTx: r.revoked_tx as Hash,
        }
      : {}),
  };
}

/** Every grant of a patient, revoked ones included (historic decisions need them), oldest first. */
export async function loadGrants(q: Queryable, patient: Hex): Promise<IndexedGrant[]> {
  const { rows } = await q.query<GrantRow>(
    'SELECT * FROM ledger_consent_grants WHERE patient = $1 ORDER BY granted_block, consent_id',
    [bytes(patient)],
  );
  return rows.map(grantOf);
}

/** Grants to an organisation that no revocation has ended yet (the candidates for its members' searches). */
export async function loadGrantsTo(q: Queryable, organisation: number): Promise<IndexedGrant[]> {
  const { rows } = await q.query<GrantRow>(
    `SELECT * FROM ledger_consent_grants WHERE grantee = $1 AND revoked_block IS NULL
     ORDER BY granted_block, consent_id`,
    [organisation],
  );
  return rows.map(grantOf);
}

export async function loadGrant(q: Queryable, id: Hex): Promise<IndexedGrant | undefined> {
  const { rows } = await q.query<GrantRow>('SELECT * FROM ledger_consent_grants WHERE consent_id = $1', [
    bytes(id),
  ]);
  return rows[0] ? grantOf(rows[0]) : undefined;
}

interface BreakGlassRow {
  id: number;
  patient: Uint8Array;
  member: string;
  organisation: number;
  reason_hash: Uint8Array;
  opened_at: number;
  expires_at: number;
  opened_block: number;
  opened_tx: string;
  ended_block: number | null;
  ended_at: number | null;
  reviewed_block: number | null;
  reviewed_at: number | null;
  auditor: string | null;
  justified: boolean | null;
  finding_hash: Uint8Array | null;
}

function sessionOf(r: BreakGlassRow): BreakGlassSession {
  const endedAt = r.ended_at === null ? undefined : Number(r.ended_at);
  return {
    id: Number(r.id),
    patient: bytesToHex(r.patient),
    member: r.member as Address,
    organisation: Number(r.organisation),
    reasonHash: bytesToHex(r.reason_hash),
    openedAt: Number(r.opened_at),
    expiresAt: endedAt ?? Number(r.expires_at),
    ...(endedAt !== undefined ? { endedAt } : {}),
    openedBlock: Number(r.opened_block),
    openedTx: r.opened_tx as Hash,
    ...(r.reviewed_block !== null && r.auditor !== null
      ? {
          review: {
            auditor: r.auditor as Address,
            justified: r.justified === true,
            findingHash: bytesToHex(r.finding_hash ?? new Uint8Array(32)),
            reviewedAt: Number(r.reviewed_at),
            block: Number(r.reviewed_block),
          },
        }
      : {}),
  };
}

/** A member's sessions on one patient, newest first (at most `limit`): what a decision checks against a time. */
export async function breakGlassOf(
  q: Queryable,
  patient: Hex,
  member: Address,
  limit = 100,
): Promise<BreakGlassSession[]> {
  const { rows } = await q.query<BreakGlassRow>(
    `SELECT * FROM ledger_consent_break_glass WHERE patient = $1 AND member = $2 ORDER BY id DESC LIMIT $3`,
    [bytes(patient), member.toLowerCase(), limit],
  );
  return rows.map(sessionOf);
}

/**
 * The session running at `at` among a member's sessions on a patient, as ConsentManager.isBreakGlassActive
 * decides it (the licence aside): opened by then, neither ended nor expired.
 */
export function runningAt(sessions: readonly BreakGlassSession[], at: number): BreakGlassSession | undefined {
  return sessions.find((s) => s.openedAt <= at && (s.endedAt ?? s.expiresAt) > at);
}

export interface BreakGlassFilter {
  /** Only sessions whose review is still open. */
  unreviewed?: boolean;
  patient?: Hex;
  organisation?: number;
  /** Sessions with a larger id (paging). */
  afterId?: number;
  limit?: number;
}

export async function listBreakGlass(
  q: Queryable,
  filter: BreakGlassFilter = {},
): Promise<BreakGlassSession[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.unreviewed) where.push('reviewed_block IS NULL');
  if (filter.patient) {
    params.push(bytes(filter.patient));
    where.push(`patient = $${params.length}`);
  }
  if (filter.organisation !== undefined) {
    params.push(filter.organisation);
    where.push(`organisation = $${params.length}`);
  }
  if (filter.afterId !== undefined) {
    params.push(filter.afterId);
    where.push(`id > $${params.length}`);
  }
  params.push(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
  const { rows } = await q.query<BreakGlassRow>(
    `SELECT * FROM ledger_consent_break_glass ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id LIMIT $${params.length}`,
    params,
  );
  return rows.map(sessionOf);
}

export async function loadBreakGlass(q: Queryable, id: number): Promise<BreakGlassSession | undefined> {
  const { rows } = await q.query<BreakGlassRow>('SELECT * FROM ledger_consent_break_glass WHERE id = $1', [
    id,
  ]);
  return rows[0] ? sessionOf(rows[0]) : undefined;
}
