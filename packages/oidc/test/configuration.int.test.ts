import { type Db, migrate, openPgliteDb } from '@medledger/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthorizationServerOptions,
  createAuthorizationServer,
} from '../src/createAuthorizationServer.js';
import { oidcMigrations } from '../src/oidcMigrations.js';
import { generateSigningKeys } from '../src/signingKeys.js';
import { COOKIE_KEYS } from './harness.js';
import { testAccounts } from './testAccounts.js';

describe('authorisation server configuration', () => {
  let db: Db;
  let valid: AuthorizationServerOptions;
  beforeAll(async () => {
    db = await openPgliteDb();
    await migrate(db, oidcMigrations);
    valid = {
      issuer: 'https://node.example/oauth',
      fhirAudience: 'https://node.example/fhir',
      db,
      signingKeys: await generateSigningKeys(),
      cookieKeys: COOKIE_KEYS,
      accounts: testAccounts([]),
      purgeIntervalMs: 0,
    };
  });
  afterAll(async () => {
    await db?.close();
  });

  it('starts with a valid configuration and publishes the SMART configuration of its issuer', async () => {
    const auth = await createAuthorizationServer({ ...valid, issuer: 'https://node.example/oauth/' });
    expect(auth.smartConfiguration.token_endpoint).toBe('https://node.example/oauth/token');
    expect(auth.provider.issuer).toBe('https://node.example/oauth');
    await auth.close();
  });

  it('refuses configurations it cannot run safely', async () => {
    const app = {
      clientId: 'a',
      name: 'A',
      redirectUris: ['https://a.example/cb'],
      scopes: ['openid'],
      firstParty: false,
    };
    for (const over of [
      { issuer: 'ftp://node.example/oauth' },
      { issuer: 'https://node.example/oauth?x=1' },
      { fhirAudience: 'not a url' },
      { cookieKeys: [] },
      { cookieKeys: ['short'] },
      { signingKeys: { keys: [] } },
      { ttl: { accessToken: 0 } },
      { ttl: { refreshToken: 1.5 } },
      { clients: [app, app] },
      { clients: [{ ...app, scopes: ['system/*.rs'] }] },
    ] as Partial<AuthorizationServerOptions>[]) {
      await expect(
        createAuthorizationServer({ ...valid, ...over }),
        JSON.stringify(over),
      ).rejects.toMatchObject({
        code: 'MDL_CONFIG',
      });
    }
  });
});
