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
import { DEFAULT_SIGNING_ALGORITHMS, generateSigningKeys, type SigningKeySet } from '@medledger/oidc';

const AAD = utf8ToBytes('medledger/oidc-signing-keys/v1');

export async function loadOidcKeys(
  dataDir: string,
  master: Uint8Array,
): Promise<{ signingKeys: SigningKeySet; cookieKeys: string[] }> {
  const file = join(dataDir, 'oidc-signing-keys.sealed');
  const key = deriveSubkey(master, 'oidc-signing-keys');
  let signingKeys: SigningKeySet;
  const store = (set: SigningKeySet) =>
    writeFileSync(file, aeadSeal(key, utf8ToBytes(JSON.stringify(set)), AAD), { mode: 0o600 });
  if (existsSync(file)) {
    const opened = aeadOpen(key, readFileSync(file), AAD);
    if (!opened) throw new MdlError(MdlErrorCode.Config, `${file} does not open with this node's keystore`);
    signingKeys = JSON.parse(new TextDecoder().decode(opened)) as SigningKeySet;
    // A node whose keys predate RS256 ID tokens gets its RSA key on this start, kept with the others.
    const missing = DEFAULT_SIGNING_ALGORITHMS.filter((alg) => !signingKeys.keys.some((k) => k.alg === alg));
    if (missing.includes('RS256')) {
      signingKeys = { keys: [...signingKeys.keys, ...(await generateSigningKeys(['RS256'])).keys] };
      store(signingKeys);
    }
  } else {
    signingKeys = await generateSigningKeys();
    store(signingKeys);
  }
  return { signingKeys, cookieKeys: [bytesToHex(deriveSubkey(master, 'oidc-cookies'))] };
}
