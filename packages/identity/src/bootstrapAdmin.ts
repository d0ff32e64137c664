/**
 * The bootstrap administrator as an ordinary admin account: the first account of a fresh node, reachable
 * with an API token so the operator can create the others.
 *
 * It has the fixed id "bootstrap-admin" (the principal id node/src/principals.ts used, so audit entries keep
 * their meaning) and the username "admin". Its token is MEDLEDGER_ADMIN_TOKEN when given, otherwise generated
 * on first start and written to a 0600 file. Token hashes of the old `credentials` table (node/001-principals)
 * are imported once, so an admin-token file made by an earlier version keeps working. The account has no
 * password: set one (and a second factor — admins need one) to log in interactively.
 */

import { existsSync, rmSync, writeFileSync } from 'node:fs';
import type { Account, AccountId, AccountStore } from './AccountStore.js';

export const BOOTSTRAP_ADMIN_ID = 'bootstrap-admin' as AccountId;
export const BOOTSTRAP_ADMIN_USERNAME = 'admin';

export interface BootstrapAdminOptions {
  /** MEDLEDGER_ADMIN_TOKEN: registered as the admin's token (at least 32 characters). */
  adminToken: string | undefined;
  /** Where a generated token is written (0600), e.g. <dataDir>/admin-token. */
  tokenFile: string;
  /** The node's on-chain organisation id; 0 while it is not yet admitted. */
  organisation?: number;
}

export interface BootstrapAdminResult {
  account: Account;
  created: boolean;
  /** Set when a token was generated and written. */
  tokenFile: string | undefined;
  /** How many legacy token hashes were imported. */
  imported: number;
}

export async function ensureBootstrapAdmin(
  store: AccountStore,
  options: BootstrapAdminOptions,
): Promise<BootstrapAdminResult> {
  let account = await store.getAccount(BOOTSTRAP_ADMIN_ID);
  const created = account === undefined;
  account ??= await store.createAccount({
    id: BOOTSTRAP_ADMIN_ID,
    username: BOOTSTRAP_ADMIN_USERNAME,
    displayName: 'Bootstrap administrator',
    role: 'admin',
    organisation: options.organisation ?? 0,
  });
  const imported = await importLegacyTokens(store, account.id);
  if (options.adminToken) {
    await store.addApiToken(account.id, options.adminToken, { label: 'MEDLEDGER_ADMIN_TOKEN' });
    return { account, created, tokenFile: undefined, imported };
  }
  if (created || !existsSync(options.tokenFile)) {
    const { token } = await store.createApiToken(account.id, { label: 'bootstrap admin token file' });
    // A fresh file: an existing one would keep its mode, whatever `mode` says.
    rmSync(options.tokenFile, { force: true });
    writeFileSync(options.tokenFile, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { account, created, tokenFile: options.tokenFile, imported };
  }
  return { account, created, tokenFile: undefined, imported };
}

async function importLegacyTokens(store: AccountStore, accountId: AccountId): Promise<number> {
  const { rows: exists } = await store.db.query<{ t: string | null }>(
    "SELECT to_regclass('credentials')::text AS t",
  );
  if (!exists[0]?.t) return 0;
  const { rows } = await store.db.query<{ token_hash: Uint8Array; expires_at: Date | null }>(
    `SELECT token_hash, expires_at FROM credentials
      WHERE principal_id = 'bootstrap-admin' AND NOT revoked AND (expires_at IS NULL OR expires_at > $1)`,
    [store.now()],
  );
  const known = new Set((await store.listApiTokens(accountId)).map((t) => t.id));
  let imported = 0;
  for (const row of rows) {
    const info = await store.importApiTokenHash(accountId, row.token_hash, {
      label: 'imported bootstrap token',
      ...(row.expires_at ? { expiresAt: row.expires_at } : {}),
    });
    if (!known.has(info.id)) imported++;
  }
  return imported;
}
