/**
 * Runs the browser bundle (entry.ts) in a real headless Chromium: bundles it with esbuild for the browser (the
 * `#platform` import must resolve to web.ts — the build fails if node:crypto or platform/node.ts gets in),
 * serves it from 127.0.0.1 on an ephemeral port, and drives the Debian Chromium through playwright-core with a
 * fresh profile directory. The machine has no internet, so every background-networking feature is switched off.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.MEDLEDGER_CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const ENTRY = fileURLToPath(new URL('./entry.ts', import.meta.url));

/** Bundles entry.ts for the browser and returns the ESM source; refuses a bundle that contains Node code. */
export async function bundleBrowserEntry(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    conditions: ['source', 'browser'],
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  const nodeOnly = inputs.filter((path) => path.startsWith('node:') || path.endsWith('src/platform/node.ts'));
  if (nodeOnly.length > 0) throw new Error(`browser bundle pulled in Node-only code: ${nodeOnly.join(', ')}`);
  if (!inputs.some((path) => path.endsWith('src/platform/web.ts'))) {
    throw new Error('browser bundle does not contain src/platform/web.ts');
  }
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild produced no output');
  return output.text;
}

export interface ChromiumSession {
  readonly page: Page;
  readonly url: string;
  readonly browserVersion: string;
  /** Uncaught page errors and console errors seen so far (for diagnosing a failed check). */
  readonly pageErrors: readonly string[];
  /** `page.evaluate`, bound to the page. */
  readonly evaluate: Page['evaluate'];
  /** Closes the browser, stops the server and deletes the profile directory; safe to call twice. */
  close(): Promise<void>;
}

function serve(bundle: string): Promise<Server> {
  const html =
    '<!doctype html><html><head><meta charset="utf-8"><title>medledger crypto</title>' +
    '<link rel="icon" href="data:,"></head>' +
    '<body><script type="module" src="/entry.js"></script></body></html>';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
    } else if (path === '/entry.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(bundle);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Bundles entry.ts, serves it and opens it in Chromium; resolves once `globalThis.medledgerVectors` exists. */
export async function launchChromium(executablePath: string = CHROMIUM_PATH): Promise<ChromiumSession> {
  const bundle = await bundleBrowserEntry();
  const server = await serve(bundle);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let userDataDir: string | undefined;
  let context: BrowserContext | undefined;
  let closed = false;
  const pageErrors: string[] = [];

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await context?.close();
    } finally {
      await stop(server);
      if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
    }
  };

  try {
    // playwright-core refuses --user-data-dir in `args` for launch(); a persistent context is the supported way
    // to give Chromium a profile directory we create (fresh, empty) and delete.
    userDataDir = await mkdtemp(join(tmpdir(), 'medledger-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: 60_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console.error: ${message.text()}`);
    });
    await page.goto(url);
    try {
      await page.waitForFunction(() => globalThis.medledgerVectors !== undefined, undefined, {
        timeout: 30_000,
      });
    } catch (error) {
      throw new Error(
        `the browser bundle did not initialise (${error instanceof Error ? error.message.split('\n')[0] : error}); ` +
          `page errors: ${pageErrors.join(' | ') || 'none'}`,
      );
    }
    return {
      page,
      url,
      browserVersion: context.browser()?.version() ?? 'unknown',
      pageErrors,
      evaluate: page.evaluate.bind(page) as Page['evaluate'],
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
