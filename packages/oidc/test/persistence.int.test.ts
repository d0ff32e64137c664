import { isMdlError, MdlErrorCode } from '@medledger/core';
import { migrate } from '@medledger/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import type { ClientRegistration } from '../src/clientRegistration.js';
import { oidcMigrations } from '../src/oidcMigrations.js';
import { generateSigningKeys } from '../src/signingKeys.js';
import { Browser, pkce } from './browser.js';
import { authorizeUrl, type Harness, signIn, startHarness, tokenRequest } from './harness.js';
import { testAccounts } from './testAccounts.js';

const available = await backends();

const STATIC: ClientRegistration = {
  clientId: 'static-app',
  name: 'Configured app',
  redirectUris: ['http://127.0.0.1:9/static'],
  scopes: ['openid'],
  firstParty: true,
};
const REGISTERED: ClientRegistration = {
  clientId: 'registered-app',
  name: 'Registered app',
  redirectUris: ['http://127.0.0.1:9/registered'],
  scopes: ['openid', 'offline_access', 'patient/*.rs'],
  firstParty: true,
};
const ALICE = { username: 'alice', password: 'correct horse battery staple' };

async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isMdlError(error) ? error.code : String(error);
}

describe.each(available)('state that survives a restart, on $name', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    const db = await backend.open();
    await migrate(db, oidcMigrations);
    const accounts = testAccounts([
      { ...ALICE, accountId: 'acct-alice', claims: { role: 'patient', patient: 'p-alice' } },
    ]);
    h = await startHarness({ db, keys: await generateSigningKeys(), accounts, clients: [STATIC] });
    const close = h.close.bind(h);
    h.close = async () => {
      await close();
      await db.close();
    };
  });
  afterAll(async () => {
    await h?.close();
  });

  async function refreshTokenFor(client: ClientRegistration): Promise<Record<string, string>> {
    const { verifier, challenge } = pkce();
    const redirectUri = client.redirectUris![0]!;
    const back = await signIn(
      h,
      new Browser(),
      {
        clientId: client.clientId,
        redirectUri,
        scope: 'openid offline_access patient/*.rs',
        codeChallenge: challenge,
      },
      ALICE,
      'unexpected',
    );
    const res = await tokenRequest(h, {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: redirectUri,
      client_id: client.clientId,
      code_verifier: verifier,
    });
    const body = (await res.json()) as Record<string, string>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body;
  }

  it('keeps registered clients, refresh tokens and token validity across a restart', async () => {
    expect(await h.auth.registerClient(REGISTERED)).toEqual(REGISTERED);
    const tokens = await refreshTokenFor(REGISTERED);
    await h.restart();
    await expect(h.auth.verifyAccessToken(tokens.access_token!)).resolves.toMatchObject({
      subject: 'acct-alice',
    });
    const res = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: REGISTERED.clientId,
    });
    const refreshed = (await res.json()) as Record<string, string>;
    expect(res.status, JSON.stringify(refreshed)).toBe(200);
    expect(refreshed.patient).toBe('p-alice');
    expect((await h.auth.listClients()).map((c) => c.clientId)).toEqual(['registered-app', 'static-app']);
    await refreshTokenFor(REGISTERED);
  });

  it('refuses duplicate and invalid registrations, and removing configured clients', async () => {
    expect(await errorCode(h.auth.registerClient(REGISTERED))).toBe(MdlErrorCode.Conflict);
    expect(await errorCode(h.auth.registerClient({ ...STATIC, name: 'Impostor' }))).toBe(
      MdlErrorCode.Conflict,
    );
    expect(await errorCode(h.auth.registerClient({ ...REGISTERED, clientId: 'x', scopes: ['bogus'] }))).toBe(
      MdlErrorCode.BadInput,
    );
    expect(await errorCode(h.auth.removeClient(STATIC.clientId))).toBe(MdlErrorCode.Conflict);
    const renamed = await h.auth.registerClient({ ...REGISTERED, name: 'Renamed app' }, { replace: true });
    expect(renamed.name).toBe('Renamed app');
    const listed = await h.auth.listClients();
    expect(listed.find((c) => c.clientId === REGISTERED.clientId)?.name).toBe('Renamed app');
    expect(listed.find((c) => c.clientId === STATIC.clientId)).toEqual(STATIC);
  });

  it('removes a registered client: its refresh tokens and sign-ins stop at once', async () => {
    const tokens = await refreshTokenFor(REGISTERED);
    expect(await h.auth.removeClient(REGISTERED.clientId)).toBe(true);
    expect(await h.auth.removeClient(REGISTERED.clientId)).toBe(false);
    const res = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: REGISTERED.clientId,
    });
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
    const { challenge } = pkce();
    const page = await new Browser().get(
      authorizeUrl(h, {
        clientId: REGISTERED.clientId,
        redirectUri: REGISTERED.redirectUris![0]!,
        scope: 'openid',
        codeChallenge: challenge,
      }),
    );
    expect(page.status).toBe(400);
    expect((await h.auth.listClients()).map((c) => c.clientId)).toEqual(['static-app']);
  });
});
