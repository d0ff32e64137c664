/**
 * `npm run bench:audit -w @medledger/node`: what the audit trail costs, on the node's defaults (PGlite on its
 * worker thread, an embedded anvil with one-second blocks, the node's composite key):
 *
 * - latency a request's audit adds (the awaited `record` in the onSend hook) for a read naming one patient,
 *   sequential and with 16 requests in flight (group commit), against the baseline of one trivial statement
 *   (`SELECT 1`) on the same connection measured in the same run;
 * - sustained events/s appended and integrated with checkpoints signed every second and anchored in AuditAnchor
 *   through the outbox, and the gas those anchors cost per audited event at that rate;
 * - a patient's access-log page (100 events, opened and proven) and verification of the whole log against the
 *   chain.
 *
 * Writes bench/report/audit.{json,md}.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLogMigrations } from '@medledger/audit-log';
import { OrganisationKind } from '@medledger/contracts';
import { CompositeSigner, compositeKeygen } from '@medledger/crypto';
import {
  CheckpointAnchorer,
  devAccount,
  EmbeddedChain,
  ensureDeployment,
  LedgerClient,
  ledgerMigrations,
} from '@medledger/ledger';
import { type Db, migrate, openDb, openPostgresDb } from '@medledger/storage';
import { keccak256, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { AuditTrail } from '../src/audit/AuditTrail.js';
import type { AuditedRequest } from '../src/audit/auditEvents.js';
import { ledgerAnchoring } from '../src/audit/ledgerAnchoring.js';
import { stats } from './stats.js';

const SEQUENTIAL = 2_000;
const IN_FLIGHT = 16;
/** Requests in flight during the sustained run: a busy node's concurrency. */
const SUSTAINED_CLIENTS = 64;
const SUSTAINED_MS = 15_000;
/** BENCH_DATABASE_URL: a PostgreSQL server (a fresh schema) instead of embedded PGlite. */
const DATABASE_URL = process.env.BENCH_DATABASE_URL;

const dir = mkdtempSync(join(tmpdir(), 'medledger-audit-bench-'));
const chain = new EmbeddedChain({ dataDir: dir, blockTime: 1 });
await chain.start();
const nodeKey = new Uint8Array(randomBytes(32));
const boot = await ensureDeployment({
  rpcUrl: chain.rpcUrl,
  deploymentFile: join(dir, 'chain', 'deployment.json'),
  deployerKey: devAccount(0).privateKey,
  nodeAccount: privateKeyToAccount(toHex(nodeKey)).address,
  organisation: {
    kind: OrganisationKind.Hospital,
    endpoint: 'https://bench.example',
    keyBundleCommitment: keccak256(toHex('bench key bundle')),
    keyBundleUri: 'https://bench.example/.well-known/medledger-key-bundle',
  },
});
const ledger = await LedgerClient.connect({
  rpcUrl: chain.rpcUrl,
  deployment: boot.deployment,
  privateKey: nodeKey,
});
let db: Db;
if (DATABASE_URL) {
  const schema = `bench_audit_${Date.now().toString(36)}`;
  const admin = await openPostgresDb({ connectionString: DATABASE_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.close();
  db = await openDb({
    databaseUrl: `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
  });
} else {
  db = await openDb({ pgliteDir: join(dir, 'db'), pgliteThread: 'worker' });
}
await migrate(db, [...ledgerMigrations, ...auditLogMigrations]);
const organisation = boot.organisationId;
const logId = `medledger:organisation:${organisation}`;
const keys = compositeKeygen(new Uint8Array(randomBytes(64)));
const anchorer = new CheckpointAnchorer({ db, ledger, organisationId: organisation });
await anchorer.start();
const trail = await AuditTrail.open(db, {
  logId,
  organisation,
  sealingKey: new Uint8Array(randomBytes(32)),
  signer: new CompositeSigner(keys.secretKey),
  publicKey: keys.publicKey,
  anchoring: ledgerAnchoring(db, ledger, organisation, logId),
});

const patients = Array.from({ length: 50 }, () => new Uint8Array(randomBytes(32)));
let n = 0;
const read = (): AuditedRequest => ({
  method: 'GET',
  route: '/fhir/:type/:id',
  params: { type: 'Observation', id: `obs-${n}` },
  status: 200,
  caller: { kind: 'person', id: 'acct-1', role: 'doctor', scopes: [], purpose: 0 },
  address: '127.0.0.1',
  subjects: [{ pseudonym: patients[n++ % patients.length]!, breakGlass: false }],
  denied: false,
});
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return ms(t0);
}

// 1. Added latency: sequential, then IN_FLIGHT concurrent clients; the baseline is SELECT 1 the same way.
async function latency(f: () => Promise<unknown>, clients: number, total: number) {
  const samples: number[] = [];
  let left = total;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left-- > 0) samples.push(await timed(f));
    }),
  );
  return stats(samples);
}
for (let i = 0; i < 200; i++) await trail.record(read()); // warm-up
const added = {
  sequential: await latency(() => trail.record(read()), 1, SEQUENTIAL),
  sequentialBaseline: await latency(() => db.query('SELECT 1'), 1, SEQUENTIAL),
  concurrent: await latency(() => trail.record(read()), IN_FLIGHT, SEQUENTIAL * 4),
  concurrentBaseline: await latency(() => db.query('SELECT 1'), IN_FLIGHT, SEQUENTIAL * 4),
};
await trail.tick();

// 2. Sustained: appends from SUSTAINED_CLIENTS clients while the trail integrates and checkpoints every second and the
// anchorer sends the newest checkpoint to the chain.
trail.start(1000);
const startSize = (await trail.checkpoint('latest')).size;
const t0 = Date.now();
let appended = 0;
await Promise.all(
  Array.from({ length: SUSTAINED_CLIENTS }, async () => {
    while (Date.now() - t0 < SUSTAINED_MS) {
      await trail.record(read());
      appended++;
    }
  }),
);
await trail.tick();
const seconds = (Date.now() - t0) / 1000;
const endSize = (await trail.checkpoint('latest')).size;
await anchorer.drain(60_000);
const gas = (
  await db.query<{ anchors: number; gas: number }>(
    `SELECT count(*)::int8 AS anchors, coalesce(sum(gas_used), 0)::int8 AS gas FROM ledger_checkpoint_anchors
      WHERE status = 'confirmed' AND size > $1`,
    [startSize],
  )
).rows[0]!;
const integrated = endSize - startSize;
const sustained = {
  seconds,
  appended,
  integrated,
  eventsPerSecond: integrated / seconds,
  anchors: gas.anchors,
  gasTotal: gas.gas,
  gasPerEvent: gas.gas / integrated,
};

// 3. A patient's page and the whole-log verification (anchors from the chain).
const pageMs = await timed(() =>
  trail.provenEntries({ from: 0, limit: 100, subject: patients[0]!, view: 'patient' }),
);
let verification: Awaited<ReturnType<AuditTrail['verify']>> | undefined;
const verifyMs = await timed(async () => {
  verification = await trail.verify();
});

await trail.stop();
await anchorer.stop();
await db.close();
await chain.stop();
rmSync(dir, { recursive: true, force: true });

const report = {
  date: new Date().toISOString(),
  database: DATABASE_URL ? 'postgres' : 'pglite (worker thread, on disk)',
  node: process.version,
  added,
  sustained,
  patientPageMs: pageMs,
  verify: { ms: verifyMs, entries: verification?.size, anchors: verification?.anchors, ok: verification?.ok },
};
const out = new URL('./report/', import.meta.url);
mkdirSync(out, { recursive: true });
const name = DATABASE_URL ? 'audit-postgres' : 'audit';
writeFileSync(new URL(`${name}.json`, out), `${JSON.stringify(report, null, 2)}\n`);
const f = (x: number) => x.toFixed(2);
const md = `# Audit trail benchmark (${report.date}, ${report.database})

| | p50 ms | p99 ms |
|---|---:|---:|
| audit of a read, sequential | ${f(added.sequential.p50)} | ${f(added.sequential.p99)} |
| baseline: SELECT 1, sequential | ${f(added.sequentialBaseline.p50)} | ${f(added.sequentialBaseline.p99)} |
| audit of a read, ${IN_FLIGHT} in flight | ${f(added.concurrent.p50)} | ${f(added.concurrent.p99)} |
| baseline: SELECT 1, ${IN_FLIGHT} in flight | ${f(added.concurrentBaseline.p50)} | ${f(added.concurrentBaseline.p99)} |

Sustained for ${f(seconds)} s with ${SUSTAINED_CLIENTS} clients: ${integrated} events appended and integrated (${sustained.eventsPerSecond.toFixed(0)}/s), checkpoints every second, ${gas.anchors} anchored on-chain for ${gas.gas} gas = **${f(sustained.gasPerEvent)} gas per audited event**.

A patient's page of up to 100 events, opened and proven: ${f(pageMs)} ms. Whole-log verification (${verification?.size} entries, ${verification?.anchors} on-chain anchors): ${f(verifyMs)} ms, ${verification?.ok ? 'consistent' : 'NOT consistent'}.
`;
writeFileSync(new URL(`${name}.md`, out), md);
console.log(md);
