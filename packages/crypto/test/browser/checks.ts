/**
 * Higher-level checks that only mean something inside a real browser, run by browser.int.test.ts through the
 * bundle built from entry.ts. Each check throws (or rejects) on failure. Add entries freely; this module is
 * bundled for the browser, so it may use DOM and Web Crypto APIs, but no `node:` modules.
 */
import { bytesToHex } from '../../src/bytes.js';
import { platform } from '../../src/platform/web.js';

export type BrowserCheck = () => void | Promise<void>;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export const browserChecks: Record<string, BrowserCheck> = {
  'runs in a browser, not Node': () => {
    assert((globalThis as { process?: unknown }).process === undefined, 'globalThis.process is defined');
    assert(typeof document !== 'undefined' && typeof window !== 'undefined', 'no DOM globals');
    assert(platform.name === 'web', `platform is ${platform.name}, expected web`);
  },

  'platform.randomBytes returns distinct 32-byte values': () => {
    const samples = Array.from({ length: 8 }, () => platform.randomBytes(32));
    for (const s of samples)
      assert(s instanceof Uint8Array && s.length === 32, 'randomBytes(32) is not 32 bytes');
    assert(new Set(samples.map(bytesToHex)).size === samples.length, 'randomBytes repeated a value');
  },
};
