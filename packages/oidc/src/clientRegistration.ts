/**
 * Client registrations as administrators write them, and their translation to oidc-provider client metadata.
 *
 * The kind of client follows from what it registers:
 * - `redirectUris` → an app people sign in to (authorization code + PKCE, refresh tokens); public
 *   (`token_endpoint_auth_method: none`) unless it also registers `jwks`, then `private_key_jwt`;
 * - `system/` scopes → a SMART Backend Services client (client_credentials), which must register `jwks`.
 * There are no client secrets: shared secrets are the credential SMART discourages and the one a database
 * leak would hand out.
 *
 * `scopes` is the ceiling of what the client may ask for; SMART scopes can be wildcards
 * (`system/*.rs` covers `system/Observation.rs`).
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { JWK } from 'jose';
import { isFixedScope, resourceScopeOf, splitScopes } from './smartScopes.js';

export interface ClientRegistration {
  /** 1–128 characters of `A-Z a-z 0-9 . _ ~ -`. */
  clientId: string;
  /** Shown on the consent page. */
  name: string;
  /** Exact redirect URIs (https, or http on a loopback address for development). */
  redirectUris?: string[];
  /**
   * Where the provider may send the browser after the app signs the person out (RP-initiated logout); same
   * rules as redirect URIs, and only for apps people sign in to.
   */
  postLogoutRedirectUris?: string[];
  /** The client's public keys, for `private_key_jwt` client authentication. */
  jwks?: { keys: JWK[] };
  /** What the client may ask for: `openid fhirUser launch/patient offline_access` and SMART scopes. */
  scopes: string[];
  /** First-party apps (the node's own UI) skip the consent page. */
  firstParty: boolean;
  /**
   * How the app's ID tokens are signed (`RS256`, `ES256` or `EdDSA`, among the server's keys); default RS256
   * when the server holds an RSA key (OpenID Connect's default), else ES256.
   */
  idTokenSigningAlg?: 'RS256' | 'ES256' | 'EdDSA';
}

const ID_TOKEN_ALGS = ['RS256', 'ES256', 'EdDSA'];

/** Client metadata properties this server adds to the standard ones. */
export const SMART_SCOPES_PROPERTY = 'smart_scopes';
export const FIRST_PARTY_PROPERTY = 'first_party';

const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

function bad(message: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, `client registration: ${message}`);
}

function checkRedirectUri(uri: unknown): string {
  if (typeof uri !== 'string' || uri.length > 2000) throw bad('redirect URIs must be strings');
  const url = URL.parse(uri);
  if (!url || url.hash || uri.includes('#'))
    throw bad('a redirect URI must be an absolute URI without fragment');
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw bad('a redirect URI must use https (http only on a loopback address)');
  }
  return uri;
}

/** Validates a registration and returns the oidc-provider metadata for it. */
export function clientMetadata(reg: ClientRegistration): Record<string, unknown> {
  if (typeof reg?.clientId !== 'string' || !CLIENT_ID.test(reg.clientId)) throw bad('invalid client id');
  if (typeof reg.name !== 'string' || reg.name.trim().length === 0 || reg.name.length > 200) {
    throw bad('a name of 1 to 200 characters is required');
  }
  if (typeof reg.firstParty !== 'boolean') throw bad('firstParty must be true or false');
  const redirectUris = (reg.redirectUris ?? []).map(checkRedirectUri);
  const postLogoutRedirectUris = (reg.postLogoutRedirectUris ?? []).map(checkRedirectUri);
  if (!Array.isArray(reg.scopes) || reg.scopes.length === 0) throw bad('at least one scope is required');

  const fixed: string[] = [];
  const smart: string[] = [];
  let system = false;
  let person = false;
  for (const scope of new Set(reg.scopes)) {
    if (typeof scope !== 'string') throw bad('scopes must be strings');
    if (isFixedScope(scope)) {
      fixed.push(scope);
      person = true;
      continue;
    }
    const parsed = resourceScopeOf(scope);
    if (!parsed) throw bad(`not a scope this server knows: ${JSON.stringify(scope.slice(0, 80))}`);
    smart.push(scope);
    if (parsed.level === 'system') system = true;
    else person = true;
  }
  if (person && redirectUris.length === 0) throw bad('patient/, user/ and OpenID scopes need redirect URIs');
  if (!person && redirectUris.length + postLogoutRedirectUris.length > 0) {
    throw bad('redirect URIs need patient/, user/ or OpenID scopes');
  }

  let jwks: { keys: JWK[] } | undefined;
  if (reg.jwks !== undefined) {
    if (!Array.isArray(reg.jwks?.keys) || reg.jwks.keys.length === 0) throw bad('jwks must be a JWK set');
    for (const key of reg.jwks.keys) {
      if (typeof key !== 'object' || key === null || PRIVATE_MEMBERS.some((m) => m in key)) {
        throw bad('jwks must hold public keys only');
      }
    }
    jwks = { keys: reg.jwks.keys };
  }
  if (system && !jwks) throw bad('system/ scopes need jwks (private_key_jwt)');
  const idAlg = reg.idTokenSigningAlg;
  if (idAlg !== undefined && (!ID_TOKEN_ALGS.includes(idAlg) || !person)) {
    throw bad('idTokenSigningAlg must be RS256, ES256 or EdDSA, for an app people sign in to');
  }

  const grantTypes = [
    ...(person ? ['authorization_code', 'refresh_token'] : []),
    ...(system ? ['client_credentials'] : []),
  ];
  return {
    client_id: reg.clientId,
    client_name: reg.name,
    redirect_uris: redirectUris,
    ...(postLogoutRedirectUris.length ? { post_logout_redirect_uris: postLogoutRedirectUris } : {}),
    response_types: person ? ['code'] : [],
    grant_types: grantTypes,
    token_endpoint_auth_method: jwks ? 'private_key_jwt' : 'none',
    ...(jwks ? { jwks } : {}),
    ...(idAlg ? { id_token_signed_response_alg: idAlg } : {}),
    ...(fixed.length ? { scope: fixed.join(' ') } : {}),
    [SMART_SCOPES_PROPERTY]: smart.join(' '),
    [FIRST_PARTY_PROPERTY]: reg.firstParty,
  };
}

/** The registration a stored client metadata document came from. */
export function registrationOf(metadata: Record<string, unknown>): ClientRegistration {
  const redirectUris = metadata.redirect_uris;
  const postLogout = metadata.post_logout_redirect_uris;
  const jwks = metadata.jwks as { keys: JWK[] } | undefined;
  return {
    clientId: String(metadata.client_id),
    name: String(metadata.client_name ?? metadata.client_id),
    ...(Array.isArray(redirectUris) && redirectUris.length ? { redirectUris: redirectUris.map(String) } : {}),
    ...(Array.isArray(postLogout) && postLogout.length
      ? { postLogoutRedirectUris: postLogout.map(String) }
      : {}),
    ...(jwks ? { jwks } : {}),
    scopes: [...splitScopes(metadata.scope), ...splitScopes(metadata[SMART_SCOPES_PROPERTY])],
    firstParty: metadata[FIRST_PARTY_PROPERTY] === true,
    ...(typeof metadata.id_token_signed_response_alg === 'string'
      ? { idTokenSigningAlg: metadata.id_token_signed_response_alg as 'RS256' | 'ES256' | 'EdDSA' }
      : {}),
  };
}
