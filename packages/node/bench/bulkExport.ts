/**
 * Bulk export benchmark (part of `npm run bench -w @medledger/node`): a `Group/[id]/$export` of Synthea
 * patients holding about a thousand resources, on a fresh node (embedded chain, PGlite) in this process.
 *
 * - Export job: kick-off → the job runner reports it completed (reading every record under the caller's
 *   access, decrypting it, writing the sealed NDJSON files), resources/s.
 * - Download: every output file fetched over HTTP (opened chunk by chunk, streamed), resources/s.
 * - Baseline, same run: the same patients' records read with `Patient/$everything` (pages of 1000), the
 *   ordinary read path, resources/s.
 *
 * Median of ROUNDS rounds. Writes bench/report/bulk-export.{json,md}. Client and node share this process.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { startTestNode, syntheaBundle, syntheaBundleNames } from '../test/helpers.js';

const TARGET = Number(process.env.BENCH_EXPORT_RESOURCES ?? 1000);
const ROUNDS = Number(process.env.BENCH_EXPORT_ROUNDS ?? 5);
const DIRECTORY = new Set(['Organization', 'Practitioner', 'Location', 'PractitionerRole']);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const t = await startTestNode({ backend: 'pglite' });
try {
  const headers = { accept: 'application/fhir+json', prefer: 'respond-async' };
  // 1. Import whole Synthea bundles until their patients' compartments hold TARGET resources.
  const patients: string[] = [];
  let inCompartments = 0;
  for (const name of syntheaBundleNames()) {
    if (inCompartments >= TARGET) break;
    const result = await t.fhir('POST', '', syntheaBundle(name));
    if (result.status !== 200) throw new Error(`import of ${name}: HTTP ${result.status}`);
    for (const e of result.body.entry as { response: { location: string } }[]) {
      const [type, id] = e.response.location.replace(`${t.url}/`, '').split('/');
      if (type === 'Patient') patients.push(id!);
      if (!DIRECTORY.has(type!)) inCompartments++;
    }
  }
  const group = await t.fhir('POST', '/Group', {
    resourceType: 'Group',
    type: 'person',
    actual: true,
    member: patients.map((id) => ({ entity: { reference: `Patient/${id}` } })),
  });
  if (group.status !== 201) throw new Error(`Group: HTTP ${group.status}`);

  const rounds: {
    exported: number;
    jobSeconds: number;
    downloadSeconds: number;
    everythingSeconds: number;
  }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    const kick = await t.fhir('GET', `/Group/${group.body.id}/$export`, undefined, headers);
    if (kick.status !== 202) throw new Error(`kick-off: HTTP ${kick.status}`);
    const location = kick.headers.get('content-location')!;
    const job = location.split('/').pop()!;
    if ((await t.node.bulkExports.settled(job)) !== 'completed') throw new Error('export failed');
    const jobSeconds = (performance.now() - t0) / 1000;
    const manifest = (await t.fhir('GET', location.replace(t.url, ''))).body as {
      output: { url: string; count: number }[];
    };
    const t1 = performance.now();
    let lines = 0;
    for (const out of manifest.output) {
      const res = await fetch(out.url, { headers: { authorization: `Bearer ${t.token}` } });
      lines += (await res.text()).split('\n').filter(Boolean).length;
    }
    const downloadSeconds = (performance.now() - t1) / 1000;
    const exported = manifest.output.reduce((n, o) => n + o.count, 0);
    if (lines !== exported) throw new Error(`downloaded ${lines} lines, manifest says ${exported}`);
    await t.fhir('DELETE', location.replace(t.url, ''));

    const t2 = performance.now();
    let read = 0;
    for (const id of patients) {
      for (let offset = 0; ; offset += 1000) {
        const page = await t.fhir('GET', `/Patient/${id}/$everything?_count=1000&_offset=${offset}`);
        read += (page.body.entry ?? []).length;
        if (!(page.body.link ?? []).some((l: { relation: string }) => l.relation === 'next')) break;
      }
    }
    const everythingSeconds = (performance.now() - t2) / 1000;
    if (read !== exported) throw new Error(`$everything read ${read}, the export wrote ${exported}`);
    rounds.push({ exported, jobSeconds, downloadSeconds, everythingSeconds });
    console.log(JSON.stringify(rounds.at(-1)));
  }

  const exported = rounds[0]!.exported;
  const perSecond = (key: 'jobSeconds' | 'downloadSeconds' | 'everythingSeconds') =>
    median(rounds.map((r) => r.exported / r[key]));
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    patients: patients.length,
    resources: exported,
    rounds: ROUNDS,
    exportJobResourcesPerSecond: perSecond('jobSeconds'),
    downloadResourcesPerSecond: perSecond('downloadSeconds'),
    endToEndResourcesPerSecond: median(rounds.map((r) => r.exported / (r.jobSeconds + r.downloadSeconds))),
    everythingResourcesPerSecond: perSecond('everythingSeconds'),
    raw: rounds,
  };
  const f = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 0 });
  const md = [
    '# medledger bulk export benchmark',
    '',
    `${report.date} · ${report.machine.cpus} × ${report.machine.model} · Node ${report.machine.node}`,
    `Group/[id]/$export of ${patients.length} Synthea patients (${exported} resources in their compartments), fresh node (embedded chain, PGlite), median of ${ROUNDS} rounds.`,
    '',
    '| measure | resources/s |',
    '|---|---:|',
    `| export job (kick-off → completed: read, decrypt, seal files) | ${f(report.exportJobResourcesPerSecond)} |`,
    `| download of every output file (open, stream) | ${f(report.downloadResourcesPerSecond)} |`,
    `| end to end (kick-off → all files downloaded) | ${f(report.endToEndResourcesPerSecond)} |`,
    `| baseline: the same records by Patient/$everything | ${f(report.everythingResourcesPerSecond)} |`,
    '',
    `Export job vs $everything: ${(report.exportJobResourcesPerSecond / report.everythingResourcesPerSecond).toFixed(2)}×.`,
    '',
  ].join('\n');
  const out = new URL('./report/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL('bulk-export.json', out), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(new URL('bulk-export.md', out), md);
  console.log(`\n${md}\nreport written to ${new URL('bulk-export.md', out).pathname}`);
} finally {
  await t.close();
}
process.exit(0);
