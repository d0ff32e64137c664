import { randomBytes } from 'node:crypto';
import { type Db, migrate } from '@medledger/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import { createOidcAdapter, purgeExpiredOidcState } from './OidcAdapter.js';
import { oidcMigrations } from './oidcMigrations.js';

const available = await backends();
const id = () => randomBytes(12).toString('base64url');

async function rejection(p: Promise<unknown>): Promise<{ error?: string } | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => e as { error?: string },
  );
}

describe.each(available)('oidc adapter on $name', (backend) => {
  let db: Db;
  let clock = Date.now();
  const adapter = (model: string) => createOidcAdapter(db, () => clock)(model);

  beforeAll(async () => {
    db = await backend.open();
    expect(await migrate(db, oidcMigrations)).toEqual(oidcMigrations.map((m) => m.name));
  });
  afterAll(async () => {
    await db?.close();
  });

  it('migrates once, under oidc/ names', async () => {
    expect(await migrate(db, oidcMigrations)).toEqual([]);
    expect(oidcMigrations.every((m) => /^oidc\/\d{3}-[a-z-]+$/.test(m.name))).toBe(true);
  });

  it('upserts, finds, replaces and destroys', async () => {
    const grants = adapter('Grant');
    const g = id();
    await grants.upsert(g, { jti: g, kind: 'Grant', accountId: 'a', clientId: 'c', exp: 1 }, 60);
    expect(await grants.find(g)).toEqual({ jti: g, kind: 'Grant', accountId: 'a', clientId: 'c', exp: 1 });
    await grants.upsert(g, { jti: g, kind: 'Grant', accountId: 'b' }, 60);
    expect(await grants.find(g)).toEqual({ jti: g, kind: 'Grant', accountId: 'b' });
    expect(await adapter('Session').find(g)).toBeUndefined();
    await grants.destroy(g);
    expect(await grants.find(g)).toBeUndefined();
  });

  it('round-trips any string, NUL and non-ASCII included', async () => {
    const interactions = adapter('Interaction');
    const i = id();
    const payload = { jti: i, params: { state: 'a\u0000b', login_hint: 'Zoë "☃" \\' } };
    await interactions.upsert(i, payload, 60);
    expect(await interactions.find(i)).toEqual(payload);
  });

  it('stores bearer artefacts under a hash of their value, and gives the value back on find', async () => {
    const codes = adapter('AuthorizationCode');
    const code = id();
    await codes.upsert(code, { jti: code, kind: 'AuthorizationCode', grantId: 'g1', scope: 'openid' }, 60);
    const raw = await db.query<{ id: string; payload: string }>(
      `SELECT id, payload FROM oidc_models WHERE model = 'AuthorizationCode' AND grant_id = 'g1'`,
    );
    expect(raw.rows).toHaveLength(1);
    expect(raw.rows[0]!.id).not.toBe(code);
    expect(raw.rows[0]!.payload).not.toContain(code);
    expect(await codes.find(code)).toEqual({
      jti: code,
      kind: 'AuthorizationCode',
      grantId: 'g1',
      scope: 'openid',
    });
  });

  it('consumes once, atomically', async () => {
    const tokens = adapter('RefreshToken');
    const t = id();
    await tokens.upsert(t, { jti: t, kind: 'RefreshToken' }, 60);
    const results = await Promise.all(
      [tokens.consume(t), tokens.consume(t), tokens.consume(t)].map(rejection),
    );
    expect(results.filter((r) => r === undefined)).toHaveLength(1);
    expect(results.filter((r) => r?.error === 'invalid_grant')).toHaveLength(2);
    const found = await tokens.find(t);
    expect(typeof found?.consumed).toBe('number');
    expect((await rejection(tokens.consume(id())))?.error).toBe('invalid_grant');
  });

  it('finds sessions by uid', async () => {
    const sessions = adapter('Session');
    const s = id();
    const uid = id();
    await sessions.upsert(s, { jti: s, uid, kind: 'Session', accountId: 'a' }, 60);
    expect(await sessions.findByUid(uid)).toEqual({ jti: s, uid, kind: 'Session', accountId: 'a' });
    expect(await sessions.findByUid(id())).toBeUndefined();
  });

  it('revokes everything of a grant, per model', async () => {
    const grantId = id();
    const codes = adapter('AuthorizationCode');
    const refresh = adapter('RefreshToken');
    const [c, r, other] = [id(), id(), id()];
    await codes.upsert(c, { jti: c, grantId }, 60);
    await refresh.upsert(r, { jti: r, grantId }, 60);
    await refresh.upsert(other, { jti: other, grantId: id() }, 60);
    await refresh.revokeByGrantId(grantId);
    expect(await refresh.find(r)).toBeUndefined();
    expect(await refresh.find(other)).toBeDefined();
    expect(await codes.find(c)).toBeDefined();
    await codes.revokeByGrantId(grantId);
    expect(await codes.find(c)).toBeUndefined();
  });

  it('ignores expired rows and purges them; rows without expiry stay', async () => {
    const sessions = adapter('Session');
    const clients = adapter('Client');
    const [s, c] = [id(), id()];
    await sessions.upsert(s, { jti: s, uid: id() }, 10);
    await clients.upsert(c, { client_id: c });
    clock += 11_000;
    try {
      expect(await sessions.find(s)).toBeUndefined();
      expect(await clients.find(c)).toEqual({ client_id: c });
      expect((await rejection(sessions.consume(s)))?.error).toBe('invalid_grant');
      const purged = await purgeExpiredOidcState(db, new Date(clock));
      expect(purged).toBeGreaterThanOrEqual(1);
      const left = await db.query(`SELECT 1 FROM oidc_models WHERE model = 'Session' AND id = $1`, [s]);
      expect(left.rowCount).toBe(0);
      expect(await clients.find(c)).toEqual({ client_id: c });
    } finally {
      clock -= 11_000;
    }
  });

  it('records a replay marker once, even under concurrency, and again after it expired', async () => {
    const replay = adapter('ReplayDetection');
    const marker = id();
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => rejection(replay.upsert(marker, { jti: marker, iss: 'client' }, 30))),
    );
    expect(results.filter((r) => r === undefined)).toHaveLength(1);
    expect(results.filter((r) => r?.error === 'invalid_client')).toHaveLength(3);
    clock += 31_000;
    try {
      expect(await rejection(replay.upsert(marker, { jti: marker, iss: 'client' }, 30))).toBeUndefined();
    } finally {
      clock -= 31_000;
    }
  });
});
