/**
 * The authorisation server's token-signing keys: a JWK set with private keys, Ed25519 (EdDSA), P-256 (ES256)
 * and/or RSA (RS256, at least 2048 bits), which the node keeps in its keystore and passes back on every start.
 * Access tokens are signed with EdDSA when an Ed25519 key is present (fast to verify on the read path). ID
 * tokens are signed with RS256 when an RSA key is present (OpenID Connect's default, which every OpenID client
 * library verifies), else ES256; a client may register another of the algorithms present.
 *
 * Rotation: put the new key first and keep the old one in the set until tokens it signed have expired.
 */
import { generateKeyPairSync } from 'node:crypto';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { calculateJwkThumbprint, type JWK } from 'jose';

export type SigningAlgorithm = 'EdDSA' | 'ES256' | 'RS256';

/** A private signing JWK as stored in the keystore. */
export interface SigningJwk extends JWK {
  kty: 'OKP' | 'EC' | 'RSA';
  crv?: 'Ed25519' | 'P-256';
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
  d: string;
}

export interface SigningKeySet {
  keys: SigningJwk[];
}

async function withKid(jwk: JWK, alg: SigningAlgorithm): Promise<SigningJwk> {
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { ...jwk, kid, alg, use: 'sig' } as SigningJwk;
}

/** The algorithms of a fresh key set. */
export const DEFAULT_SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = Object.freeze([
  'EdDSA',
  'ES256',
  'RS256',
]);

/** Fresh signing keys, by default one Ed25519, one P-256 and one RSA (2048-bit) key. */
export async function generateSigningKeys(
  algorithms: readonly SigningAlgorithm[] = DEFAULT_SIGNING_ALGORITHMS,
): Promise<SigningKeySet> {
  if (algorithms.length === 0)
    throw new MdlError(MdlErrorCode.BadInput, 'at least one signing algorithm is needed');
  const keys: SigningJwk[] = [];
  for (const alg of new Set(algorithms)) {
    const { privateKey } =
      alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : alg === 'ES256'
          ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
          : generateKeyPairSync('rsa', { modulusLength: 2048 });
    keys.push(await withKid(privateKey.export({ format: 'jwk' }) as JWK, alg));
  }
  return { keys };
}

function algorithmOf(jwk: JWK): SigningAlgorithm | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  // RS256 only when the key says so (an RSA key could be meant for PS256) and has at least 2048 bits.
  if (jwk.kty === 'RSA' && jwk.alg === 'RS256' && typeof jwk.n === 'string' && jwk.n.length >= 342) {
    return 'RS256';
  }
  return undefined;
}

/** Checks a stored key set: private Ed25519 / P-256 / RSA (RS256) keys with distinct kids. */
export function checkSigningKeys(set: SigningKeySet): SigningJwk[] {
  const keys = set?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new MdlError(
      MdlErrorCode.Config,
      'signing keys: a JWK set with at least one private key is required',
    );
  }
  const kids = new Set<string>();
  for (const jwk of keys) {
    const alg = algorithmOf(jwk);
    if (!alg || (jwk.alg !== undefined && jwk.alg !== alg)) {
      throw new MdlError(
        MdlErrorCode.Config,
        'signing keys: only Ed25519 (EdDSA), P-256 (ES256) and RSA ≥ 2048 bits (RS256) keys are used',
      );
    }
    if (typeof jwk.d !== 'string' || typeof jwk.kid !== 'string' || jwk.kid.length === 0) {
      throw new MdlError(MdlErrorCode.Config, 'signing keys: every key needs its private part and a kid');
    }
    if (kids.has(jwk.kid)) throw new MdlError(MdlErrorCode.Config, 'signing keys: duplicate kid');
    kids.add(jwk.kid);
  }
  return keys.map((k) => ({ ...k, alg: algorithmOf(k)!, use: 'sig' }));
}

/** The public half of a key (what the JWKS endpoint publishes and verifiers import). */
export function publicJwk(jwk: SigningJwk): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}
