/**
 * The first-load budget of the web app, checked on the build (no browser, no timing): the JavaScript the
 * index page loads initially — its entry and every modulepreloaded chunk — must stay within 300 KB once
 * Brotli-compressed, as the node serves it. Needs `npm run build -w @medledger/web` (npm ci does it).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initialScriptPaths, initialScriptSizes } from '../bench/initialScripts.js';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const BUDGET_BYTES = 300 * 1024;

describe('the first-load JavaScript budget', () => {
  it('finds the entry script and the preloaded chunks of an index page', () => {
    const html = `<head><script type="module" crossorigin src="/assets/index-A.js"></script>
      <link rel="modulepreload" crossorigin href="/assets/vendor-B.js">
      <link rel="stylesheet" href="/assets/index-C.css"><link rel="icon" href="/favicon.svg">
      <link rel="modulepreload" href="/assets/vendor-B.js"></head>`;
    expect(initialScriptPaths(html)).toEqual(['/assets/index-A.js', '/assets/vendor-B.js']);
  });

  it('keeps the JavaScript of the first load within 300 KB, Brotli-compressed', () => {
    expect(existsSync(`${DIST}index.html`), 'build the app first: npm run build -w @medledger/web').toBe(
      true,
    );
    const scripts = initialScriptSizes(DIST);
    expect(scripts.length).toBeGreaterThan(0);
    const total = scripts.reduce((sum, s) => sum + s.brotli, 0);
    const detail = scripts.map((s) => `${s.path} ${(s.brotli / 1024).toFixed(1)} KB`).join(', ');
    expect(total, `first-load JS ${(total / 1024).toFixed(1)} KB (${detail})`).toBeLessThanOrEqual(
      BUDGET_BYTES,
    );
  });
});
