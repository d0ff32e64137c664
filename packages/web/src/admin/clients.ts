/**
 * OAuth clients of the node's OpenID provider as an administrator registers them (POST /admin/clients,
 * docs/oidc.md): a SMART app people sign in to (redirect URIs, person scopes, PKCE) or a backend service
 * (SMART Backend Services: a public JWK set for private_key_jwt, `system/` scopes). The form's rules mirror
 * the provider's, so mistakes are named next to the field before anything is sent.
 */

export interface ClientRegistration {
  clientId: string;
  name: string;
  redirectUris?: string[];
  jwks?: { keys: Record<string, unknown>[] };
  scopes: string[];
  firstParty: boolean;
}

export interface PendingClient {
  registration: ClientRegistration;
  proposedBy: string;
  proposedAt: string;
}

export interface ClientForm {
  kind: 'app' | 'service';
  clientId: string;
  name: string;
  redirectUris: string;
  scopes: string;
  jwks: string;
  firstParty: boolean;
}

export const EMPTY_CLIENT: ClientForm = {
  kind: 'app',
  clientId: '',
  name: '',
  redirectUris: '',
  scopes: 'openid fhirUser launch/patient patient/*.rs',
  jwks: '',
  firstParty: false,
};

const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

export const lines = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

function redirectProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `“${uri}” is not an absolute URI.`;
  }
  if (url.hash || uri.includes('#')) return `“${uri}” must not have a fragment (#…).`;
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    return `“${uri}” must use https (http only on a loopback address).`;
  }
  return undefined;
}

export type ClientErrors = Partial<Record<keyof ClientForm, string>>;

/** The registration the form describes, or what to correct. */
export function clientFromForm(f: ClientForm): { registration?: ClientRegistration; errors: ClientErrors } {
  const errors: ClientErrors = {};
  if (!CLIENT_ID.test(f.clientId.trim())) {
    errors.clientId = 'Use 1–128 letters, digits or . _ ~ - (no spaces), e.g. growth-chart-app.';
  }
  if (f.name.trim().length === 0) errors.name = 'Enter the name people see on the consent page.';
  const scopes = lines(f.scopes);
  const registration: ClientRegistration = {
    clientId: f.clientId.trim(),
    name: f.name.trim(),
    scopes,
    firstParty: f.kind === 'app' && f.firstParty,
  };
  if (f.kind === 'app') {
    const uris = lines(f.redirectUris);
    if (uris.length === 0) errors.redirectUris = 'Enter at least one redirect URI, one per line.';
    else {
      const problem = uris.map(redirectProblem).find(Boolean);
      if (problem) errors.redirectUris = problem;
    }
    if (scopes.length === 0 || scopes.some((s) => s.startsWith('system/'))) {
      errors.scopes =
        'An app people sign in to asks for openid, patient/ or user/ scopes — not system/ ones.';
    }
    registration.redirectUris = uris;
  } else {
    if (!scopes.some((s) => s.startsWith('system/'))) {
      errors.scopes = 'A backend service needs system/ scopes, e.g. system/Patient.rs.';
    } else if (scopes.some((s) => !s.startsWith('system/'))) {
      errors.scopes = 'A backend service has system/ scopes only (no openid, patient/ or user/).';
    }
    try {
      const jwks = JSON.parse(f.jwks) as { keys?: unknown };
      if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) {
        errors.jwks = 'Paste a JWK set: {"keys": [ … ]} with the service’s public key(s).';
      } else if (
        (jwks.keys as Record<string, unknown>[]).some((k) => PRIVATE_MEMBERS.some((m) => k && m in k))
      ) {
        errors.jwks =
          'This JWK set holds a private key: paste the public keys only, and keep the private key secret.';
      } else registration.jwks = jwks as { keys: Record<string, unknown>[] };
    } catch {
      errors.jwks = 'This is not valid JSON: paste the JWK set as the service publishes it.';
    }
  }
  return Object.keys(errors).length > 0 ? { errors } : { registration, errors };
}

/** What kind of client a registration is, in words. */
export function clientKind(r: ClientRegistration): string {
  if (r.jwks && r.scopes.some((s) => s.startsWith('system/'))) return 'Backend service';
  return r.firstParty ? 'First-party app' : 'SMART app';
}
