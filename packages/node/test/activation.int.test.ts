/**
 * Patient activation at a real node (embedded chain, PGlite): the administrator creates a patient account
 * without a password and gets a one-time code; the patient activates it with their own password and either
 * self-held keys (only public parts reach the node) or custodial ones (sealed under their password), with an
 * optional TOTP enrolment of their own. Codes are single use, re-issued codes replace old ones, wrong codes are
 * throttled.
 */
import { patientPseudonymOf } from '@medledger/contracts';
import { bytesToBase64url, generateKeyBundle } from '@medledger/crypto';
import { type AccountId, openPatientKeys, totpCode } from '@medledger/identity';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATIENT_PSEUDONYM_SYSTEM } from '../src/access/PatientLinks.js';
import {
  mintOwnToken,
  registerTokenApp,
  signInAtNode,
  TOKEN_APP,
  totpSecretOf,
} from '../src/consortium/personSignIn.js';
import { startTestNode, type TestNode } from './helpers.js';

const PASSWORD = 'a long passphrase the patient chose';

describe('patient activation', () => {
  let t: TestNode;
  let origin: string;
  const call = async (method: string, path: string, body?: unknown, token: string | null = t.token) => {
    const res = await fetch(`${origin}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, text, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
  };
  const createPending = (username: string) =>
    call('POST', '/admin/accounts', {
      username,
      displayName: `Patient ${username}`,
      role: 'patient',
      activation: true,
      demographics: { name: [{ family: 'Testperson', given: ['Pat'] }], birthDate: '1980-02-03' },
    });

  beforeAll(async () => {
    t = await startTestNode({ backend: 'pglite' });
    origin = new URL(t.url).origin;
  }, 240_000);
  afterAll(async () => {
    await t?.close();
  });

  it('creates a patient awaiting activation, with a one-time code and link but no password or keys', async () => {
    const created = await createPending('pat.self');
    expect(created.status).toBe(201);
    const { account, patient, activation } = created.body;
    expect(account.hasPassword).toBe(false);
    expect(account.patient).toBeUndefined();
    expect(patient.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(patient.pseudonym).toBeUndefined();
    expect(activation.code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{1,4}){6}$/);
    expect(activation.link).toBe(`${origin}/app/activate#code=${activation.code}`);
    const days = (Date.parse(activation.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    // The node keeps only a hash of the code.
    const { rows } = await t.node.db.query<{ code_hash: Uint8Array }>(
      'SELECT code_hash FROM identity_activations WHERE account_id = $1',
      [account.id],
    );
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]!.code_hash).toString('utf8')).not.toContain(activation.code.slice(0, 4));

    // Activation is for patients, and replaces the password.
    const withPassword = await call('POST', '/admin/accounts', {
      username: 'pat.both',
      displayName: 'Both',
      role: 'patient',
      activation: true,
      password: PASSWORD,
    });
    expect(withPassword.status).toBe(400);
    expect(withPassword.body.issue[0].expression).toEqual(['password']);
    const auditor = await call('POST', '/admin/accounts', {
      username: 'aud.act',
      displayName: 'Auditor',
      role: 'auditor',
      activation: true,
    });
    expect(auditor.status).toBe(400);
    expect(auditor.body.issue[0].expression).toEqual(['activation']);
    // Nobody but the patient's own keys names their pseudonym.
    const claimed = await call('POST', '/admin/accounts', {
      username: 'pat.claimed',
      displayName: 'Claimed',
      role: 'patient',
      activation: true,
      demographics: { identifier: [{ system: PATIENT_PSEUDONYM_SYSTEM, value: `0x${'ab'.repeat(32)}` }] },
    });
    expect(claimed.status).toBe(400);
  });

  it('activates with self-held keys: the node gets only the public parts and links their pseudonym', async () => {
    const created = await createPending('pat.keys');
    const code: string = created.body.activation.code;
    const consentKey = privateKeyToAccount(generatePrivateKey());
    const bundle = generateKeyBundle();
    const keys = {
      custody: 'self',
      consentAddress: consentKey.address,
      publicBundle: bytesToBase64url(bundle.publicBundle.encoded),
    };

    // An unknown code, a weak password and a forged bundle change nothing; the code still works after.
    expect(
      (await call('POST', '/account/activate', { code: 'AAAA-BBBB', password: PASSWORD, keys }, null)).status,
    ).toBe(404);
    const weak = await call('POST', '/account/activate', { code, password: 'short', keys }, null);
    expect(weak.status).toBe(400);
    expect(weak.body.issue[0].expression).toEqual(['password']);
    expect(weak.text).not.toContain('short');
    const forged = { ...keys, publicBundle: bytesToBase64url(new Uint8Array(64)) };
    const bad = await call('POST', '/account/activate', { code, password: PASSWORD, keys: forged }, null);
    expect(bad.status).toBe(400);

    // Typed in lower case with spaces: still the code.
    const typed = code.toLowerCase().replace(/-/g, ' ');
    const activated = await call(
      'POST',
      '/account/activate',
      { code: typed, password: PASSWORD, keys },
      null,
    );
    expect(activated.status).toBe(200);
    expect(activated.text).not.toContain(PASSWORD);
    const pseudonym = patientPseudonymOf(consentKey.address);
    expect(activated.body.patient).toEqual({ id: created.body.patient.id, pseudonym });
    expect(activated.body.custody).toBe('self');
    expect(activated.body.account.hasPassword).toBe(true);
    expect(activated.body.account.patient).toEqual({ fhirId: created.body.patient.id, pseudonym });

    const id = created.body.account.id as AccountId;
    expect(await t.node.accounts.patientKeys(id)).toBeUndefined();
    expect(await t.node.accounts.patientPublicBundle(id)).toBe(keys.publicBundle);
    const stored = await t.node.records.system('test').read('Patient', created.body.patient.id);
    expect(stored.resource.identifier).toContainEqual({ system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym });

    // Single use.
    const again = await call('POST', '/account/activate', { code, password: PASSWORD, keys }, null);
    expect(again.status).toBe(404);
    expect((await call('POST', `/admin/accounts/${id}/activation`)).status).toBe(409);
  });

  it('activates with custodial keys sealed under the chosen password and the patient’s own TOTP', async () => {
    const created = await createPending('pat.custodial');
    const id = created.body.account.id as AccountId;
    // A re-issued code replaces the first.
    const reissued = await call('POST', `/admin/accounts/${id}/activation`);
    expect(reissued.status).toBe(201);
    const code: string = reissued.body.activation.code;
    const keys = { custody: 'custodial' };
    expect(
      (
        await call(
          'POST',
          '/account/activate',
          { code: created.body.activation.code, password: PASSWORD, keys },
          null,
        )
      ).status,
    ).toBe(404);

    const enrolment = await call('POST', '/account/activate/totp', { code }, null);
    expect(enrolment.status).toBe(201);
    const secret = totpSecretOf(enrolment.body.otpauthUri);
    const wrong = await call(
      'POST',
      '/account/activate',
      { code, password: PASSWORD, keys, totpCode: '000000' },
      null,
    );
    expect(wrong.status).toBe(400);
    expect(wrong.body.issue[0].expression).toEqual(['totpCode']);
    const activated = await call(
      'POST',
      '/account/activate',
      { code, password: PASSWORD, keys, totpCode: totpCode(secret, Date.now()) },
      null,
    );
    expect(activated.status).toBe(200);
    expect(activated.body.custody).toBe('custodial');
    expect(activated.body.account.secondFactors.totp).toBe(true);
    const sealed = await t.node.accounts.patientKeys(id);
    const opened = await openPatientKeys(sealed!, PASSWORD);
    expect(activated.body.patient.pseudonym).toBe(opened.pseudonym);
    opened.destroy();
  });

  it('lets the activated patient sign in, see where their keys are, add their own TOTP and file documents', async () => {
    await registerTokenApp(origin, t.token);
    const signIn = (otp?: string) =>
      signInAtNode({
        origin,
        clientId: TOKEN_APP.clientId,
        redirectUri: TOKEN_APP.redirectUri,
        scope: 'openid patient/*.cruds',
        username: 'pat.keys',
        password: PASSWORD,
        ...(otp ? { otp } : {}),
      });
    const access = await signIn();
    const keys = await call('GET', '/account/keys', undefined, access);
    expect(keys.status).toBe(200);
    const account = await t.node.accounts.findByUsername('pat.keys');
    expect(keys.body).toMatchObject({
      custody: 'self',
      patient: account!.patient!.fhirId,
      pseudonym: account!.patient!.pseudonym,
      consentManager: { chainId: t.node.ledger.chainId },
    });
    expect(keys.body.publicBundle).toBeTruthy();
    const custodial = await t.node.accounts.findByUsername('pat.custodial');
    expect((await call('GET', '/account/keys', undefined, t.token)).status).toBe(403);
    expect(custodial).toBeDefined();

    // Their own TOTP: from a sign-in only, confirmed with a code, and not replaceable by a session.
    const { token: apiToken } = await mintOwnToken(origin, access);
    expect((await call('POST', '/account/totp', {}, apiToken)).status).toBe(403);
    const begun = await call('POST', '/account/totp', {}, access);
    expect(begun.status).toBe(201);
    const secret = totpSecretOf(begun.body.otpauthUri);
    expect((await call('POST', '/account/totp/confirm', { code: '000000' }, access)).status).toBe(400);
    const confirmed = await call(
      'POST',
      '/account/totp/confirm',
      { code: totpCode(secret, Date.now()) },
      access,
    );
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.account.secondFactors.totp).toBe(true);
    expect((await call('POST', '/account/totp', {}, access)).status).toBe(409);

    // A patient files documents in their own record — and only there.
    const fhir = (path: string, body: unknown) =>
      fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(body),
      });
    const document = (patient: string) => ({
      resourceType: 'DocumentReference',
      status: 'current',
      subject: { reference: `Patient/${patient}` },
      content: [{ attachment: { contentType: 'application/vnd.medledger.sealed-record', data: 'AAEC' } }],
    });
    expect((await fhir('/DocumentReference', document(account!.patient!.fhirId))).status).toBe(201);
    expect([403, 404]).toContain(
      (await fhir('/DocumentReference', document(custodial!.patient!.fhirId))).status,
    );
    expect(
      (
        await fhir('/Observation', {
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'self-reported' },
          subject: { reference: `Patient/${account!.patient!.fhirId}` },
        })
      ).status,
    ).toBe(403);
  });

  it('throttles guessing of codes per address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6 && !statuses.includes(429); i++) {
      const res = await call(
        'POST',
        '/account/activate',
        { code: `ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-Z${i}`, password: PASSWORD, keys: { custody: 'custodial' } },
        null,
      );
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 3)).toEqual([404, 404, 404]);
    expect(statuses).toContain(429);
  });
});
