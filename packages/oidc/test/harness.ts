/**
 * Runs the authorisation server on a real node:http server at 127.0.0.1:<random port>, mounted under a path
 * prefix (`/oauth`) the way the node mounts it, over a real database; and drives the sign-in flow as a
 * browser would.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '@medledger/storage';
import { SignJWT } from 'jose';
import { expect } from 'vitest';
import type { AccountAuthority } from '../src/AccountAuthority.js';
import type { ClientRegistration } from '../src/clientRegistration.js';
import {
  type AuthorizationServer,
  type AuthorizationServerTtls,
  createAuthorizationServer,
} from '../src/createAuthorizationServer.js';
import type { SigningKeySet } from '../src/signingKeys.js';
import { type Browser, formActions, location } from './browser.js';

export const COOKIE_KEYS = ['test-cookie-key-0123456789abcdefghijklmnop'];

export interface HarnessOptions {
  db: Db;
  keys: SigningKeySet;
  accounts: AccountAuthority;
  clients?: ClientRegistration[];
  ttl?: AuthorizationServerTtls;
  /** Web origins allowed to call the endpoints from a browser (CORS). */
  allowedOrigins?: string[];
}

export interface Harness {
  readonly origin: string;
  readonly issuer: string;
  readonly audience: string;
  readonly auth: AuthorizationServer;
  /** Closes the authorisation server and starts a new one on the same database, keys and port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server: Server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${origin}/oauth`;
  const audience = `${origin}/fhir`;
  const start = () =>
    createAuthorizationServer({
      issuer,
      fhirAudience: audience,
      db: options.db,
      signingKeys: options.keys,
      cookieKeys: COOKIE_KEYS,
      accounts: options.accounts,
      clients: options.clients ?? [],
      ...(options.ttl ? { ttl: options.ttl } : {}),
      ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
      purgeIntervalMs: 0,
    });
  let auth = await start();
  handler = (req, res) => void auth.callback(req, res);
  return {
    origin,
    issuer,
    audience,
    get auth() {
      return auth;
    },
    async restart() {
      await auth.close();
      auth = await start();
    },
    async close() {
      await auth.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  scope: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  state?: string;
  extra?: Record<string, string>;
}

export function authorizeUrl(h: Harness, r: AuthorizeRequest): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: r.clientId,
    redirect_uri: r.redirectUri,
    scope: r.scope,
    state: r.state ?? 'state-123',
    ...(r.codeChallenge ? { code_challenge: r.codeChallenge } : {}),
    ...(r.codeChallenge || r.codeChallengeMethod
      ? { code_challenge_method: r.codeChallengeMethod ?? 'S256' }
      : {}),
    ...r.extra,
  });
  return `${h.issuer}/authorize?${params}`;
}

/**
 * Starts an authorization request and follows its redirects to the login page: the page's URL (it names the
 * interaction) and the URL its form posts to.
 */
export async function openLoginForm(
  h: Pick<Harness, 'origin' | 'issuer'>,
  browser: Browser,
  request: AuthorizeRequest,
): Promise<{ url: string; action: string }> {
  let url = authorizeUrl(h as Harness, request);
  let page = await browser.get(url);
  while (page.status === 302 || page.status === 303) {
    url = location(page, url);
    page = await browser.get(url);
  }
  return { url, action: new URL(formActions(await page.text())[0]!, h.origin).href };
}

export interface Credentials {
  username: string;
  password: string;
  otp?: string;
}

/**
 * Follows the flow from the authorization request to the redirect back to the app: signs in when the login
 * page shows, allows when the consent page shows. Returns the URL the app was sent to.
 */
export async function signIn(
  h: Harness,
  browser: Browser,
  request: AuthorizeRequest,
  credentials: Credentials,
  onConsent: 'allow' | 'deny' | 'unexpected' = 'allow',
): Promise<URL> {
  const url = authorizeUrl(h, request);
  return followFlow(h, browser, url, await browser.get(url), request.redirectUri, credentials, onConsent);
}

/** Continues a flow from a response, until the browser is sent back to `redirectUri`. */
export async function followFlow(
  h: Harness,
  browser: Browser,
  from: string,
  first: Response,
  redirectUri: string,
  credentials?: Credentials,
  onConsent: 'allow' | 'deny' | 'unexpected' = 'allow',
): Promise<URL> {
  let url = from;
  let response = first;
  for (let step = 0; step < 12; step++) {
    if (response.status === 302 || response.status === 303) {
      const next = location(response, url);
      if (next.startsWith(redirectUri)) return new URL(next);
      url = next;
      response = await browser.get(url);
      continue;
    }
    const html = await response.text();
    expect(response.status, `${url} ${html}`).toBe(200);
    const actions = formActions(html);
    if (html.includes('name="password"') && credentials) {
      url = new URL(actions[0]!, h.origin).href;
      response = await browser.post(url, {
        username: credentials.username,
        password: credentials.password,
        otp: credentials.otp ?? '',
      });
    } else if (actions.some((a) => a.endsWith('/confirm'))) {
      if (onConsent === 'unexpected') throw new Error('the consent page was shown');
      const action = actions.find((a) => a.endsWith(onConsent === 'allow' ? '/confirm' : '/abort'))!;
      url = new URL(action, h.origin).href;
      response = await browser.post(url, {});
    } else {
      throw new Error(`unexpected page: ${html.slice(0, 300)}`);
    }
  }
  throw new Error('the sign-in flow did not finish');
}

export async function tokenRequest(
  h: Pick<Harness, 'issuer'>,
  form: Record<string, string>,
): Promise<Response> {
  return fetch(`${h.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

/**
 * A SMART Backend Services token request: client_credentials for `scope`, the client authenticated by a
 * private_key_jwt assertion signed with its key (`kid` as registered in its JWK set).
 */
export async function clientCredentials(
  h: Pick<Harness, 'issuer'>,
  c: { clientId: string; kid: string; privateKey: CryptoKey; scope: string; resource?: string },
): Promise<Response> {
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({
    iss: c.clientId,
    sub: c.clientId,
    aud: `${h.issuer}/token`,
    jti: randomUUID(),
    exp: now + 240,
    iat: now,
  })
    .setProtectedHeader({ alg: 'ES256', kid: c.kid, typ: 'JWT' })
    .sign(c.privateKey);
  return tokenRequest(h, {
    grant_type: 'client_credentials',
    scope: c.scope,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    ...(c.resource ? { resource: c.resource } : {}),
  });
}
