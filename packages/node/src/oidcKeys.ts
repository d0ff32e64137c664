/**
 * The OpenID provider's token-signing keys (a private JWK set) live in the data directory sealed under a key
 * derived from the node's master secret (key-committing AES-256-GCM), generated on first start. The
 * keystore holds 32-byte secrets only, and JWK sets are rotated differently (new key first, old kept until
 * its tokens expire), so they get their own file; the cookie keys are derived from the master secret.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { aeadOpen, aeadSeal, bytesToHex, deriveSubkey, utf8ToBytes } from '@medledger/crypto';
import { generateSigningKeys, type SigningKeySet } from '@medledger/oidc';

const AAD = utf8ToBytes('medledger/oidc-signing-keys/v1');

export async function loadOidcKeys(
  dataDir: string,
  master: Uint8Array,
): Promise<{ signingKeys: SigningKeySet; cookieKeys: string[] }> {
  const file = join(dataDir, 'oidc-signing-keys.sealed');
  const key = deriveSubkey(master, 'oidc-signing-keys');
  let signingKeys: SigningKeySet;
  if (existsSync(file)) {
    const opened = aeadOpen(key, readFileSync(file), AAD);
    if (!opened) throw new MdlError(MdlErrorCode.Config, `${file} does not open with this node's keystore`);
    signingKeys = JSON.parse(new TextDecoder().decode(opened)) as SigningKeySet;
  } else {
    signingKeys = await generateSigningKeys();
    writeFileSync(file, aeadSeal(key, utf8ToBytes(JSON.stringify(signingKeys)), AAD), { mode: 0o600 });
  }
  return { signingKeys, cookieKeys: [bytesToHex(deriveSubkey(master, 'oidc-cookies'))] };
}
