// medledger's OAuth 2.0 / OpenID Connect authorisation server (oidc-provider): authorization code + PKCE, SMART on FHIR v2 scopes, SMART Backend Services (client credentials, private_key_jwt), and access-token verification for the FHIR API.
export type { AccountAuthority, AccountClaims } from './AccountAuthority.js';
export type { ClientRegistration } from './clientRegistration.js';
export {
  type AccessTokenInfo,
  type AccessTokenVerifierOptions,
  createAccessTokenVerifier,
} from './createAccessTokenVerifier.js';
export {
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type AuthorizationServerTtls,
  createAuthorizationServer,
  type PendingClient,
  type ProviderHandle,
} from './createAuthorizationServer.js';
export { oidcMigrations } from './oidcMigrations.js';
export {
  DEFAULT_SIGNING_ALGORITHMS,
  generateSigningKeys,
  type SigningAlgorithm,
  type SigningJwk,
  type SigningKeySet,
} from './signingKeys.js';
export { type SmartConfiguration, smartConfiguration } from './smartConfiguration.js';
export { FIXED_SCOPES, isFixedScope, resourceScopeOf, smartScopeCovers } from './smartScopes.js';
