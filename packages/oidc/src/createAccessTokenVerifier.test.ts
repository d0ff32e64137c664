import { isMdlError, MdlErrorCode } from '@medledger/core';
import { importJWK, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier } from './createAccessTokenVerifier.js';
import { generateSigningKeys, publicJwk, type SigningJwk } from './signingKeys.js';

const ISSUER = 'https://node.example/oauth';
const AUDIENCE = 'https://node.example/fhir';

let ed: SigningJwk;
let ec: SigningJwk;
let other: SigningJwk;
let verify: ReturnType<typeof createAccessTokenVerifier>;

async function sign(
  key: SigningJwk,
  payload: JWTPayload = {},
  header: Record<string, unknown> = {},
  { kid = key.kid }: { kid?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'acct-1',
    jti: 'jti-1',
    iat: now,
    exp: now + 300,
    client_id: 'app',
    scope: 'openid patient/Observation.rs',
    kind: 'user',
    role: 'patient',
    patient: 'p1',
    fhirUser: 'Patient/p1',
    ...payload,
  })
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid, ...header })
    .sign(await importJWK(key, key.alg));
}

async function refused(token: string): Promise<void> {
  const error = await verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isMdlError(error, MdlErrorCode.Unauthenticated), String(error)).toBe(true);
  expect((error as Error).message).toBe('invalid access token');
}

beforeAll(async () => {
  [ed, ec] = (await generateSigningKeys()).keys as [SigningJwk, SigningJwk];
  [other] = (await generateSigningKeys(['EdDSA'])).keys as [SigningJwk];
  verify = createAccessTokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [publicJwk(ed), publicJwk(ec)],
  });
});

describe('verifyAccessToken', () => {
  it('accepts a token signed by either key and returns its claims', async () => {
    for (const key of [ed, ec]) {
      const info = await verify(await sign(key));
      expect(info).toEqual({
        subject: 'acct-1',
        clientId: 'app',
        kind: 'user',
        scopes: ['openid', 'patient/Observation.rs'],
        patient: 'p1',
        fhirUser: 'Patient/p1',
        role: 'patient',
        expiresAt: expect.any(Date),
      });
    }
  });

  it('refuses expired and not-yet-valid tokens beyond the leeway, accepts within it', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await sign(ed, { exp: now - 30 }));
    await refused(await sign(ed, { nbf: now + 60 }));
    await expect(verify(await sign(ed, { exp: now - 2 }))).resolves.toMatchObject({ subject: 'acct-1' });
  });

  it('refuses a token for another audience or from another issuer', async () => {
    await refused(await sign(ed, { aud: 'https://other.example/fhir' }));
    await refused(await sign(ed, { iss: 'https://other.example/oauth' }));
  });

  it('refuses tampered tokens', async () => {
    const token = await sign(ed);
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    payload.scope = 'user/*.cruds';
    await refused(`${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`);
    const sig = Buffer.from(s, 'base64url');
    sig[0]! ^= 1;
    await refused(`${h}.${p}.${sig.toString('base64url')}`);
  });

  it('refuses a token signed by another key, under our kid or its own', async () => {
    await refused(await sign(other, {}, {}, { kid: ed.kid }));
    await refused(await sign(other));
  });

  it('refuses other token types, unsigned tokens and missing claims', async () => {
    await refused(await sign(ed, {}, { typ: 'JWT' }));
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: ed.kid })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'x', client_id: 'a', jti: 'j', kind: 'user', iat: 1, exp: 9999999999 })).toString('base64url')}.`;
    await refused(none);
    await refused(await sign(ed, { kind: 'admin' }));
    await refused(await sign(ed, { client_id: undefined }));
  });

  it('refuses what is not a compact JWS', async () => {
    for (const junk of ['', 'abc', 'a.b', 'a.b.c.d', 'x'.repeat(9000), 'a b.c.d']) await refused(junk);
  });
});
