/**
 * The Wycheproof vectors and the browser checks, run inside a real headless Chromium against the browser bundle
 * (web.ts over @noble/*, hash.ts through the `browser` condition). Needs /usr/bin/chromium: without it the suite
 * is skipped with a warning, or fails when MEDLEDGER_REQUIRE_BROWSER=1 (as CI sets).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from './browser/entry.js';
import { CHROMIUM_PATH, type ChromiumSession, launchChromium } from './browser/runInChromium.js';
import {
  formatReport,
  type VectorReport,
  WYCHEPROOF_FILES,
  type WycheproofFile,
} from './vectors/wycheproof.js';

const WYCHEPROOF_DIR =
  process.env.MEDLEDGER_WYCHEPROOF_DIR ??
  fileURLToPath(new URL('../../../../shared/data/wycheproof/', import.meta.url));

const requireBrowser = process.env.MEDLEDGER_REQUIRE_BROWSER === '1';
const haveChromium = existsSync(CHROMIUM_PATH);

if (!haveChromium && !requireBrowser) {
  console.warn(
    [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      `!!! SKIPPING the in-browser crypto tests: no Chromium at ${CHROMIUM_PATH}.`,
      '!!! Install it with `apt-get install chromium` (or set MEDLEDGER_CHROMIUM_PATH).',
      '!!! CI sets MEDLEDGER_REQUIRE_BROWSER=1, which turns this skip into a failure.',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '',
    ].join('\n'),
  );
}

describe.skipIf(!haveChromium && !requireBrowser)('crypto in Chromium', () => {
  let session: ChromiumSession | undefined;
  const summary: string[] = [];

  const browser = (): ChromiumSession => {
    if (!session) throw new Error('Chromium session was not started');
    return session;
  };

  beforeAll(async () => {
    if (!haveChromium) {
      throw new Error(
        `MEDLEDGER_REQUIRE_BROWSER=1 but Chromium is not installed at ${CHROMIUM_PATH}; ` +
          'install it with `apt-get install chromium` (or point MEDLEDGER_CHROMIUM_PATH at a Chromium binary).',
      );
    }
    session = await launchChromium();
    summary.push(`chromium ${session.browserVersion} at ${CHROMIUM_PATH}`);
  });

  afterAll(async () => {
    await session?.close();
    if (summary.length > 0) console.log(summary.join('\n'));
  });

  it('loads the bundle with the web platform', async () => {
    expect(await browser().evaluate(() => globalThis.medledgerVectors?.platformName, undefined)).toBe('web');
  });

  it.each(WYCHEPROOF_FILES)('wycheproof %s', async (name) => {
    const file = JSON.parse(readFileSync(`${WYCHEPROOF_DIR}/${name}.json`, 'utf8')) as WycheproofFile;
    const report = await browser().evaluate(
      ([json, label]: [WycheproofFile, string]): VectorReport => {
        if (!globalThis.medledgerVectors) throw new Error('medledgerVectors is not loaded');
        return globalThis.medledgerVectors.run(json, label);
      },
      [file, name] as [WycheproofFile, string],
    );
    summary.push(formatReport(report, 'chromium'));
    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.total - report.skipped, 'the file must execute at least one case').toBeGreaterThan(0);
    if (file.numberOfTests !== undefined) expect(report.total).toBe(file.numberOfTests);
    expect(browser().pageErrors).toEqual([]);
  });

  it('passes every browser check', async () => {
    const results = await browser().evaluate(async (): Promise<CheckResult[]> => {
      const vectors = globalThis.medledgerVectors;
      if (!vectors) throw new Error('medledgerVectors is not loaded');
      const out: CheckResult[] = [];
      for (const name of vectors.checkNames) out.push(await vectors.runCheck(name));
      return out;
    }, undefined);
    expect(results.length, 'no browser checks are registered').toBeGreaterThan(0);
    for (const r of results)
      summary.push(`browser check [chromium] ${r.name}: ${r.ok ? 'ok' : `FAILED ${r.error}`}`);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(browser().pageErrors).toEqual([]);
  });
});
