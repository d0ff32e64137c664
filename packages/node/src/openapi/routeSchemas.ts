/**
 * The schemas of the node's non-FHIR routes, attached to each route as its Fastify `schema` option; the
 * OpenAPI document (GET /openapi.json) is generated from them. They describe what each route accepts and
 * answers; the routes keep their own checks (openapi.ts says why).
 */
import { ROLES } from '@medledger/identity';
import {
  authErrors,
  BASE64URL,
  BEARER,
  bool,
  dateTime,
  ETHEREUM_ADDRESS,
  errors,
  HASH,
  int,
  json,
  noContent,
  nullable,
  object,
  PUBLIC,
  params,
  query,
  str,
} from './schemas.js';

const ROLE = { enum: [...ROLES], description: 'The role (docs/identity.md)' };

/** Schemas used by several routes: components of the document (`$ref: '<name>#'`). */
export const SHARED_SCHEMAS: Record<string, unknown>[] = [];
function shared(name: string, schema: Record<string, unknown>): { $ref: string } {
  SHARED_SCHEMAS.push({ $id: name, title: name, ...schema });
  return { $ref: `${name}#` };
}

// ---------------------------------------------------------------- health

export const healthzSchema = {
  operationId: 'getHealth',
  summary: 'Liveness',
  description: 'Answers as long as the process is up.',
  tags: ['health'],
  security: PUBLIC,
  response: { 200: json('The node is up', object({ status: { const: 'ok' } })), ...errors() },
};

const READINESS = object(
  {
    status: { enum: ['ready', 'not ready'] },
    checks: {
      type: 'object',
      description: 'Each component (database, chain, blobs) and whether it answers',
      additionalProperties: { enum: ['ok', 'failing'] },
    },
  },
  { description: 'Whether the database, the chain and the blob store answer' },
);

export const readyzSchema = {
  operationId: 'getReadiness',
  summary: 'Readiness',
  description:
    'Whether the database, the chain and the blob store answer (for load balancers and orchestrators).',
  tags: ['health'],
  security: PUBLIC,
  response: { 200: json('Ready', READINESS), 503: json('Not ready', READINESS), ...errors() },
};

export const metricsSchema = {
  operationId: 'getMetrics',
  summary: 'Prometheus metrics',
  description:
    'Request counts and durations per route, anchoring lag and queue sizes, in the Prometheus text format. For ' +
    'the organisation’s operators (the operator token and administrators) only.',
  tags: ['health'],
  security: BEARER,
  response: {
    200: {
      description: 'The metrics (text/plain; version=0.0.4)',
      content: { 'text/plain': { schema: { type: 'string' } } },
    },
    ...authErrors(403),
  },
};

// ---------------------------------------------------------------- OpenID provider

export const openIdDiscoverySchema = {
  operationId: 'getOpenIdConfiguration',
  summary: 'OpenID Connect discovery of the node’s OpenID provider',
  description:
    'The OpenID Provider Metadata of the provider mounted at /oauth (issuer `<base>/oauth`): its endpoints ' +
    '(authorization, token, JWKS, introspection, revocation…) live under /oauth and are described here, not in ' +
    'this document. docs/oidc.md describes the provider.',
  tags: ['openid'],
  security: PUBLIC,
  response: {
    200: json('The OpenID Provider Metadata', { type: 'object', additionalProperties: true }),
  },
};

export const oauthServerMetadataSchema = {
  ...openIdDiscoverySchema,
  operationId: 'getOAuthServerMetadata',
  summary: 'OAuth 2.0 authorization server metadata (RFC 8414) of the node’s OpenID provider',
  response: {
    200: json('The authorization server metadata', { type: 'object', additionalProperties: true }),
  },
};

/** The same OpenID Provider Metadata at the host's root, where OpenID Discovery clients look first. */
export const rootOpenIdDiscoverySchema = {
  ...openIdDiscoverySchema,
  operationId: 'getRootOpenIdConfiguration',
  summary:
    'OpenID Connect discovery at the host root (the same document as /.well-known/openid-configuration/oauth)',
};

export const smartConfigurationSchema = {
  ...openIdDiscoverySchema,
  operationId: 'getSmartConfiguration',
  summary: 'SMART App Launch discovery (also at /fhir/.well-known/smart-configuration)',
  description:
    'The SMART configuration (SMART App Launch 2.x): authorization and token endpoints, supported scopes, ' +
    'grant types and capabilities. docs/oidc.md describes the provider.',
  response: {
    200: json('The SMART configuration', { type: 'object', additionalProperties: true }),
  },
};

const USERNAME = str('The account’s username', { minLength: 1, maxLength: 1024 });

export const passkeyLoginOptionsSchema = {
  operationId: 'passkeyLoginOptions',
  summary: 'Passkey sign-in: request options',
  description:
    'Inside an OpenID sign-in (the interaction `uid`), the WebAuthn request options for a username: a ' +
    'single-use challenge. An unknown username gets a decoy credential, so the answer says nothing about who ' +
    'exists.',
  tags: ['openid'],
  security: PUBLIC,
  params: params({ uid: 'The OpenID interaction' }),
  body: object({ username: USERNAME }, { additional: true }),
  response: {
    200: json('PublicKeyCredentialRequestOptionsJSON (WebAuthn Level 3)', {
      type: 'object',
      required: ['challenge'],
      properties: { challenge: BASE64URL, allowCredentials: { type: 'array' } },
      additionalProperties: true,
    }),
    ...errors(400, 415, 429),
  },
};

export const passkeyLoginSchema = {
  operationId: 'passkeyLogin',
  summary: 'Passkey sign-in: finish',
  description:
    'Checks the password and the authenticator’s assertion (throttled like every sign-in) and finishes the ' +
    'OpenID interaction: the browser is redirected on to the client with its authorization code, the ID ' +
    'token’s `amr` saying `pwd` and `hwk`.',
  tags: ['openid'],
  security: PUBLIC,
  params: params({ uid: 'The OpenID interaction' }),
  body: object(
    {
      username: USERNAME,
      password: str('The account’s password', { minLength: 1, maxLength: 1024 }),
      assertion: {
        type: 'object',
        description: 'The authenticator’s AuthenticationResponseJSON (navigator.credentials.get)',
        additionalProperties: true,
      },
    },
    { additional: true },
  ),
  response: {
    303: noContent('On to the client’s redirect URI (the OpenID provider’s answer)'),
    ...errors(400, 401, 404, 415, 429),
  },
};

// ---------------------------------------------------------------- a person's own account

const CREDENTIAL = shared(
  'WebAuthnCredential',
  object(
    {
      id: str('Credential id, base64url'),
      accountId: str('The account'),
      counter: int('The authenticator’s signature counter'),
      transports: { type: 'array', items: { type: 'string' } },
      deviceType: { enum: ['singleDevice', 'multiDevice'] },
      backedUp: bool('Whether the passkey is backed up (synced)'),
      createdAt: dateTime('Registered at'),
      lastUsedAt: nullable(dateTime('Last used at')),
    },
    { description: 'A registered WebAuthn credential' },
  ),
);

export const passkeyRegistrationOptionsSchema = {
  operationId: 'passkeyRegistrationOptions',
  summary: 'Register a passkey: creation options',
  description:
    'The WebAuthn creation options (a single-use challenge) for the signed-in person to register a passkey or ' +
    'security key as their second factor. For people only, not system clients.',
  tags: ['account'],
  security: BEARER,
  response: {
    200: json('PublicKeyCredentialCreationOptionsJSON (WebAuthn Level 3)', {
      type: 'object',
      required: ['challenge', 'rp', 'user'],
      properties: { challenge: BASE64URL, rp: { type: 'object' }, user: { type: 'object' } },
      additionalProperties: true,
    }),
    ...authErrors(403),
  },
};

export const passkeyRegistrationSchema = {
  operationId: 'passkeyRegister',
  summary: 'Register a passkey: verify and store',
  description:
    'Verifies the authenticator’s RegistrationResponseJSON (navigator.credentials.create) against the challenge ' +
    'and stores the credential.',
  tags: ['account'],
  security: BEARER,
  body: {
    type: 'object',
    description: 'RegistrationResponseJSON (WebAuthn Level 3)',
    required: ['id', 'rawId', 'response', 'type'],
    properties: {
      id: BASE64URL,
      rawId: BASE64URL,
      type: { const: 'public-key' },
      response: { type: 'object', additionalProperties: true },
    },
    additionalProperties: true,
  },
  response: { 201: json('The stored credential', CREDENTIAL), ...authErrors(400, 403, 409, 415) },
};

const TOKEN_INFO = shared(
  'ApiToken',
  object(
    {
      id: str('The token’s id'),
      label: str('Its label'),
      createdAt: dateTime('Minted at'),
      expiresAt: nullable(dateTime('Expires at')),
      revokedAt: nullable(dateTime('Revoked at')),
      amr: { type: 'array', items: { type: 'string' }, description: 'How the minting sign-in authenticated' },
    },
    { description: 'An API token, never its value' },
  ),
);

export const listTokensSchema = {
  operationId: 'listOwnTokens',
  summary: 'List my API tokens',
  description: 'The signed-in person’s API tokens (never their values). For people only.',
  tags: ['account'],
  security: BEARER,
  response: {
    200: json('The tokens', object({ tokens: { type: 'array', items: TOKEN_INFO } })),
    ...authErrors(403),
  },
};

export const mintTokenSchema = {
  operationId: 'mintOwnToken',
  summary: 'Mint an API token',
  description:
    'Mints an API token for the signed-in person’s scripts and tools. Only from an access token of this node’s ' +
    'OpenID provider (not from another API token) whose sign-in is at most 15 minutes old, passed the second ' +
    'factor the role requires and was granted `user/*.cruds` (patients `patient/*.cruds`). At most 20 live ' +
    'tokens; the token lives at most 90 days (30 by default).',
  tags: ['account'],
  security: BEARER,
  body: nullable(
    object(
      {
        label: str('A label (default "API token")', { minLength: 1, maxLength: 200 }),
        expiresAt: dateTime('When it expires: in the future, at most 90 days from now'),
      },
      { optional: ['label', 'expiresAt'], additional: true },
    ),
  ),
  response: {
    201: json(
      'The token — its value is shown this once',
      object({
        id: str('The token’s id'),
        accountId: str('The person’s account'),
        token: str('The bearer token'),
        expiresAt: dateTime('Expires at'),
        amr: { type: 'array', items: { type: 'string' } },
      }),
    ),
    ...authErrors(400, 403, 409, 415),
  },
};

export const revokeTokenSchema = {
  operationId: 'revokeOwnToken',
  summary: 'Revoke one of my API tokens',
  description: 'Revokes a live API token of the signed-in person; it stops authenticating at once.',
  tags: ['account'],
  security: BEARER,
  params: params({ id: 'The token’s id' }),
  response: { 204: noContent('Revoked'), ...authErrors(403, 404) },
};

// ---------------------------------------------------------------- administration: accounts

const ACCOUNT = shared(
  'Account',
  object(
    {
      id: str('The account id'),
      username: str('Username'),
      displayName: str('Display name'),
      role: ROLE,
      organisation: int('The organisation’s on-chain id'),
      memberAddress: ETHEREUM_ADDRESS,
      custodialMemberKey: bool('Whether the node holds the member’s key'),
      patient: object({ fhirId: str('The Patient resource’s id'), pseudonym: HASH }),
      practitionerId: str('The Practitioner resource’s id'),
      disabled: bool('Disabled accounts cannot sign in and their tokens stop working'),
      hasPassword: bool('Whether the account has a password'),
      secondFactors: object({ totp: bool('TOTP enrolled'), webauthn: int('Passkeys registered') }),
      createdAt: dateTime('Created at'),
      updatedAt: dateTime('Updated at'),
    },
    {
      optional: ['memberAddress', 'custodialMemberKey', 'patient', 'practitionerId'],
      description: 'An account, without secrets',
    },
  ),
);
const ACCOUNT_ANSWER = object({ account: ACCOUNT });
const ACCOUNT_ID = params({ id: 'The account id' });
const ACTIVATION = shared(
  'Activation',
  object(
    {
      code: str(
        'The one-time activation code (26 characters in groups of four) — hand it to the patient only',
      ),
      link: str('The activation link: the app’s /app/activate page with the code in the fragment'),
      expiresAt: dateTime('When the code stops working'),
    },
    { description: 'A patient’s one-time activation code; single use, stored by the node only as a hash' },
  ),
);
const ACTIVATION_CODE = str('The activation code, as handed over (case, spaces and dashes do not matter)', {
  minLength: 1,
  maxLength: 64,
});
const OTPAUTH = object({ otpauthUri: str('otpauth://totp/… URI (show it as a QR code)') });

export const activationTotpSchema = {
  operationId: 'beginActivationTotp',
  summary: 'Activation: start a TOTP enrolment',
  description:
    'For a patient activating their account: starts a TOTP enrolment for the account the activation code ' +
    'opens; the activation then carries a current `totpCode` to confirm it. Public; throttled per address; ' +
    'an unknown, used or expired code answers 404.',
  tags: ['account'],
  security: PUBLIC,
  body: object({ code: ACTIVATION_CODE }, { additional: true }),
  response: { 201: json('The enrolment', OTPAUTH), ...errors(400, 404, 415, 429) },
};

export const activateAccountSchema = {
  operationId: 'activateAccount',
  summary: 'Activate my account',
  description:
    'A patient activates the account their organisation created for them, with the one-time code: they choose ' +
    'their password and their keys — `custodial` (the node creates them and seals them under the password) or ' +
    '`self` (their browser made them; only the consent account’s address and the public key bundle are sent, ' +
    'and the node writes the pseudonym of that address into the Patient) — and optionally confirm a TOTP ' +
    'enrolment. The code is consumed. Public; throttled per address; an unknown, used or expired code answers ' +
    '404. docs/web.md describes the flow.',
  tags: ['account'],
  security: PUBLIC,
  body: object(
    {
      code: ACTIVATION_CODE,
      password: str('The password the patient chooses (the password policy of docs/identity.md)'),
      keys: object(
        {
          custody: { enum: ['custodial', 'self'], description: 'Who holds the patient’s keys' },
          consentAddress: ETHEREUM_ADDRESS,
          publicBundle: BASE64URL,
        },
        { optional: ['consentAddress', 'publicBundle'] },
      ),
      totpCode: str('A current code of the TOTP enrolment started for this activation', {
        pattern: '^[0-9]{6,8}$',
      }),
    },
    { optional: ['totpCode'], additional: true },
  ),
  response: {
    200: json(
      'The activated account, its Patient and pseudonym',
      object({
        account: ACCOUNT,
        patient: object({ id: str('The Patient resource’s id'), pseudonym: HASH }),
        custody: { enum: ['custodial', 'self'], description: 'Who holds the keys' },
      }),
    ),
    ...errors(400, 404, 409, 415, 429),
  },
};

export const reissueActivationSchema = {
  operationId: 'reissueActivation',
  summary: 'Issue a new activation code',
  description:
    'A new one-time activation code for a patient account still awaiting activation (the previous code stops ' +
    'working). For administrators.',
  tags: ['admin accounts'],
  security: BEARER,
  params: ACCOUNT_ID,
  response: {
    201: json('The new code', object({ activation: ACTIVATION })),
    ...authErrors(403, 404, 409),
  },
};

export const ownKeysSchema = {
  operationId: 'getOwnKeys',
  summary: 'Where my keys are (patients)',
  description:
    'The signed-in patient’s key custody — `custodial` (the node keeps the sealed file: GET ' +
    '/admin/patients/:id/keys) or `self` (their browser holds it; the node has the public bundle) — their ' +
    'pseudonym, and the ConsentManager deployment whose EIP-712 domain their consent signatures name. ' +
    'Patients only.',
  tags: ['account'],
  security: BEARER,
  response: {
    200: json(
      'My keys',
      object(
        {
          custody: { enum: ['custodial', 'self'], description: 'Who holds the keys' },
          patient: str('The Patient resource’s id'),
          pseudonym: HASH,
          publicBundle: BASE64URL,
          consentManager: object({ chainId: int('Chain id'), verifyingContract: ETHEREUM_ADDRESS }),
        },
        { optional: ['publicBundle'] },
      ),
    ),
    ...authErrors(403, 404),
  },
};

export const enrolOwnTotpSchema = {
  operationId: 'beginOwnTotpEnrolment',
  summary: 'Add an authenticator app (TOTP)',
  description:
    'The signed-in person starts their own TOTP enrolment (from a sign-in, not an API token); confirm it with ' +
    'POST /account/totp/confirm. An account that already has TOTP gets 409: replacing it is the ' +
    'administrator’s reset.',
  tags: ['account'],
  security: BEARER,
  response: { 201: json('The enrolment', OTPAUTH), ...authErrors(403, 409) },
};

export const confirmOwnTotpSchema = {
  operationId: 'confirmOwnTotpEnrolment',
  summary: 'Confirm my authenticator app',
  description: 'Confirms the signed-in person’s pending TOTP enrolment with a current code.',
  tags: ['account'],
  security: BEARER,
  body: object({ code: str('The current code', { pattern: '^[0-9]{6,8}$' }) }, { additional: true }),
  response: { 200: json('My account', ACCOUNT_ANSWER), ...authErrors(400, 403, 415) },
};

export const ownAccountSchema = {
  operationId: 'getOwnAccount',
  summary: 'Who I am',
  description:
    'The signed-in person’s own account (role, organisation, patient link, second factors) — what an app ' +
    'shows and decides its screens by. For people only; never a secret.',
  tags: ['account'],
  security: BEARER,
  response: { 200: json('My account', ACCOUNT_ANSWER), ...authErrors(403) },
};

export const createAccountSchema = {
  operationId: 'createAccount',
  summary: 'Create an account',
  description:
    'Creates an account and everything its role needs: members (doctor, nurse, lab, pharmacist, insurer, ' +
    'researcher, auditor) get a custodial member key registered in the ConsortiumRegistry — or bring their own ' +
    '`memberAddress`; patients get keys sealed under their password and a FHIR Patient carrying their on-chain ' +
    'pseudonym (optional `demographics` fill it); administrators just the account. For administrators. ' +
    'docs/administration.md describes it in full.',
  tags: ['admin accounts'],
  security: BEARER,
  body: object(
    {
      role: ROLE,
      username: str('1–64 characters of visible text', { minLength: 1, maxLength: 64 }),
      displayName: str('1–200 characters of visible text', { minLength: 1, maxLength: 200 }),
      password: str(
        'Required for patients created without activation (it seals their keys); the password policy of docs/identity.md',
      ),
      activation: {
        const: true,
        description:
          'Patients only, instead of a password: the account awaits activation and the answer carries a one-time ' +
          'activation code the patient uses to choose their own password, keys and second factor',
      },
      memberAddress: ETHEREUM_ADDRESS,
      demographics: {
        type: 'object',
        description:
          'Patients only: elements of the FHIR Patient (name, gender, birthDate, address…; not resourceType, id or meta)',
        additionalProperties: true,
      },
    },
    { optional: ['password', 'activation', 'memberAddress', 'demographics'], additional: true },
  ),
  response: {
    201: json(
      'The account (and for a patient, the Patient resource’s id and pseudonym — no pseudonym yet for a patient ' +
        'awaiting activation, who gets the activation code instead)',
      object(
        {
          account: ACCOUNT,
          patient: object(
            { id: str('The Patient resource’s id'), pseudonym: HASH },
            { optional: ['pseudonym'] },
          ),
          activation: ACTIVATION,
        },
        { optional: ['patient', 'activation'] },
      ),
    ),
    ...authErrors(400, 403, 409, 415, 503),
  },
};

export const listAccountsSchema = {
  operationId: 'listAccounts',
  summary: 'List accounts',
  description:
    'The organisation’s accounts, optionally of one role; disabled ones only when asked. For administrators.',
  tags: ['admin accounts'],
  security: BEARER,
  querystring: query({
    role: ROLE,
    includeDisabled: { enum: ['true', 'false'], description: 'Include disabled accounts (default false)' },
  }),
  response: {
    200: json('The accounts', object({ accounts: { type: 'array', items: ACCOUNT } })),
    ...authErrors(400, 403),
  },
};

export const getAccountSchema = {
  operationId: 'getAccount',
  summary: 'Read an account',
  tags: ['admin accounts'],
  description: 'One account. For administrators.',
  security: BEARER,
  params: ACCOUNT_ID,
  response: { 200: json('The account', ACCOUNT_ANSWER), ...authErrors(403, 404) },
};

export const adminMintTokenSchema = {
  operationId: 'adminMintToken',
  summary: 'Refused: administrators mint no tokens for others',
  description:
    'Always 403 (audited): API tokens are minted by their owner only (POST /account/tokens). The route stays to ' +
    'say so.',
  tags: ['admin accounts'],
  deprecated: true,
  security: BEARER,
  params: ACCOUNT_ID,
  response: { ...authErrors(403) },
};

export const totpEnrolmentSchema = {
  operationId: 'beginTotpEnrolment',
  summary: 'Start a TOTP enrolment',
  description:
    'Starts a TOTP (RFC 6238) enrolment for an account: the otpauth:// URI is handed to the person (as a QR ' +
    'code) and their first sign-in with a current code completes it. For administrators.',
  tags: ['admin accounts'],
  security: BEARER,
  params: ACCOUNT_ID,
  response: {
    201: json(
      'The enrolment',
      object({ accountId: str('The account'), otpauthUri: str('otpauth://totp/… URI') }),
    ),
    ...authErrors(403, 404, 409),
  },
};

export const disableAccountSchema = {
  operationId: 'disableAccount',
  summary: 'Disable an account',
  description:
    'Disables an account: it cannot sign in and its tokens stop working. The last enabled administrator able to ' +
    'operate the node cannot be disabled (409). For administrators.',
  tags: ['admin accounts'],
  security: BEARER,
  params: ACCOUNT_ID,
  response: { 200: json('The account', ACCOUNT_ANSWER), ...authErrors(403, 404, 409) },
};

export const enableAccountSchema = {
  operationId: 'enableAccount',
  summary: 'Enable an account',
  description: 'Re-enables a disabled account — by another administrator than its owner. For administrators.',
  tags: ['admin accounts'],
  security: BEARER,
  params: ACCOUNT_ID,
  response: { 200: json('The account', ACCOUNT_ANSWER), ...authErrors(403, 404) },
};

export const patientKeysSchema = {
  operationId: 'getOwnPatientKeys',
  summary: 'Download my sealed key file',
  description:
    'The patient’s own key file, sealed under their password, for them to hold their keys themselves. For the ' +
    'patient alone: anyone else gets 403 or 404.',
  tags: ['account'],
  security: BEARER,
  params: params({ id: 'The patient’s Patient resource id' }),
  response: {
    200: json('The sealed key file (an attachment, not cached)', {
      type: 'object',
      additionalProperties: true,
    }),
    ...authErrors(403, 404),
  },
};

// ---------------------------------------------------------------- administration: OAuth clients

const CLIENT = {
  type: 'object',
  description: 'A client registration (docs/oidc.md)',
  required: ['clientId', 'name', 'scopes'],
  properties: {
    clientId: str('1–128 characters of A-Z a-z 0-9 . _ ~ -', { pattern: '^[A-Za-z0-9._~-]{1,128}$' }),
    name: str('Shown on the consent page'),
    redirectUris: {
      type: 'array',
      description: 'Exact redirect URIs (https, or http on a loopback address): apps people sign in to',
      items: { type: 'string', format: 'uri' },
    },
    postLogoutRedirectUris: {
      type: 'array',
      description: 'Where the provider may send the browser after the app signs the person out (same rules)',
      items: { type: 'string', format: 'uri' },
    },
    jwks: {
      type: 'object',
      description: 'Public keys for private_key_jwt (SMART Backend Services clients)',
      required: ['keys'],
      properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true } } },
    },
    scopes: {
      type: 'array',
      items: { type: 'string' },
      description:
        'What the client may ask for: openid fhirUser launch/patient offline_access and SMART scopes',
    },
    firstParty: bool('First-party apps skip the consent page (needs a second administrator)'),
  },
  additionalProperties: true,
};

const CLIENT_REF = shared('ClientRegistration', CLIENT);

export const registerClientSchema = {
  operationId: 'registerClient',
  summary: 'Register (or replace) an OAuth client',
  description:
    'Registers a client of the node’s OpenID provider, or with `replace: true` updates one. A registration ' +
    'that reads patient data alone (a `system/` scope on a patient-data type) or is first-party is only ' +
    'proposed (202) until another administrator — or the operator — confirms it; the operator’s own take ' +
    'effect at once. For administrators.',
  tags: ['admin clients'],
  security: BEARER,
  body: {
    ...CLIENT,
    properties: { ...CLIENT.properties, replace: bool('Update an existing client (default false)') },
  },
  response: {
    201: json('Registered', CLIENT_REF),
    202: json('Proposed: waits for a second administrator', {
      ...CLIENT,
      properties: { ...CLIENT.properties, pending: { const: true } },
      required: [...CLIENT.required, 'pending'],
    }),
    ...authErrors(400, 403, 409, 415),
  },
};

export const listClientsSchema = {
  operationId: 'listClients',
  summary: 'List OAuth clients',
  description: 'Registered clients, and proposals waiting for a second administrator. For administrators.',
  tags: ['admin clients'],
  security: BEARER,
  response: {
    200: json(
      'The clients',
      object({
        clients: { type: 'array', items: CLIENT_REF },
        pending: {
          type: 'array',
          items: object({
            registration: CLIENT_REF,
            proposedBy: str('The proposing account'),
            proposedAt: dateTime('Proposed at'),
          }),
        },
      }),
    ),
    ...authErrors(403),
  },
};

export const confirmClientSchema = {
  operationId: 'confirmClient',
  summary: 'Confirm a proposed OAuth client',
  description:
    'Confirms a pending registration: by an administrator other than the proposer, or by the operator. For ' +
    'administrators.',
  tags: ['admin clients'],
  security: BEARER,
  params: params({ id: 'The client id' }),
  response: {
    200: json('The registration now in effect', {
      ...CLIENT,
      properties: { ...CLIENT.properties, proposedBy: str('Who proposed it') },
    }),
    ...authErrors(403, 404, 409),
  },
};

export const removeClientSchema = {
  operationId: 'removeClient',
  summary: 'Remove an OAuth client',
  description:
    'Removes a client: its refresh tokens stop working at once, and a pending registration of it is dropped. ' +
    'For administrators.',
  tags: ['admin clients'],
  security: BEARER,
  params: params({ id: 'The client id' }),
  response: { 204: noContent('Removed'), ...authErrors(403, 404) },
};

// ---------------------------------------------------------------- licences

const LICENCE = shared('Licence', {
  type: 'object',
  description:
    'A practitioner licence credential signed by the regulator organisation (docs/administration.md)',
  additionalProperties: true,
});
const MEMBER = params({ member: 'The practitioner’s member address (0x and 40 hex digits)' });

export const issueLicenceSchema = {
  operationId: 'issueLicence',
  summary: 'Issue a practitioner licence',
  description:
    'At a regulator node: signs a licence credential for a consortium member and commits its hash and expiry ' +
    'on-chain. For the regulator’s administrators.',
  tags: ['licences'],
  security: BEARER,
  body: object(
    {
      member: ETHEREUM_ADDRESS,
      name: str('The practitioner’s name, 1–200 characters', { minLength: 1, maxLength: 200 }),
      qualification: object(
        {
          system: str('Code system (1–500 characters)', { minLength: 1, maxLength: 500 }),
          code: str('Code (1–100 characters)', { minLength: 1, maxLength: 100 }),
          display: str('Display (1–200 characters)', { minLength: 1, maxLength: 200 }),
        },
        { optional: ['display'], additional: true },
      ),
      expiresAt: {
        description: 'Unix seconds or an ISO 8601 date-time, more than a minute ahead',
        oneOf: [
          { type: 'integer', minimum: 1 },
          { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}(T[\\d:.]+(Z|[+-]\\d{2}:\\d{2}))?$' },
        ],
      },
    },
    { additional: true },
  ),
  response: {
    201: json(
      'Issued',
      object({ licence: LICENCE, credentialHash: HASH, transaction: str('The on-chain transaction hash') }),
    ),
    ...authErrors(400, 403, 415, 503),
  },
};

export const revokeLicenceSchema = {
  operationId: 'revokeLicence',
  summary: 'Revoke a practitioner licence',
  description: 'At a regulator node: revokes the licence it issued to a member, on-chain.',
  tags: ['licences'],
  security: BEARER,
  params: MEMBER,
  response: {
    200: json(
      'Revoked',
      object({
        member: ETHEREUM_ADDRESS,
        revokedAt: dateTime('Revoked at'),
        transaction: str('The on-chain transaction hash'),
      }),
    ),
    ...authErrors(400, 403, 404, 409, 503),
  },
};

export const publicLicenceSchema = {
  operationId: 'getLicencePublic',
  summary: 'Look up a licence (public)',
  description:
    'The signed licence credential issued here to a member — public by nature, like a register of ' +
    'practitioners: any node checks it against the regulator’s key bundle and the on-chain hash, expiry and ' +
    'revocation.',
  tags: ['licences'],
  security: PUBLIC,
  querystring: query({ member: ETHEREUM_ADDRESS }, ['member']),
  response: { 200: json('The licence credential', LICENCE), ...errors(400, 404) },
};

export const listLicencesSchema = {
  operationId: 'listLicences',
  summary: 'Licences of this organisation’s members (and, at a regulator, those it issued)',
  description:
    'The licence of every member account of this organisation as the ConsortiumRegistry holds it (issuer, ' +
    'expiry, revocation), and at a regulator node every licence it issued. For the organisation’s ' +
    'administrators.',
  tags: ['licences'],
  security: BEARER,
  response: {
    200: json(
      'The licences',
      object({
        regulator: bool('Whether this node is a regulator (it issues and revokes licences)'),
        licences: {
          type: 'array',
          items: object({
            member: ETHEREUM_ADDRESS,
            account: nullable(
              object({
                id: str('Account id'),
                displayName: str('Display name'),
                role: str('Role'),
              }),
            ),
            name: nullable(str('The practitioner’s name on the credential (issued here only)')),
            issuer: nullable(int('The issuing organisation id, none when the member holds no licence')),
            issuedHere: bool('Whether this node issued it'),
            issuedAt: nullable(dateTime('Issued at')),
            expiresAt: nullable(dateTime('Expires at')),
            revokedAt: nullable(dateTime('Revoked at')),
            status: str('valid, expired, revoked or none', { enum: ['valid', 'expired', 'revoked', 'none'] }),
          }),
        },
      }),
    ),
    ...authErrors(403),
  },
};

const { querystring: _query, ...licenceLookup } = publicLicenceSchema;
export const licenceSchema = {
  ...licenceLookup,
  operationId: 'getLicence',
  summary: 'Look up a licence',
  description: 'The same as GET /licences?member=…, for an authenticated caller.',
  security: BEARER,
  params: MEMBER,
  response: { 200: json('The licence credential', LICENCE), ...authErrors(400, 404) },
};

// ---------------------------------------------------------------- break-glass review

const SESSION = shared(
  'BreakGlassSession',
  object(
    {
      id: int('The on-chain session id'),
      member: ETHEREUM_ADDRESS,
      practitioner: nullable(
        object({ accountId: str('Account'), displayName: str('Display name'), role: ROLE }),
      ),
      patient: nullable(str('Patient/<id>')),
      reason: nullable(str('The stated reason (null when this node does not hold it)')),
      openedAt: dateTime('Opened at'),
      expiresAt: dateTime('Expires at'),
      endedEarly: { const: true, description: 'Present when the practitioner ended it early' },
      active: bool('Whether it is running now'),
      transaction: str('The opening transaction'),
      review: object({
        auditor: ETHEREUM_ADDRESS,
        justified: bool('The auditor’s verdict'),
        reviewedAt: dateTime('Reviewed at'),
        finding: nullable(str('The finding (null when this node does not hold it)')),
      }),
    },
    { optional: ['endedEarly', 'review'], description: 'A break-glass session' },
  ),
);

export const breakGlassQueueSchema = {
  operationId: 'listBreakGlassSessions',
  summary: 'The break-glass review queue',
  description:
    'Break-glass sessions of the organisation (100 a page), with the stated reason and the review. For this ' +
    'organisation’s auditors.',
  tags: ['break-glass review'],
  security: BEARER,
  querystring: query({
    unreviewed: { enum: ['true', 'false'], description: 'Only sessions not reviewed yet (default false)' },
    afterId: str('Sessions after this id (the next page)', { pattern: '^\\d{1,15}$' }),
  }),
  response: {
    200: json('The sessions', object({ sessions: { type: 'array', items: SESSION } })),
    ...authErrors(400, 403),
  },
};

export const breakGlassReviewSchema = {
  operationId: 'reviewBreakGlassSession',
  summary: 'Review a break-glass session',
  description:
    'The auditor’s verdict on a session that is over: justified or not, with a finding in words, sent on-chain ' +
    'with the auditor’s member key (held by this node). For this organisation’s auditors.',
  tags: ['break-glass review'],
  security: BEARER,
  params: params({ id: 'The session id' }),
  body: object(
    {
      justified: bool('Whether the access was justified'),
      finding: str('What the auditor found, in words (at most 4000 characters)', {
        minLength: 3,
        maxLength: 4000,
      }),
    },
    { additional: true },
  ),
  response: {
    200: json(
      'Reviewed',
      object({
        sessionId: int('The session'),
        justified: bool('The verdict'),
        findingHash: HASH,
        transaction: str('The on-chain transaction hash'),
      }),
    ),
    ...authErrors(400, 403, 404, 409, 415, 503),
  },
};

// ---------------------------------------------------------------- audit

const ANCHOR = nullable({
  type: 'object',
  description: 'Where the checkpoint stands on the chain (null: superseded by a later one, or too new)',
  required: ['status'],
  properties: {
    status: str('pending, submitted, confirmed…'),
    chainId: int('Chain id'),
    contract: ETHEREUM_ADDRESS,
    txHash: HASH,
    blockNumber: int('Block'),
    blockHash: HASH,
  },
  additionalProperties: false,
});

const CHECKPOINT = shared(
  'Checkpoint',
  object(
    {
      id: int('The checkpoint id'),
      logId: str('The log'),
      size: int('Entries covered'),
      root: BASE64URL,
      timestamp: int('Signed at (Unix milliseconds)'),
      signature: BASE64URL,
      anchor: ANCHOR,
    },
    { description: 'A signed checkpoint (tree size, root) and its on-chain anchor; bytes in base64url' },
  ),
);

const PROOF = { type: 'array', items: BASE64URL, description: 'RFC 9162 hashes, base64url' };

const PROVEN_ENTRIES = shared(
  'AuditEntries',
  object(
    {
      checkpoint: CHECKPOINT,
      entries: {
        type: 'array',
        items: object(
          {
            index: int('Leaf index'),
            event: { type: 'object', description: 'The FHIR AuditEvent', additionalProperties: true },
            salt: BASE64URL,
            redacted: { const: true },
            commitment: BASE64URL,
            proof: PROOF,
            breakGlass: bool('Whether the event is a break-glass access'),
            agents: {
              type: 'array',
              description:
                'The event’s agents resolved to names by the node (people of this organisation by display name, ' +
                'organisations by their directory name), in the order of `event.agent`; never ids or addresses. ' +
                'Not covered by the proof: a label for reading, the proof covers `event`.',
              items: object(
                {
                  person: str('The person’s name, or what the agent is (“a system of the organisation”)'),
                  organisation: str('The organisation’s name'),
                  role: str('The person’s role, when the event records it'),
                  requestor: bool('Whether this agent made the request'),
                },
                { optional: ['person', 'organisation', 'role'] },
              ),
            },
          },
          { optional: ['salt', 'redacted', 'agents'] },
        ),
      },
      next: int('The cursor of the next page, when there is one'),
    },
    { optional: ['next'], description: 'Entries, each opened and proven against the latest checkpoint' },
  ),
);

const PAGE = {
  cursor: str('Leaf index to start from (the `next` of the previous page)', { pattern: '^\\d{1,15}$' }),
  _count: str('Entries per page, 1–1000 (default 100)', { pattern: '^\\d{1,15}$' }),
};

export const checkpointSchema = {
  operationId: 'getLatestCheckpoint',
  summary: 'The latest checkpoint',
  description: 'The latest signed checkpoint of the audit log — or the latest anchored one — and its anchor.',
  tags: ['audit'],
  security: BEARER,
  querystring: query({ anchored: { enum: ['true', 'false'], description: 'The latest anchored one' } }),
  response: { 200: json('The checkpoint', CHECKPOINT), ...authErrors(400, 404) },
};

export const checkpointByIdSchema = {
  operationId: 'getCheckpoint',
  summary: 'A checkpoint',
  description: 'A signed checkpoint of the audit log by id, and its anchor.',
  tags: ['audit'],
  security: BEARER,
  params: params({ id: 'The checkpoint id' }),
  response: { 200: json('The checkpoint', CHECKPOINT), ...authErrors(400, 404) },
};

export const inclusionProofSchema = {
  operationId: 'getInclusionProof',
  summary: 'Inclusion proof',
  description: 'An entry’s commitment and its RFC 9162 audit path to a checkpoint.',
  tags: ['audit'],
  security: BEARER,
  querystring: query(
    {
      index: str('Leaf index', { pattern: '^\\d{1,15}$' }),
      checkpoint: str('Checkpoint id', { pattern: '^\\d{1,15}$' }),
    },
    ['index', 'checkpoint'],
  ),
  response: {
    200: json(
      'The proof',
      object({ index: int('Leaf index'), commitment: BASE64URL, proof: PROOF, checkpoint: CHECKPOINT }),
    ),
    ...authErrors(400, 404),
  },
};

export const consistencyProofSchema = {
  operationId: 'getConsistencyProof',
  summary: 'Consistency proof',
  description: 'The RFC 9162 consistency proof between two checkpoints (the older first).',
  tags: ['audit'],
  security: BEARER,
  querystring: query(
    {
      from: str('Older checkpoint id', { pattern: '^\\d{1,15}$' }),
      to: str('Newer checkpoint id', { pattern: '^\\d{1,15}$' }),
    },
    ['from', 'to'],
  ),
  response: {
    200: json('The proof', object({ from: CHECKPOINT, to: CHECKPOINT, proof: PROOF })),
    ...authErrors(400, 404),
  },
};

export const patientEventsSchema = {
  operationId: 'getPatientAuditEvents',
  summary: 'A patient’s access log',
  description:
    'Every audit event about a patient, opened, each with its salt and inclusion proof (for the patient: ' +
    'without network addresses). For the patient, the organisation’s auditors and the node; anyone else gets ' +
    '404, as for a patient that does not exist.',
  tags: ['audit'],
  security: BEARER,
  params: params({ id: 'The Patient resource id' }),
  querystring: query(PAGE),
  response: { 200: json('A page of events', PROVEN_ENTRIES), ...authErrors(400, 404) },
};

export const auditEventsSchema = {
  operationId: 'getAuditEvents',
  summary: 'The organisation’s audit log',
  description: 'Every event of the organisation, opened and proven. For its auditors and the node.',
  tags: ['audit'],
  security: BEARER,
  querystring: query(PAGE),
  response: { 200: json('A page of events', PROVEN_ENTRIES), ...authErrors(400, 403, 404) },
};

export const auditExportSchema = {
  operationId: 'exportAuditEvents',
  summary: 'SIEM export',
  description:
    'Audit events as NDJSON — FHIR AuditEvents (application/fhir+ndjson) or OCSF API Activity events ' +
    '(application/x-ndjson); the next cursor is in `X-Medledger-Next-Cursor`. For auditors and the node.',
  tags: ['audit'],
  security: BEARER,
  querystring: query({ ...PAGE, format: { enum: ['fhir', 'ocsf'], description: 'Default fhir' } }),
  response: {
    200: {
      description: 'One event per line',
      headers: { 'x-medledger-next-cursor': { type: 'string', description: 'The cursor of the next page' } },
      content: {
        'application/fhir+ndjson': { schema: { type: 'string' } },
        'application/x-ndjson': { schema: { type: 'string' } },
      },
    },
    ...authErrors(400, 403),
  },
};

export const auditVerifySchema = {
  operationId: 'verifyAuditLog',
  summary: 'Verify the audit log',
  description:
    'The independent verification (as `medledger audit verify`): the whole log recomputed, every sealed event ' +
    'against its commitment, every checkpoint’s signature and consistency, every on-chain anchor. For the organisation’s ' +
    'auditors and the node’s operators.',
  tags: ['audit'],
  security: BEARER,
  response: {
    200: json(
      'The verification report',
      object(
        {
          ok: bool('Whether everything checks'),
          size: int('Entries read'),
          checkpoints: int('Checkpoints found good'),
          unsignedEntries: int('Entries not yet covered by a checkpoint'),
          anchors: int('On-chain anchors checked'),
          divergence: { type: 'object', description: 'The first problem found', additionalProperties: true },
        },
        { optional: ['divergence'] },
      ),
    ),
    ...authErrors(403),
  },
};

// ---------------------------------------------------------------- directory

const DIRECTORY_ORGANISATION = object(
  {
    id: str('The registry’s organisation id'),
    name: str('The organisation’s name, as its node declares it (the registry holds no names)'),
    kind: { enum: ['hospital', 'clinic', 'lab', 'pharmacy', 'insurer', 'research', 'regulator'] },
    self: bool('Whether it is this node’s own organisation'),
  },
  { description: 'An organisation of the consortium' },
);

export const organisationsSchema = {
  operationId: 'getOrganisations',
  summary: 'The consortium’s organisations',
  description:
    'The active organisations of the on-chain registry, with their names — for choosing an organisation by ' +
    'name (a consent grant, a records request). For anyone signed in.',
  tags: ['directory'],
  security: BEARER,
  response: {
    200: json(
      'The organisations',
      object({ organisations: { type: 'array', items: DIRECTORY_ORGANISATION } }),
    ),
    ...authErrors(),
  },
};

export const keyBundleSchema = {
  operationId: 'getOrganisationKeyBundle',
  summary: 'An organisation’s public key bundle and its on-chain commitment',
  description:
    'The key-bundle hash the registry commits to for the organisation (read from the chain) and the encoded ' +
    'public key bundle, so a client that cannot reach the chain recomputes the hash (SHA-256 of the bundle ' +
    'without its self-signature) and checks signatures — audit checkpoints — under the committed key.',
  tags: ['directory'],
  security: BEARER,
  params: params({ id: 'The registry’s organisation id' }),
  response: {
    200: json(
      'The commitment and the bundle',
      object({
        id: str('The registry’s organisation id'),
        keyBundleHash: HASH,
        keyBundle: BASE64URL,
      }),
    ),
    ...authErrors(400, 404),
  },
};

export const directorySelfSchema = {
  operationId: 'getDirectorySelf',
  summary: 'This organisation',
  description:
    'This node’s organisation: registry id, name and kind (how other nodes learn its name). Public.',
  tags: ['directory'],
  security: PUBLIC,
  response: { 200: json('This organisation', DIRECTORY_ORGANISATION), ...errors() },
};
