/**
 * Exchange benchmark (part of `npm run bench -w @medledger/node`): a hospital's practitioner asks a lab's node
 * for a patient's 50 observations over HTTP — request signed and sealed, custodian's ledger checks (membership,
 * licence, consent), records released with category keys wrapped to the hospital, verified and decrypted — on
 * a real chain, nodes in this process. Baselines measured in the same run: the custodian's own local search
 * for the same records, and the pure protocol (no HTTP, no ledger) from @medledger/exchange.
 *
 * Writes bench/report/exchange.{json,md}.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataCategory } from '@medledger/core';
import { formatExchangeBench, runExchangeBench } from '../../exchange/bench/exchange.js';
import { startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import {
  consecutiveFreePorts,
  measureExchange,
  setUpExchangeScenario,
} from '../src/exchange/exchangeScenario.js';

const REQUESTS = Number(process.env.BENCH_EXCHANGE_REQUESTS ?? 30);
const RECORDS = 50;

const dir = mkdtempSync(join(tmpdir(), 'medledger-bench-exchange-'));
const consortium = await startLocalConsortium({
  dir,
  basePort: await consecutiveFreePorts(3),
  members: [
    { name: 'hospital', kind: 'hospital' },
    { name: 'lab', kind: 'lab' },
    { name: 'regulator', kind: 'regulator' },
  ],
  keystorePassphrase: 'exchange bench passphrase',
  logLevel: 'silent',
});
try {
  const [requester, custodian, regulator] = consortium.nodes.map((n) => n.node);
  const s = await setUpExchangeScenario({
    requester: requester!,
    custodian: custodian!,
    regulator: regulator!,
    observations: RECORDS,
    conditions: 0,
  });
  await s.grant([DataCategory.Observations]);
  const run = (concurrency: number) =>
    measureExchange({
      requesterUrl: s.requesterUrl,
      token: s.doctor.token,
      parameters: s.parameters(['Observation']),
      requests: REQUESTS,
      concurrency,
      baseline: { url: s.custodianUrl, token: s.custodianToken, path: s.localReadPath },
    });
  const sequential = await run(1);
  const concurrent = await run(4);
  const protocol = await runExchangeBench();

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    recordsPerExchange: RECORDS,
    overHttp: { sequential, concurrent },
    protocolOnly: protocol,
  };
  const f = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 1 });
  const row = (name: string, m: typeof sequential) =>
    `| ${name} | ${m.concurrency} | ${m.resources} | ${f(m.perSecond)} | ${f(m.latencyMs.p50)} / ${f(m.latencyMs.p99)} | ${m.baseline ? `${f(m.baseline.latencyMs.p50)} / ${f(m.baseline.latencyMs.p99)}` : '—'} |`;
  const md = [
    '# medledger exchange benchmark',
    '',
    `${report.date} · ${report.machine.cpus} × ${report.machine.model} · Node ${report.machine.node}`,
    `Hospital → lab, ${RECORDS}-resource patient record, consent on a real chain (1 s blocks), nodes in this process.`,
    '',
    '| run | in flight | resources | exchanges/s | latency p50 / p99, ms | custodian local search p50 / p99, ms |',
    '|---|---:|---:|---:|---:|---:|',
    row('over HTTP, sequential', sequential),
    row('over HTTP, concurrent', concurrent),
    '',
    '## The protocol alone (no HTTP, no ledger, no database)',
    '',
    formatExchangeBench(protocol),
    '',
  ].join('\n');
  const out = new URL('./report/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL('exchange.json', out), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(new URL('exchange.md', out), md);
  console.log(`\n${md}\nreport written to ${new URL('exchange.md', out).pathname}`);
} finally {
  await consortium.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
