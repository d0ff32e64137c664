/**
 * Separation of duties, from the attacker's side, against a real node over HTTP: an administrator (whose role
 * reads no clinical data) cannot become anyone — no API token for another person, no patient key file, no
 * system client reading patient data without a second administrator or the operator — and cannot lock the
 * node out by disabling its last administrator. A person's own API token carries the second factor of the
 * sign-in it was minted from, expires, is listed and revoked by its owner. Every act is in the audit trail,
 * naming its target.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEventJson } from '@medledger/audit-log';
import { type AccountId, totpCode } from '@medledger/identity';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SYSTEM } from '../src/audit/auditEvents.js';
import { mintOwnToken, personApiToken, signInAtNode, TOKEN_APP } from '../src/consortium/personSignIn.js';
import { ADMIN_ACTION_SYSTEM, CLIENT_SYSTEM } from '../src/features/adminAudit.js';
import { type CareSetting, startCareSetting } from './careSetting.js';

describe('separation of duties', () => {
  let s: CareSetting;
  let origin: string;
  /** Two administrators who signed in with their second factor and minted their own tokens. */
  const admins: Record<'first' | 'second', { id: AccountId; token: string }> = {} as never;

  const send = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${origin}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, text, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
  };
  const operator = () => s.tokens.admin!;
  let auditFrom = 0;
  /** Audit events recorded since the last call. */
  const newEvents = async (): Promise<AuditEventJson[]> => {
    const events: AuditEventJson[] = [];
    for (;;) {
      const res = await fetch(`${origin}/audit/export?cursor=${auditFrom}&_count=1000`, {
        headers: { authorization: `Bearer ${operator()}` },
      });
      expect(res.status).toBe(200);
      const page = (await res.text()).split('\n').filter(Boolean);
      auditFrom = Number(res.headers.get('x-medledger-next-cursor'));
      events.push(...page.map((l) => JSON.parse(l) as AuditEventJson));
      if (page.length < 1000) return events;
    }
  };
  const actsOf = (events: AuditEventJson[], code: string) =>
    events.filter((e: any) =>
      e.subtype?.some((c: any) => c.system === ADMIN_ACTION_SYSTEM && c.code === code),
    ) as any[];
  const names = (event: any, system: string) =>
    (event.entity ?? []).map((x: any) => x.what?.identifier).filter((i: any) => i?.system === system);

  /** A new account of `role`, with a password and (clinicians, admins) a pending TOTP enrolment. */
  const account = async (username: string, role: 'doctor' | 'admin' | 'patient') => {
    const created = await s.hospital.accounts.createAccount({
      username,
      displayName: username,
      role,
      organisation: s.hospital.organisationId,
    });
    return created.id as AccountId;
  };

  beforeAll(async () => {
    s = await startCareSetting();
    origin = new URL(s.url).origin;
    for (const which of ['first', 'second'] as const) {
      const id = await account(`admin.${which}`, 'admin');
      admins[which] = { id, token: (await personApiToken(s.hospital, id)).token };
    }
    await newEvents();
  }, 900_000);
  afterAll(async () => {
    await s?.close();
  });

  it('an administrator mints no token for a doctor or a patient; the attempt is refused and audited', async () => {
    const doctor = await s.hospital.accounts.findByUsername('doctor');
    const patient = await s.hospital.accounts.findByUsername('patient');
    for (const token of [admins.first.token, operator()]) {
      for (const target of [doctor!.id, patient!.id]) {
        const r = await send(token, 'POST', `/admin/accounts/${target}/tokens`, { label: 'mine now' });
        expect(r.status).toBe(403);
        expect(r.text).not.toMatch(/"token"/);
      }
    }
    const refused = actsOf(await newEvents(), 'token-mint');
    expect(refused).toHaveLength(4);
    for (const e of refused) expect(e.outcome).toBe('4');
    expect(refused.map((e) => names(e, ACCOUNT_SYSTEM)[0]?.value)).toEqual([
      doctor!.id,
      patient!.id,
      doctor!.id,
      patient!.id,
    ]);
    // Nor can one person's token list or revoke another's.
    const own = await send(s.tokens.doctor!, 'GET', '/account/tokens');
    expect(own.status).toBe(200);
    const doctorTokenId = own.body.tokens[0].id as string;
    expect((await send(admins.first.token, 'DELETE', `/account/tokens/${doctorTokenId}`)).status).toBe(404);
    expect((await send(s.tokens.doctor!, 'GET', '/fhir/Organization')).status).toBe(200);
  });

  it('tokens minted before tokens carried their assurance, and API tokens minting more, are refused', async () => {
    const doctor = await s.hospital.accounts.findByUsername('doctor');
    // What an administrator could mint before: a token of the doctor's with no sign-in behind it.
    const legacy = await s.hospital.accounts.createApiToken(doctor!.id as AccountId, { label: 'legacy' });
    expect((await send(legacy.token, 'GET', '/fhir/Organization')).status).toBe(401);
    expect((await send(legacy.token, 'POST', '/account/tokens', {})).status).toBe(401);
    // A token of the doctor's own cannot mint another (and so outlive itself).
    expect((await send(s.tokens.doctor!, 'POST', '/account/tokens', {})).status).toBe(403);
    // The operator is no person: no tokens of its own here.
    expect((await send(operator(), 'POST', '/account/tokens', {})).status).toBe(403);
  });

  it('a doctor without a second factor cannot sign in, so cannot mint; with one they mint, list, revoke', async () => {
    await newEvents();
    const password = 'doctor passphrase of the duties test';
    const bare = await account('dr.nofactor', 'doctor');
    await s.hospital.accounts.setPassword(bare, password);
    const signIn = (username: string, otp?: string) =>
      signInAtNode({
        origin,
        clientId: TOKEN_APP.clientId,
        redirectUri: TOKEN_APP.redirectUri,
        scope: 'openid user/*.cruds',
        username,
        password,
        ...(otp ? { otp } : {}),
      });
    await expect(signIn('dr.nofactor')).rejects.toThrow(/sign-in/);

    const id = await account('dr.self', 'doctor');
    await s.hospital.accounts.setPassword(id, password);
    const { secret } = await s.hospital.accounts.beginTotpEnrolment(id);
    await expect(signIn('dr.self')).rejects.toThrow(/sign-in/);
    const access = await signIn('dr.self', totpCode(secret, Date.now()));

    // Bounded lifetime: at most 90 days, 30 by default.
    const tooLong = await send(access, 'POST', '/account/tokens', {
      expiresAt: new Date(Date.now() + 91 * 24 * 3600_000).toISOString(),
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.issue[0].expression).toEqual(['expiresAt']);
    const before = Date.now();
    const first = await mintOwnToken(origin, access, { label: 'script' });
    const days = (Date.parse(first.expiresAt) - before) / (24 * 3600_000);
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30.01);
    const second = await mintOwnToken(origin, access, {
      label: 'short',
      expiresAt: new Date(Date.now() + 3600_000),
    });
    const third = await mintOwnToken(origin, access, { label: 'to revoke' });

    expect((await send(first.token, 'GET', '/fhir/Organization')).status).toBe(200);
    const listed = await send(first.token, 'GET', '/account/tokens');
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(first.token);
    const byId = new Map(listed.body.tokens.map((t: any) => [t.id, t]));
    expect(byId.get(first.id)).toMatchObject({
      label: 'script',
      revokedAt: null,
      amr: ['pwd', 'otp', 'mfa'],
    });
    expect(byId.get(second.id)).toMatchObject({ label: 'short', expiresAt: second.expiresAt });

    // Revoked by its owner (a token never used, so not in the authentication cache): refused at once.
    expect((await send(first.token, 'DELETE', `/account/tokens/${third.id}`)).status).toBe(204);
    expect((await send(first.token, 'DELETE', `/account/tokens/${third.id}`)).status).toBe(404);
    expect((await send(third.token, 'GET', '/fhir/Organization')).status).toBe(401);
    // Expired (its hour made to have passed): refused.
    await s.hospital.db.query(
      `UPDATE identity_api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [second.id],
    );
    expect((await send(second.token, 'GET', '/fhir/Organization')).status).toBe(401);

    const events = await newEvents();
    const minted = actsOf(events, 'token-mint').filter((e) => e.outcome === '0');
    expect(minted).toHaveLength(3);
    expect(minted.every((e) => names(e, ACCOUNT_SYSTEM)[0]?.value === id)).toBe(true);
    expect(JSON.stringify(events)).not.toContain(first.token);
    const revoked = actsOf(events, 'token-revoke');
    expect(revoked.map((e) => e.outcome)).toEqual(['0', '4']);
  });

  it('the patient’s key file is the patient’s alone', async () => {
    const path = `/admin/patients/${s.ids.patient}/keys`;
    expect((await send(admins.first.token, 'GET', path)).status).toBe(403);
    expect((await send(operator(), 'GET', path)).status).toBe(403);
    expect((await send(s.tokens.doctor!, 'GET', path)).status).toBe(403);
    expect((await send(s.tokens.patient!, 'GET', `/admin/patients/${s.ids.other}/keys`)).status).toBe(404);
    const own = await send(s.tokens.patient!, 'GET', path);
    expect(own.status).toBe(200);
  });

  it('a system client reading patient data waits for a second administrator; then it gets tokens', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(pair.publicKey);
    const registration = async (clientId: string, scopes: string[]) => ({
      clientId,
      name: clientId,
      jwks: { keys: [{ ...jwk, kid: 'k1', alg: 'ES256' }] },
      scopes,
      firstParty: false,
    });
    const tokenFor = async (clientId: string, scope: string) => {
      const now = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({
        iss: clientId,
        sub: clientId,
        aud: `${origin}/oauth/token`,
        jti: randomUUID(),
        exp: now + 240,
        iat: now,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
        .sign(pair.privateKey);
      return fetch(`${origin}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          scope,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
          resource: s.url,
        }).toString(),
      });
    };

    // Directory data only: no second person needed.
    const directory = await send(
      admins.first.token,
      'POST',
      '/admin/clients',
      await registration('directory-sync', ['system/Organization.rs', 'system/Practitioner.rs']),
    );
    expect(directory.status).toBe(201);
    expect((await tokenFor('directory-sync', 'system/Organization.rs')).status).toBe(200);

    // Every patient's records: proposed, not in force.
    const proposed = await send(
      admins.first.token,
      'POST',
      '/admin/clients',
      await registration('bulk-reader', ['system/*.rs']),
    );
    expect(proposed.status).toBe(202);
    expect(proposed.body.pending).toBe(true);
    expect((await tokenFor('bulk-reader', 'system/*.rs')).status).toBe(401);
    const listed = await send(admins.second.token, 'GET', '/admin/clients');
    expect(listed.body.pending.map((p: any) => [p.registration.clientId, p.proposedBy])).toEqual([
      ['bulk-reader', admins.first.id],
    ]);
    expect(listed.body.clients.map((c: any) => c.clientId)).not.toContain('bulk-reader');
    // The proposer cannot confirm it, nor push it through by registering it again.
    expect((await send(admins.first.token, 'POST', '/admin/clients/bulk-reader/confirm')).status).toBe(409);
    const again = await send(admins.first.token, 'POST', '/admin/clients', {
      ...(await registration('bulk-reader', ['system/*.*'])),
      replace: true,
    });
    expect(again.status).toBe(202);
    expect((await tokenFor('bulk-reader', 'system/*.rs')).status).toBe(401);
    // A second administrator confirms: now it gets tokens and reads.
    const confirmed = await send(admins.second.token, 'POST', '/admin/clients/bulk-reader/confirm');
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.proposedBy).toBe(admins.first.id);
    const granted = await tokenFor('bulk-reader', 'system/Observation.rs');
    expect(granted.status).toBe(200);
    const { access_token } = (await granted.json()) as { access_token: string };
    expect((await send(access_token, 'GET', `/fhir/Observation/${s.ids.observation}`)).status).toBe(200);
    expect((await send(admins.second.token, 'POST', '/admin/clients/bulk-reader/confirm')).status).toBe(404);

    // Replacing a confirmed client's keys is a new proposal; the operator confirms it.
    const replaced = await send(admins.second.token, 'POST', '/admin/clients', {
      ...(await registration('bulk-reader', ['system/Observation.rs'])),
      replace: true,
    });
    expect(replaced.status).toBe(202);
    expect((await send(operator(), 'POST', '/admin/clients/bulk-reader/confirm')).status).toBe(200);

    // A first-party app skips people's consent page, so its redirect URIs get their codes: also two people.
    const firstParty = await send(admins.first.token, 'POST', '/admin/clients', {
      clientId: 'sign-in-here',
      name: 'Sign in here',
      redirectUris: ['https://sign-in.example/callback'],
      scopes: ['openid', 'user/*.cruds'],
      firstParty: true,
    });
    expect(firstParty.status).toBe(202);

    const events = await newEvents();
    const confirms = actsOf(events, 'client-confirm');
    expect(confirms.map((e) => e.outcome)).toEqual(['4', '0', '4', '0']);
    for (const e of confirms) expect(names(e, CLIENT_SYSTEM)[0]?.value).toBe('bulk-reader');
    expect(actsOf(events, 'client-propose')).toHaveLength(4);
    expect(JSON.stringify(events)).not.toContain(String(jwk.x));
  });

  it('nobody disables the last administrator able to operate the node; another re-enables', async () => {
    const disable = (token: string, id: string) => send(token, 'POST', `/admin/accounts/${id}/disable`);
    const enable = (token: string, id: string) => send(token, 'POST', `/admin/accounts/${id}/enable`);
    // The second administrator steps down; the first disables the operator.
    expect((await disable(admins.second.token, admins.second.id)).status).toBe(200);
    expect((await disable(admins.first.token, 'bootstrap-admin')).status).toBe(200);
    // The first is now the last: neither they nor anyone else disables them.
    const last = await disable(admins.first.token, admins.first.id);
    expect(last.status).toBe(409);
    expect(last.body.issue[0].diagnostics).toMatch(/last enabled administrator/);
    // Re-enabled by an administrator other than the disabled one.
    const back = await enable(admins.first.token, 'bootstrap-admin');
    expect(back.status).toBe(200);
    expect(back.body.account.disabled).toBe(false);
    expect((await enable(admins.first.token, admins.second.id)).status).toBe(200);
    expect((await enable(admins.first.token, admins.first.id)).status).toBe(403);
    expect((await enable(s.tokens.doctor!, admins.second.id)).status).toBe(403);
    expect((await disable(operator(), 'no-such-account')).status).toBe(404);

    const events = await newEvents();
    const disables = actsOf(events, 'account-disable');
    expect(disables.map((e) => [names(e, ACCOUNT_SYSTEM)[0]?.value, e.outcome])).toEqual([
      [admins.second.id, '0'],
      ['bootstrap-admin', '0'],
      [admins.first.id, '4'],
      ['no-such-account', '4'],
    ]);
    expect(actsOf(events, 'account-enable').map((e) => e.outcome)).toEqual(['0', '0', '4']);
  });
});
