/**
 * The SMART App Launch 2.x discovery document (`<fhir base>/.well-known/smart-configuration`): where the
 * endpoints are and which capabilities this server has. Built once from the issuer; endpoint paths follow
 * the routes configured in createAuthorizationServer.
 */
import { FIXED_SCOPES } from './smartScopes.js';

export interface SmartConfiguration {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly revocation_endpoint: string;
  readonly grant_types_supported: readonly string[];
  readonly token_endpoint_auth_methods_supported: readonly string[];
  readonly token_endpoint_auth_signing_alg_values_supported: readonly string[];
  readonly scopes_supported: readonly string[];
  readonly response_types_supported: readonly string[];
  readonly code_challenge_methods_supported: readonly string[];
  readonly capabilities: readonly string[];
}

/** Routes under the issuer (oidc-provider `routes` configuration). */
export const ROUTES = Object.freeze({
  authorization: '/authorize',
  token: '/token',
  jwks: '/jwks',
  revocation: '/revoke',
  end_session: '/logout',
});

/** Algorithms accepted for client assertions (SMART Backend Services requires ES384 and RS384). */
export const CLIENT_ASSERTION_ALGS = Object.freeze([
  'ES256',
  'ES384',
  'RS256',
  'RS384',
  'PS256',
  'PS384',
  'EdDSA',
]);

export function smartConfiguration(issuer: string): SmartConfiguration {
  return Object.freeze({
    issuer,
    jwks_uri: `${issuer}${ROUTES.jwks}`,
    authorization_endpoint: `${issuer}${ROUTES.authorization}`,
    token_endpoint: `${issuer}${ROUTES.token}`,
    revocation_endpoint: `${issuer}${ROUTES.revocation}`,
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'none'],
    token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
    scopes_supported: [
      ...FIXED_SCOPES,
      'patient/*.rs',
      'patient/*.cruds',
      'user/*.rs',
      'user/*.cruds',
      'system/*.rs',
    ],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-standalone',
      'client-public',
      'client-confidential-asymmetric',
      'context-standalone-patient',
      'sso-openid-connect',
      'permission-offline',
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
    ],
  });
}
