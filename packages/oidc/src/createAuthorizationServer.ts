/**
 * medledger's OAuth 2.0 / OpenID Connect authorisation server: oidc-provider configured for SMART on FHIR,
 * plus the glue it leaves to its user (storage, login and consent pages, scope policy, token claims) and a
 * node:http handler that serves it under a path prefix.
 *
 * Flows: authorization code with PKCE (S256, always) for people, refresh tokens with `offline_access`,
 * client_credentials with `private_key_jwt` for SMART Backend Services. Every access token is a JWT for one
 * resource server, the FHIR API (RFC 8707 resource indicators, RFC 9068 tokens), verified without I/O by
 * `verifyAccessToken`. No client secrets, no implicit or hybrid flows, no dynamic registration over HTTP, no
 * userinfo endpoint (SMART apps read `fhirUser` from the ID token), no DPoP (tokens are bearer tokens).
 *
 * People's access tokens carry `amr` and `auth_time` of the sign-in they come from (through refresh too).
 *
 * Limits: access tokens cannot be revoked before they expire (short TTL); refresh tokens and grants can.
 * The account system (passwords, second factors, throttling) is behind AccountAuthority. EHR launch
 * (`launch` parameter) and a patient picker for practitioners are not offered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { isMdlError, MdlError, MdlErrorCode } from '@medledger/core';
import type { ResourceScope } from '@medledger/identity';
import type { Db } from '@medledger/storage';
import { errors, type KoaContextWithOIDC, Provider, type TokenLike } from 'oidc-provider';
import type { AccountAuthority, AccountClaims } from './AccountAuthority.js';
import {
  type ClientRegistration,
  clientMetadata,
  FIRST_PARTY_PROPERTY,
  registrationOf,
  SMART_SCOPES_PROPERTY,
} from './clientRegistration.js';
import { type AccessTokenInfo, createAccessTokenVerifier } from './createAccessTokenVerifier.js';
import { createInteractionHandler } from './createInteractionHandler.js';
import {
  createOidcAdapter,
  deletePendingClient,
  deleteStoredClient,
  purgeExpiredOidcState,
  readPendingClients,
  readStoredClients,
  type StoredPendingClient,
  storeClient,
  storePendingClient,
} from './OidcAdapter.js';
import { logoutPage, messagePage, PAGE_CSP } from './pages.js';
import { checkSystemScopes, checkUserFlowScopes, personTokenScopes } from './scopePolicy.js';
import { checkSigningKeys, publicJwk, type SigningKeySet } from './signingKeys.js';
import {
  CLIENT_ASSERTION_ALGS,
  ROUTES,
  type SmartConfiguration,
  smartConfiguration,
} from './smartConfiguration.js';
import { FIXED_SCOPES, resourceScopeOf, splitScopes } from './smartScopes.js';

/** Lifetimes in seconds. */
export interface AuthorizationServerTtls {
  /** Access tokens of people (default 600: they cannot be revoked, keep them short). */
  accessToken?: number;
  /** Access tokens of system clients (default 300). */
  clientCredentials?: number;
  /** Refresh tokens (default 7 days); rotated on every use. */
  refreshToken?: number;
  /** Authorization codes (default 60). */
  authorizationCode?: number;
  /** ID tokens (default 600). */
  idToken?: number;
  /** Sign-in sessions at the authorisation server (default 8 hours; the cookie ends with the browser). */
  session?: number;
  /** A login / consent page stays usable this long (default 900). */
  interaction?: number;
}

export interface AuthorizationServerOptions {
  /** Issuer URL; its path is where `callback` is mounted, e.g. `https://node.example/oauth`. */
  issuer: string;
  /** The FHIR API's base URL: the audience of every access token, e.g. `https://node.example/fhir`. */
  fhirAudience: string;
  /** Index database holding sessions, grants, refresh tokens and registered clients (apply `oidcMigrations`). */
  db: Db;
  /** Private signing keys (`generateSigningKeys()`), kept in the node's keystore. */
  signingKeys: SigningKeySet;
  /** Secrets signing the cookies, newest first; each at least 32 characters. */
  cookieKeys: string[];
  /** Clients configured in code rather than registered; they cannot be removed through the API. */
  clients?: ClientRegistration[];
  accounts: AccountAuthority;
  ttl?: AuthorizationServerTtls;
  /** Trust X-Forwarded-Proto / -For / -Host (set behind a TLS-terminating proxy). */
  trustProxy?: boolean;
  /** Receives unexpected errors (5xx). Default: their class and stack frames on stderr, never the message. */
  onServerError?: (error: unknown) => void;
  /** How often expired state is deleted, in ms (default 10 minutes; 0 disables the timer). */
  purgeIntervalMs?: number;
  /**
   * Web origins (`https://app.example`) whose browser scripts may call the token, revocation, JWKS and
   * discovery endpoints (CORS). Default none: an origin not listed gets no CORS header. At the token and
   * revocation endpoints the origin must also be the origin of one of the client's redirect URIs.
   */
  allowedOrigins?: readonly string[];
}

/** The parts of oidc-provider a node may use directly (e.g. to finish a login it verified itself). */
export interface ProviderHandle {
  readonly issuer: string;
  interactionDetails(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ uid: string; prompt: { name: string } }>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: { login: { accountId: string; amr?: string[]; remember?: boolean } },
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
}

export interface AuthorizationServer {
  readonly provider: ProviderHandle;
  /** Handles a request whose URL starts with the issuer's path (and the discovery aliases, see docs). */
  readonly callback: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  readonly verifyAccessToken: (bearer: string) => Promise<AccessTokenInfo>;
  /** The SMART configuration document, for the node to serve at `<fhir base>/.well-known/smart-configuration`. */
  readonly smartConfiguration: SmartConfiguration;
  /**
   * Registers a client (with `replace`, updates it). With `pendingBy`, the registration is only proposed:
   * it is kept aside, unknown to the provider (a new client gets no token; a replaced one keeps its current
   * registration) until `confirmClient` by someone else.
   */
  registerClient(
    registration: ClientRegistration,
    options?: { replace?: boolean; pendingBy?: string },
  ): Promise<ClientRegistration>;
  listClients(): Promise<ClientRegistration[]>;
  /** Proposed registrations awaiting confirmation, with who proposed them and when. */
  pendingClients(): Promise<PendingClient[]>;
  /**
   * Puts a proposed registration into force. MdlError NotFound when none is pending, Conflict when
   * `confirmedBy` is who proposed it (a second person confirms).
   */
  confirmClient(clientId: string, confirmedBy: string): Promise<PendingClient>;
  /**
   * Removes a registered client and any proposed registration of it; false when there was neither. Its
   * refresh tokens stop working at once.
   */
  removeClient(clientId: string): Promise<boolean>;
  /** Deletes expired state now; returns how many rows. */
  purgeExpired(): Promise<number>;
  close(): Promise<void>;
}

export interface PendingClient {
  registration: ClientRegistration;
  proposedBy: string;
  proposedAt: string;
}

const DEFAULT_TTL: Required<AuthorizationServerTtls> = {
  accessToken: 600,
  clientCredentials: 300,
  refreshToken: 7 * 24 * 3600,
  authorizationCode: 60,
  idToken: 600,
  session: 8 * 3600,
  interaction: 900,
};

/** How far in the future a client assertion may expire (SMART Backend Services: five minutes). */
const MAX_ASSERTION_LIFETIME = 300;
const CLOCK_TOLERANCE = 5;
const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|confirm|abort))?$/;

function config(message: string): MdlError {
  return new MdlError(MdlErrorCode.Config, `authorization server: ${message}`);
}

function baseUrl(value: string, what: string): URL {
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
    throw config(`${what} must be an http(s) URL without query or fragment`);
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

function defaultServerErrorLog(error: unknown): void {
  const e = error as { name?: string; stack?: string };
  console.error(
    `oidc: server error ${e?.name ?? 'Error'}\n${(e?.stack ?? '').split('\n').slice(1, 8).join('\n')}`,
  );
}

function registeredSmartScopes(client: { readonly [extra: string]: unknown } | undefined): ResourceScope[] {
  return splitScopes(client?.[SMART_SCOPES_PROPERTY])
    .map(resourceScopeOf)
    .filter((s): s is ResourceScope => s !== undefined);
}

function pendingOf(stored: StoredPendingClient): PendingClient {
  return {
    registration: registrationOf(stored.metadata),
    proposedBy: stored.proposedBy,
    proposedAt: stored.proposedAt,
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, corsOrigin?: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', status === 200 ? 'public, max-age=300' : 'no-store');
  if (corsOrigin !== undefined) {
    res.setHeader('Access-Control-Allow-Origin', corsOrigin);
    res.setHeader('Vary', 'Origin');
  }
  res.end(JSON.stringify(body));
}

/** Largest token request body read here (oidc-provider's own limit). */
const TOKEN_BODY_LIMIT = 56 * 1024;

/** Reads a request body up to `limit` bytes; undefined when it is longer. */
async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/**
 * A stand-in for a request whose body was already read: the same headers, method, URL and socket, with the
 * (possibly amended) body readable again.
 */
function withBody(req: IncomingMessage, body: Buffer): IncomingMessage {
  const stream = new PassThrough();
  stream.end(body);
  return Object.assign(stream, {
    headers: { ...req.headers, 'content-length': String(body.length) },
    rawHeaders: req.rawHeaders,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
    connection: req.socket,
  }) as unknown as IncomingMessage;
}

/** An allowed web origin: scheme, host and port only. */
function checkOrigin(value: string): string {
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== value) {
    throw config(`allowed origin ${JSON.stringify(value.slice(0, 100))} must be scheme://host[:port]`);
  }
  return value;
}

export async function createAuthorizationServer(
  options: AuthorizationServerOptions,
): Promise<AuthorizationServer> {
  const issuerUrl = baseUrl(options.issuer, 'issuer');
  const issuer = issuerUrl.href.replace(/\/$/, '');
  const prefix = issuerUrl.pathname;
  const audienceUrl = baseUrl(options.fhirAudience, 'FHIR audience');
  const audience = audienceUrl.href.replace(/\/$/, '');
  const signingKeys = checkSigningKeys(options.signingKeys);
  const cookieKeys = options.cookieKeys;
  if (
    !Array.isArray(cookieKeys) ||
    cookieKeys.length === 0 ||
    cookieKeys.some((k) => typeof k !== 'string' || k.length < 32)
  ) {
    throw config('cookie keys are required, each of at least 32 characters');
  }
  const ttl = { ...DEFAULT_TTL, ...options.ttl };
  for (const [name, value] of Object.entries(ttl)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw config(`ttl.${name} must be a positive integer`);
  }
  const authority = options.accounts;
  const onServerError = options.onServerError ?? defaultServerErrorLog;
  const algs = new Set(signingKeys.map((k) => k.alg));
  const accessTokenAlg = algs.has('EdDSA') ? 'EdDSA' : algs.has('ES256') ? 'ES256' : 'RS256';
  const idTokenAlg = algs.has('RS256') ? 'RS256' : algs.has('ES256') ? 'ES256' : 'EdDSA';
  const allowedOrigins = new Set((options.allowedOrigins ?? []).map(checkOrigin));

  const staticMetadata = (options.clients ?? []).map((c) => {
    try {
      return clientMetadata(c);
    } catch (error) {
      throw isMdlError(error) ? config(error.message) : error;
    }
  });
  const staticIds = new Set<string>();
  for (const m of staticMetadata) {
    const id = String(m.client_id);
    if (staticIds.has(id)) throw config(`client ${id} is configured twice`);
    staticIds.add(id);
  }

  const adapter = createOidcAdapter(options.db);
  const sameAudience = (value: unknown) =>
    typeof value === 'string' && URL.parse(value)?.href.replace(/\/$/, '') === audience;

  async function getResourceServerInfo(
    ctx: KoaContextWithOIDC,
    indicator: string,
    client: { [k: string]: unknown },
  ) {
    if (!sameAudience(indicator)) throw new errors.InvalidTarget();
    const requested = splitScopes(ctx.oidc.params.scope);
    const registered = registeredSmartScopes(client);
    let scopes: string[];
    if (ctx.oidc.route === 'token' && ctx.oidc.params.grant_type === 'client_credentials') {
      const check = checkSystemScopes(requested, registered);
      if (!check.ok) {
        throw check.scope
          ? new errors.InvalidScope('requested scope is not allowed', check.scope)
          : new errors.InvalidScope('scope must be requested');
      }
      scopes = check.scopes;
    } else {
      if (ctx.oidc.route === 'authorization' || ctx.oidc.route === 'resume') {
        const check = checkUserFlowScopes(requested, registered);
        if (!check.ok) throw new errors.InvalidScope('requested scope is not allowed', check.scope);
      }
      // The grant, written at consent, decides what a person's token gets; this only has to let through the
      // well-formed scopes of the request, the code or the refresh token being exchanged.
      const { AuthorizationCode, RefreshToken } = ctx.oidc.entities;
      scopes = personTokenScopes([
        ...requested,
        ...splitScopes(AuthorizationCode?.scope),
        ...splitScopes(RefreshToken?.scope),
      ]);
    }
    return {
      scope: scopes.join(' '),
      audience,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: accessTokenAlg } },
    };
  }

  async function accountClaims(accountId: string | undefined): Promise<AccountClaims | undefined> {
    return accountId === undefined ? undefined : authority.claims(accountId);
  }

  const absoluteFhirUser = (ref: string) => (URL.canParse(ref) ? ref : `${audience}/${ref}`);

  const provider = new Provider(issuer, {
    adapter,
    clients: staticMetadata,
    jwks: { keys: signingKeys },
    cookies: {
      keys: cookieKeys,
      names: { session: 'mdl_oidc_session', interaction: 'mdl_oidc_interaction', resume: 'mdl_oidc_resume' },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: {
        enabled: true,
        // A client may revoke its own tokens only; others' are ignored (RFC 7009 answers 200 either way).
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
      userinfo: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      registration: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx: KoaContextWithOIDC, form: string) {
          ctx.set('Content-Security-Policy', PAGE_CSP);
          ctx.type = 'html';
          ctx.body = logoutPage(form);
        },
        async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
          ctx.set('Content-Security-Policy', PAGE_CSP);
          ctx.type = 'html';
          ctx.body = messagePage('Signed out', 'You are signed out.');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => audience,
        useGrantedResource: async () => true,
        getResourceServerInfo,
      },
    },
    scopes: [...FIXED_SCOPES],
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], acr: null, amr: null, auth_time: null, sid: null },
    clientAuthMethods: ['private_key_jwt', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: idTokenAlg,
    },
    enabledJWA: {
      clientAuthSigningAlgValues: [...CLIENT_ASSERTION_ALGS],
      idTokenSigningAlgValues: [...algs],
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    routes: { ...ROUTES },
    clockTolerance: CLOCK_TOLERANCE,
    allowOmittingSingleRegisteredRedirectUri: false,
    rotateRefreshToken: () => true,
    // Refresh tokens for `offline_access` (they outlive the sign-in session) and for SMART's `online_access`
    // (they end with it: oidc-provider binds a refresh token without offline_access to the session).
    async issueRefreshToken(
      _ctx: unknown,
      client: { grantTypeAllowed(type: string): boolean },
      code: { scopes: Set<string> },
    ) {
      return (
        client.grantTypeAllowed('refresh_token') &&
        (code.scopes.has('offline_access') || code.scopes.has('online_access'))
      );
    },
    extraParams: {
      // SMART's `aud`: when an app names the FHIR server it wants a token for, it must be this one.
      async aud(_ctx: KoaContextWithOIDC, value: unknown) {
        if (value !== undefined && !sameAudience(value)) {
          throw new errors.InvalidRequest('aud must be the base URL of this FHIR server');
        }
      },
    },
    extraClientMetadata: {
      properties: [SMART_SCOPES_PROPERTY, FIRST_PARTY_PROPERTY],
      validator(_ctx: unknown, key: string, value: unknown) {
        const ok = key === FIRST_PARTY_PROPERTY ? typeof value === 'boolean' : typeof value === 'string';
        if (value !== undefined && !ok) throw new errors.InvalidRequest(`invalid ${key}`);
      },
    },
    clientBasedCORS(_ctx: unknown, origin: string, client: { redirectUris: string[] }) {
      return origin !== 'null' && client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin);
    },
    async findAccount(_ctx: unknown, sub: string) {
      const claims = await accountClaims(sub);
      if (!claims) return undefined;
      return {
        accountId: sub,
        accountClaims: claims,
        async claims() {
          return { sub, ...(claims.fhirUser ? { fhirUser: absoluteFhirUser(claims.fhirUser) } : {}) };
        },
      };
    },
    async extraTokenClaims(ctx: KoaContextWithOIDC, token: TokenLike) {
      if (token.kind === 'ClientCredentials') return { kind: 'system' };
      const known = ctx.oidc.entities.Account;
      const claims =
        known?.accountId === token.accountId && known?.accountClaims
          ? (known.accountClaims as AccountClaims)
          : await accountClaims(token.accountId);
      if (!claims) throw new errors.InvalidGrant('the account cannot be used');
      // How and when the person signed in, carried from the code or refresh token being exchanged: the
      // resource server decides with it what a token of this session may do (e.g. mint an API token).
      const { AuthorizationCode, RefreshToken } = ctx.oidc.entities;
      const origin = AuthorizationCode ?? RefreshToken;
      const amr = Array.isArray(origin?.amr) ? origin.amr.filter((m) => typeof m === 'string') : [];
      const authTime = origin?.authTime;
      return {
        kind: 'user',
        ...(amr.length ? { amr } : {}),
        ...(typeof authTime === 'number' ? { auth_time: authTime } : {}),
        role: claims.role,
        ...(claims.organisation === undefined ? {} : { organisation: claims.organisation }),
        ...(claims.fhirUser === undefined ? {} : { fhirUser: claims.fhirUser }),
        ...(claims.patient === undefined ? {} : { patient: claims.patient }),
      };
    },
    async assertJwtClientAuthClaimsAndHeader(_ctx: unknown, claims: { exp?: unknown }) {
      const now = Math.floor(Date.now() / 1000);
      if (typeof claims.exp !== 'number' || claims.exp > now + MAX_ASSERTION_LIFETIME + CLOCK_TOLERANCE) {
        throw new errors.InvalidClientAuth('client assertions must expire within five minutes');
      }
    },
    interactions: {
      url: async (_ctx: unknown, interaction: { uid: string }) => `${prefix}/interaction/${interaction.uid}`,
    },
    async renderError(ctx: KoaContextWithOIDC, out: { error?: unknown }) {
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.type = 'html';
      ctx.body = messagePage(
        'Request refused',
        `The application's request could not be completed (${String(out.error ?? 'error')}). Go back to the application and try again.`,
      );
    },
    ttl: {
      AccessToken: ttl.accessToken,
      ClientCredentials: ttl.clientCredentials,
      RefreshToken: ttl.refreshToken,
      AuthorizationCode: ttl.authorizationCode,
      IdToken: ttl.idToken,
      Session: ttl.session,
      Interaction: ttl.interaction,
      Grant: Math.max(ttl.refreshToken, ttl.session),
    },
  });
  provider.proxy = options.trustProxy === true;
  provider.on('server_error', (_ctx: unknown, error: unknown) => onServerError(error));

  provider.use(async (ctx, next) => {
    // OpenID Connect grants offline_access only with prompt=consent; SMART apps ask for offline_access alone.
    // Asking for it therefore always goes through the consent step (automatic for first-party apps).
    if (ctx.method === 'GET' && ctx.path === ROUTES.authorization) {
      const { scope, prompt } = ctx.query;
      if (typeof scope === 'string' && splitScopes(scope).includes('offline_access') && prompt !== 'none') {
        const prompts = new Set(typeof prompt === 'string' ? splitScopes(prompt) : []);
        if (!prompts.has('consent') && (prompt === undefined || typeof prompt === 'string')) {
          prompts.add('consent');
          ctx.query = { ...ctx.query, prompt: [...prompts].join(' ') };
          // Setting the query rewrites req.url; keep originalUrl its prefixed twin (see callback).
          ctx.req.originalUrl = `${prefix}${ctx.req.url}`;
        }
      }
    }
    await next();
    // SMART launch context in the token response.
    if (ctx.oidc?.route === 'token' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      const body = ctx.body as Record<string, unknown>;
      const patient = ctx.oidc.entities.AccessToken?.extra?.patient;
      const scopes = splitScopes(body.scope);
      if (
        typeof patient === 'string' &&
        scopes.some((s) => s === 'launch/patient' || s.startsWith('patient/'))
      ) {
        ctx.body = { ...body, patient };
      }
    }
  });

  const providerCallback = provider.callback();
  const handleInteraction = createInteractionHandler({ provider, authority, prefix });
  const smartConfig = smartConfiguration(issuer);
  const smartPaths = new Set([
    `${audienceUrl.pathname}/.well-known/smart-configuration`,
    `${prefix}/.well-known/smart-configuration`,
    '/.well-known/smart-configuration',
  ]);
  const discoveryAliases = new Map(
    prefix
      ? [
          [`/.well-known/oauth-authorization-server${prefix}`, '/.well-known/oauth-authorization-server'],
          [`/.well-known/openid-configuration${prefix}`, '/.well-known/openid-configuration'],
          ['/.well-known/openid-configuration', '/.well-known/openid-configuration'],
        ]
      : [],
  );

  /**
   * CORS is oidc-provider's (per endpoint, and per client at the token and revocation endpoints), behind the
   * node's allow-list: for an origin not on it, every Access-Control-* header is dropped, so the browser
   * refuses the response (preflights included).
   */
  function gateCors(req: IncomingMessage, res: ServerResponse): string | undefined {
    const origin = req.headers.origin;
    if (origin === undefined) return undefined;
    if (allowedOrigins.has(origin)) return origin;
    const setHeader = res.setHeader.bind(res);
    res.setHeader = (name: string, value: number | string | readonly string[]) =>
      name.toLowerCase().startsWith('access-control-') ? res : setHeader(name, value);
    return undefined;
  }

  /**
   * SMART App Launch: a public client's refresh request names the client with `client_id` in the body, and
   * fhirclient (by default) sends none. A refresh request with no client authentication at all is taken as
   * coming from the client the refresh token was issued to — only when that client is public (it has no
   * credential to present anyway); confidential clients must still authenticate. A `client_id` that is not
   * the token's client is refused by oidc-provider (invalid_grant).
   */
  async function publicRefresh(req: IncomingMessage): Promise<IncomingMessage | 'too-large'> {
    const type = req.headers['content-type'] ?? '';
    if (req.method !== 'POST' || !type.startsWith('application/x-www-form-urlencoded')) return req;
    if (req.headers.authorization !== undefined) return req;
    const body = await readRaw(req, TOKEN_BODY_LIMIT);
    if (body === undefined) return 'too-large';
    const form = new URLSearchParams(body.toString('utf8'));
    const refreshToken = form.get('refresh_token');
    if (
      form.get('grant_type') === 'refresh_token' &&
      refreshToken &&
      !form.has('client_id') &&
      !form.has('client_assertion')
    ) {
      const token = await provider.RefreshToken.find(refreshToken, { ignoreExpiration: true });
      const client = token?.clientId ? await provider.Client.find(token.clientId) : undefined;
      if (client && client.clientAuthMethod === 'none') {
        form.set('client_id', client.clientId);
        return withBody(req, Buffer.from(form.toString(), 'utf8'));
      }
    }
    return withBody(req, body);
  }

  async function callback(incoming: IncomingMessage, res: ServerResponse): Promise<void> {
    let req = incoming;
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const search = q === -1 ? '' : url.slice(q);
      const corsOrigin = gateCors(req, res);
      // The mounting server decides which paths reach here; the FHIR base it serves the SMART configuration
      // under may differ from the audience's path (a public base URL behind a proxy).
      if (smartPaths.has(path) || path.endsWith('/.well-known/smart-configuration')) {
        if (req.method === 'OPTIONS' && corsOrigin !== undefined) {
          res.statusCode = 204;
          res.setHeader('Access-Control-Allow-Origin', corsOrigin);
          res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD');
          res.setHeader('Vary', 'Origin');
          return void res.end();
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.setHeader('Allow', 'GET, HEAD');
          return sendJson(res, 405, { error: 'method_not_allowed' });
        }
        return sendJson(res, 200, smartConfig, corsOrigin);
      }
      let inner = discoveryAliases.get(path);
      if (inner === undefined) {
        if (prefix === '') inner = path;
        else if (path.startsWith(`${prefix}/`)) inner = path.slice(prefix.length);
        else return sendJson(res, 404, { error: 'not_found' });
      }
      if (inner.startsWith('/interaction/')) {
        const m = INTERACTION_PATH.exec(inner);
        if (!m) return sendJson(res, 404, { error: 'not_found' });
        return await handleInteraction(req, res, m[1]!, m[2] as 'login' | 'confirm' | 'abort' | undefined);
      }
      if (inner === ROUTES.token) {
        const amended = await publicRefresh(req);
        if (amended === 'too-large') {
          return sendJson(res, 413, { error: 'invalid_request', error_description: 'request too large' });
        }
        req = amended;
      }
      // oidc-provider derives its mount path from originalUrl minus url, as when mounted by express.
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = `${prefix}${inner}${search}`;
      req.url = `${inner}${search}`;
      await providerCallback(req, res);
    } catch (error) {
      onServerError(error);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.destroy();
    }
  }

  async function checkedMetadata(registration: ClientRegistration): Promise<Record<string, unknown>> {
    const metadata = clientMetadata(registration);
    try {
      await provider.Client.validate(metadata);
    } catch (error) {
      const description = (error as { error_description?: unknown }).error_description;
      throw new MdlError(
        MdlErrorCode.BadInput,
        `client registration: ${typeof description === 'string' ? description : 'invalid client metadata'}`,
      );
    }
    return metadata;
  }
  for (const metadata of staticMetadata) {
    await checkedMetadata(registrationOf(metadata)).catch((error: unknown) => {
      throw isMdlError(error) ? config(error.message) : error;
    });
  }

  const purgeExpired = () => purgeExpiredOidcState(options.db);
  await purgeExpired();
  const purgeEvery = options.purgeIntervalMs ?? 10 * 60 * 1000;
  const timer =
    purgeEvery > 0
      ? setInterval(() => {
          purgeExpired().catch(onServerError);
        }, purgeEvery)
      : undefined;
  timer?.unref();

  return {
    provider: provider as unknown as ProviderHandle,
    callback,
    verifyAccessToken: createAccessTokenVerifier({ issuer, audience, keys: signingKeys.map(publicJwk) }),
    smartConfiguration: smartConfig,
    async registerClient(registration, { replace = false, pendingBy } = {}) {
      const metadata = await checkedMetadata(registration);
      const id = String(metadata.client_id);
      if (staticIds.has(id)) throw new MdlError(MdlErrorCode.Conflict, 'a configured client has this id');
      const taken = () => new MdlError(MdlErrorCode.Conflict, 'a client with this id is already registered');
      if (pendingBy !== undefined) {
        const exists = (await readStoredClients(options.db)).some((m) => m.client_id === id);
        if (exists && !replace) throw taken();
        const pending = { metadata, proposedBy: pendingBy, proposedAt: new Date().toISOString() };
        if (!(await storePendingClient(options.db, id, pending, replace))) throw taken();
        return registrationOf(metadata);
      }
      const stored = await options.db.transaction(async (tx) => {
        if (!replace && (await readPendingClients(tx, id)).length > 0) return false;
        if (!(await storeClient(tx, id, metadata, replace))) return false;
        await deletePendingClient(tx, id);
        return true;
      });
      if (!stored) throw taken();
      return registrationOf(metadata);
    },
    async pendingClients() {
      return (await readPendingClients(options.db)).map(pendingOf);
    },
    async confirmClient(clientId, confirmedBy) {
      return options.db.transaction(async (tx) => {
        const [pending] = await readPendingClients(tx, clientId);
        if (!pending)
          throw new MdlError(MdlErrorCode.NotFound, 'no registration of this client awaits confirmation');
        if (pending.proposedBy === confirmedBy) {
          throw new MdlError(
            MdlErrorCode.Conflict,
            'a registration is confirmed by someone other than who proposed it',
          );
        }
        await storeClient(tx, clientId, pending.metadata, true);
        await deletePendingClient(tx, clientId);
        return pendingOf(pending);
      });
    },
    async listClients() {
      const stored = await readStoredClients(options.db);
      return [...staticMetadata, ...stored]
        .map(registrationOf)
        .sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
    },
    async removeClient(clientId) {
      if (staticIds.has(clientId)) {
        throw new MdlError(MdlErrorCode.Conflict, 'a configured client cannot be removed');
      }
      const pending = await deletePendingClient(options.db, clientId);
      return (await deleteStoredClient(options.db, clientId)) || pending;
    },
    purgeExpired,
    async close() {
      if (timer) clearInterval(timer);
    },
  };
}
