import { migrate } from '@medledger/storage';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import type { ClientRegistration } from '../src/clientRegistration.js';
import { oidcMigrations } from '../src/oidcMigrations.js';
import { generateSigningKeys } from '../src/signingKeys.js';
import { Browser, pkce } from './browser.js';
import { type Harness, signIn, startHarness, tokenRequest } from './harness.js';
import { testAccounts } from './testAccounts.js';

const available = await backends();

const PATIENT_APP: ClientRegistration = {
  clientId: 'patient-app',
  name: 'Patient <b>App</b>',
  redirectUris: ['http://127.0.0.1:9/cb'],
  scopes: ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/*.rs', 'user/*.rs'],
  firstParty: false,
};

const accounts = testAccounts([
  {
    username: 'alice',
    password: 'correct horse battery staple',
    accountId: 'acct-alice',
    claims: { role: 'patient', fhirUser: 'Patient/p-alice', patient: 'p-alice', organisation: 'org-1' },
  },
  {
    username: 'dr.bob',
    password: 'another long passphrase',
    otp: '123456',
    accountId: 'acct-bob',
    claims: { role: 'practitioner', fhirUser: 'Practitioner/pr-bob', organisation: 'org-1' },
  },
]);

describe.each(available)('authorization code flow on $name', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    const db = await backend.open();
    await migrate(db, oidcMigrations);
    h = await startHarness({ db, keys: await generateSigningKeys(), accounts, clients: [PATIENT_APP] });
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

    const jwks = createRemoteJWKSet(new URL(`${h.issuer}/jwks`));
    const { payload } = await jwtVerify(body.id_token!, jwks, { issuer: h.issuer, audience: 'patient-app' });
    expect(payload.sub).toBe('acct-alice');
    expect(payload.fhirUser).toBe(`${h.audience}/Patient/p-alice`);
  });
});
