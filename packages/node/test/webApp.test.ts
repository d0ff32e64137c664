/**
 * How the node serves the built web app (web/webAppFeature.ts), on a directory laid out like Vite's build:
 * the page under its Content-Security-Policy for / and every /app route, hashed assets cached for good and sent
 * precompressed when the browser accepts it, nothing outside the build directory, and a clear page when the
 * app was never built.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEB_APP_CSP, webAppFeature } from '../src/web/webAppFeature.js';

const INDEX = '<!DOCTYPE html><html lang="en"><body><div id="root"></div></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))});`;

let dir: string;
let app: FastifyInstance;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'medledger-webapp-'));
  mkdirSync(join(dir, 'dist', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'secret.txt'), 'outside the build');
  writeFileSync(join(dir, 'dist', 'index.html'), INDEX);
  writeFileSync(join(dir, 'dist', 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, 'dist', 'assets', 'index-abc123.js'), SCRIPT);
  writeFileSync(join(dir, 'dist', 'assets', 'index-abc123.js.br'), brotliCompressSync(SCRIPT));
  app = Fastify();
  await webAppFeature(join(dir, 'dist')).register(app);
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the web app as the node serves it', () => {
  it('answers / and every /app route with the page, under the strict policy, never cached stale', async () => {
    for (const url of ['/', '/app', '/app/patient/consent', '/app/activate?x=1']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['content-security-policy']).toBe(WEB_APP_CSP);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['cache-control']).toBe('no-cache');
    }
    expect(WEB_APP_CSP).toContain("script-src 'self'");
    expect(WEB_APP_CSP).not.toContain('unsafe');
  });

  it('sends hashed assets for good, precompressed when the browser takes Brotli', async () => {
    const br = await app.inject({
      method: 'GET',
      url: '/assets/index-abc123.js',
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(br.rawPayload.length).toBeLessThan(SCRIPT.length / 4);
    const plain = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(SCRIPT);
  });

  it('serves nothing outside the build and nothing that is not there', async () => {
    for (const url of ['/assets/../../secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/assets/nope.js']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('outside the build');
    }
  });

  it('says how to build the app when it was never built', async () => {
    const bare = Fastify();
    await webAppFeature(null).register(bare);
    const res = await bare.inject({ method: 'GET', url: '/app/patient' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build -w @medledger/web');
    await bare.close();
  });
});
