/**
 * The node's keystore on disk: `<dataDir>/keystore.json`, mode 0600. The passphrase comes from
 * MEDLEDGER_KEYSTORE_PASSPHRASE, a 0600 passphrase file, or — for the zero-setup embedded default only — a
 * random passphrase generated on first start into `<dataDir>/keystore.passphrase` (0600). A production node
 * should keep the passphrase elsewhere (a secrets manager or an operator's file), not beside the keystore.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Keystore, type ScryptParams } from '@medledger/crypto';
import type { NodeConfig } from './config.js';

export interface OpenedKeystore {
  keystore: Keystore;
  path: string;
  created: boolean;
  /** Where the passphrase came from, for the start-up banner (never the passphrase itself). */
  passphraseSource: 'environment' | 'file' | 'generated';
}

/** Writes through a fresh 0600 file (a stale one is removed: its mode would be kept) renamed into place. */
function writePrivate(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
}

function passphrase(config: NodeConfig): { value: string; source: OpenedKeystore['passphraseSource'] } {
  if (config.keystorePassphrase) return { value: config.keystorePassphrase, source: 'environment' };
  if (config.keystorePassphraseFile) {
    return { value: readFileSync(config.keystorePassphraseFile, 'utf8').trim(), source: 'file' };
  }
  const generated = join(config.dataDir, 'keystore.passphrase');
  if (!existsSync(generated)) writePrivate(generated, `${randomBytes(32).toString('base64url')}\n`);
  return { value: readFileSync(generated, 'utf8').trim(), source: 'generated' };
}

/** The named secrets every node holds: master derivations, its ledger account, the identity store's key. */
export const NODE_SECRETS = ['node-master', 'ledger-account', 'identity'] as const;

/**
 * Opens the keystore, creating it (and the node's first key bundle) on first start — with DEFAULT_SCRYPT unless
 * a test passes a cheaper `scrypt`.
 */
export function openKeystoreFile(config: NodeConfig, scrypt?: ScryptParams): OpenedKeystore {
  const path = join(config.dataDir, 'keystore.json');
  const { value, source } = passphrase(config);
  if (existsSync(path)) {
    return {
      keystore: Keystore.open(readFileSync(path, 'utf8'), value),
      path,
      created: false,
      passphraseSource: source,
    };
  }
  const keystore = Keystore.create(value, scrypt ? { scrypt } : {});
  for (const name of NODE_SECRETS) keystore.secret(name);
  writePrivate(path, keystore.serialize());
  return { keystore, path, created: true, passphraseSource: source };
}

/** Persists changes (new secrets, rotation). */
export function saveKeystore(opened: OpenedKeystore): void {
  writePrivate(opened.path, opened.keystore.serialize());
}
