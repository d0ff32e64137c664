import { randomUUID } from 'node:crypto';
import { migrate } from '@medledger/storage';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import type { ClientRegistration } from '../src/clientRegistration.js';
import { oidcMigrations } from '../src/oidcMigrations.js';
import { generateSigningKeys } from '../src/signingKeys.js';
import { Browser, formActions, location, pkce } from './browser.js';
import {
  authorizeUrl,
  followFlow,
  type Harness,
  openLoginForm,
  signIn,
  startHarness,
  tokenRequest,
} from './harness.js';
import { testAccounts } from './testAccounts.js';

const available = await backends();

const PATIENT_APP: ClientRegistration = {
  clientId: 'patient-app',
  name: 'Patient <b>App</b>',
  redirectUris: ['http://127.0.0.1:9/cb'],
  scopes: ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/*.rs', 'user/*.rs'],
  firstParty: false,
};

/** An app whose browser script runs at APP_ORIGIN; it refreshes within the sign-in session only. */
const APP_ORIGIN = 'http://127.0.0.1:9';
const ONLINE_APP: ClientRegistration = {
  clientId: 'online-app',
  name: 'Online App',
  redirectUris: [`${APP_ORIGIN}/online/cb`],
  scopes: ['openid', 'online_access', 'patient/*.rs'],
  firstParty: false,
  idTokenSigningAlg: 'ES256',
};

/** A confidential app (private_key_jwt): it must authenticate when it refreshes. */
const CONFIDENTIAL_KEY = await generateKeyPair('ES256', { extractable: true });
const CONFIDENTIAL_APP: ClientRegistration = {
  clientId: 'confidential-app',
  name: 'Confidential App',
  redirectUris: ['http://127.0.0.1:9/conf/cb'],
  jwks: { keys: [{ ...(await exportJWK(CONFIDENTIAL_KEY.publicKey)), kid: 'c-1', alg: 'ES256' }] },
  scopes: ['openid', 'offline_access', 'patient/*.rs'],
  firstParty: false,
};

async function clientAssertion(issuer: string): Promise<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ jti: randomUUID(), exp: now + 120, iat: now })
    .setIssuer(CONFIDENTIAL_APP.clientId)
    .setSubject(CONFIDENTIAL_APP.clientId)
    .setAudience(`${issuer}/token`)
    .setProtectedHeader({ alg: 'ES256', kid: 'c-1' })
    .sign(CONFIDENTIAL_KEY.privateKey);
  return {
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: jwt,
  };
}

const FIRST_PARTY: ClientRegistration = {
  clientId: 'node-ui',
  name: 'medledger',
  redirectUris: ['http://127.0.0.1:9/ui/cb'],
  scopes: ['openid', 'fhirUser', 'user/*.cruds', 'patient/*.cruds'],
  firstParty: true,
};

const ALICE = { username: 'alice', password: 'correct horse battery staple' };
const BOB = { username: 'dr.bob', password: 'another long passphrase', otp: '123456' };
const REDIRECT = PATIENT_APP.redirectUris![0]!;

const makeAccounts = () =>
  testAccounts([
    {
      username: 'alice',
      password: 'correct horse battery staple',
      accountId: 'acct-alice',
      claims: { role: 'patient', fhirUser: 'Patient/p-alice', patient: 'p-alice', organisation: 'org-1' },
    },
    {
      username: 'carol',
      password: 'carol has a passphrase too',
      accountId: 'acct-carol',
      claims: { role: 'patient', patient: 'p-carol' },
    },
    {
      username: 'erin',
      password: 'erin will be disabled',
      accountId: 'acct-erin',
      claims: { role: 'patient', patient: 'p-erin' },
    },
    {
      username: 'dr.bob',
      password: 'another long passphrase',
      otp: '123456',
      accountId: 'acct-bob',
      claims: { role: 'practitioner', fhirUser: 'Practitioner/pr-bob', organisation: 'org-1' },
    },
  ]);

const GENERIC_ERROR = 'Sign-in failed. Check what you entered and try again.';

async function json(res: Response): Promise<Record<string, string>> {
  return (await res.json()) as Record<string, string>;
}

describe.each(available)('authorization code flow on $name', (backend) => {
  // Per backend: a test disables an account.
  const accounts = makeAccounts();
  let h: Harness;
  beforeAll(async () => {
    const db = await backend.open();
    await migrate(db, oidcMigrations);
    h = await startHarness({
      db,
      keys: await generateSigningKeys(),
      accounts,
      clients: [PATIENT_APP, FIRST_PARTY, ONLINE_APP, CONFIDENTIAL_APP],
      allowedOrigins: [APP_ORIGIN],
    });
    const close = h.close.bind(h);
    h.close = async () => {
      await close();
      await db.close();
    };
  });
  afterAll(async () => {
    await h?.close();
  });

  it('signs a patient in with PKCE and issues a JWT for the FHIR API and an ID token', async () => {
    const browser = new Browser();
    const { verifier, challenge } = pkce();
    const back = await signIn(
      h,
      browser,
      {
        clientId: PATIENT_APP.clientId,
        redirectUri: PATIENT_APP.redirectUris![0]!,
        scope: 'openid fhirUser launch/patient offline_access patient/Observation.rs',
        codeChallenge: challenge,
        extra: { aud: h.audience },
      },
      { username: 'alice', password: 'correct horse battery staple' },
    );
    expect(back.searchParams.get('state')).toBe('state-123');
    expect(back.searchParams.get('iss')).toBe(h.issuer);
    const code = back.searchParams.get('code')!;
    const res = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: PATIENT_APP.redirectUris![0]!,
      client_id: PATIENT_APP.clientId,
      code_verifier: verifier,
    });
    const body = (await res.json()) as Record<string, string>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.token_type).toBe('Bearer');
    expect(body.patient).toBe('p-alice');
    expect(body.refresh_token).toBeTruthy();
    expect(body.scope!.split(' ').sort()).toEqual(
      ['fhirUser', 'launch/patient', 'offline_access', 'openid', 'patient/Observation.rs'].sort(),
    );
    const info = await h.auth.verifyAccessToken(body.access_token!);
    expect(info).toMatchObject({
      subject: 'acct-alice',
      clientId: 'patient-app',
      kind: 'user',
      patient: 'p-alice',
      fhirUser: 'Patient/p-alice',
      role: 'patient',
      organisation: 'org-1',
    });
    expect(info.scopes).toContain('patient/Observation.rs');
    expect(info.expiresAt.getTime()).toBeGreaterThan(Date.now());
    // How and when the patient signed in, for the resource server to judge what this token may do.
    expect(info.amr).toEqual(['pwd']);
    expect(info.authTime!.getTime()).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(info.authTime!.getTime()).toBeGreaterThan(info.expiresAt.getTime() - 3_600_000);

    // ID tokens are RS256 by default (OpenID Connect's default), verifiable with the published JWKS.
    const jwks = createRemoteJWKSet(new URL(`${h.issuer}/jwks`));
    expect(decodeProtectedHeader(body.id_token!).alg).toBe('RS256');
    const { payload } = await jwtVerify(body.id_token!, jwks, {
      issuer: h.issuer,
      audience: 'patient-app',
      algorithms: ['RS256'],
    });
    expect(payload.sub).toBe('acct-alice');
    expect(payload.fhirUser).toBe(`${h.audience}/Patient/p-alice`);
  });

  /** Signs in and returns the code and its PKCE verifier. */
  async function codeFor(
    credentials: { username: string; password: string; otp?: string },
    scope: string,
    client: ClientRegistration = PATIENT_APP,
  ): Promise<{ code: string; verifier: string }> {
    const { verifier, challenge } = pkce();
    const back = await signIn(
      h,
      new Browser(),
      { clientId: client.clientId, redirectUri: client.redirectUris![0]!, scope, codeChallenge: challenge },
      credentials,
    );
    const code = back.searchParams.get('code');
    expect(code, back.href).toBeTruthy();
    return { code: code!, verifier };
  }

  function exchange(code: string, verifier: string, over: Record<string, string> = {}): Promise<Response> {
    return tokenRequest(h, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: PATIENT_APP.clientId,
      code_verifier: verifier,
      ...over,
    });
  }

  /** The error the app is redirected back with, without any sign-in. */
  async function authorizationError(request: Parameters<typeof authorizeUrl>[1]): Promise<URL> {
    const url = authorizeUrl(h, request);
    const res = await new Browser().get(url);
    expect(res.status).toBe(303);
    const back = new URL(location(res, url));
    expect(back.href.startsWith(request.redirectUri)).toBe(true);
    expect(back.searchParams.get('code')).toBeNull();
    return back;
  }

  it('asks a practitioner for the one-time code and withholds patient scopes from an account without a patient', async () => {
    const browser = new Browser();
    const { verifier, challenge } = pkce();
    let url = authorizeUrl(h, {
      clientId: PATIENT_APP.clientId,
      redirectUri: REDIRECT,
      scope: 'openid fhirUser launch/patient patient/Observation.rs user/Observation.rs',
      codeChallenge: challenge,
    });
    url = location(await browser.get(url), url);
    const loginAction = new URL(formActions(await (await browser.get(url)).text())[0]!, h.origin).href;
    const withoutOtp = await browser.post(loginAction, {
      username: BOB.username,
      password: BOB.password,
      otp: '',
    });
    expect(withoutOtp.status).toBe(200);
    expect(await withoutOtp.text()).toContain(GENERIC_ERROR);
    const wrongOtp = await browser.post(loginAction, {
      username: BOB.username,
      password: BOB.password,
      otp: '000000',
    });
    expect(await wrongOtp.text()).toContain(GENERIC_ERROR);
    let res = await browser.post(loginAction, BOB);
    for (let i = 0; i < 3 && res.status === 303; i++) {
      url = location(res, url);
      res = await browser.get(url);
    }
    const consent = await res.text();
    expect(res.status).toBe(200);
    const [granted, withheld] = consent.split('Not available to your account');
    expect(granted).toContain('user/Observation.rs');
    expect(granted).not.toContain('patient/Observation.rs');
    expect(withheld).toContain('patient/Observation.rs');
    expect(withheld).toContain('launch/patient');
    const confirm = formActions(consent).find((a) => a.endsWith('/confirm'))!;
    url = new URL(confirm, h.origin).href;
    res = await browser.post(url, {});
    while (res.status === 303 && !location(res, url).startsWith(REDIRECT)) {
      url = location(res, url);
      res = await browser.get(url);
    }
    const code = new URL(location(res, url)).searchParams.get('code')!;
    const tokens = await json(await exchange(code, verifier));
    expect(tokens.scope!.split(' ').sort()).toEqual(['fhirUser', 'openid', 'user/Observation.rs']);
    expect(tokens.patient).toBeUndefined();
    expect(tokens.refresh_token).toBeUndefined();
    const info = await h.auth.verifyAccessToken(tokens.access_token!);
    expect(info).toMatchObject({
      subject: 'acct-bob',
      role: 'practitioner',
      fhirUser: 'Practitioner/pr-bob',
      amr: ['pwd', 'otp'],
    });
    expect(info.patient).toBeUndefined();
  });

  it('remembers the sign-in for the browser session: a second authorization asks for nothing', async () => {
    const browser = new Browser();
    const request = { clientId: PATIENT_APP.clientId, redirectUri: REDIRECT, scope: 'openid patient/*.rs' };
    const first = await signIn(h, browser, { ...request, codeChallenge: pkce().challenge }, ALICE);
    expect(first.searchParams.get('code')).toBeTruthy();
    const { verifier, challenge } = pkce();
    const url = authorizeUrl(h, { ...request, codeChallenge: challenge });
    const again = await followFlow(
      h,
      browser,
      url,
      await browser.get(url),
      REDIRECT,
      undefined,
      'unexpected',
    );
    const tokens = await json(await exchange(again.searchParams.get('code')!, verifier));
    expect((await h.auth.verifyAccessToken(tokens.access_token!)).subject).toBe('acct-alice');
  });

  it('keeps a wrong password or unknown user on the login page with one generic message, and throttles', async () => {
    const browser = new Browser();
    const { action } = await openLoginForm(h, browser, {
      clientId: PATIENT_APP.clientId,
      redirectUri: REDIRECT,
      scope: 'openid',
      codeChallenge: pkce().challenge,
    });
    const pages: string[] = [];
    for (const form of [
      { username: 'alice', password: 'wrong password', otp: '' },
      { username: 'nobody', password: 'correct horse battery staple', otp: '' },
      { username: 'alice', password: '', otp: '' },
    ]) {
      const res = await browser.post(action, form);
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      const html = await res.text();
      expect(html).toContain(GENERIC_ERROR);
      expect(html).not.toContain(form.password || 'no-password');
      pages.push(html.replace(/value="[^"]*"/g, ''));
    }
    expect(new Set(pages).size).toBe(1);
    let last: Response | undefined;
    for (let i = 0; i < 6; i++)
      last = await browser.post(action, { username: 'mallory', password: 'guess', otp: '' });
    expect(last!.status).toBe(429);
    expect(await last!.text()).toContain('Too many sign-in attempts');
  });

  it('escapes what it renders, runs no script and forbids framing and caching', async () => {
    const browser = new Browser();
    const { challenge } = pkce();
    const start = authorizeUrl(h, {
      clientId: PATIENT_APP.clientId,
      redirectUri: REDIRECT,
      scope: 'openid',
      codeChallenge: challenge,
    });
    const res = await browser.get(location(await browser.get(start), start));
    const html = await res.text();
    expect(html).toContain('Patient &lt;b&gt;App&lt;/b&gt;');
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('<script');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const form = await browser.post(new URL(formActions(html)[0]!, h.origin).href, {
      username: '"><script>alert(1)</script>',
      password: 'x',
      otp: '',
    });
    const again = await form.text();
    expect(again).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(again).not.toContain('<script>');
  });

  it('refuses authorization requests without S256 PKCE', async () => {
    const base = { clientId: PATIENT_APP.clientId, redirectUri: REDIRECT, scope: 'openid' };
    expect((await authorizationError(base)).searchParams.get('error')).toBe('invalid_request');
    const plain = await authorizationError({
      ...base,
      codeChallenge: 'x'.repeat(43),
      codeChallengeMethod: 'plain',
    });
    expect(plain.searchParams.get('error')).toBe('invalid_request');
  });

  it('refuses a wrong code_verifier, a missing one, and a reused code, which also revokes its tokens', async () => {
    const { code, verifier } = await codeFor(ALICE, 'openid offline_access patient/Observation.rs');
    const wrong = await exchange(code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect((await json(wrong)).error).toBe('invalid_grant');
    const missing = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: PATIENT_APP.clientId,
    });
    expect((await json(missing)).error).toBe('invalid_grant');
    const first = await json(await exchange(code, verifier));
    expect(first.access_token).toBeTruthy();
    const reused = await exchange(code, verifier);
    expect(reused.status).toBe(400);
    expect((await json(reused)).error).toBe('invalid_grant');
    const refresh = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token!,
      client_id: PATIENT_APP.clientId,
    });
    expect((await json(refresh)).error).toBe('invalid_grant');
  });

  it('refuses a redirect_uri that is not registered, at both endpoints', async () => {
    const { challenge } = pkce();
    const url = authorizeUrl(h, {
      clientId: PATIENT_APP.clientId,
      redirectUri: 'http://127.0.0.1:9/evil',
      scope: 'openid',
      codeChallenge: challenge,
    });
    const res = await new Browser().get(url);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('invalid_redirect_uri');
    const { code, verifier } = await codeFor(ALICE, 'openid');
    const wrong = await exchange(code, verifier, { redirect_uri: 'http://127.0.0.1:9/evil' });
    expect((await json(wrong)).error).toBe('invalid_grant');
  });

  it('refuses unknown clients without redirecting', async () => {
    const { challenge } = pkce();
    const url = authorizeUrl(h, {
      clientId: 'no-such-app',
      redirectUri: REDIRECT,
      scope: 'openid',
      codeChallenge: challenge,
    });
    const res = await new Browser().get(url);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const token = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code: 'x',
      redirect_uri: REDIRECT,
      client_id: 'no-such-app',
      code_verifier: pkce().verifier,
    });
    expect(token.status).toBe(401);
    expect((await json(token)).error).toBe('invalid_client');
  });

  it('refuses scopes the client may not ask for, before anyone signs in', async () => {
    const { challenge } = pkce();
    const before = accounts.attempts;
    for (const scope of [
      'openid patient/Observation.cruds',
      'openid system/*.rs',
      'openid profile',
      'patient/observation.rs',
    ]) {
      const back = await authorizationError({
        clientId: PATIENT_APP.clientId,
        redirectUri: REDIRECT,
        scope,
        codeChallenge: challenge,
      });
      expect(back.searchParams.get('error'), scope).toBe('invalid_scope');
    }
    expect(accounts.attempts).toBe(before);
  });

  it('answers access_denied when the account can hold none of the scopes asked for', async () => {
    const { challenge } = pkce();
    const back = await signIn(
      h,
      new Browser(),
      {
        clientId: PATIENT_APP.clientId,
        redirectUri: REDIRECT,
        scope: 'patient/Observation.rs',
        codeChallenge: challenge,
      },
      BOB,
    );
    expect(back.searchParams.get('error')).toBe('access_denied');
  });

  it('refuses an aud that is not this FHIR server', async () => {
    const { challenge } = pkce();
    const back = await authorizationError({
      clientId: PATIENT_APP.clientId,
      redirectUri: REDIRECT,
      scope: 'openid',
      codeChallenge: challenge,
      extra: { aud: 'https://other.example/fhir' },
    });
    expect(back.searchParams.get('error')).toBe('invalid_request');
  });

  it('lets the user deny, and skips consent for first-party apps', async () => {
    const { challenge } = pkce();
    const denied = await signIn(
      h,
      new Browser(),
      {
        clientId: PATIENT_APP.clientId,
        redirectUri: REDIRECT,
        scope: 'openid patient/*.rs',
        codeChallenge: challenge,
      },
      ALICE,
      'deny',
    );
    expect(denied.searchParams.get('error')).toBe('access_denied');
    const firstParty = await signIn(
      h,
      new Browser(),
      {
        clientId: FIRST_PARTY.clientId,
        redirectUri: FIRST_PARTY.redirectUris![0]!,
        scope: 'openid user/*.rs patient/*.rs',
        codeChallenge: challenge,
      },
      BOB,
      'unexpected',
    );
    expect(firstParty.searchParams.get('code')).toBeTruthy();
  });

  it('refreshes with rotation; a rotated-out refresh token revokes the grant', async () => {
    const { code, verifier } = await codeFor(
      { username: 'carol', password: 'carol has a passphrase too' },
      'openid launch/patient offline_access patient/*.rs',
    );
    const first = await json(await exchange(code, verifier));
    const refreshed = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token!,
      client_id: PATIENT_APP.clientId,
    });
    const second = await json(refreshed);
    expect(refreshed.status, JSON.stringify(second)).toBe(200);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.patient).toBe('p-carol');
    expect((await h.auth.verifyAccessToken(second.access_token!)).scopes).toContain('patient/*.rs');
    const replay = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token!,
      client_id: PATIENT_APP.clientId,
    });
    expect((await json(replay)).error).toBe('invalid_grant');
    const afterReplay = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: second.refresh_token!,
      client_id: PATIENT_APP.clientId,
    });
    expect((await json(afterReplay)).error).toBe('invalid_grant');
  });

  it('refreshes a public client named by the refresh token alone or by its client_id, never by another', async () => {
    const { code, verifier } = await codeFor(
      { username: 'carol', password: 'carol has a passphrase too' },
      'openid offline_access patient/*.rs',
    );
    const first = await json(await exchange(code, verifier));
    // What fhirclient sends by default: no client_id at all.
    const bare = await tokenRequest(h, { grant_type: 'refresh_token', refresh_token: first.refresh_token! });
    const second = await json(bare);
    expect(bare.status, JSON.stringify(second)).toBe(200);
    expect((await h.auth.verifyAccessToken(second.access_token!)).clientId).toBe(PATIENT_APP.clientId);
    // Another (public) client's id with this token: refused, and nothing issued.
    const wrong = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: second.refresh_token!,
      client_id: ONLINE_APP.clientId,
    });
    expect(wrong.status).toBe(400);
    expect((await json(wrong)).error).toBe('invalid_grant');
    const unknown = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: second.refresh_token!,
      client_id: 'no-such-app',
    });
    expect((await json(unknown)).error).toBe('invalid_client');
    // An unknown refresh token without client_id names no client.
    const forged = await tokenRequest(h, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) });
    expect(forged.status).toBe(400);
    expect((await json(forged)).error).toBe('invalid_request');
  });

  it('asks a confidential client to authenticate when it refreshes', async () => {
    const conf = CONFIDENTIAL_APP;
    const { code, verifier } = await codeFor(
      { username: 'carol', password: 'carol has a passphrase too' },
      'openid offline_access patient/*.rs',
      conf,
    );
    const issued = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: conf.redirectUris![0]!,
      code_verifier: verifier,
      ...(await clientAssertion(h.issuer)),
    });
    const tokens = await json(issued);
    expect(issued.status, JSON.stringify(tokens)).toBe(200);
    const bare = await tokenRequest(h, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(bare.status).toBe(400);
    expect((await json(bare)).error).toBe('invalid_request');
    const named = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: conf.clientId,
    });
    expect((await json(named)).error).toBe('invalid_client');
    const authenticated = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      ...(await clientAssertion(h.issuer)),
    });
    expect(authenticated.status).toBe(200);
  });

  it('gives online_access a refresh token and signs ID tokens with the algorithm the app registered', async () => {
    const { verifier, challenge } = pkce();
    const back = await signIn(
      h,
      new Browser(),
      {
        clientId: ONLINE_APP.clientId,
        redirectUri: ONLINE_APP.redirectUris![0]!,
        scope: 'openid online_access patient/*.rs',
        codeChallenge: challenge,
      },
      { username: 'carol', password: 'carol has a passphrase too' },
    );
    const res = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: ONLINE_APP.redirectUris![0]!,
      client_id: ONLINE_APP.clientId,
      code_verifier: verifier,
    });
    const tokens = await json(res);
    expect(res.status, JSON.stringify(tokens)).toBe(200);
    expect(tokens.scope!.split(' ')).toContain('online_access');
    expect(tokens.refresh_token).toBeTruthy();
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('ES256');
    const refreshed = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: ONLINE_APP.clientId,
    });
    expect(refreshed.status).toBe(200);
  });

  it('answers CORS for allowed origins only: token endpoint, discovery, SMART configuration, JWKS', async () => {
    const EVIL = 'http://127.0.0.1:8';
    const preflight = (url: string, origin: string) =>
      fetch(url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const okToken = await preflight(`${h.issuer}/token`, APP_ORIGIN);
    expect(okToken.status).toBe(204);
    expect(okToken.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(okToken.headers.get('access-control-allow-methods')).toContain('POST');
    const badToken = await preflight(`${h.issuer}/token`, EVIL);
    expect(badToken.headers.get('access-control-allow-origin')).toBeNull();
    expect(badToken.headers.get('access-control-allow-methods')).toBeNull();

    const documents = [
      `${h.audience}/.well-known/smart-configuration`,
      `${h.origin}/.well-known/smart-configuration`,
      `${h.origin}/.well-known/openid-configuration`,
      `${h.issuer}/.well-known/openid-configuration`,
      `${h.issuer}/jwks`,
    ];
    for (const url of documents) {
      const ok = await fetch(url, { headers: { origin: APP_ORIGIN } });
      expect(ok.status, url).toBe(200);
      expect(ok.headers.get('access-control-allow-origin'), url).toBe(APP_ORIGIN);
      const bad = await fetch(url, { headers: { origin: EVIL } });
      expect(bad.status, url).toBe(200);
      expect(bad.headers.get('access-control-allow-origin'), url).toBeNull();
    }
    const openid = await json(await fetch(`${h.origin}/.well-known/openid-configuration`));
    expect(openid.issuer).toBe(h.issuer);
    expect(openid.id_token_signing_alg_values_supported).toContain('RS256');

    // A token request from an allowed origin that is not one of the client's redirect URI origins.
    const { code, verifier } = await codeFor(ALICE, 'openid patient/Observation.rs');
    const elsewhere = await fetch(`${h.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: EVIL },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        client_id: PATIENT_APP.clientId,
        code_verifier: verifier,
      }).toString(),
    });
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('revokes a refresh token at the revocation endpoint, for its own client only', async () => {
    const { code, verifier } = await codeFor(
      { username: 'carol', password: 'carol has a passphrase too' },
      'openid offline_access patient/*.rs',
    );
    const tokens = await json(await exchange(code, verifier));
    const revoke = (clientId: string) =>
      fetch(`${h.issuer}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: tokens.refresh_token!, client_id: clientId }).toString(),
      });
    expect((await revoke(FIRST_PARTY.clientId)).status).toBe(200);
    const stillValid = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: PATIENT_APP.clientId,
    });
    const rotated = await json(stillValid);
    expect(stillValid.status).toBe(200);
    tokens.refresh_token = rotated.refresh_token!;
    expect((await revoke(PATIENT_APP.clientId)).status).toBe(200);
    const refused = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: PATIENT_APP.clientId,
    });
    expect((await json(refused)).error).toBe('invalid_grant');
  });

  it('stops refreshing for a disabled account', async () => {
    const { code, verifier } = await codeFor(
      { username: 'erin', password: 'erin will be disabled' },
      'openid offline_access patient/*.rs',
    );
    const tokens = await json(await exchange(code, verifier));
    accounts.disable('acct-erin');
    const res = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: PATIENT_APP.clientId,
    });
    expect((await json(res)).error).toBe('invalid_grant');
  });

  it('verifies only the access tokens it issued, untampered', async () => {
    const { code, verifier } = await codeFor(ALICE, 'openid patient/*.rs');
    const tokens = await json(await exchange(code, verifier));
    await expect(h.auth.verifyAccessToken(tokens.access_token!)).resolves.toMatchObject({
      subject: 'acct-alice',
    });
    const [hd, pl, sg] = tokens.access_token!.split('.');
    const forged = JSON.parse(Buffer.from(pl!, 'base64url').toString());
    forged.patient = 'p-carol';
    for (const bad of [
      `${hd}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${sg}`,
      tokens.id_token!,
      `${tokens.access_token}x`,
    ]) {
      await expect(h.auth.verifyAccessToken(bad)).rejects.toMatchObject({
        code: 'MDL_UNAUTHENTICATED',
        message: 'invalid access token',
      });
    }
  });

  it('refuses interaction posts without their cookie or for another interaction', async () => {
    const browser = new Browser();
    const { action } = await openLoginForm(h, browser, {
      clientId: PATIENT_APP.clientId,
      redirectUri: REDIRECT,
      scope: 'openid',
      codeChallenge: pkce().challenge,
    });
    const before = accounts.attempts;
    const foreign = await new Browser().post(action, { ...ALICE, otp: '' });
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain('expired');
    const other = await browser.post(
      action.replace(/interaction\/[^/]+/, 'interaction/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
      { ...ALICE, otp: '' },
    );
    expect(other.status).toBe(400);
    expect(accounts.attempts).toBe(before);
    expect((await browser.get(action)).status).toBe(405);
  });

  it('serves discovery under the prefix, at the RFC 8414 location, and the SMART configuration', async () => {
    const oidc = await json(await fetch(`${h.issuer}/.well-known/openid-configuration`));
    expect(oidc.issuer).toBe(h.issuer);
    expect(oidc.token_endpoint).toBe(`${h.issuer}/token`);
    expect(oidc.authorization_endpoint).toBe(`${h.issuer}/authorize`);
    const rfc8414 = await json(await fetch(`${h.origin}/.well-known/oauth-authorization-server/oauth`));
    expect(rfc8414.token_endpoint).toBe(`${h.issuer}/token`);
    const smartRes = await fetch(`${h.audience}/.well-known/smart-configuration`);
    expect(smartRes.headers.get('access-control-allow-origin')).toBeNull();
    const smart = (await smartRes.json()) as Record<string, unknown>;
    expect(smart).toMatchObject({
      issuer: h.issuer,
      token_endpoint: `${h.issuer}/token`,
      authorization_endpoint: `${h.issuer}/authorize`,
      jwks_uri: `${h.issuer}/jwks`,
      code_challenge_methods_supported: ['S256'],
    });
    expect(smart.capabilities).toContain('permission-v2');
    expect((await fetch(`${h.origin}/elsewhere`)).status).toBe(404);
    const jwks = (await json(await fetch(`${h.issuer}/jwks`))) as unknown as {
      keys: Record<string, unknown>[];
    };
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    for (const key of jwks.keys) expect(key.d).toBeUndefined();
  });
});
