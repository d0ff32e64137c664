/**
 * The web app (packages/web, a single-page React app) served by the node: `/` and every `/app/...` route answer
 * its index.html, `/assets/...` its hashed, immutable files (Brotli or gzip when the build wrote them and the
 * browser accepts them). The app speaks only the node's public APIs; nothing here reaches a record.
 *
 * The pages carry a strict Content-Security-Policy: scripts, styles and connections only from this origin
 * (the WebSocket of Subscriptions included), no inline script, no framing, no plugins. Unknown paths outside
 * the app keep the API's 404 OperationOutcome.
 *
 * The app signs people in through the node's OpenID provider as the configured first-party public client
 * WEB_APP_CLIENT_ID (authorization code + PKCE), whose only redirect URI is `<origin>/app/callback`.
 *
 * Limits: when the build is missing (a checkout built with `tsc -b` only), `/` says how to build it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { ClientRegistration } from '@medledger/oidc';
import type { Feature } from '../NodeContext.js';

export const WEB_APP_CLIENT_ID = 'medledger-web';
/** Where the app's client-side routes live (all of them: the API never answers under it). */
export const WEB_APP_PREFIX = '/app';

/** The OAuth client the web app is: first-party (no consent page), public, PKCE. */
export function webAppClient(origin: string): ClientRegistration {
  return {
    clientId: WEB_APP_CLIENT_ID,
    name: 'medledger web app',
    redirectUris: [`${origin}${WEB_APP_PREFIX}/callback`],
    // "Sign out" ends the provider's session too, then comes back to the front page.
    postLogoutRedirectUris: [`${origin}/`],
    scopes: ['openid', 'fhirUser', 'user/*.cruds', 'patient/*.cruds'],
    firstParty: true,
  };
}

export const WEB_APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** The directory of the built app (packages/web/dist), found through the workspace package. */
export function webAppRoot(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@medledger/web/package.json');
    const root = join(dirname(pkg), 'dist');
    return existsSync(join(root, 'index.html')) ? root : undefined;
  } catch {
    return undefined;
  }
}

const NOT_BUILT = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>medledger</title></head>
<body><h1>The web app is not built</h1><p>Run <code>npm run build -w @medledger/web</code> (npm ci does it) and
restart the node.</p></body></html>`;

/** `root`: the built app's directory (default: the workspace's packages/web/dist; null: not built). */
export function webAppFeature(root: string | null = webAppRoot() ?? null): Feature {
  return {
    publicPaths: ['/', WEB_APP_PREFIX, '/favicon.svg', '/manifest.webmanifest'],
    publicPrefixes: ['/assets/', `${WEB_APP_PREFIX}/`],
    async register(app) {
      const securePage = (reply: { header(name: string, value: string): unknown }) => {
        reply.header('Content-Security-Policy', WEB_APP_CSP);
        reply.header('X-Content-Type-Options', 'nosniff');
        reply.header('X-Frame-Options', 'DENY');
        reply.header('Referrer-Policy', 'no-referrer');
        reply.header('Cache-Control', 'no-cache');
      };
      if (!root) {
        const notBuilt = async (_request: unknown, reply: import('fastify').FastifyReply) => {
          securePage(reply);
          return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
        };
        app.get('/', { schema: { hide: true } }, notBuilt);
        app.get(`${WEB_APP_PREFIX}/*`, { schema: { hide: true } }, notBuilt);
        return;
      }
      await app.register(fastifyStatic, {
        root,
        prefix: '/assets/',
        serve: false,
        preCompressed: true,
        // The headers below say how long each kind of file may be cached.
        cacheControl: false,
      });
      const page = async (_request: unknown, reply: import('fastify').FastifyReply) => {
        securePage(reply);
        return reply.sendFile('index.html', root);
      };
      app.get('/', { schema: { hide: true } }, page);
      app.get(WEB_APP_PREFIX, { schema: { hide: true } }, page);
      app.get(`${WEB_APP_PREFIX}/*`, { schema: { hide: true } }, page);
      for (const file of ['favicon.svg', 'manifest.webmanifest']) {
        app.get(`/${file}`, { schema: { hide: true } }, (_request, reply) => {
          reply.header('X-Content-Type-Options', 'nosniff');
          reply.header('Cache-Control', 'public, max-age=3600');
          return reply.sendFile(file, root);
        });
      }
      app.get<{ Params: { '*': string } }>('/assets/*', { schema: { hide: true } }, (request, reply) => {
        reply.header('X-Content-Type-Options', 'nosniff');
        // Vite names every asset by its content hash: a changed file is a new URL.
        reply.header('Cache-Control', 'public, max-age=31536000, immutable');
        return reply.sendFile(`assets/${request.params['*']}`, root);
      });
    },
  };
}
