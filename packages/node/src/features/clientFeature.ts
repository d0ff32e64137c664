/**
 * OAuth clients of the node's OpenID provider, managed by the organisation's administrators: the apps people
 * log in to (public clients with redirect URIs, PKCE) and the EHR systems that call the FHIR API with SMART
 * Backend Services (a JWK set for private_key_jwt, `system/` scopes). docs/oidc.md describes both.
 *
 * Routes: POST /admin/clients (register or, with `replace: true`, update), GET /admin/clients (registered
 * and pending), POST /admin/clients/:id/confirm, DELETE /admin/clients/:id — the client's refresh tokens
 * stop working at once, and a pending registration of it is dropped.
 *
 * Two people for a client that reads patient data on its own — a registration with a `system/` scope on a
 * patient-data resource type (anything but the directory types, `system/*.*` included) — and for a
 * first-party app (people sign in to it without a consent page, so its redirect URIs receive their codes):
 * made by an administrator, such a registration is only proposed — the provider does not know it (a new client gets no token; a replaced
 * one keeps its current registration) — until an administrator other than the proposer, or the operator
 * (the bootstrap admin's token, which acts as the organisation), confirms it. The operator's own
 * registrations take effect at once.
 */

import { MdlError, MdlErrorCode } from '@medledger/core';
import { DIRECTORY_RESOURCE_TYPES } from '@medledger/fhir';
import { BOOTSTRAP_ADMIN_ID } from '@medledger/identity';
import type { AuthorizationServer, ClientRegistration } from '@medledger/oidc';
import { resourceScopeOf } from '@medledger/oidc';
import type { FastifyRequest } from 'fastify';
import type { Feature } from '../NodeContext.js';
import {
  confirmClientSchema,
  listClientsSchema,
  registerClientSchema,
  removeClientSchema,
} from '../openapi/routeSchemas.js';
import { auditAdminAct } from './adminAudit.js';
import { objectBody, requireAdministrator } from './careRequests.js';

/** Whether a registration lets the client read or write patient data without a person: `system/` scopes
 * on anything but the directory types. */
export function readsPatientDataAlone(scopes: unknown): boolean {
  if (!Array.isArray(scopes)) return false;
  return scopes.some((scope) => {
    const parsed = typeof scope === 'string' ? resourceScopeOf(scope) : undefined;
    return parsed?.level === 'system' && !DIRECTORY_RESOURCE_TYPES.includes(parsed.resourceType);
  });
}

/** Whether a registration needs a second person: it reads patient data alone, or skips people's consent. */
export function needsSecondPerson(registration: Record<string, unknown>): boolean {
  return readsPatientDataAlone(registration.scopes) || registration.firstParty === true;
}

/** The operator: the bootstrap admin's token, the organisation acting as itself. */
function isOperator(caller: ReturnType<typeof requireAdministrator>): boolean {
  return caller.kind === 'system' && caller.scopes === undefined && caller.id === BOOTSTRAP_ADMIN_ID;
}

const clientIdOf = (body: Record<string, unknown>) =>
  typeof body.clientId === 'string' ? body.clientId : undefined;

export function clientFeature(oauth: AuthorizationServer): Feature {
  return {
    register(app) {
      app.post('/admin/clients', { schema: registerClientSchema }, async (request: FastifyRequest, reply) => {
        const caller = requireAdministrator(request);
        const { replace, ...registration } = objectBody(request.body);
        const clientId = clientIdOf(registration);
        if (replace !== undefined && typeof replace !== 'boolean') {
          throw new MdlError(MdlErrorCode.BadInput, 'replace must be a boolean');
        }
        const pending = !isOperator(caller) && needsSecondPerson(registration);
        auditAdminAct(request, pending ? 'client-propose' : 'client-register', {
          ...(clientId ? { client: clientId } : {}),
        });
        const saved = await oauth.registerClient(registration as unknown as ClientRegistration, {
          replace: replace === true,
          ...(pending ? { pendingBy: caller.id } : {}),
        });
        if (pending) return reply.code(202).send({ ...saved, pending: true });
        return reply.code(201).send(saved);
      });
      app.get('/admin/clients', { schema: listClientsSchema }, async (request) => {
        requireAdministrator(request);
        return { clients: await oauth.listClients(), pending: await oauth.pendingClients() };
      });
      app.post<{ Params: { id: string } }>(
        '/admin/clients/:id/confirm',
        { schema: confirmClientSchema },
        async (request) => {
          const caller = requireAdministrator(request);
          auditAdminAct(request, 'client-confirm', { client: request.params.id });
          try {
            // The operator may confirm anyone's proposal; an administrator only another's.
            const confirmed = await oauth.confirmClient(
              request.params.id,
              isOperator(caller) ? `operator:${caller.id}` : caller.id,
            );
            return { ...confirmed.registration, proposedBy: confirmed.proposedBy };
          } catch (error) {
            if (error instanceof MdlError && error.code === MdlErrorCode.Conflict) {
              auditAdminAct(request, 'client-confirm', { client: request.params.id }, true);
            }
            throw error;
          }
        },
      );
      app.delete<{ Params: { id: string } }>(
        '/admin/clients/:id',
        { schema: removeClientSchema },
        async (request, reply) => {
          requireAdministrator(request);
          auditAdminAct(request, 'client-remove', { client: request.params.id });
          if (!(await oauth.removeClient(request.params.id))) {
            throw new MdlError(MdlErrorCode.NotFound, 'no such client');
          }
          return reply.code(204).send();
        },
      );
    },
  };
}
