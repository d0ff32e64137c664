import { randomUUID } from 'node:crypto';
import { migrate } from '@medledger/storage';
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import { oidcMigrations } from '../src/oidcMigrations.js';
import { generateSigningKeys } from '../src/signingKeys.js';
import { type Harness, startHarness, tokenRequest } from './harness.js';
import { testAccounts } from './testAccounts.js';

const available = await backends();
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe.each(available)('SMART Backend Services on $name', (backend) => {
  let h: Harness;
  let clientKey: CryptoKey;
  let strangerKey: CryptoKey;

  beforeAll(async () => {
    const db = await backend.open();
    await migrate(db, oidcMigrations);
    h = await startHarness({ db, keys: await generateSigningKeys(), accounts: testAccounts([]) });
    const close = h.close.bind(h);
    h.close = async () => {
      await close();
      await db.close();
    };
    const pair = await generateKeyPair('ES384', { extractable: true });
    clientKey = pair.privateKey;
    strangerKey = (await generateKeyPair('ES384')).privateKey;
    await h.auth.registerClient({
      clientId: 'lab-ehr',
      name: 'Lab EHR',
      jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'lab-1', alg: 'ES384' }] },
      scopes: ['system/Observation.cruds', 'system/Patient.rs'],
      firstParty: false,
    });
    await h.auth.registerClient({
      clientId: 'people-app',
      name: 'People app',
      redirectUris: ['http://127.0.0.1:9/cb'],
      jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'people-1', alg: 'ES384' }] },
      scopes: ['openid', 'user/*.rs'],
      firstParty: false,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function assertion(
    over: JWTPayload = {},
    {
      key = clientKey,
      kid = 'lab-1',
      clientId = 'lab-ehr',
    }: { key?: CryptoKey; kid?: string; clientId?: string } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: clientId,
      sub: clientId,
      aud: `${h.issuer}/token`,
      jti: randomUUID(),
      exp: now + 240,
      iat: now,
      ...over,
    })
      .setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' })
      .sign(key);
  }

  function clientCredentials(clientAssertion: string, scope = 'system/Observation.rs'): Promise<Response> {
    return tokenRequest(h, {
      grant_type: 'client_credentials',
      scope,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: clientAssertion,
    });
  }

  async function error(res: Response): Promise<string> {
    expect(res.status).toBeGreaterThanOrEqual(400);
    return ((await res.json()) as { error: string }).error;
  }

  it('issues a JWT access token with the system scopes asked for', async () => {
    const res = await clientCredentials(await assertion(), 'system/Observation.rs system/Patient.r');
    const body = (await res.json()) as Record<string, string | number>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(300);
    expect(body.refresh_token).toBeUndefined();
    expect(String(body.scope).split(' ').sort()).toEqual(['system/Observation.rs', 'system/Patient.r']);
    const info = await h.auth.verifyAccessToken(String(body.access_token));
    expect(info).toMatchObject({ subject: 'lab-ehr', clientId: 'lab-ehr', kind: 'system' });
    expect(info.role).toBeUndefined();
    expect(info.patient).toBeUndefined();
    expect(info.scopes.sort()).toEqual(['system/Observation.rs', 'system/Patient.r']);
  });

  it('accepts the issuer as audience too (RFC 7523)', async () => {
    expect((await clientCredentials(await assertion({ aud: h.issuer }))).status).toBe(200);
  });

  it('refuses an assertion signed with another key', async () => {
    expect(await error(await clientCredentials(await assertion({}, { key: strangerKey })))).toBe(
      'invalid_client',
    );
  });

  it('refuses expired assertions and assertions valid for more than five minutes', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await error(await clientCredentials(await assertion({ exp: now - 60, iat: now - 360 })))).toBe(
      'invalid_client',
    );
    expect(await error(await clientCredentials(await assertion({ exp: now + 3600 })))).toBe('invalid_client');
    expect(await error(await clientCredentials(await assertion({ exp: undefined })))).toBe('invalid_client');
  });

  it('refuses a replayed assertion, also when the replays race', async () => {
    const once = await assertion();
    expect((await clientCredentials(once)).status).toBe(200);
    expect(await error(await clientCredentials(once))).toBe('invalid_client');
    const racing = await assertion();
    const results = await Promise.all([1, 2, 3, 4].map(() => clientCredentials(racing)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) expect(await error(r)).toBe('invalid_client');
  });

  it('refuses an assertion for another audience, or naming another client', async () => {
    for (const aud of [h.audience, 'https://other.example/oauth/token', `${h.issuer}/authorize`]) {
      expect(await error(await clientCredentials(await assertion({ aud }))), aud).toBe('invalid_client');
    }
    expect(await error(await clientCredentials(await assertion({ iss: 'people-app' })))).toBe(
      'invalid_client',
    );
  });

  it('refuses client secrets and unauthenticated requests', async () => {
    const post = await tokenRequest(h, {
      grant_type: 'client_credentials',
      scope: 'system/Observation.rs',
      client_id: 'lab-ehr',
      client_secret: 'anything',
    });
    expect(await error(post)).toBe('invalid_client');
    const basic = await fetch(`${h.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('lab-ehr:anything').toString('base64')}`,
      },
      body: 'grant_type=client_credentials&scope=system%2FObservation.rs',
    });
    expect(await error(basic)).toBe('invalid_client');
    const none = await tokenRequest(h, {
      grant_type: 'client_credentials',
      scope: 'system/Observation.rs',
      client_id: 'lab-ehr',
    });
    expect(await error(none)).toBe('invalid_client');
  });

  it('refuses scopes beyond the registration, non-system scopes and no scope', async () => {
    for (const scope of [
      'system/Observation.rs system/Encounter.rs',
      'system/Patient.cruds',
      'patient/Observation.rs',
      'openid',
      'system/*.rs',
    ]) {
      expect(await error(await clientCredentials(await assertion(), scope)), scope).toBe('invalid_scope');
    }
    const res = await tokenRequest(h, {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(),
    });
    expect(await error(res)).toBe('invalid_scope');
  });

  it('refuses client_credentials to a client registered for people', async () => {
    const res = await clientCredentials(
      await assertion({}, { kid: 'people-1', clientId: 'people-app' }),
      'user/*.rs',
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'requested grant type is not allowed for this client',
    });
  });

  it('issues nothing to a proposed registration until someone other than its proposer confirms it', async () => {
    const pair = await generateKeyPair('ES384', { extractable: true });
    const registration = {
      clientId: 'bulk-reader',
      name: 'Bulk reader',
      jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'bulk-1', alg: 'ES384' }] },
      scopes: ['system/*.rs'],
      firstParty: false,
    };
    await h.auth.registerClient(registration, { pendingBy: 'admin-a' });
    const asBulk = async () =>
      clientCredentials(
        await assertion({}, { key: pair.privateKey, kid: 'bulk-1', clientId: 'bulk-reader' }),
      );
    expect(await error(await asBulk())).toBe('invalid_client');
    expect((await h.auth.listClients()).map((c) => c.clientId)).not.toContain('bulk-reader');
    expect((await h.auth.pendingClients()).map((p) => [p.registration.clientId, p.proposedBy])).toEqual([
      ['bulk-reader', 'admin-a'],
    ]);
    // Proposed twice without `replace`: refused; the proposer cannot confirm it.
    await expect(h.auth.registerClient(registration, { pendingBy: 'admin-a' })).rejects.toMatchObject({
      code: 'MDL_CONFLICT',
    });
    await expect(h.auth.confirmClient('bulk-reader', 'admin-a')).rejects.toMatchObject({
      code: 'MDL_CONFLICT',
    });
    await expect(h.auth.confirmClient('nobody', 'admin-b')).rejects.toMatchObject({ code: 'MDL_NOT_FOUND' });
    expect((await h.auth.confirmClient('bulk-reader', 'admin-b')).proposedBy).toBe('admin-a');
    expect((await asBulk()).status).toBe(200);
    expect(await h.auth.pendingClients()).toEqual([]);
    // A proposed replacement leaves the registration in force as it was; removing drops both.
    await h.auth.registerClient(
      { ...registration, scopes: ['system/*.cruds'] },
      { replace: true, pendingBy: 'x' },
    );
    expect((await h.auth.listClients()).find((c) => c.clientId === 'bulk-reader')?.scopes).toEqual([
      'system/*.rs',
    ]);
    expect(await h.auth.removeClient('bulk-reader')).toBe(true);
    expect(await h.auth.pendingClients()).toEqual([]);
    expect(await error(await asBulk())).toBe('invalid_client');
  });
});
