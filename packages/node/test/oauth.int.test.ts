import { DataCategory } from '@medledger/core';
import { type AccountId, totpCode } from '@medledger/identity';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftAuthenticator } from '../../identity/test/softAuthenticator.js';
import { Browser, pkce } from '../../oidc/test/browser.js';
import {
  clientCredentials,
  followFlow,
  type Harness,
  openLoginForm,
  signIn,
  tokenRequest,
} from '../../oidc/test/harness.js';
import { type CareSetting, startCareSetting } from './careSetting.js';

const REDIRECT = 'http://127.0.0.1:9/callback';
const PASSWORD = 'correct horse battery staple, twice';

describe('the OpenID provider at the node', () => {
  let setting: CareSetting;
  let h: Harness;
  const bearer = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${setting.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return res.status;
  };

  const registerClient = async (registration: Record<string, unknown>) => {
    const res = await fetch(`${new URL(setting.url).origin}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${setting.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(registration),
    });
    return res.status;
  };

  beforeAll(async () => {
    setting = await startCareSetting();
    const origin = new URL(setting.url).origin;
    h = { origin, issuer: `${origin}/oauth`, audience: setting.url } as Harness;
    const patient = await setting.hospital.accounts.findByUsername('patient');
    await setting.hospital.accounts.setPassword(patient!.id as AccountId, PASSWORD);
    const registered = await registerClient({
      clientId: 'patient-app',
      name: 'Patient app',
      redirectUris: [REDIRECT],
      scopes: ['openid', 'fhirUser', 'launch/patient', 'patient/Observation.rs'],
      firstParty: true,
    });
    expect(registered).toBe(201);
  }, 600_000);
  afterAll(async () => {
    await setting?.close();
  });

  it('publishes SMART discovery without a token', async () => {
    const res = await fetch(`${setting.url}/.well-known/smart-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.authorization_endpoint).toBe(`${h.issuer}/authorize`);
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
  });

  it('logs a patient in with PKCE; the token reads their observations and nothing else', async () => {
    const { verifier, challenge } = pkce();
    const back = await signIn(
      h,
      new Browser(),
      {
        clientId: 'patient-app',
        redirectUri: REDIRECT,
        scope: 'openid launch/patient patient/Observation.rs',
        codeChallenge: challenge,
      },
      { username: 'patient', password: PASSWORD },
    );
    const code = back.searchParams.get('code')!;
    const res = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: 'patient-app',
      code_verifier: verifier,
      resource: setting.url,
    });
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as { access_token: string; patient?: string };
    expect(tokens.patient).toBe(setting.ids.patient);
    const token = tokens.access_token;

    expect(await bearer(token, 'GET', `/Observation/${setting.ids.observation}`)).toBe(200);
    // Another patient's record: as if it did not exist.
    expect(await bearer(token, 'GET', `/Observation/${setting.ids.otherObservation}`)).toBe(404);
    // The patient's own condition, but the token has no Condition scope.
    expect(await bearer(token, 'GET', `/Condition/${setting.ids.condition}`)).toBe(403);
    // Read-only scope: no writes.
    const write = await bearer(token, 'POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${setting.ids.patient}` },
    });
    expect(write).toBe(403);
    // A tampered token is no token.
    const [head, payload, signature] = token.split('.');
    const tampered = `${head}.${payload}.${signature!.slice(0, -4)}AAAA`;
    expect(await bearer(tampered, 'GET', `/Observation/${setting.ids.observation}`)).toBe(401);
  });

  it('lets an EHR system in with private_key_jwt and its system scopes only', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const registered = await registerClient({
      clientId: 'lab-ehr',
      name: 'Lab EHR',
      jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'ehr-1', alg: 'ES256' }] },
      scopes: ['system/Observation.rs'],
      firstParty: false,
    });
    expect(registered).toBe(201);
    const res = await clientCredentials(h, {
      clientId: 'lab-ehr',
      kid: 'ehr-1',
      privateKey: pair.privateKey,
      scope: 'system/Observation.rs',
      resource: setting.url,
    });
    expect(res.status).toBe(200);
    const { access_token: token } = (await res.json()) as { access_token: string };
    expect(await bearer(token, 'GET', `/Observation/${setting.ids.observation}`)).toBe(200);
    expect(await bearer(token, 'GET', `/Condition/${setting.ids.condition}`)).toBe(403);
    expect(await bearer(token, 'GET', '/$verify')).toBe(403);
    // Administration is for administrators, not for system clients.
    const admin = await fetch(`${new URL(setting.url).origin}/admin/accounts`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(admin.status).toBe(403);
  });

  it('logs a clinician in only with their second factor, then reads under the patient’s grant', async () => {
    const doctor = await setting.hospital.accounts.findByUsername('doctor');
    await setting.hospital.accounts.setPassword(doctor!.id as AccountId, PASSWORD);
    expect(
      await registerClient({
        clientId: 'clinic-app',
        name: 'Clinic app',
        redirectUris: [REDIRECT],
        scopes: ['openid', 'fhirUser', 'user/Observation.rs'],
        firstParty: true,
      }),
    ).toBe(201);
    // The doctor enrolled TOTP when they first signed in (careSetting); that code's step is used up, so this
    // sign-in uses the next step's code (inside the ±1 window, later than any used).
    const secret = setting.secondFactors.doctor!;
    const authorize = (challenge: string) => ({
      clientId: 'clinic-app',
      redirectUri: REDIRECT,
      scope: 'openid user/Observation.rs',
      codeChallenge: challenge,
    });
    // Without the one-time code the login page comes back, with a generic error (one attempt: logins are
    // throttled per account).
    const browser = new Browser();
    const { action: form } = await openLoginForm(h, browser, authorize(pkce().challenge));
    const refused = await browser.post(form, { username: 'doctor', password: PASSWORD, otp: '' });
    expect(refused.status).toBe(200);
    expect(await refused.text()).toContain('name="password"');
    const { verifier, challenge } = pkce();
    const back = await signIn(h, new Browser(), authorize(challenge), {
      username: 'doctor',
      password: PASSWORD,
      otp: totpCode(secret, Date.now() + secret.period * 1000),
    });
    const res = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      client_id: 'clinic-app',
      code_verifier: verifier,
      resource: setting.url,
    });
    expect(res.status).toBe(200);
    const { access_token: token } = (await res.json()) as { access_token: string };
    // No grant yet: as if the record did not exist.
    expect(await bearer(token, 'GET', `/Observation/${setting.ids.observation}`)).toBe(404);
    await setting.grant({ categories: [DataCategory.Observations] });
    expect(await bearer(token, 'GET', `/Observation/${setting.ids.observation}`)).toBe(200);
  });

  it('registers a clinician’s security key and logs them in with password and key', async () => {
    const account = await setting.hospital.accounts.findByUsername('unlicensed');
    await setting.hospital.accounts.setPassword(account!.id as AccountId, PASSWORD);
    const origin = new URL(setting.url).origin;
    const json = async (url: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        redirect: 'manual',
      });
    // Registration, signed in with the person's API token.
    const asPerson = { authorization: `Bearer ${setting.tokens.unlicensed}` };
    const options = await (await json(`${origin}/account/webauthn/options`, {}, asPerson)).json();
    const key = new SoftAuthenticator();
    const registered = await json(`${origin}/account/webauthn`, key.register(options, { origin }), asPerson);
    expect(registered.status).toBe(201);
    expect(
      (
        await json(
          `${origin}/account/webauthn/options`,
          {},
          { authorization: `Bearer ${setting.tokens.admin}` },
        )
      ).status,
    ).toBe(403);

    expect(
      await registerClient({
        clientId: 'key-app',
        name: 'Key app',
        redirectUris: [REDIRECT],
        scopes: ['openid', 'user/Organization.rs'],
        firstParty: true,
      }),
    ).toBe(201);
    const browser = new Browser();
    const { verifier, challenge } = pkce();
    const { url } = await openLoginForm(h, browser, {
      clientId: 'key-app',
      redirectUri: REDIRECT,
      scope: 'openid user/Organization.rs',
      codeChallenge: challenge,
    });
    const uid = /\/interaction\/([^/?#]+)/.exec(url)![1]!;
    const base = `${h.issuer}/interaction/${uid}/passkey`;
    const cookie = () => ({ cookie: browser.jar.header(base) ?? '' });
    const login = async (assertion: unknown, password = PASSWORD) => {
      const res = await json(base, { username: 'unlicensed', password, assertion }, cookie());
      browser.jar.store(res, base);
      return res;
    };
    const requestOptions = await (await json(`${base}/options`, { username: 'unlicensed' }, cookie())).json();
    const assertion = key.authenticate(requestOptions, { origin });
    // The right key with the wrong password, then a signature over another challenge: refused.
    expect((await login(assertion, 'not the password at all')).status).toBe(401);
    const stale = key.authenticate(requestOptions, { origin, challenge: 'c3RhbGUtY2hhbGxlbmdl' });
    expect((await login(stale)).status).toBe(401);
    // A fresh challenge, the right password and key: the interaction finishes and the app gets its code.
    const fresh = await (await json(`${base}/options`, { username: 'unlicensed' }, cookie())).json();
    const finished = await login(key.authenticate(fresh, { origin }));
    expect([302, 303]).toContain(finished.status);
    const back = await followFlow(h, browser, base, finished, REDIRECT);
    const res = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      client_id: 'key-app',
      code_verifier: verifier,
      resource: setting.url,
    });
    expect(res.status).toBe(200);
    const { access_token: token } = (await res.json()) as { access_token: string };
    expect(await bearer(token, 'GET', `/Organization/${setting.ids.organization}`)).toBe(200);
  });
});
