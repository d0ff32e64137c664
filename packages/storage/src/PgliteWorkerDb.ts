/**
 * The embedded backend on its own thread: PGlite (PostgreSQL compiled to WASM) running in a worker_threads
 * Worker, so the database's CPU time — a third of a bulk import's — runs on a second core instead of
 * competing with HTTP handling, validation and encryption on the main thread. Same semantics as the
 * in-process `openPgliteDb` (one connection, serialised statements, transactions that hold the connection).
 *
 * How transactions stay isolated: the worker executes messages in arrival order on PGlite's one connection.
 * Statements outside a transaction are sent as soon as they are issued (pipelined); while a transaction is
 * open, only its own statements go through and everyone else waits at the gate, in FIFO order.
 *
 * Limits: rows and parameters cross the thread boundary by structured clone (a copy); the worker's code is a
 * plain-JavaScript string so that it runs the same from TypeScript sources (tests) and from dist.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { Db, Queryable, QueryResult } from './Db.js';
import { PGLITE_MEMORY } from './pgliteMemory.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const plain = (e) => ({ message: String(e && e.message || e), code: e && e.code, detail: e && e.detail });
(async () => {
  let pg;
  try {
    const { PGlite } = await import(workerData.pgliteUrl);
    pg = await PGlite.create(workerData.dataDir, {
      parsers: { 20: (v) => Number(v) },
      startParams: [...PGlite.defaultStartParams, ...workerData.startParams],
    });
    if (workerData.initOnly) {
      await pg.close();
      parentPort.postMessage({ id: 0 });
      return;
    }
  } catch (e) {
    parentPort.postMessage({ id: 0, error: plain(e) });
    return;
  }
  parentPort.on('message', async (m) => {
    try {
      let result;
      if (m.op === 'query') {
        const r = await pg.query(m.sql, m.params);
        // PGlite reports affectedRows 0 for a SELECT; PostgreSQL's rowCount is the number of rows returned.
        result = { rows: r.rows, rowCount: r.fields.length > 0 ? r.rows.length : (r.affectedRows ?? 0) };
      } else if (m.op === 'exec') {
        await pg.exec(m.sql);
      } else if (m.op === 'close') {
        await pg.close();
      }
      parentPort.postMessage({ id: m.id, result });
    } catch (e) {
      parentPort.postMessage({ id: m.id, error: plain(e) });
    }
  });
  parentPort.postMessage({ id: 0 });
})();
`;

interface Reply {
  id: number;
  result?: QueryResult<unknown>;
  error?: { message: string; code?: string; detail?: string };
}

type Op =
  | { op: 'query'; sql: string; params: readonly unknown[] }
  | { op: 'exec'; sql: string }
  | { op: 'close' };

/** A database error from the worker, keeping PostgreSQL's SQLSTATE in `code` as the drivers do. */
class WorkerDbError extends Error {
  override readonly name = 'PgliteError';
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly detail: string | undefined,
  ) {
    super(message);
  }
}

function workerData(dataDir: string | undefined, initOnly: boolean) {
  const pgliteUrl = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
  return {
    // The CommonJS entry resolves above; the worker imports the ES module next to it.
    pgliteUrl: pgliteUrl.replace(/\.cjs$/, '.js'),
    dataDir: dataDir ?? 'memory://',
    startParams: PGLITE_MEMORY.startParams,
    initOnly,
  };
}

/**
 * Creates the database files of a new on-disk data directory, if there are none yet: a copy of a pristine
 * cluster this process made once. PGlite's initdb takes seconds of CPU (the longest step of a fresh node's
 * start), and a stopped PostgreSQL cluster may be copied file by file; a process that starts several nodes (the
 * demo, the tests) pays it once. The pristine cluster lives in a private temporary directory (mkdtemp: 0700)
 * removed when the process exits; it is never shared between processes.
 */
export async function initialisePgliteDir(dataDir: string): Promise<void> {
  if (dataDir.includes('://') || existsSync(join(dataDir, 'PG_VERSION'))) return;
  const cluster = await pristineCluster();
  await cp(cluster, dataDir, { recursive: true, force: false, errorOnExist: true });
}

/**
 * Where a caller that starts many processes (the test runner) keeps a pristine cluster it made with
 * `createPristineCluster`, for every process it starts to copy. Read from the environment like DATABASE_URL:
 * whoever sets it decides what every new database starts from.
 */
export const PGLITE_TEMPLATE_ENV = 'MEDLEDGER_PGLITE_TEMPLATE';

/** Makes a pristine cluster in `dir` (which must not hold one): what a new data directory is a copy of. */
export async function createPristineCluster(dir: string): Promise<void> {
  await runInitdb(dir);
}

let pristine: Promise<string> | undefined;

function pristineCluster(): Promise<string> {
  const given = process.env[PGLITE_TEMPLATE_ENV];
  if (given && existsSync(join(given, 'PG_VERSION'))) return Promise.resolve(given);
  pristine ??= (async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'medledger-pglite-'));
    process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
    const cluster = join(scratch, 'cluster');
    await runInitdb(cluster);
    return cluster;
  })();
  // A failure is not remembered: the next node tries again (and reports its own error).
  pristine.catch(() => {
    pristine = undefined;
  });
  return pristine;
}

/**
 * Runs initdb in a throwaway worker. PGlite runs initdb in a second PGlite instance and keeps a copy of its heap
 * meanwhile: some 450 MB of wasm memories and buffers that are garbage afterwards but stay resident until that
 * thread's next full collection, which an idle database thread may never run. Ending the thread returns all of
 * it at once.
 */
async function runInitdb(dataDir: string): Promise<void> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: workerData(dataDir, true) });
  try {
    const reply = await new Promise<Reply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the worker exited (${code})`)));
    });
    if (reply.error) throw new Error(reply.error.message);
  } catch (error) {
    throw new MdlError(
      MdlErrorCode.Unavailable,
      `PGlite failed to start: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    await worker.terminate();
  }
}

export async function openPgliteWorkerDb(dataDir?: string): Promise<Db> {
  if (dataDir) await initialisePgliteDir(dataDir);
  // The worker's JavaScript only passes statements and rows along: a 4 MB young generation (V8's default is
  // 16 MB per semi-space) is plenty and keeps ~25 MB less resident once an import has been through.
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: workerData(dataDir, false),
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });

  let nextId = 1;
  const pending = new Map<number, { resolve: (r: Reply) => void }>();
  let failure: Error | undefined;
  let closed = false;

  const ready = new Promise<void>((resolve, reject) => {
    const onFirst = (m: Reply) => {
      if (m.id !== 0) return;
      worker.off('message', onFirst);
      if (m.error)
        reject(new MdlError(MdlErrorCode.Unavailable, `PGlite failed to start: ${m.error.message}`));
      else resolve();
    };
    worker.on('message', onFirst);
  });
  worker.on('message', (m: Reply) => {
    if (m.id === 0) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    p?.resolve(m);
  });
  const fail = (error: Error) => {
    failure = error;
    for (const p of pending.values()) p.resolve({ id: -1, error: { message: error.message } });
    pending.clear();
  };
  worker.on('error', (e) =>
    fail(new MdlError(MdlErrorCode.Unavailable, `PGlite worker failed: ${e.message}`)),
  );
  worker.on('exit', () => {
    if (!closed) fail(new MdlError(MdlErrorCode.Unavailable, 'PGlite worker exited'));
  });
  try {
    await Promise.race([
      ready,
      new Promise<never>((_, reject) => worker.once('exit', () => reject(failure ?? new Error('exited')))),
    ]);
  } catch (error) {
    await worker.terminate();
    throw error;
  }

  const send = async (op: Op): Promise<QueryResult<unknown> | undefined> => {
    if (failure) throw failure;
    if (closed) throw new MdlError(MdlErrorCode.Unavailable, 'database is closed');
    const id = nextId++;
    const reply = await new Promise<Reply>((resolve) => {
      pending.set(id, { resolve });
      worker.postMessage({ id, ...op });
    });
    if (reply.error) throw new WorkerDbError(reply.error.message, reply.error.code, reply.error.detail);
    return reply.result;
  };

  // The gate: while a transaction holds the connection, everyone else waits here in FIFO order.
  let inTransaction = false;
  const waiting: { transaction: boolean; resolve: () => void }[] = [];
  const enter = (transaction: boolean): Promise<void> | undefined => {
    if (!inTransaction && waiting.length === 0) {
      inTransaction = transaction;
      return undefined;
    }
    return new Promise((resolve) => waiting.push({ transaction, resolve }));
  };
  const drain = () => {
    // Let statements through in order until a transaction takes the connection.
    while (!inTransaction && waiting.length > 0) {
      const next = waiting.shift();
      if (!next) break;
      inTransaction = next.transaction;
      next.resolve();
    }
  };

  const direct: Queryable = {
    async query<T>(sql: string, params: readonly unknown[] = []) {
      return (await send({ op: 'query', sql, params })) as QueryResult<T>;
    },
    async exec(sql: string) {
      await send({ op: 'exec', sql });
    },
  };

  return {
    kind: 'pglite',
    async query<T>(sql: string, params: readonly unknown[] = []) {
      await enter(false);
      return direct.query<T>(sql, params);
    },
    async exec(sql: string) {
      await enter(false);
      await direct.exec(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      await enter(true);
      try {
        await direct.exec('BEGIN');
        let result: T;
        try {
          result = await fn(direct);
        } catch (error) {
          await direct.exec('ROLLBACK').catch(() => undefined);
          throw error;
        }
        await direct.exec('COMMIT');
        return result;
      } finally {
        inTransaction = false;
        drain();
      }
    },
    async close() {
      if (closed) return;
      await send({ op: 'close' }).catch(() => undefined);
      closed = true;
      await worker.terminate();
    },
  };
}
