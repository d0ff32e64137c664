/**
 * The mounting recipe the node uses (docs/oidc.md), run on Fastify 5: an encapsulated plugin whose routes
 * leave request bodies unparsed and hand the raw request and response to `callback` with `reply.hijack()`.
 * (Fastify is the node's dependency, resolved from the workspace root here.)
 */
import type { AddressInfo } from 'node:net';
import { type Db, migrate, openPgliteDb } from '@medledger/storage';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthorizationServer, createAuthorizationServer } from '../src/createAuthorizationServer.js';
import { oidcMigrations } from '../src/oidcMigrations.js';
import { generateSigningKeys } from '../src/signingKeys.js';
import { Browser, location, pkce } from './browser.js';
import { authorizeUrl, COOKIE_KEYS, followFlow, type Harness, signIn, tokenRequest } from './harness.js';
import { testAccounts } from './testAccounts.js';

describe('mounted in Fastify under /oauth', () => {
  let db: Db;
  let app: FastifyInstance;
  let auth: AuthorizationServer;
  let h: Harness;

  beforeAll(async () => {
    db = await openPgliteDb();
    await migrate(db, oidcMigrations);
    app = Fastify();
    // The node's own routes and JSON parser stay as they are outside the plugin.
    app.get('/fhir/metadata', async () => ({ resourceType: 'CapabilityStatement' }));
    // A login the node verifies itself (as it would a WebAuthn assertion), finished through the interaction.
    // The path sits under the interaction's own path, so the browser sends the interaction cookie with it.
    app.post('/oauth/interaction/:uid/passkey', async (request, reply) => {
      const { uid } = request.params as { uid: string };
      const details = await auth.provider.interactionDetails(request.raw, reply.raw);
      const body = request.body as { assertion?: string } | undefined;
      if (
        details.uid !== uid ||
        details.prompt.name !== 'login' ||
        body?.assertion !== 'verified-by-identity'
      ) {
        return reply.code(400).send({ error: 'refused' });
      }
      reply.hijack();
      await auth.provider.interactionFinished(
        request.raw,
        reply.raw,
        { login: { accountId: 'acct-alice', amr: ['hwk', 'user'] } },
        { mergeWithLastSubmission: false },
      );
    });
    await app.register(async (oauth) => {
      oauth.removeAllContentTypeParsers();
      oauth.addContentTypeParser('*', (_request, _payload, done) => done(null));
      const handler = (request: FastifyRequest, reply: FastifyReply) => {
        reply.hijack();
        void auth.callback(request.raw, reply.raw);
      };
      oauth.all('/oauth/*', handler);
      oauth.get('/.well-known/oauth-authorization-server/oauth', handler);
      oauth.get('/fhir/.well-known/smart-configuration', handler);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    auth = await createAuthorizationServer({
      issuer: `${origin}/oauth`,
      fhirAudience: `${origin}/fhir`,
      db,
      signingKeys: await generateSigningKeys(),
      cookieKeys: COOKIE_KEYS,
      accounts: testAccounts([
        {
          username: 'alice',
          password: 'correct horse battery staple',
          accountId: 'acct-alice',
          claims: { role: 'patient', patient: 'p-alice' },
        },
      ]),
      clients: [
        {
          clientId: 'app',
          name: 'App',
          redirectUris: ['http://127.0.0.1:9/cb'],
          scopes: ['openid', 'patient/*.rs'],
          firstParty: false,
        },
      ],
      purgeIntervalMs: 0,
    });
    h = {
      origin,
      issuer: `${origin}/oauth`,
      audience: `${origin}/fhir`,
      auth,
      restart: async () => undefined,
      close: async () => undefined,
    };
  });
  afterAll(async () => {
    await auth?.close();
    await app?.close();
    await db?.close();
  });

  it('runs a whole sign-in, form posts included, and serves discovery at every location', async () => {
    const { verifier, challenge } = pkce();
    const back = await signIn(
      h,
      new Browser(),
      {
        clientId: 'app',
        redirectUri: 'http://127.0.0.1:9/cb',
        scope: 'openid patient/*.rs',
        codeChallenge: challenge,
      },
      { username: 'alice', password: 'correct horse battery staple' },
    );
    const res = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: 'http://127.0.0.1:9/cb',
      client_id: 'app',
      code_verifier: verifier,
    });
    const tokens = (await res.json()) as Record<string, string>;
    expect(res.status, JSON.stringify(tokens)).toBe(200);
    expect((await auth.verifyAccessToken(tokens.access_token!)).patient).toBe('p-alice');

    for (const path of [
      '/oauth/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server/oauth',
    ]) {
      const doc = (await (await fetch(`${h.origin}${path}`)).json()) as Record<string, string>;
      expect(doc.token_endpoint, path).toBe(`${h.issuer}/token`);
    }
    const smart = (await (await fetch(`${h.origin}/fhir/.well-known/smart-configuration`)).json()) as {
      token_endpoint: string;
    };
    expect(smart.token_endpoint).toBe(`${h.issuer}/token`);
    expect((await fetch(`${h.origin}/fhir/metadata`)).status).toBe(200);
  });

  it('lets a route of the node finish a login it verified itself (the WebAuthn pattern)', async () => {
    const browser = new Browser();
    const { verifier, challenge } = pkce();
    const start = authorizeUrl(h, {
      clientId: 'app',
      redirectUri: 'http://127.0.0.1:9/cb',
      scope: 'openid patient/*.rs',
      codeChallenge: challenge,
    });
    const passkey = `${location(await browser.get(start), start)}/passkey`;
    const post = (assertion: string) =>
      fetch(passkey, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: browser.jar.header(passkey) ?? '' },
        body: JSON.stringify({ assertion }),
        redirect: 'manual',
      });
    expect((await post('forged')).status).toBe(400);
    const done = await post('verified-by-identity');
    expect(done.status).toBe(303);
    browser.jar.store(done, passkey);
    const back = await followFlow(h, browser, passkey, done, 'http://127.0.0.1:9/cb');
    const code = back.searchParams.get('code')!;
    const token = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'http://127.0.0.1:9/cb',
      client_id: 'app',
      code_verifier: verifier,
    });
    const body = (await token.json()) as Record<string, string>;
    expect((await auth.verifyAccessToken(body.access_token!)).subject).toBe('acct-alice');
  });

  it('answers protocol errors from oidc-provider through Fastify', async () => {
    const res = await tokenRequest(h, { grant_type: 'authorization_code', code: 'nope', client_id: 'app' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    const json = await fetch(`${h.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":"client_credentials"}',
    });
    expect(json.status).toBe(400);
  });
});
