/**
 * Browser bundle entry for the in-Chromium tests: exposes the Wycheproof runner over the web platform (@noble/*)
 * and the registry of browser checks as `globalThis.medledgerVectors`. HKDF vectors go through `hkdf` from
 * src/hash.ts, whose `#platform` import resolves to web.ts in this bundle, so that module is tested here too.
 */
import { hkdf } from '../../src/hash.js';
import { platform } from '../../src/platform/web.js';
import { runWycheproof, type VectorReport, type WycheproofFile } from '../vectors/wycheproof.js';
import { browserChecks } from './checks.js';

export type CheckResult =
  | { readonly name: string; readonly ok: true; readonly ms: number }
  | { readonly name: string; readonly ok: false; readonly error: string };

export interface MedledgerVectors {
  readonly platformName: string;
  /** Runs one parsed Wycheproof file; `name` labels the report. */
  run(file: WycheproofFile, name?: string): VectorReport;
  /** Names of the registered browser checks. */
  readonly checkNames: readonly string[];
  /** Runs one browser check, reporting (not throwing) its failure. */
  runCheck(name: string): Promise<CheckResult>;
}

declare global {
  var medledgerVectors: MedledgerVectors | undefined;
}

async function runCheck(name: string): Promise<CheckResult> {
  const check = browserChecks[name];
  if (!check) return { name, ok: false, error: `no browser check named "${name}"` };
  const started = performance.now();
  try {
    await check();
    return { name, ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      name,
      ok: false,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    };
  }
}

globalThis.medledgerVectors = {
  platformName: platform.name,
  run: (file, name) => runWycheproof(file, platform, { name, hkdf }),
  checkNames: Object.keys(browserChecks),
  runCheck,
};
