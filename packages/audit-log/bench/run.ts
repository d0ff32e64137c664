/**
 * `npm run bench -w @medledger/audit-log`: the audit log's throughput (appended + integrated per second, target
 * ≥ 5,000 on this machine), proof and checkpoint costs, and the verifier's speed — on embedded PGlite, and on the
 * PostgreSQL server when BENCH_DATABASE_URL is set. Writes bench/report/audit.{json,md}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { openPostgresDb } from '@medledger/storage';
import { formatAuditBench, runAuditBench } from './audit.js';

const results = [await runAuditBench()];
const url = process.env.BENCH_DATABASE_URL;
if (url) {
  const schema = `bench_audit_${Date.now().toString(36)}`;
  const admin = await openPostgresDb({ connectionString: url, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = await openPostgresDb({ connectionString: url, schema, max: 4 });
  try {
    results.push(await runAuditBench({ db }));
  } finally {
    await db.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.close();
  }
}
const date = new Date().toISOString();
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'} · Node ${process.version}`;
const md = [
  '# medledger audit-log benchmark',
  '',
  `${date} · ${machine}`,
  '',
  ...results.map(formatAuditBench),
  '',
].join('\n\n');
const out = new URL('./report/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('audit.json', out), `${JSON.stringify({ date, machine, results }, null, 2)}\n`);
writeFileSync(new URL('audit.md', out), md);
console.log(`${md}\nreport written to ${new URL('audit.md', out).pathname}`);
