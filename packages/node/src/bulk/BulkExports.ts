/**
 * Bulk export jobs (FHIR Bulk Data Access IG v2): kick-off, a runner that writes the sealed NDJSON files, the
 * status a client polls, cancellation, and the sweeper that deletes expired jobs with their files.
 *
 * A job runs with its caller's access, decided when it runs: the runner rebuilds the caller's AccessPolicy
 * from the caller stored (sealed) with the job and reads through `Records.exportPages` — the same decision and
 * query filter as search and $everything. Only the caller who started a job may poll, download or delete it:
 * anyone else — and anyone after expiry — gets the answer a job that never existed gets.
 *
 * Jobs run one at a time, in the order they were started, in this process. The jobs table survives a
 * restart: a job that was queued or running when the node stopped is run again from the start when it
 * starts (its partial files deleted first; its transactionTime is that of the new run). Completed and failed
 * jobs are deleted, files included, once they expire (`expirySeconds` after they ended; the sweeper runs
 * every `sweepIntervalMs` and at start-up).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { aeadOpen, aeadSeal, bytesToUtf8, deriveSubkey, utf8ToBytes } from '@medledger/crypto';
import type { Db } from '@medledger/storage';
import type { AccessPolicy } from '../access/AccessPolicy.js';
import type { Caller } from '../access/Caller.js';
import type { AuditTrail } from '../audit/AuditTrail.js';
import { EXCHANGE_EXPORT } from '../audit/auditEvents.js';
import type { ExportScope, RecordService } from '../services/RecordService.js';
import { readSealedNdjson, SealedNdjsonWriter } from './sealedNdjson.js';

export type ExportLevel = 'system' | 'patient' | 'group';

/** A validated kick-off request (bulkExportRoutes parses it). */
export interface ExportRequest {
  /** The kick-off URL as the client sent it (the manifest's `request`). */
  url: string;
  level: ExportLevel;
  /** Group exports: the member patients' ids, read from the Group under the caller's access at kick-off. */
  patients?: string[];
  types?: string[];
  /** ISO instant. */
  since?: string;
}

export type JobState = 'queued' | 'running' | 'completed' | 'failed';

export interface JobStatus {
  state: JobState;
  exported: number;
  transactionTime?: Date;
  expiresAt?: Date;
  request: string;
  files: { fileId: string; type: string; count: number }[];
}

export interface BulkExportOptions {
  /** Seconds a finished job and its files are kept (default 3600). */
  expirySeconds?: number;
  /** How often the sweeper looks for expired jobs (default 60 s). */
  sweepIntervalMs?: number;
  /** Unfinished jobs one caller may have at once (default 3; more are refused with 429). */
  maxActivePerCaller?: number;
  /** The clock (tests drive expiry with it). */
  now?: () => Date;
}

interface JobRow {
  id: string;
  owner: string;
  sealed_request: Uint8Array;
  status: JobState;
  exported: string | number;
  transaction_time: Date | null;
  expires_at: Date | null;
}

interface Sealed {
  caller: Caller;
  request: ExportRequest;
}

const JOB_ID = /^[0-9a-f]{32}$/;
const FILE_ID = /^[0-9a-f]{32}$/;
const requestAad = (id: string) => utf8ToBytes(`medledger/bulk-export/v1/request|${id}`);

/** The one answer for a job that does not exist, expired, or is someone else's. */
export const noSuchJob = () => new MdlError(MdlErrorCode.NotFound, 'no such export job');

/** Who owns a job: the caller's kind and account or client id. */
export function ownerOf(caller: Caller): string {
  return `${caller.kind}:${caller.id}`;
}

function reviveCaller(caller: Caller): Caller {
  if (caller.kind === 'person' && caller.credential?.authTime !== undefined) {
    return {
      ...caller,
      credential: { ...caller.credential, authTime: new Date(caller.credential.authTime) },
    };
  }
  return caller;
}

export class BulkExports {
  readonly #db: Db;
  readonly #records: RecordService;
  readonly #accessFor: (caller: Caller) => AccessPolicy;
  readonly #audit: Pick<AuditTrail, 'record'> | undefined;
  readonly #dir: string;
  readonly #requestKey: Uint8Array;
  readonly #fileKey: Uint8Array;
  readonly #expiryMs: number;
  readonly #sweepIntervalMs: number;
  readonly #maxActive: number;
  readonly now: () => Date;
  readonly #events = new EventEmitter();
  readonly #queue: string[] = [];
  readonly #cancelled = new Set<string>();
  #running: Promise<void> | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    deps: {
      db: Db;
      records: RecordService;
      accessFor: (caller: Caller) => AccessPolicy;
      dataDir: string;
      sealingKey: Uint8Array;
      /** Records each job run: a DICOM Export event per patient whose records went into its files. */
      audit?: Pick<AuditTrail, 'record'>;
    },
    options: BulkExportOptions = {},
  ) {
    this.#db = deps.db;
    this.#records = deps.records;
    this.#accessFor = deps.accessFor;
    this.#audit = deps.audit;
    this.#dir = join(deps.dataDir, 'bulk-export');
    this.#requestKey = deriveSubkey(deps.sealingKey, 'bulk-export-requests');
    this.#fileKey = deriveSubkey(deps.sealingKey, 'bulk-export-files');
    this.#expiryMs = (options.expirySeconds ?? 3600) * 1000;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.#maxActive = options.maxActivePerCaller ?? 3;
    this.now = options.now ?? (() => new Date());
    this.#events.setMaxListeners(0);
  }

  /** Resumes the jobs a stop interrupted (from the start), sweeps, and starts the sweeper. */
  async start(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const { rows } = await this.#db.query<{ id: string }>(
      `SELECT id FROM bulk_export_jobs WHERE status IN ('queued', 'running') ORDER BY created_at`,
    );
    for (const { id } of rows) {
      await rm(join(this.#dir, id), { recursive: true, force: true });
      await this.#db.query(
        `UPDATE bulk_export_jobs SET status = 'queued', exported = 0, transaction_time = NULL WHERE id = $1`,
        [id],
      );
      this.#enqueue(id);
    }
    await this.sweep();
    this.#sweeper = setInterval(() => void this.sweep().catch(() => undefined), this.#sweepIntervalMs);
    this.#sweeper.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#queue.length = 0;
    await this.#running;
  }

  /** Accepts a job for `caller`; it runs in the background. Returns its id. */
  async kickOff(caller: Caller, request: ExportRequest): Promise<string> {
    const owner = ownerOf(caller);
    const active = await this.#db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM bulk_export_jobs WHERE owner = $1 AND status IN ('queued', 'running')`,
      [owner],
    );
    if (Number(active.rows[0]?.n ?? 0) >= this.#maxActive) {
      throw Object.assign(
        new MdlError(
          MdlErrorCode.RateLimited,
          'too many export jobs in progress for this caller; wait for one to finish or delete one',
        ),
        { retryAfterSeconds: 30 },
      );
    }
    const id = randomBytes(16).toString('hex');
    const sealed = aeadSeal(
      this.#requestKey,
      utf8ToBytes(JSON.stringify({ caller, request } satisfies Sealed)),
      requestAad(id),
    );
    await this.#db.query(
      `INSERT INTO bulk_export_jobs (id, owner, sealed_request, status, created_at) VALUES ($1, $2, $3, 'queued', $4)`,
      [id, owner, sealed, this.now()],
    );
    this.#enqueue(id);
    return id;
  }

  /** The job's status for `caller`; a job that does not exist, expired, or is another's: NotFound. */
  async status(caller: Caller, id: string): Promise<JobStatus> {
    const row = await this.#owned(caller, id);
    const { request } = this.#open(row);
    const files =
      row.status === 'completed'
        ? (
            await this.#db.query<{ file_id: string; type: string; count: string | number }>(
              'SELECT file_id, type, count FROM bulk_export_files WHERE job_id = $1 ORDER BY position',
              [id],
            )
          ).rows.map((f) => ({ fileId: f.file_id, type: f.type, count: Number(f.count) }))
        : [];
    return {
      state: row.status,
      exported: Number(row.exported),
      ...(row.transaction_time ? { transactionTime: row.transaction_time } : {}),
      ...(row.expires_at ? { expiresAt: row.expires_at } : {}),
      request: request.url,
      files,
    };
  }

  /** The plaintext NDJSON of one output file of a completed job of `caller`. */
  async file(caller: Caller, id: string, fileId: string): Promise<AsyncGenerator<Buffer>> {
    const row = await this.#owned(caller, id);
    if (row.status !== 'completed' || !FILE_ID.test(fileId)) throw noSuchJob();
    const { rows } = await this.#db.query<{ wrapped_key: Uint8Array }>(
      'SELECT wrapped_key FROM bulk_export_files WHERE job_id = $1 AND file_id = $2',
      [id, fileId],
    );
    if (!rows[0]) throw noSuchJob();
    return readSealedNdjson(join(this.#dir, id, fileId), fileId, rows[0].wrapped_key, this.#fileKey);
  }

  /** Cancels (if it runs) and deletes a job of `caller` with its files. */
  async delete(caller: Caller, id: string): Promise<void> {
    await this.#owned(caller, id);
    this.#cancelled.add(id);
    await this.#remove(id);
  }

  /** Deletes every job that expired at `at`, with its files. Returns how many. */
  async sweep(at: Date = this.now()): Promise<number> {
    const { rows } = await this.#db.query<{ id: string }>(
      'SELECT id FROM bulk_export_jobs WHERE expires_at IS NOT NULL AND expires_at <= $1',
      [at],
    );
    for (const { id } of rows) await this.#remove(id);
    return rows.length;
  }

  /**
   * Settles when the job has finished (completed, failed or deleted): what a test or a benchmark waits on,
   * rather than polling against a clock.
   */
  settled(id: string): Promise<JobState | 'deleted'> {
    return new Promise((resolve, reject) => {
      const listener = (state: JobState | 'deleted') => {
        this.#events.off(id, listener);
        resolve(state);
      };
      this.#events.on(id, listener);
      this.#db
        .query<{ status: JobState }>('SELECT status FROM bulk_export_jobs WHERE id = $1', [id])
        .then(({ rows }) => {
          const state = rows[0]?.status;
          if (state === 'completed' || state === 'failed' || state === undefined) {
            listener(state ?? 'deleted');
          }
        }, reject);
    });
  }

  /** Where a job's files live (tests read the sealed bytes there). */
  directoryOf(id: string): string {
    if (!JOB_ID.test(id)) throw noSuchJob();
    return join(this.#dir, id);
  }

  // ---------------------------------------------------------------------------------------------------------

  async #owned(caller: Caller, id: string): Promise<JobRow> {
    if (!JOB_ID.test(id)) throw noSuchJob();
    const { rows } = await this.#db.query<JobRow>(
      `SELECT id, owner, sealed_request, status, exported, transaction_time, expires_at
       FROM bulk_export_jobs WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row || row.owner !== ownerOf(caller) || (row.expires_at && row.expires_at <= this.now())) {
      throw noSuchJob();
    }
    return row;
  }

  #open(row: Pick<JobRow, 'id' | 'sealed_request'>): Sealed {
    const plain = aeadOpen(this.#requestKey, row.sealed_request, requestAad(row.id));
    if (!plain) throw new MdlError(MdlErrorCode.DecryptFailed, 'an export job does not open');
    const sealed = JSON.parse(bytesToUtf8(plain)) as Sealed;
    return { ...sealed, caller: reviveCaller(sealed.caller) };
  }

  async #remove(id: string): Promise<void> {
    await this.#db.query('DELETE FROM bulk_export_jobs WHERE id = $1', [id]);
    await rm(join(this.#dir, id), { recursive: true, force: true });
    this.#events.emit(id, 'deleted');
  }

  /**
   * The job's run as an audited request of its caller: the kick-off's route, one event per patient whose
   * records went into the files (the patients' access logs show the export).
   */
  #auditedRun(access: AccessPolicy, request: ExportRequest): Parameters<AuditTrail['record']>[0] {
    const group =
      request.level === 'group' ? /\/Group\/([^/?]+)\/\$export/.exec(request.url)?.[1] : undefined;
    return {
      method: 'POST',
      route:
        request.level === 'system'
          ? '/fhir/$export'
          : request.level === 'patient'
            ? '/fhir/Patient/$export'
            : '/fhir/Group/:id/$export',
      params: group ? { type: 'Group', id: group } : {},
      status: 200,
      caller: access.caller,
      subjects: access.auditSubjects(),
      denied: false,
      detail: { type: EXCHANGE_EXPORT, action: 'E', outcomeDesc: 'bulk export files written' },
    };
  }

  #enqueue(id: string): void {
    this.#queue.push(id);
    if (!this.#running) this.#running = this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      for (let id = this.#queue.shift(); id !== undefined && !this.#stopped; id = this.#queue.shift()) {
        await this.#run(id);
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #run(id: string): Promise<void> {
    const { rows } = await this.#db.query<JobRow>(
      `UPDATE bulk_export_jobs SET status = 'running', transaction_time = $2
       WHERE id = $1 AND status = 'queued' RETURNING id, sealed_request`,
      [id, this.now()],
    );
    const row = rows[0];
    if (!row) return; // deleted before it ran
    const dir = join(this.#dir, id);
    const writers = new Map<string, { fileId: string; writer: SealedNdjsonWriter }>();
    let outcome: JobState = 'failed';
    let run: { access: AccessPolicy; request: ExportRequest } | undefined;
    try {
      const { caller, request } = this.#open(row);
      const access = this.#accessFor(caller);
      run = { access, request };
      const records = this.#records.for(access);
      const scope: ExportScope =
        request.level === 'system'
          ? { kind: 'system' }
          : { kind: 'patients', ...(request.patients ? { patients: request.patients } : {}) };
      await mkdir(dir, { recursive: true, mode: 0o700 });
      let exported = 0;
      const pages = records.exportPages(scope, {
        types: request.types,
        since: request.since ? new Date(request.since) : undefined,
      });
      for await (const page of pages) {
        if (this.#cancelled.has(id) || this.#stopped) break;
        for (const stored of page) {
          let out = writers.get(stored.type);
          if (!out) {
            const fileId = randomBytes(16).toString('hex');
            out = { fileId, writer: await SealedNdjsonWriter.create(join(dir, fileId), fileId) };
            writers.set(stored.type, out);
          }
          await out.writer.write(stored.resource);
        }
        exported += page.length;
        await this.#db.query('UPDATE bulk_export_jobs SET exported = $2 WHERE id = $1', [id, exported]);
      }
      if (this.#cancelled.has(id) || this.#stopped) throw new Error('export interrupted');
      const files: { fileId: string; type: string; count: number; wrappedKey: Uint8Array }[] = [];
      for (const [type, { fileId, writer }] of writers) {
        const count = writer.lines;
        files.push({ fileId, type, count, wrappedKey: await writer.close(this.#fileKey) });
      }
      writers.clear();
      const ended = this.now();
      const committed = await this.#db.transaction(async (tx) => {
        const updated = await tx.query(
          `UPDATE bulk_export_jobs SET status = 'completed', completed_at = $2, expires_at = $3
           WHERE id = $1 AND status = 'running'`,
          [id, ended, new Date(ended.getTime() + this.#expiryMs)],
        );
        if (updated.rowCount !== 1) return false;
        for (const [position, f] of files.entries()) {
          await tx.query(
            `INSERT INTO bulk_export_files (job_id, file_id, position, type, count, wrapped_key)
             VALUES ($1, $2, $3, $4, $5, $6)`,
            [id, f.fileId, position, f.type, f.count, f.wrappedKey],
          );
        }
        return true;
      });
      if (!committed) throw new Error('export deleted while it ran');
      outcome = 'completed';
    } catch {
      // Nothing about the records goes to the log or the job: a failed job says only that it failed.
      for (const { writer } of writers.values()) await writer.abandon();
      await rm(dir, { recursive: true, force: true });
      if (!this.#stopped) {
        const ended = this.now();
        await this.#db
          .query(
            `UPDATE bulk_export_jobs SET status = 'failed', completed_at = $2, expires_at = $3
             WHERE id = $1 AND status = 'running'`,
            [id, ended, new Date(ended.getTime() + this.#expiryMs)],
          )
          .catch(() => undefined);
      }
    } finally {
      if (run && this.#audit && outcome === 'completed') {
        await this.#audit.record(this.#auditedRun(run.access, run.request)).catch(() => undefined);
      }
      this.#cancelled.delete(id);
      if (!this.#stopped || outcome === 'completed') this.#events.emit(id, outcome);
    }
  }
}
