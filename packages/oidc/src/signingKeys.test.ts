import { generateKeyPairSync } from 'node:crypto';
import { isMdlError, MdlErrorCode } from '@medledger/core';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { checkSigningKeys, generateSigningKeys, publicJwk, type SigningKeySet } from './signingKeys.js';

function refused(set: unknown): void {
  let error: unknown;
  try {
    checkSigningKeys(set as SigningKeySet);
  } catch (e) {
    error = e;
  }
  expect(isMdlError(error, MdlErrorCode.Config), JSON.stringify(set)).toBe(true);
}

describe('signing keys', () => {
  it('generates private Ed25519, P-256 and RSA keys with thumbprint kids', async () => {
    const { keys } = await generateSigningKeys();
    expect(keys.map((k) => [k.kty, k.crv, k.alg, k.use])).toEqual([
      ['OKP', 'Ed25519', 'EdDSA', 'sig'],
      ['EC', 'P-256', 'ES256', 'sig'],
      ['RSA', undefined, 'RS256', 'sig'],
    ]);
    for (const key of keys) {
      expect(typeof key.d).toBe('string');
      expect(key.kid).toBe(await calculateJwkThumbprint(key, 'sha256'));
      const pub = publicJwk(key);
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(pub[member as 'd']).toBeUndefined();
    }
    expect(Buffer.from(keys[2]!.n!, 'base64url').length).toBe(256);
    expect(checkSigningKeys({ keys })).toEqual(keys);
    expect((await generateSigningKeys(['ES256'])).keys.map((k) => k.alg)).toEqual(['ES256']);
  });

  it('refuses key sets it cannot sign with', async () => {
    const { keys } = await generateSigningKeys();
    const [ed, ec] = keys as [JWK, JWK];
    const rsa = {
      ...(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as JWK),
      kid: 'r',
    };
    refused(undefined);
    refused({ keys: [] });
    refused({ keys: [publicJwk(keys[0]!)] });
    refused({ keys: [{ ...ed, kid: undefined }] });
    refused({ keys: [ed, { ...ec, kid: ed.kid }] });
    refused({ keys: [rsa] }); // RSA without alg: could be meant for PS256
    refused({ keys: [{ ...rsa, alg: 'PS256' }] });
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' });
    refused({ keys: [{ ...(small as JWK), kid: 's', alg: 'RS256' }] });
    expect(checkSigningKeys({ keys: [{ ...rsa, alg: 'RS256' } as never] })[0]!.alg).toBe('RS256');
    refused({ keys: [{ ...ed, alg: 'ES256' }] });
    await expect(generateSigningKeys([])).rejects.toMatchObject({ code: MdlErrorCode.BadInput });
  });
});
