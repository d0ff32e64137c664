/**
 * Sign-in through the node's OpenID provider as its first-party public client: authorization code with PKCE
 * (S256) and state, done by oauth4webapi (a certified, dependency-free OAuth 2 / OpenID Connect client). The
 * code verifier and state wait in sessionStorage for the one redirect back; the tokens live in sessionStorage
 * too (this tab only, gone when it closes), which the page's strict Content-Security-Policy protects from
 * injected script. The access token is for the FHIR API and the node's other APIs (its audience is /fhir).
 *
 * Signing out ends the provider's session too (OpenID RP-initiated logout, with the provider's own
 * confirmation page), so the next person at the same browser meets the sign-in form, not the last session.
 *
 * Limits: no refresh: when the access token expires the app signs in again (the provider's session cookie
 * makes that a redirect, not a form, while it lasts).
 */
import * as oauth from 'oauth4webapi';

export const CLIENT_ID = 'medledger-web';
const PENDING_KEY = 'medledger.signin';
const SESSION_KEY = 'medledger.session';

export interface Session {
  accessToken: string;
  /** Unix milliseconds. */
  expiresAt: number;
  scope: string;
  /** The ID token's subject: the account id. */
  subject: string;
  /** The ID token itself, to name the session when signing out at the provider. */
  idToken?: string;
}

const origin = () => window.location.origin;
const issuer = () => new URL(`${origin()}/oauth`);
const redirectUri = () => `${origin()}/app/callback`;
const client: oauth.Client = { client_id: CLIENT_ID };
/** http is allowed for a node on a loopback address (development); anything else must be https. */
const insecure = () =>
  ['127.0.0.1', 'localhost', '[::1]'].includes(window.location.hostname) &&
  window.location.protocol === 'http:';

async function authorizationServer(): Promise<oauth.AuthorizationServer> {
  const options = { algorithm: 'oidc' as const, [oauth.allowInsecureRequests]: insecure() };
  const response = await oauth.discoveryRequest(issuer(), options);
  return oauth.processDiscoveryResponse(issuer(), response);
}

/** Sends the browser to the provider's sign-in; `returnTo` is the app path to come back to. */
export async function startSignIn(returnTo: string): Promise<void> {
  const as = await authorizationServer();
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, returnTo }));
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: 'openid fhirUser user/*.cruds patient/*.cruds',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    resource: `${origin()}/fhir`,
  }).toString();
  window.location.assign(url.href);
}

/** Finishes the sign-in at /app/callback: checks state, exchanges the code, stores the session. */
export async function completeSignIn(callbackUrl: URL): Promise<{ session: Session; returnTo: string }> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as {
    verifier: string;
    state: string;
    returnTo: string;
  } | null;
  sessionStorage.removeItem(PENDING_KEY);
  if (!pending) throw new Error('This sign-in was not started here, or was already finished. Sign in again.');
  const as = await authorizationServer();
  const params = oauth.validateAuthResponse(as, client, callbackUrl, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    redirectUri(),
    pending.verifier,
    {
      additionalParameters: { resource: `${origin()}/fhir` },
      [oauth.allowInsecureRequests]: insecure(),
    },
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client, response);
  const claims = oauth.getValidatedIdTokenClaims(result);
  const session: Session = {
    accessToken: result.access_token,
    expiresAt: Date.now() + (result.expires_in ?? 600) * 1000,
    scope: result.scope ?? '',
    subject: claims?.sub ?? '',
    ...(result.id_token ? { idToken: result.id_token } : {}),
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  // Only an app path: never an absolute URL an attacker could have put in the state.
  const returnTo = pending.returnTo.startsWith('/app/') ? pending.returnTo : '/app';
  return { session, returnTo };
}

/** The stored session, if it has not expired. */
export function storedSession(): Session | undefined {
  const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
  if (!session || session.expiresAt <= Date.now() + 5_000) return undefined;
  return session;
}

export function forgetSession(): void {
  sessionStorage.removeItem(SESSION_KEY);
}

/**
 * Sends the browser to the provider's end-session endpoint, which asks to confirm and then comes back to the
 * front page; to the front page directly if the provider cannot be reached.
 */
export async function endProviderSession(idToken: string | undefined): Promise<void> {
  let endpoint: string | undefined;
  try {
    endpoint = (await authorizationServer()).end_session_endpoint;
  } catch {
    endpoint = undefined;
  }
  if (!endpoint) {
    window.location.assign('/');
    return;
  }
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    client_id: CLIENT_ID,
    post_logout_redirect_uri: `${origin()}/`,
    ...(idToken ? { id_token_hint: idToken } : {}),
  }).toString();
  window.location.assign(url.href);
}
