/**
 * Patient timeline benchmark (`npm run bench -w @medledger/web`): the time from navigating to "My record" to
 * the timeline rendered, for the largest Synthea patient of the shared data, in headless Chromium against
 * ONE real node (embedded chain, PGlite) serving the built app.
 *
 * Set-up: a patient account created over the admin API with the operator's token (the Synthea patient's
 * demographics); the patient's bundle imported as one transaction, re-pointed to that Patient (references to
 * the bundle's own Patient become `Patient/<id>`; its Patient entry dropped); the patient signed in through the
 * node's login page.
 *
 * Measured, median of RUNS navigations in the same tab (session kept, app files from the browser cache, the
 * record re-read every time):
 * - timeline: navigation start → the timeline container says `data-state="ready"` (every kind read, the
 *   newest days and the trend charts rendered), from the page's own clock (`performance.now()`);
 * - baseline, same run: the raw API reads the timeline makes (the same nine searches, in parallel, with the
 *   same token, from the same page), without the app: fetch + JSON parse only.
 * - for comparison: the same records in one `Patient/<id>/$everything?_type=…` read.
 * The baselines run once the page is quiet (live, its re-read of results done). The machine's load average is
 * in the report: on a shared machine it dominates the numbers.
 * Writes bench/report/timeline.{json,md} (`BENCH_TIMELINE_COPIES=10`: the bundle imported ten times for the same
 * patient, a record of thousands of resources, written to timeline-x10.{json,md}). Target: ≤ 1 s.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalConsortium } from '@medledger/node';
import type { Person } from '../test/support/appConsortium.js';
import { WEB_DIST } from '../test/support/appConsortium.js';
import { launchBrowser, newPage, signIn } from '../test/support/browser.js';

const RUNS = Number(process.env.BENCH_TIMELINE_RUNS ?? 5);
/** Imports of the bundle for the one patient (1: the record as it is; 10: a record ten times as large). */
const COPIES = Number(process.env.BENCH_TIMELINE_COPIES ?? 1);
const TARGET_MS = 1000;
const SYNTHEA = fileURLToPath(new URL('../../../../shared/data/synthea/r4-bundles/', import.meta.url));
const REPORT = fileURLToPath(new URL('./report/', import.meta.url));
const SCREENS = fileURLToPath(new URL('../test-results/screens/', import.meta.url));
/** What the timeline reads (src/record/entries.ts TIMELINE_TYPES). */
const TYPES = [
  'Encounter',
  'Observation',
  'Condition',
  'MedicationRequest',
  'MedicationStatement',
  'AllergyIntolerance',
  'Immunization',
  'DocumentReference',
  'DiagnosticReport',
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON of bundles and answers
type Json = Record<string, any>;

const largest = readdirSync(SYNTHEA)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ f, size: statSync(join(SYNTHEA, f)).size }))
  .sort((a, b) => b.size - a.size)[0]!.f;
const bundle = JSON.parse(readFileSync(join(SYNTHEA, largest), 'utf8')) as Json;
const patientEntry = (bundle.entry as Json[]).find((e) => e.resource.resourceType === 'Patient')!;

readFileSync(join(WEB_DIST, 'index.html')); // the app must be built (npm run build -w @medledger/web)
const dir = await mkdtemp(join(tmpdir(), 'medledger-web-bench-'));
const consortium = await startLocalConsortium({
  dir,
  members: [{ name: 'hospital', kind: 'hospital' }],
  keystorePassphrase: 'timeline benchmark — synthetic data only',
  logLevel: 'warn',
});
const browser = await launchBrowser();
try {
  const node = consortium.nodes[0]!.node;
  const origin = new URL(node.fhirUrl).origin;
  const token = readFileSync(node.adminTokenFile!, 'utf8').trim();
  const call = async (method: string, path: string, body: unknown, type = 'application/json') => {
    const res = await fetch(`${origin}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': type },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Json;
    if (res.status >= 300)
      throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  };

  // 1. The patient's account, with the Synthea patient's demographics.
  const {
    resourceType: _t,
    id: _i,
    meta: _m,
    text: _x,
    identifier: _d,
    ...demographics
  } = patientEntry.resource;
  const password = `timeline bench ${Math.random().toString(36).slice(2)} passphrase`;
  const created = await call('POST', '/admin/accounts', {
    username: 'bench.patient',
    displayName: 'Bench Patient',
    role: 'patient',
    password,
    demographics,
  });
  const patientId = created.patient.id as string;

  // 2. The record, re-pointed to that Patient, as one transaction.
  const patientUrn = patientEntry.fullUrl as string;
  const entries = (bundle.entry as Json[]).filter((e) => e !== patientEntry);
  const repointed = JSON.parse(
    JSON.stringify({ ...bundle, entry: entries }).replaceAll(patientUrn, `Patient/${patientId}`),
  );
  const t0 = performance.now();
  let imported = 0;
  for (let copy = 0; copy < COPIES; copy++) {
    const result = await call('POST', '/fhir', repointed, 'application/fhir+json');
    imported += (result.entry as Json[]).length;
  }
  const importSeconds = (performance.now() - t0) / 1000;
  const inTimeline = COPIES * entries.filter((e) => TYPES.includes(e.resource.resourceType)).length;
  console.log(
    `imported ${imported} resources (${inTimeline} shown by the timeline) in ${importSeconds.toFixed(1)} s`,
  );

  // 3. The patient signs in.
  const person: Person = {
    username: 'bench.patient',
    password,
    displayName: 'Bench Patient',
    role: 'patient',
    accountId: created.account.id,
    origin,
    patientId,
  };
  const { page, errors } = await newPage(browser);
  await signIn(page, person, '/app/patient');
  await page.locator('.timeline[data-state="ready"]').waitFor({ timeout: 60_000 });

  // 4. Runs: the timeline, then the raw API baseline, alternating.
  const runs: {
    timelineMs: number;
    startupMs: number;
    readsMs: number;
    renderMs: number;
    apiMs: number;
    everythingMs: number;
    everythingResources: number;
    resources: number;
    entriesRendered: number;
  }[] = [];
  for (let run = 0; run < RUNS; run++) {
    await page.goto(`${origin}/app/patient`);
    const timelineMs = (await (
      await page.waitForFunction(
        () => (document.querySelector('.timeline[data-state="ready"]') ? performance.now() : 0),
        null,
        { polling: 'raf', timeout: 60_000 },
      )
    ).jsonValue()) as number;
    const entriesRendered = await page.locator('.entry').count();
    // Where the time went, from the page's resource timings: app start-up until the first search is sent,
    // the searches (first sent → last answered), then grouping and rendering until ready.
    const phases = await page.evaluate((ready) => {
      const searches = performance
        .getEntriesByType('resource')
        .filter((e) => /\/fhir\/[A-Za-z]+\?patient=/.test(e.name)) as PerformanceResourceTiming[];
      const first = Math.min(...searches.map((e) => e.startTime));
      const last = Math.max(...searches.map((e) => e.responseEnd));
      return { startupMs: first, readsMs: last - first, renderMs: ready - last };
    }, timelineMs);
    // The baselines once the page is quiet: live (its subscription bound) and its re-read of results done.
    await page.locator('.live-live').waitFor({ timeout: 30_000 });
    await page.waitForLoadState('networkidle');
    const { apiMs, everythingMs, everythingResources, resources } = await page.evaluate(
      async ({ types, patientId }) => {
        const session = JSON.parse(sessionStorage.getItem('medledger.session') ?? 'null') as {
          accessToken: string;
        };
        const headers = { Authorization: `Bearer ${session.accessToken}`, Accept: 'application/fhir+json' };
        const start = performance.now();
        const counts = await Promise.all(
          types.map(async (type) => {
            let n = 0;
            let url: string | undefined = `/fhir/${type}?patient=${patientId}&_count=1000`;
            while (url) {
              const b = (await (await fetch(url, { headers })).json()) as {
                entry?: unknown[];
                link?: { relation: string; url: string }[];
              };
              n += b.entry?.length ?? 0;
              url = b.link?.find((l) => l.relation === 'next')?.url;
            }
            return n;
          }),
        );
        const apiMs = performance.now() - start;
        const start2 = performance.now();
        let one = 0;
        let url: string | undefined =
          `/fhir/Patient/${patientId}/$everything?_type=${types.join(',')}&_count=1000`;
        while (url) {
          const b = (await (await fetch(url, { headers })).json()) as {
            entry?: unknown[];
            link?: { relation: string; url: string }[];
          };
          one += b.entry?.length ?? 0;
          url = b.link?.find((l) => l.relation === 'next')?.url;
        }
        return {
          apiMs,
          everythingMs: performance.now() - start2,
          everythingResources: one,
          resources: counts.reduce((a, b) => a + b, 0),
        };
      },
      { types: TYPES, patientId },
    );
    runs.push({
      timelineMs,
      ...phases,
      apiMs,
      everythingMs,
      everythingResources,
      resources,
      entriesRendered,
    });
    if (run === 0) {
      mkdirSync(SCREENS, { recursive: true });
      await page.screenshot({ path: join(SCREENS, 'patient-record-largest-1280.png'), fullPage: true });
    }
    console.log(JSON.stringify(runs.at(-1)));
  }
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);

  const timelineMs = median(runs.map((r) => r.timelineMs));
  const apiMs = median(runs.map((r) => r.apiMs));
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadAverage1m: Number(loadavg()[0]!.toFixed(1)),
    },
    patient: largest.replace(/_[0-9a-f-]{36}\.json$/, ' (Synthea)'),
    copies: COPIES,
    resourcesImported: imported,
    resourcesInTimeline: runs[0]!.resources,
    entriesRenderedAtFirst: runs[0]!.entriesRendered,
    runs: RUNS,
    timelineMedianMs: Math.round(timelineMs),
    apiBaselineMedianMs: Math.round(apiMs),
    everythingBaselineMedianMs: Math.round(median(runs.map((r) => r.everythingMs))),
    appOverheadMs: Math.round(timelineMs - apiMs),
    phasesMedianMs: {
      startup: Math.round(median(runs.map((r) => r.startupMs))),
      reads: Math.round(median(runs.map((r) => r.readsMs))),
      render: Math.round(median(runs.map((r) => r.renderMs))),
    },
    ratioTimelineToApi: Number((timelineMs / apiMs).toFixed(2)),
    targetMs: TARGET_MS,
    targetMet: timelineMs <= TARGET_MS,
    raw: runs.map((r) => ({
      ...r,
      timelineMs: Math.round(r.timelineMs),
      apiMs: Math.round(r.apiMs),
      everythingMs: Math.round(r.everythingMs),
      startupMs: Math.round(r.startupMs),
      readsMs: Math.round(r.readsMs),
      renderMs: Math.round(r.renderMs),
    })),
  };
  mkdirSync(REPORT, { recursive: true });
  const name = COPIES === 1 ? 'timeline' : `timeline-x${COPIES}`;
  writeFileSync(join(REPORT, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const md = [
    '# medledger patient timeline benchmark',
    '',
    `${report.date} · ${report.machine.cpus} × ${report.machine.model} · Node ${report.machine.node} · headless Chromium · load average ${report.machine.loadAverage1m} at the end`,
    `The largest Synthea patient of shared/data (${report.patient})${COPIES === 1 ? '' : `, its bundle imported ${COPIES} times`}: ${imported} resources imported, ${report.resourcesInTimeline} of them read by the timeline, ${report.entriesRenderedAtFirst} entries rendered at first (the newest 30 days; older on request). One node (embedded chain, PGlite). Median of ${RUNS} navigations.`,
    '',
    '| measure | ms |',
    '|---|---:|',
    `| timeline: navigation → \`data-state="ready"\` (app start, session, 9 searches, grouping, trends, render) | ${report.timelineMedianMs} |`,
    `| — of which app start-up (navigation → first search sent: shell, session, the area's chunk) | ${report.phasesMedianMs.startup} |`,
    `| — of which the 9 searches (first sent → last answered) | ${report.phasesMedianMs.reads} |`,
    `| — of which grouping, trends and render (last answer → ready) | ${report.phasesMedianMs.render} |`,
    `| baseline: the same 9 searches, raw fetch + JSON parse in the same page | ${report.apiBaselineMedianMs} |`,
    `| the app's share (timeline − baseline) | ${report.appOverheadMs} |`,
    `| for comparison: the same records in one \`Patient/<id>/$everything?_type=…\` read | ${report.everythingBaselineMedianMs} |`,
    '',
    `Timeline vs raw API: ${report.ratioTimelineToApi}×. Target ≤ ${TARGET_MS} ms: ${report.targetMet ? 'met' : 'NOT met'}.`,
    '',
  ].join('\n');
  writeFileSync(join(REPORT, `${name}.md`), md);
  console.log(md);
} finally {
  await browser.close();
  await consortium.stop();
  await rm(dir, { recursive: true, force: true });
}
