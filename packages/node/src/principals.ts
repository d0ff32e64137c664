/**
 * Principals and their bearer credentials: the first slice of medledger's identity system. Issue 5 adds people
 * (OIDC login, SMART scopes, TOTP/WebAuthn) and system clients (private_key_jwt) as further principal kinds and
 * credential types in these same tables; the bootstrap admin created here stays an ordinary admin principal.
 *
 * Tokens are 256-bit random values; only their SHA-256 is stored, so a database leak yields no usable token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Migration, Queryable } from '@medledger/storage';

export type Role = 'admin';

export interface Principal {
  id: string;
  kind: 'admin';
  name: string;
  roles: Role[];
}

export const principalMigrations: Migration[] = [
  {
    name: 'node/001-principals',
    sql: `
      CREATE TABLE principals (
        id text PRIMARY KEY,
        kind text NOT NULL,
        name text NOT NULL,
        roles text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        disabled boolean NOT NULL DEFAULT false
      );
      CREATE TABLE credentials (
        token_hash bytea PRIMARY KEY,
        principal_id text NOT NULL REFERENCES principals(id),
        kind text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked boolean NOT NULL DEFAULT false
      );`,
  },
];

const BOOTSTRAP_ID = 'bootstrap-admin';

const hashToken = (token: string): Uint8Array => createHash('sha256').update(token, 'utf8').digest();

export interface BootstrapResult {
  /** Set when a token was generated: the 0600 file that holds it. */
  tokenFile: string | undefined;
  created: boolean;
}

/**
 * Ensures the bootstrap admin exists. With `adminToken` (MEDLEDGER_ADMIN_TOKEN) that token is registered;
 * otherwise a token is generated on first start and written to `<dataDir>/admin-token` (0600).
 */
export async function ensureBootstrapAdmin(
  q: Queryable,
  options: { dataDir: string; adminToken: string | undefined },
): Promise<BootstrapResult> {
  const existing = await q.query('SELECT 1 FROM principals WHERE id = $1', [BOOTSTRAP_ID]);
  const created = existing.rows.length === 0;
  if (created) {
    await q.query('INSERT INTO principals (id, kind, name, roles) VALUES ($1, $2, $3, $4)', [
      BOOTSTRAP_ID,
      'admin',
      'Bootstrap administrator',
      ['admin'],
    ]);
  }
  if (options.adminToken) {
    await q.query(
      `INSERT INTO credentials (token_hash, principal_id, kind) VALUES ($1, $2, 'bearer')
       ON CONFLICT (token_hash) DO NOTHING`,
      [hashToken(options.adminToken), BOOTSTRAP_ID],
    );
    return { tokenFile: undefined, created };
  }
  const tokenFile = join(options.dataDir, 'admin-token');
  if (created || !existsSync(tokenFile)) {
    const token = randomBytes(32).toString('base64url');
    await q.query(`INSERT INTO credentials (token_hash, principal_id, kind) VALUES ($1, $2, 'bearer')`, [
      hashToken(token),
      BOOTSTRAP_ID,
    ]);
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  }
  return { tokenFile, created };
}

/**
 * Authenticated principals by token hash, for a few seconds: every request needs its principal, and the
 * database answers that the same way for the same token until an operator changes it. Revoking a token or
 * disabling a principal therefore takes effect within AUTH_CACHE_MS. Failed lookups are never cached.
 */
export const AUTH_CACHE_MS = 5_000;
const authCache = new Map<string, { principal: Principal; until: number }>();

/** The principal a bearer token belongs to, or undefined (unknown, revoked, expired or disabled). */
export async function authenticate(q: Queryable, token: string): Promise<Principal | undefined> {
  if (token.length < 32 || token.length > 512) return undefined;
  const key = Buffer.from(hashToken(token)).toString('hex');
  const now = Date.now();
  const cached = authCache.get(key);
  if (cached && cached.until > now) return cached.principal;
  const principal = await lookup(q, token);
  if (principal) {
    if (authCache.size > 10_000) authCache.clear();
    authCache.set(key, { principal, until: now + AUTH_CACHE_MS });
  } else {
    authCache.delete(key);
  }
  return principal;
}

async function lookup(q: Queryable, token: string): Promise<Principal | undefined> {
  const { rows } = await q.query<{ id: string; kind: 'admin'; name: string; roles: Role[] }>(
    `SELECT p.id, p.kind, p.name, p.roles FROM credentials c JOIN principals p ON p.id = c.principal_id
      WHERE c.token_hash = $1 AND NOT c.revoked AND NOT p.disabled
        AND (c.expires_at IS NULL OR c.expires_at > now())`,
    [hashToken(token)],
  );
  return rows[0];
}
