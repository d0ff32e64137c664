/**
 * Audit-log benchmark: AuditEvents committed (salt + SHA-256 of canonical JSON), queued in transactions of
 * `batch` events and integrated into the RFC 9162 tree every `integrateEvery` events, on embedded PGlite in
 * memory (or a `Db` the caller passes), then proof generation and verification times and one checkpoint
 * signature. The events' "sealing" is their canonical bytes: encryption is the records path's cost, not the
 * log's.
 *
 * A plain module, not a script: the node's bench runner imports `runAuditBench` and puts the result (and
 * `formatAuditBench`'s table) in its report. The target: ≥ 5,000 events appended and integrated per second.
 */
import { CompositeSigner, canonicalBytes, compositeKeygen } from '@medledger/crypto';
import { type Db, migrate, openPgliteDb } from '@medledger/storage';
import {
  type AuditAppendEntry,
  AuditLog,
  auditLogMigrations,
  commitAuditEvent,
  verifyAuditLog,
  verifyCheckpointConsistency,
  verifyCheckpointSignature,
  verifyEntryInclusion,
} from '../src/index.js';

export interface AuditBenchOptions {
  /** Events appended and integrated (default 20,000). */
  events?: number;
  /** Events per queuing transaction (default 100: a busy node's requests per group commit). */
  batch?: number;
  /** Integrate after every this many events (default 1,000). */
  integrateEvery?: number;
  /** Proofs generated and verified (default 1,000). */
  proofs?: number;
  /** A migrated-or-empty database to use; default a fresh in-memory PGlite (closed at the end). */
  db?: Db;
}

export interface AuditBenchResult {
  events: number;
  batch: number;
  backend: string;
  /** Events committed, queued and integrated per second, end to end. */
  appendedAndIntegratedPerSecond: number;
  /** Share of that time spent in integrate(). */
  integrateShare: number;
  inclusionProofUs: { generate: number; verify: number };
  consistencyProofUs: { generate: number; verify: number };
  checkpointSignMs: number;
  checkpointVerifyMs: number;
  /** The independent verifier's full pass, entries per second. */
  verifierEntriesPerSecond: number;
}

function event(n: number) {
  return {
    resourceType: 'AuditEvent',
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110' },
    action: 'R',
    recorded: new Date(1_700_000_000_000 + n).toISOString(),
    outcome: '0',
    agent: [{ who: { reference: `Practitioner/p${n % 50}` }, requestor: true }],
    source: { observer: { reference: 'Device/node-a' } },
    entity: [{ what: { reference: `Patient/pt${n % 1000}` } }, { what: { reference: `Observation/o${n}` } }],
  };
}

export async function runAuditBench(options: AuditBenchOptions = {}): Promise<AuditBenchResult> {
  const events = options.events ?? 20_000;
  const batch = options.batch ?? 100;
  const integrateEvery = options.integrateEvery ?? 1_000;
  const proofs = options.proofs ?? 1_000;
  const db = options.db ?? (await openPgliteDb());
  try {
    await migrate(db, auditLogMigrations);
    const log = await AuditLog.open(db, { logId: 'bench' });
    const base = log.size;

    let integrateMs = 0;
    const start = performance.now();
    let sinceIntegrate = 0;
    for (let n = 0; n < events; n += batch) {
      const group: AuditAppendEntry[] = [];
      for (let i = n; i < Math.min(n + batch, events); i++) {
        const e = event(i);
        group.push({ ...commitAuditEvent(e), sealedEvent: canonicalBytes(e) });
      }
      await db.transaction((tx) => log.append(tx, group));
      sinceIntegrate += group.length;
      if (sinceIntegrate >= integrateEvery) {
        const t = performance.now();
        await log.integrate();
        integrateMs += performance.now() - t;
        sinceIntegrate = 0;
      }
    }
    const t = performance.now();
    await log.integrate();
    integrateMs += performance.now() - t;
    const totalMs = performance.now() - start;
    const size = log.size;

    const { secretKey, publicKey } = compositeKeygen();
    const signer = new CompositeSigner(secretKey);
    const half = Math.max(1, Math.floor(size / 2));
    await log.checkpoint(signer);
    const s0 = performance.now();
    const cp = await log.checkpoint(signer);
    const checkpointSignMs = performance.now() - s0;
    const v0 = performance.now();
    verifyCheckpointSignature(cp, publicKey);
    const checkpointVerifyMs = performance.now() - v0;
    signer.destroy();

    const indices = Array.from({ length: proofs }, (_, i) => Math.floor((i * size) / proofs));
    const commitments = await Promise.all(indices.map(async (i) => (await log.entry(i)).commitment));
    const g0 = performance.now();
    const inclusion = indices.map((i) => log.inclusionProof(i, size));
    const g1 = performance.now();
    for (const [k, i] of indices.entries()) {
      if (!verifyEntryInclusion(commitments[k]!, i, size, inclusion[k]!, cp.root))
        throw new Error('bench: bad proof');
    }
    const g2 = performance.now();
    const older = { logId: cp.logId, size: half, root: log.root(half), timestamp: 0 };
    const c0 = performance.now();
    const consistency = Array.from({ length: proofs }, () => log.consistencyProof(half, size));
    const c1 = performance.now();
    for (const p of consistency) {
      if (!verifyCheckpointConsistency(older, cp, p)) throw new Error('bench: bad consistency proof');
    }
    const c2 = performance.now();

    const w0 = performance.now();
    const report = await verifyAuditLog(db, publicKey);
    const verifierMs = performance.now() - w0;
    if (!report.ok) throw new Error('bench: verifier failed');

    return {
      events: size - base,
      batch,
      backend: db.kind,
      appendedAndIntegratedPerSecond: Math.round(((size - base) / totalMs) * 1000),
      integrateShare: Number((integrateMs / totalMs).toFixed(2)),
      inclusionProofUs: {
        generate: Number((((g1 - g0) / proofs) * 1000).toFixed(1)),
        verify: Number((((g2 - g1) / proofs) * 1000).toFixed(1)),
      },
      consistencyProofUs: {
        generate: Number((((c1 - c0) / proofs) * 1000).toFixed(1)),
        verify: Number((((c2 - c1) / proofs) * 1000).toFixed(1)),
      },
      checkpointSignMs: Number(checkpointSignMs.toFixed(2)),
      checkpointVerifyMs: Number(checkpointVerifyMs.toFixed(2)),
      verifierEntriesPerSecond: Math.round((report.size / verifierMs) * 1000),
    };
  } finally {
    if (options.db === undefined) await db.close();
  }
}

export function formatAuditBench(r: AuditBenchResult): string {
  return [
    `| audit log (${r.backend}, ${r.events} events, ${r.batch} per transaction) | value |`,
    '|---|---|',
    `| appended + integrated per second (target ≥ 5,000) | ${r.appendedAndIntegratedPerSecond} |`,
    `| share of time in integrate() | ${r.integrateShare} |`,
    `| inclusion proof generate / verify (µs) | ${r.inclusionProofUs.generate} / ${r.inclusionProofUs.verify} |`,
    `| consistency proof generate / verify (µs) | ${r.consistencyProofUs.generate} / ${r.consistencyProofUs.verify} |`,
    `| checkpoint sign / verify (ms) | ${r.checkpointSignMs} / ${r.checkpointVerifyMs} |`,
    `| verifier full pass (entries/s) | ${r.verifierEntriesPerSecond} |`,
  ].join('\n');
}
