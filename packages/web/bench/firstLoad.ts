/**
 * The web app's first load, measured in headless Chromium (Debian's, driven by playwright-core) against one
 * node started from this checkout (its own process, embedded chain, fresh data directory), each run in a
 * fresh browser context with its HTTP cache cleared:
 *
 * - the front page `/`: JavaScript transferred (encoded — Brotli — body bytes of every script response, per
 *   file and in total) and time to interactive: from navigation start until the "Sign in" button is in the
 *   page, enabled — read in the page itself at every animation frame. React attaches its event listener to
 *   the root before the first render and the button's handler arrives in the same commit as the button, so
 *   from that frame on a click works; the run then proves it by clicking (Playwright, as soon as the button is
 *   actionable) and waiting for the handler's first act, the request for the provider's OpenID
 *   configuration — reported as "first click answered", which adds the driver's own round trips. Lighthouse's
 *   TTI (a 5 s window free of long tasks) is deprecated and made for pages whose interactivity arrives in
 *   pieces; the main thread's long tasks (PerformanceObserver 'longtask', > 50 ms) are reported beside it.
 * - a signed-in patient's home `/app` (→ /app/patient): signed in through the node's login page, then the
 *   cache cleared and the page loaded again: JavaScript transferred and the time until the area's heading is
 *   rendered and until its data requests settled.
 * - baselines measured in the same run, on the same machine: a minimal static page (a heading and a button a
 *   tiny external script enables, served by a bare node:http server) — the floor for "interactive" here — and
 *   the app's index.html with JavaScript disabled (the document alone).
 *
 * Median of 5 runs each. Writes bench/report/first-load.json and .md (not committed). Target: ≤ 300 KB of
 * compressed JavaScript on the first load. Limits: loopback network (no latency or bandwidth limit), one
 * machine shared with whatever else runs; times are indicative, bytes are exact.
 *
 * Run: cd packages/web && node --conditions=source --import=tsx bench/firstLoad.ts (npm run bench:first-load)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { initialScriptSizes } from './initialScripts.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BUDGET_KB = 300;
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const REPORT = fileURLToPath(new URL('./report/', import.meta.url));
const NODE_MAIN = fileURLToPath(new URL('../../node/src/main.ts', import.meta.url));
const CHROMIUM = process.env.MEDLEDGER_CHROMIUM_PATH ?? '/usr/bin/chromium';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;
const ms = (x: number) => Math.round(x);

/** Starts a node in its own process; resolves with its origin once it prints its FHIR base URL. */
function startNodeProcess(dataDir: string): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import=tsx', NODE_MAIN, 'start', '--data-dir', dataDir, '--port', '0'],
    {
      env: {
        ...process.env,
        MEDLEDGER_KEYSTORE_PASSPHRASE: 'first-load benchmark — synthetic data only',
        MEDLEDGER_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /FHIR base URL\s+(\S+)/.exec(out);
      if (m) resolve({ child, origin: new URL(m[1]!).origin });
    });
    child.once('exit', (code) => reject(new Error(`the node exited (${code}) before it was ready`)));
  });
}

/** A bare HTTP server for the static baseline: a heading and a button an external script enables. */
function startStaticServer(): Promise<{ server: Server; origin: string }> {
  const html =
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>baseline</title>' +
    '<script type="module" src="/b.js"></script></head><body><h1>baseline</h1>' +
    '<button type="button" disabled>Sign in</button></body></html>';
  const js =
    "const b=document.querySelector('button');b.disabled=false;" +
    "b.addEventListener('click',()=>fetch('/clicked'));";
  const server = createServer((req, res) => {
    if (req.url === '/b.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else if (req.url === '/clicked') res.writeHead(204).end();
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

/** A fresh context and page with a cleared cache; records the encoded body size of every script response. */
async function coldPage(browser: Browser, options: { javaScriptEnabled?: boolean } = {}) {
  const context: BrowserContext = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  const page: Page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');
  const scripts = new Map<string, number>();
  page.on('requestfinished', async (request) => {
    if (request.resourceType() !== 'script') return;
    const sizes = await request.sizes().catch(() => undefined);
    if (sizes) scripts.set(new URL(request.url()).pathname, sizes.responseBodySize);
  });
  // Long tasks from the very start of each document (an init script is not subject to the page's CSP).
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: number };
    w.__longTasks = 0;
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longTasks += e.duration;
      }).observe({ type: 'longtask', buffered: true });
    } catch {
      // no Long Tasks API: reported as 0
    }
  });
  return { context, page, cdp, scripts };
}

/**
 * When (ms since navigation start) the "Sign in" button is in the page and enabled, read in the page at every
 * animation frame; then a click on it, and when the request it causes (`answered`) started.
 */
async function timeToFirstClick(
  page: Page,
  answered: RegExp,
): Promise<{ ready: number; clicked: number; longTasks: number }> {
  const ready = (await (
    await page.waitForFunction(
      () => {
        const b = Array.from(document.querySelectorAll('button')).find(
          (x) => x.textContent?.trim() === 'Sign in',
        );
        return b && !b.disabled ? performance.now() : false;
      },
      undefined,
      { polling: 'raf' },
    )
  ).jsonValue()) as number;
  // The click may navigate away: the page's navigation start and long tasks are read before it.
  const { timeOrigin, longTasks } = await page.evaluate(() => ({
    timeOrigin: performance.timeOrigin,
    longTasks: (window as unknown as { __longTasks: number }).__longTasks,
  }));
  const response = page.waitForResponse(answered);
  await page.getByRole('button', { name: 'Sign in' }).click({ noWaitAfter: true });
  // Request timing's startTime is wall-clock ms (complete once the response arrived), as is timeOrigin.
  const start = (await response).request().timing().startTime;
  return { ready, clicked: start - timeOrigin, longTasks };
}

interface Sample {
  jsBytes: number;
  files: Record<string, number>;
  [metric: string]: number | Record<string, number>;
}

async function main() {
  if (!existsSync(join(DIST, 'index.html'))) {
    throw new Error('the web app is not built: run `npm run build -w @medledger/web` first');
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'medledger-first-load-'));
  console.log(`starting a node (data in ${dataDir}) …`);
  const { child, origin } = await startNodeProcess(dataDir);
  const staticSite = await startStaticServer();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
  });
  try {
    // A patient, created as an organisation's administrator creates one (the operator's token).
    const operator = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const patient = {
      username: 'bench.patient',
      password: `${randomBytes(12).toString('base64url')} patient passphrase`,
    };
    const created = await fetch(`${origin}/admin/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...patient, displayName: 'Bench Patient', role: 'patient' }),
    });
    if (created.status !== 201) throw new Error(`creating the patient: HTTP ${created.status}`);

    const baseline: Sample[] = [];
    const htmlOnly: Sample[] = [];
    const landing: Sample[] = [];
    const home: Sample[] = [];
    for (let run = 1; run <= RUNS; run++) {
      {
        const { context, page, scripts } = await coldPage(browser);
        await page.goto(`${staticSite.origin}/`, { waitUntil: 'commit' });
        const { ready, clicked, longTasks } = await timeToFirstClick(page, /\/clicked$/);
        baseline.push({
          jsBytes: sum(scripts),
          files: Object.fromEntries(scripts),
          ready,
          clicked,
          longTasks,
        });
        await context.close();
      }
      {
        const { context, page } = await coldPage(browser, { javaScriptEnabled: false });
        await page.goto(`${origin}/`, { waitUntil: 'load' });
        const t = await page.evaluate(() => {
          const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
          return { load: nav.loadEventEnd, bytes: nav.encodedBodySize };
        });
        htmlOnly.push({ jsBytes: 0, files: {}, load: t.load, htmlBytes: t.bytes });
        await context.close();
      }
      {
        const { context, page, scripts } = await coldPage(browser);
        await page.goto(`${origin}/`, { waitUntil: 'commit' });
        const { ready, clicked, longTasks } = await timeToFirstClick(page, /\/openid-configuration/);
        // The click navigates to the login page: the front page's numbers are in.
        landing.push({
          jsBytes: sum(scripts),
          files: Object.fromEntries(scripts),
          ready,
          clicked,
          longTasks,
        });

        // Sign in as the patient on the node's login page, then load the home again with a cold cache.
        await page.waitForURL(/\/oauth\/interaction\//);
        await page.getByLabel('Username').fill(patient.username);
        await page.getByLabel('Password').fill(patient.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(
          (u) => u.pathname.startsWith('/app/') && !u.pathname.startsWith('/app/callback'),
        );
        const cdp2 = await context.newCDPSession(page);
        await cdp2.send('Network.clearBrowserCache');
        scripts.clear();
        await page.goto(`${origin}/app`, { waitUntil: 'commit' });
        const heading = (await (
          await page.waitForFunction(
            () => (document.querySelector('main h1')?.textContent ? performance.now() : false),
            undefined,
            { polling: 'raf' },
          )
        ).jsonValue()) as number;
        await page.waitForLoadState('networkidle');
        const t = await page.evaluate(() => ({
          settled: Math.max(
            0,
            ...performance
              .getEntriesByType('resource')
              .map((e) => (e as PerformanceResourceTiming).responseEnd),
          ),
          longTasks: (window as unknown as { __longTasks: number }).__longTasks,
          path: location.pathname,
        }));
        if (!t.path.startsWith('/app/patient')) throw new Error(`the patient landed on ${t.path}`);
        home.push({
          jsBytes: sum(scripts),
          files: Object.fromEntries(scripts),
          heading,
          // Rendered with its data: the heading is there and the last of its requests has been answered.
          settled: Math.max(heading, t.settled),
          longTasks: t.longTasks,
        });
        await context.close();
      }
      console.log(
        `run ${run}/${RUNS}: front page ${kb(landing.at(-1)!.jsBytes)} KB JS, interactive at ${ms(landing.at(-1)!.ready as number)} ms; patient home ${kb(home.at(-1)!.jsBytes)} KB JS, heading at ${ms(home.at(-1)!.heading as number)} ms`,
      );
    }

    const build = initialScriptSizes(DIST);
    const med = (samples: Sample[], key: string) => ms(median(samples.map((s) => s[key] as number)));
    const files = (samples: Sample[]) =>
      Object.fromEntries(
        Object.keys(samples[0]!.files).map((f) => [f, median(samples.map((s) => s.files[f] ?? 0))]),
      );
    const report = {
      date: new Date().toISOString(),
      runs: RUNS,
      chromium: browser.version(),
      targetKB: BUDGET_KB,
      frontPage: {
        jsTransferredBytes: median(landing.map((s) => s.jsBytes)),
        jsPerFileBytes: files(landing),
        timeToInteractiveMs: med(landing, 'ready'),
        firstClickAnsweredMs: med(landing, 'clicked'),
        longTasksMs: med(landing, 'longTasks'),
        withinBudget: median(landing.map((s) => s.jsBytes)) <= BUDGET_KB * 1024,
      },
      patientHome: {
        jsTransferredBytes: median(home.map((s) => s.jsBytes)),
        jsPerFileBytes: files(home),
        headingRenderedMs: med(home, 'heading'),
        renderedWithDataMs: med(home, 'settled'),
        longTasksMs: med(home, 'longTasks'),
      },
      baselines: {
        staticPage: { jsTransferredBytes: median(baseline.map((s) => s.jsBytes)), ...pick(baseline) },
        indexHtmlWithoutJs: { loadMs: med(htmlOnly, 'load'), htmlBytes: med(htmlOnly, 'htmlBytes') },
      },
      build: { initialScripts: build },
      samples: { frontPage: landing, patientHome: home, staticPage: baseline, indexHtmlWithoutJs: htmlOnly },
    };
    mkdirSync(REPORT, { recursive: true });
    writeFileSync(join(REPORT, 'first-load.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(REPORT, 'first-load.md'), markdown(report));
    console.log(markdown(report));
    function pick(samples: Sample[]) {
      return {
        timeToInteractiveMs: med(samples, 'ready'),
        firstClickAnsweredMs: med(samples, 'clicked'),
        longTasksMs: med(samples, 'longTasks'),
      };
    }
  } finally {
    await browser.close();
    staticSite.server.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function sum(scripts: Map<string, number>): number {
  let total = 0;
  for (const v of scripts.values()) total += v;
  return total;
}

// biome-ignore lint/suspicious/noExplicitAny: the report object assembled above
function markdown(r: any): string {
  const rows = (files: Record<string, number>) =>
    Object.entries(files)
      .map(([f, b]) => `| \`${f}\` | ${kb(b)} KB |`)
      .join('\n');
  return `# Web app first load

${r.date}, ${r.runs} runs (median), headless Chromium ${r.chromium}, loopback, cold cache each run.

| | JS transferred (compressed) | interactive / rendered | with the driver's click | long tasks |
|---|---|---|---|---|
| front page \`/\` | **${kb(r.frontPage.jsTransferredBytes)} KB** (target ≤ ${r.targetKB} KB: ${r.frontPage.withinBudget ? 'met' : 'NOT met'}) | **interactive ${r.frontPage.timeToInteractiveMs} ms** | first click answered ${r.frontPage.firstClickAnsweredMs} ms | ${r.frontPage.longTasksMs} ms |
| signed-in patient home \`/app\` | ${kb(r.patientHome.jsTransferredBytes)} KB | heading ${r.patientHome.headingRenderedMs} ms, with its data ${r.patientHome.renderedWithDataMs} ms | — | ${r.patientHome.longTasksMs} ms |
| baseline: minimal static page | ${kb(r.baselines.staticPage.jsTransferredBytes)} KB | interactive ${r.baselines.staticPage.timeToInteractiveMs} ms | first click answered ${r.baselines.staticPage.firstClickAnsweredMs} ms | ${r.baselines.staticPage.longTasksMs} ms |
| baseline: index.html, JavaScript off | 0 KB (${kb(r.baselines.indexHtmlWithoutJs.htmlBytes)} KB HTML) | load ${r.baselines.indexHtmlWithoutJs.loadMs} ms | — | — |

Front page scripts (encoded body bytes):

| file | transferred |
|---|---|
${rows(r.frontPage.jsPerFileBytes)}

Patient home scripts:

| file | transferred |
|---|---|
${rows(r.patientHome.jsPerFileBytes)}
`;
}

await main();
