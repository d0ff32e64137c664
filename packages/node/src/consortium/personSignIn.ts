/**
 * A person signs in at a node's OpenID provider the way a first-party app does — authorization code with
 * PKCE, the login form with password and one-time code — and mints their own API token from that sign-in
 * (POST /account/tokens). The demo and the tests get people's tokens this way: the only way there is.
 *
 * Just enough of a browser for the node's own pages: manual redirects, a cookie jar keyed by name (the
 * provider's cookie names are distinct), the forms' `action`. Not a general OAuth client.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  type AccountId,
  type AccountStore,
  isPrivilegedRole,
  type TotpSecret,
  totpCode,
} from '@medledger/identity';

export interface SignIn {
  /** The node's origin, e.g. http://127.0.0.1:8080 (the provider is at /oauth, the FHIR API at /fhir). */
  origin: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  username: string;
  password: string;
  otp?: string;
}

const failed = (what: string) => new MdlError(MdlErrorCode.Unauthenticated, `sign-in: ${what}`);

/** Signs in and returns the access token for the node's FHIR API. */
export async function signInAtNode(o: SignIn): Promise<string> {
  const jar = new Map<string, string>();
  const request = async (url: string, form?: Record<string, string>) => {
    const headers: Record<string, string> = {};
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      headers,
      redirect: 'manual',
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = cookie.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const gone = pair.slice(eq + 1) === '' || attrs.some((a) => /^max-age=0$/i.test(a));
      if (gone) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  };
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(`${o.origin}/oauth/authorize`);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    scope: o.scope,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  })) {
    authorize.searchParams.set(k, v);
  }
  let url = authorize.href;
  let res = await request(url);
  let signedIn = false;
  for (let step = 0; step < 12; step++) {
    if (res.status === 302 || res.status === 303) {
      const next = new URL(res.headers.get('location') ?? '', url).href;
      if (next.startsWith(o.redirectUri)) {
        const code = new URL(next).searchParams.get('code');
        if (!code) throw failed('the provider refused the request');
        const token = await fetch(`${o.origin}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: o.redirectUri,
            client_id: o.clientId,
            code_verifier: verifier,
            resource: `${o.origin}/fhir`,
          }).toString(),
        });
        const body = (await token.json()) as { access_token?: string };
        if (!token.ok || !body.access_token) throw failed('the token request was refused');
        return body.access_token;
      }
      url = next;
      res = await request(url);
      continue;
    }
    const html = await res.text();
    const actions = [...html.matchAll(/<form method="post" action="([^"]+)"/g)].map(
      (m) => new URL(m[1]!.replace(/&amp;/g, '&'), o.origin).href,
    );
    if (res.status === 200 && html.includes('name="password"') && !signedIn) {
      signedIn = true;
      url = actions[0]!;
      res = await request(url, { username: o.username, password: o.password, otp: o.otp ?? '' });
    } else if (res.status === 200 && actions.some((a) => a.endsWith('/confirm'))) {
      url = actions.find((a) => a.endsWith('/confirm'))!;
      res = await request(url, {});
    } else {
      throw failed('the credentials were refused');
    }
  }
  throw failed('the flow did not finish');
}

/** Mints the signed-in person's own API token (default lifetime, or until `expiresAt`). */
export async function mintOwnToken(
  origin: string,
  accessToken: string,
  options: { label?: string; expiresAt?: Date } = {},
): Promise<{ id: string; token: string; expiresAt: string }> {
  const res = await fetch(`${origin}/account/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      label: options.label ?? 'API token',
      ...(options.expiresAt ? { expiresAt: options.expiresAt.toISOString() } : {}),
    }),
  });
  const body = (await res.json()) as { id: string; token: string; expiresAt: string };
  if (res.status !== 201)
    throw new MdlError(MdlErrorCode.Forbidden, `minting an API token: HTTP ${res.status}`);
  return body;
}

/** The TOTP secret of an otpauth:// URI (what an authenticator app reads from the QR code). */
export function totpSecretOf(otpauthUri: string): TotpSecret {
  const uri = new URL(otpauthUri);
  return {
    secret: uri.searchParams.get('secret') ?? '',
    algorithm: (uri.searchParams.get('algorithm') ?? 'SHA1') as TotpSecret['algorithm'],
    digits: Number(uri.searchParams.get('digits') ?? 6) as TotpSecret['digits'],
    period: Number(uri.searchParams.get('period') ?? 30),
  };
}

/** The first-party app people of a node sign in to for their API tokens (registered by the operator). */
export const TOKEN_APP = {
  clientId: 'medledger-token-app',
  name: 'medledger API tokens',
  redirectUri: 'http://127.0.0.1:9/tokens',
};

/** Registers TOKEN_APP at the node with the operator's token (already registered is fine). */
export async function registerTokenApp(origin: string, operatorToken: string): Promise<void> {
  const res = await fetch(`${origin}/admin/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      clientId: TOKEN_APP.clientId,
      name: TOKEN_APP.name,
      redirectUris: [TOKEN_APP.redirectUri],
      scopes: ['openid', 'user/*.cruds', 'patient/*.cruds'],
      firstParty: true,
    }),
  });
  if (res.status !== 201 && res.status !== 409) {
    throw new MdlError(MdlErrorCode.Config, `registering the token app: HTTP ${res.status}`);
  }
}

/**
 * For in-process setups (tests, scenarios) that create accounts in the store: gives the person a password
 * and, when their role needs one, a TOTP second factor, signs them in through the node's provider and
 * mints their own API token. TOKEN_APP must be registered.
 */
export async function personApiToken(
  node: { fhirUrl: string; accounts: AccountStore },
  accountId: AccountId,
  options: { password?: string; label?: string } = {},
): Promise<{ token: string; password: string; totp?: TotpSecret }> {
  const account = await node.accounts.getAccount(accountId);
  if (!account) throw new MdlError(MdlErrorCode.NotFound, 'no such account');
  const password = options.password ?? `${randomBytes(18).toString('base64url')} passphrase`;
  await node.accounts.setPassword(accountId, password);
  let totp: TotpSecret | undefined;
  if (isPrivilegedRole(account.role)) totp = (await node.accounts.beginTotpEnrolment(accountId)).secret;
  const origin = new URL(node.fhirUrl).origin;
  const access = await signInAtNode({
    origin,
    clientId: TOKEN_APP.clientId,
    redirectUri: TOKEN_APP.redirectUri,
    scope: account.role === 'patient' ? 'openid patient/*.cruds' : 'openid user/*.cruds',
    username: account.username,
    password,
    ...(totp ? { otp: totpCode(totp, Date.now()) } : {}),
  });
  const { token } = await mintOwnToken(origin, access, { label: options.label ?? 'API token' });
  return { token, password, ...(totp ? { totp } : {}) };
}
