/**
 * Node benchmark: `npm run bench -w @medledger/node` (or `npm run bench` at the root).
 *
 * Imports every Synthea bundle in ../shared/data/synthea into a fresh node (embedded chain, PGlite) over HTTP,
 * waits for every record to be anchored, then measures reads by id, searches and concurrent CRUD from clients
 * on 127.0.0.1. The same run is repeated against a node in the bench-only plaintext baseline mode (no
 * encryption, no anchoring), so the report states the cost of medledger's guarantees as ratios measured on
 * the same machine at the same time. Then, unless BENCH_MEMORY=0 (or against PostgreSQL), the idle memory of a node
 * started with the real CLI before and after `medledger import` of the same bundles, and of `medledger demo`
 * (bench/memory.ts). Writes bench/report/node.{json,md}.
 */

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPostgresDb } from '@medledger/storage';
import { demographicSearchBench } from './demographicSearch.js';
import { demoMemory, memoryRows, nodeMemory } from './memory.js';
import { baseUrlOf } from './nodeProcess.js';
import { measureSearchComposition } from './searchComposition.js';
import { stats } from './stats.js';
import { subscriptionLatency } from './subscriptions.js';

const SYNTHEA = new URL('../../../../shared/data/synthea/r4-bundles/', import.meta.url);
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
// The baseline is a bench-only entry: no configuration of a real node can turn encryption off.
const PLAINTEXT_MAIN = fileURLToPath(new URL('./plaintextNode.ts', import.meta.url));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const CRUD_SECONDS = Number(process.env.BENCH_CRUD_SECONDS ?? 10);
// Extra flags for the node's process, e.g. BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

type Mode = 'sealed' | 'plaintext';

async function runMode(mode: Mode) {
  const dataDir = mkdtempSync(join(tmpdir(), `medledger-bench-${mode}-`));
  // BENCH_DATABASE_URL: run against a PostgreSQL server (a fresh schema per mode) instead of embedded PGlite.
  const schema = DATABASE_URL ? `bench_${mode}_${Date.now().toString(36)}` : undefined;
  if (DATABASE_URL && schema) {
    const admin = await openPostgresDb({ connectionString: DATABASE_URL, max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.close();
  }
  const env: NodeJS.ProcessEnv = {
    MEDLEDGER_KEYSTORE_PASSPHRASE: 'bench keystore passphrase',
    MEDLEDGER_LOG_LEVEL: 'error',
    ...(DATABASE_URL && schema
      ? { DATABASE_URL: `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` }
      : {}),
  };
  // The node runs in its own process, as in production: the benchmark's clients must not share its event loop.
  const child = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      '--conditions=source',
      '--import=tsx',
      mode === 'plaintext' ? PLAINTEXT_MAIN : MAIN,
      'start',
      '--data-dir',
      dataDir,
      '--port',
      '0',
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const base = await baseUrlOf(child);
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const call = async (method: string, path: string, body?: string) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      ...(body ? { body } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as Record<string, unknown> & { id?: string; entry?: unknown[] };
  };
  try {
    // 1. Import every bundle (sequentially: a transaction per bundle, as an EHR would send them).
    const files = readdirSync(SYNTHEA)
      .filter((f) => f.endsWith('.json'))
      .sort();
    const refs: string[] = [];
    const patients: string[] = [];
    let resources = 0;
    const t0 = performance.now();
    for (const f of files) {
      const result = await call('POST', '', readFileSync(new URL(f, SYNTHEA), 'utf8'));
      const entries = (result.entry ?? []) as { response: { location: string } }[];
      for (const e of entries) {
        const ref = e.response.location.replace(`${base}/`, '').replace(/\/_history\/\d+$/, '');
        refs.push(ref);
        if (ref.startsWith('Patient/')) patients.push(ref.slice(8));
      }
      resources += entries.length;
    }
    const importSeconds = (performance.now() - t0) / 1000;

    // 2. Anchoring: time from the end of the import until every record is anchored.
    let anchorSeconds: number | undefined;
    if (mode === 'sealed') {
      const t1 = performance.now();
      for (;;) {
        const s = (await call('GET', '/$status')) as {
          anchoring?: { queuedLeaves: number; inFlightLeaves: number };
        };
        if (s.anchoring && s.anchoring.queuedLeaves + s.anchoring.inFlightLeaves === 0) break;
        if (performance.now() - t1 > 120_000) throw new Error('anchoring did not finish within 120 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      anchorSeconds = (performance.now() - t1) / 1000;
    }

    // 3. Reads by id (a sample spread over all types) and searches, one client, sequential.
    const readLatency: number[] = [];
    const sample = refs.filter((_, i) => i % Math.max(1, Math.floor(refs.length / 1000)) === 0);
    for (const ref of sample) {
      const t = performance.now();
      await call('GET', `/${ref}`);
      readLatency.push(performance.now() - t);
    }
    const searchLatency: number[] = [];
    for (const p of patients) {
      const t = performance.now();
      await call('GET', `/Observation?patient=Patient/${p}&_count=50`);
      searchLatency.push(performance.now() - t);
    }
    const composition = await measureSearchComposition(call, patients);

    // 3b. Demographic search over every Synthea patient (blind prefix tokens, R4 date ranges, $match).
    const demographic = await demographicSearchBench(call, patients);

    // 4. Concurrent CRUD: each client loops create → read → update → read for CRUD_SECONDS.
    let requests = 0;
    const deadline = performance.now() + CRUD_SECONDS * 1000;
    const client = async (c: number) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const created = await call(
          'POST',
          '/Observation',
          JSON.stringify({
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
            subject: { reference: `Patient/${patients[(c + i) % patients.length]}` },
            valueQuantity: { value: 60 + (i % 40), unit: '/min' },
          }),
        );
        await call('GET', `/Observation/${created.id}`);
        await call('PUT', `/Observation/${created.id}`, JSON.stringify({ ...created, status: 'amended' }));
        await call('GET', `/Observation/${created.id}`);
        requests += 4;
      }
    };
    const t2 = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, c) => client(c)));
    const crudSeconds = (performance.now() - t2) / 1000;

    // 5. Subscription notifications: commit → WebSocket delivery (bench/subscriptions.ts).
    const subscription = await subscriptionLatency(base, token);

    return {
      mode,
      bundles: files.length,
      resources,
      importSeconds,
      resourcesPerSecond: resources / importSeconds,
      anchorSecondsAfterImport: anchorSeconds,
      readMs: stats(readLatency),
      searchMs: stats(searchLatency),
      composition,
      demographic,
      crud: {
        clients: CONCURRENCY,
        seconds: crudSeconds,
        requests,
        requestsPerSecond: requests / crudSeconds,
      },
      subscription,
    };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
    if (DATABASE_URL && schema) {
      const admin = await openPostgresDb({ connectionString: DATABASE_URL, max: 1 });
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.close();
    }
  }
}

const sealed = await runMode('sealed');
console.log(JSON.stringify(sealed));
const plaintext = await runMode('plaintext');
console.log(JSON.stringify(plaintext));
// Memory and the command-line import (bench/memory.ts): the real CLI on embedded PGlite; BENCH_MEMORY=0 skips it.
const memory =
  DATABASE_URL || process.env.BENCH_MEMORY === '0'
    ? undefined
    : { node: await nodeMemory(), demo: await demoMemory() };
console.log(JSON.stringify(memory));

const report = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
  sealed,
  plaintext,
  memory,
  ratios: {
    ingestSealedVsPlaintext: sealed.resourcesPerSecond / plaintext.resourcesPerSecond,
    crudSealedVsPlaintext: sealed.crud.requestsPerSecond / plaintext.crud.requestsPerSecond,
  },
  targets: {
    'ingest >= 2000 resources/s (sealed, anchored)': sealed.resourcesPerSecond >= 2000,
    'ingest >= half the plaintext baseline': sealed.resourcesPerSecond >= plaintext.resourcesPerSecond / 2,
    'read p99 <= 15 ms': sealed.readMs.p99 <= 15,
    'demographic search p99 <= 20 ms': sealed.demographic.allMs.p99 <= 20,
    'all anchored within 5 s of the import': (sealed.anchorSecondsAfterImport ?? Infinity) <= 5,
    'subscription notification p99 <= 250 ms (commit to WebSocket)':
      sealed.subscription.commitToDeliveryMs.p99 <= 250,
    ...(memory
      ? {
          'idle node after the Synthea import <= 400 MB RSS (anvil included)':
            memory.node.idleAfterImport.totalMb <= 400,
          'five-node demo <= 1200 MB RSS (anvil included)': memory.demo.idle.totalMb <= 1200,
        }
      : {}),
  },
};
const f = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 1 });
const md = [
  '# medledger node benchmark',
  '',
  `${report.date} · ${report.machine.cpus} × ${report.machine.model} · Node ${report.machine.node}`,
  `All ${sealed.bundles} Synthea bundles (${sealed.resources} resources) imported over HTTP into a fresh node (embedded chain, ${DATABASE_URL ? 'PostgreSQL server' : 'PGlite'}), running as its own process.`,
  '',
  '| measure | sealed + anchored | plaintext baseline | ratio |',
  '|---|---:|---:|---:|',
  `| bundle import, resources/s | ${f(sealed.resourcesPerSecond)} | ${f(plaintext.resourcesPerSecond)} | ${report.ratios.ingestSealedVsPlaintext.toFixed(2)} |`,
  `| read by id p50 / p99, ms | ${f(sealed.readMs.p50)} / ${f(sealed.readMs.p99)} | ${f(plaintext.readMs.p50)} / ${f(plaintext.readMs.p99)} | |`,
  `| search (Observation?patient) p50 / p99, ms | ${f(sealed.searchMs.p50)} / ${f(sealed.searchMs.p99)} | ${f(plaintext.searchMs.p50)} / ${f(plaintext.searchMs.p99)} | |`,
  `| search + _include=Observation:patient p50 / p99, ms | ${f(sealed.composition.includeByPatientMs.p50)} / ${f(sealed.composition.includeByPatientMs.p99)} | ${f(plaintext.composition.includeByPatientMs.p50)} / ${f(plaintext.composition.includeByPatientMs.p99)} | |`,
  `| Observation?_include=Observation:patient page of 50 p50 / p99, ms (${f(sealed.composition.includedPerPage)} included per page) | ${f(sealed.composition.includePageMs.p50)} / ${f(sealed.composition.includePageMs.p99)} | ${f(plaintext.composition.includePageMs.p50)} / ${f(plaintext.composition.includePageMs.p99)} | |`,
  `| Observation?patient&_summary=count p50 / p99, ms | ${f(sealed.composition.countMs.p50)} / ${f(sealed.composition.countMs.p99)} | ${f(plaintext.composition.countMs.p50)} / ${f(plaintext.composition.countMs.p99)} | |`,
  `| demographic search (${sealed.demographic.patients} patients, ${sealed.demographic.searches} searches) p50 / p99, ms | ${f(sealed.demographic.allMs.p50)} / ${f(sealed.demographic.allMs.p99)} | ${f(plaintext.demographic.allMs.p50)} / ${f(plaintext.demographic.allMs.p99)} | |`,
  ...Object.keys(sealed.demographic.byKindMs).map(
    (k) =>
      `| · ${k} p50 / p99, ms | ${f(sealed.demographic.byKindMs[k]!.p50)} / ${f(sealed.demographic.byKindMs[k]!.p99)} | ${f(plaintext.demographic.byKindMs[k]?.p50 ?? Number.NaN)} / ${f(plaintext.demographic.byKindMs[k]?.p99 ?? Number.NaN)} | |`,
  ),
  `| Patient/$match p50 / p99, ms | ${f(sealed.demographic.matchMs.p50)} / ${f(sealed.demographic.matchMs.p99)} | ${f(plaintext.demographic.matchMs.p50)} / ${f(plaintext.demographic.matchMs.p99)} | |`,
  `| CRUD requests/s, ${CONCURRENCY} clients | ${f(sealed.crud.requestsPerSecond)} | ${f(plaintext.crud.requestsPerSecond)} | ${report.ratios.crudSealedVsPlaintext.toFixed(2)} |`,
  `| subscription notification, commit → WebSocket p50 / p99, ms | ${f(sealed.subscription.commitToDeliveryMs.p50)} / ${f(sealed.subscription.commitToDeliveryMs.p99)} | ${f(plaintext.subscription.commitToDeliveryMs.p50)} / ${f(plaintext.subscription.commitToDeliveryMs.p99)} | |`,
  `| all anchored, s after import | ${f(sealed.anchorSecondsAfterImport ?? Number.NaN)} | — | |`,
  ...(memory
    ? [
        '',
        ...memoryRows(memory.node, memory.demo),
        '',
        `\`medledger import\` of the same ${memory.node.import.bundles} bundles into a fresh node, the whole command timed: ${f(memory.node.import.wallSeconds)} s, ${f(memory.node.import.resourcesPerSecond)} resources/s — ${(memory.node.import.resourcesPerSecond / sealed.resourcesPerSecond).toFixed(2)} × the HTTP import above (${f(sealed.resourcesPerSecond)}/s, sealed).`,
      ]
    : []),
  '',
  '| target | met |',
  '|---|---|',
  ...Object.entries(report.targets).map(([k, v]) => `| ${k} | ${v ? 'yes' : '**no**'} |`),
  '',
].join('\n');
const out = new URL('./report/', import.meta.url);
mkdirSync(out, { recursive: true });
const name = DATABASE_URL ? 'node-postgres' : 'node';
writeFileSync(new URL(`${name}.json`, out), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(new URL(`${name}.md`, out), md);
console.log(`\n${md}\nreport written to ${new URL(`${name}.md`, out).pathname}`);
process.exit(0);
