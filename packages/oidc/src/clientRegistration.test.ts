import { generateKeyPairSync } from 'node:crypto';
import { isMdlError, MdlErrorCode } from '@medledger/core';
import type { JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { type ClientRegistration, clientMetadata, registrationOf } from './clientRegistration.js';

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const PUBLIC = publicKey.export({ format: 'jwk' }) as JWK;
const PRIVATE = privateKey.export({ format: 'jwk' }) as JWK;

const app: ClientRegistration = {
  clientId: 'app',
  name: 'App',
  redirectUris: ['https://app.example/cb'],
  scopes: ['openid', 'patient/*.rs'],
  firstParty: false,
};
const system: ClientRegistration = {
  clientId: 'ehr',
  name: 'EHR',
  jwks: { keys: [PUBLIC] },
  scopes: ['system/*.rs'],
  firstParty: false,
};

function refused(reg: unknown): void {
  let error: unknown;
  try {
    clientMetadata(reg as ClientRegistration);
  } catch (e) {
    error = e;
  }
  expect(isMdlError(error, MdlErrorCode.BadInput), JSON.stringify(reg)).toBe(true);
}

describe('client registrations', () => {
  it('makes a public PKCE app of a client with redirect URIs', () => {
    expect(clientMetadata(app)).toEqual({
      client_id: 'app',
      client_name: 'App',
      redirect_uris: ['https://app.example/cb'],
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
      scope: 'openid',
      smart_scopes: 'patient/*.rs',
      first_party: false,
    });
  });

  it('makes a private_key_jwt client_credentials client of a client with system scopes and keys', () => {
    expect(clientMetadata(system)).toMatchObject({
      redirect_uris: [],
      response_types: [],
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [PUBLIC] },
      smart_scopes: 'system/*.rs',
    });
  });

  it('round-trips through metadata', () => {
    expect(registrationOf(clientMetadata(app))).toEqual(app);
    expect(registrationOf(clientMetadata(system))).toEqual(system);
    const signsOut = { ...app, postLogoutRedirectUris: ['https://app.example/'] };
    expect(clientMetadata(signsOut)).toMatchObject({ post_logout_redirect_uris: ['https://app.example/'] });
    expect(registrationOf(clientMetadata(signsOut))).toEqual(signsOut);
  });

  it('takes post-logout redirect URIs only by the redirect URI rules and for apps people sign in to', () => {
    refused({ ...app, postLogoutRedirectUris: ['http://app.example/'] });
    refused({ ...app, postLogoutRedirectUris: ['https://app.example/#x'] });
    refused({ ...system, postLogoutRedirectUris: ['https://ehr.example/'] });
  });

  it('refuses malformed registrations', () => {
    refused(undefined);
    refused({ ...app, clientId: 'has space' });
    refused({ ...app, clientId: '' });
    refused({ ...app, name: ' ' });
    refused({ ...app, firstParty: 'yes' });
    refused({ ...app, scopes: [] });
    refused({ ...app, scopes: ['openid', 'profile'] });
    refused({ ...app, scopes: ['patient/Observation.xyz'] });
    refused({ ...app, redirectUris: ['http://app.example/cb'] });
    refused({ ...app, redirectUris: ['https://app.example/cb#frag'] });
    refused({ ...app, redirectUris: ['/relative'] });
    refused({ ...app, redirectUris: [] });
    refused({ ...system, jwks: undefined });
    refused({ ...system, jwks: { keys: [PRIVATE] } });
    refused({ ...system, jwks: { keys: [] } });
    refused({ ...system, redirectUris: ['https://app.example/cb'] });
  });

  it('allows http redirect URIs on loopback addresses only', () => {
    expect(clientMetadata({ ...app, redirectUris: ['http://127.0.0.1:8080/cb'] }).redirect_uris).toEqual([
      'http://127.0.0.1:8080/cb',
    ]);
  });
});
