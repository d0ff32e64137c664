/**
 * OAuth clients of the node's OpenID provider, managed by the organisation's administrators: the apps people
 * log in to (public clients with redirect URIs, PKCE) and the EHR systems that call the FHIR API with SMART
 * Backend Services (a JWK set for private_key_jwt, `system/` scopes). docs/oidc.md describes both.
 *
 * Routes: POST /admin/clients (register or, with `replace: true`, update), GET /admin/clients,
 * DELETE /admin/clients/:id — the client's refresh tokens stop working at once.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { AuthorizationServer, ClientRegistration } from '@medledger/oidc';
import type { Feature } from '../NodeContext.js';
import { objectBody, requireAdministrator } from './careRequests.js';

export function clientFeature(oauth: AuthorizationServer): Feature {
  return {
    register(app) {
      app.post('/admin/clients', async (request, reply) => {
        requireAdministrator(request);
        const { replace, ...registration } = objectBody(request.body);
        if (replace !== undefined && typeof replace !== 'boolean') {
          throw new MdlError(MdlErrorCode.BadInput, 'replace must be a boolean');
        }
        const saved = await oauth.registerClient(registration as unknown as ClientRegistration, {
          replace: replace === true,
        });
        return reply.code(201).send(saved);
      });
      app.get('/admin/clients', async (request) => {
        requireAdministrator(request);
        return { clients: await oauth.listClients() };
      });
      app.delete<{ Params: { id: string } }>('/admin/clients/:id', async (request, reply) => {
        requireAdministrator(request);
        if (!(await oauth.removeClient(request.params.id))) {
          throw new MdlError(MdlErrorCode.NotFound, 'no such client');
        }
        return reply.code(204).send();
      });
    },
  };
}
