/**
 * WebAuthn (passkeys, security keys) as the second factor at the node, for the web UI to drive:
 *
 * - registration, for a signed-in person (API token or access token): `POST /account/webauthn/options` gives
 *   the creation options (a single-use challenge), `POST /account/webauthn` verifies the authenticator's
 *   response and stores the credential (identity's WebAuthnService: counter, transports, refusal of a counter
 *   that goes back);
 * - login, inside an OpenID interaction: `POST /oauth/interaction/:uid/passkey/options` {username} gives the
 *   request options (unknown users get a decoy credential, so the answer says nothing about who exists), and
 *   `POST /oauth/interaction/:uid/passkey` {username, password, assertion} checks password and assertion through
 *   the login service (throttled like every login) and finishes the interaction — the browser is redirected on
 *   to the client with its code, the `amr` claim saying `pwd` and `hwk`.
 *
 * Limits: the challenge is bound to the username, not to the interaction; the page that runs
 * navigator.credentials is the web UI's (these are its JSON endpoints). The relying party id is the host of
 * the node's base URL, so a production node needs a domain name (browsers refuse IP addresses as rp ids).
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { AccountId, LoginService, WebAuthnService } from '@medledger/identity';
import type { AuthorizationServer } from '@medledger/oidc';
import type { FastifyRequest } from 'fastify';
import type { Feature } from '../NodeContext.js';
import {
  passkeyLoginOptionsSchema,
  passkeyLoginSchema,
  passkeyRegistrationOptionsSchema,
  passkeyRegistrationSchema,
} from '../openapi/routeSchemas.js';
import { callerOf, objectBody } from './careRequests.js';

type Json = Record<string, unknown>;

const person = (request: FastifyRequest) => {
  const caller = callerOf(request);
  if (caller.kind !== 'person') {
    throw new MdlError(MdlErrorCode.Forbidden, 'passkeys belong to people, not to system clients');
  }
  return caller;
};

const text = (value: unknown, field: string): string => {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    throw new MdlError(MdlErrorCode.BadInput, `${field} is required`);
  }
  return value;
};

export function passkeyFeature(
  webauthn: WebAuthnService,
  logins: LoginService,
  oauth: Pick<AuthorizationServer, 'provider'>,
): Feature {
  return {
    register(app) {
      app.post('/account/webauthn/options', { schema: passkeyRegistrationOptionsSchema }, async (request) =>
        webauthn.registrationOptions(person(request).id as AccountId),
      );
      app.post('/account/webauthn', { schema: passkeyRegistrationSchema }, async (request, reply) => {
        const caller = person(request);
        const credential = await webauthn.verifyRegistration(
          caller.id as AccountId,
          objectBody(request.body) as never,
        );
        return reply.code(201).send(credential);
      });

      app.post<{ Params: { uid: string } }>(
        '/oauth/interaction/:uid/passkey/options',
        { schema: passkeyLoginOptionsSchema },
        async (request) => {
          const body = objectBody(request.body) as Json;
          return webauthn.authenticationOptions(text(body.username, 'username'));
        },
      );

      app.post<{ Params: { uid: string } }>(
        '/oauth/interaction/:uid/passkey',
        { schema: passkeyLoginSchema },
        async (request, reply) => {
          const details = await oauth.provider
            .interactionDetails(request.raw, reply.raw)
            .catch(() => undefined);
          if (!details || details.uid !== request.params.uid || details.prompt.name !== 'login') {
            throw new MdlError(MdlErrorCode.NotFound, 'no such login in progress');
          }
          const body = objectBody(request.body) as Json;
          const { account, amr } = await logins.login(
            {
              username: text(body.username, 'username'),
              password: text(body.password, 'password'),
              webauthn: objectBody(body.assertion) as never,
            },
            { ip: request.ip },
          );
          reply.hijack();
          await oauth.provider.interactionFinished(
            request.raw,
            reply.raw,
            { login: { accountId: account.id, amr } },
            { mergeWithLastSubmission: false },
          );
        },
      );
    },
  };
}
