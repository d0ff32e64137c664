/**
 * Subscriptions at the FHIR API (R5 Backport IG on R4; docs/fhir.md, *Subscriptions*):
 *
 * | route | what |
 * |---|---|
 * | `POST /fhir/Subscription` | create (201; websocket: `active`; rest-hook: `active` once the endpoint took the handshake, else `error`) |
 * | `GET /fhir/Subscription`, `GET/PUT/DELETE /fhir/Subscription/:id` | the caller's own subscriptions (anyone else's: 404) |
 * | `GET /fhir/Subscription/:id/$status` | the backport's subscription status (a searchset Bundle of one Parameters) |
 * | `GET\|POST /fhir/Subscription/:id/$get-ws-binding-token` | a binding token for the WebSocket, valid 60 s |
 * | `GET /fhir/SubscriptionTopic[/:name]` | the topics, as R4 Basic resources |
 * | `GET /fhir/ws` (WebSocket) | send `bind-with-token <token>`; receive handshake, heartbeat and event notifications |
 *
 * The WebSocket needs no bearer token: the binding token is its credential. Inbound messages are at most 4 KiB.
 */
import fastifyWebsocket from '@fastify/websocket';
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { FastifyRequest } from 'fastify';
import type { Feature } from '../NodeContext.js';
import type { SubscriptionHub } from './SubscriptionHub.js';
import { TOPICS, topicResource } from './topics.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
export const WEBSOCKET_PATH = '/fhir/ws';

function credentialOf(request: FastifyRequest) {
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(request.headers.authorization ?? '');
  if (!m || !request.access)
    throw new MdlError(MdlErrorCode.Unauthenticated, 'a valid bearer token is required');
  const purpose = request.headers['x-purpose-of-use'];
  return { token: m[1]!, ...(typeof purpose === 'string' ? { purpose } : {}) };
}

export function websocketUrl(base: string): string {
  const u = new URL(base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/$/, '')}/ws`;
  return u.toString();
}

export function subscriptionFeature(hub: SubscriptionHub, baseUrl: () => string): Feature {
  return {
    publicPaths: [WEBSOCKET_PATH],
    async register(app) {
      await app.register(fastifyWebsocket, { options: { maxPayload: 4096 } });

      app.get(WEBSOCKET_PATH, { websocket: true }, (socket) => {
        socket.on('message', (data, isBinary) => {
          const text = isBinary ? '' : data.toString().trim();
          const bind = /^bind-with-token ([A-Za-z0-9_-]{1,128})$/.exec(text);
          if (bind) return hub.bind(socket, bind[1]!);
          if (text === 'unbind') return hub.unbind(socket);
          socket.send(
            JSON.stringify({
              resourceType: 'OperationOutcome',
              issue: [
                { severity: 'error', code: 'not-supported', diagnostics: 'send bind-with-token <token>' },
              ],
            }),
          );
        });
        socket.on('close', () => hub.unbind(socket));
        socket.on('error', () => hub.unbind(socket));
      });

      app.get('/fhir/SubscriptionTopic', async (_request, reply) =>
        reply.type(FHIR_JSON).send({
          resourceType: 'Bundle',
          type: 'searchset',
          entry: TOPICS.map((t) => ({
            fullUrl: `${baseUrl()}/SubscriptionTopic/${t.name}`,
            resource: topicResource(baseUrl(), t),
            search: { mode: 'match' },
          })),
        }),
      );
      app.get<{ Params: { name: string } }>('/fhir/SubscriptionTopic/:name', async (request, reply) => {
        const topic = TOPICS.find((t) => t.name === request.params.name);
        if (!topic) throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
        return reply.type(FHIR_JSON).send(topicResource(baseUrl(), topic));
      });

      app.post('/fhir/Subscription', async (request, reply) => {
        const created = await hub.create(request.access!, credentialOf(request), request.body);
        return reply
          .code(201)
          .type(FHIR_JSON)
          .header('Location', `${baseUrl()}/Subscription/${created.id}`)
          .send(created);
      });
      app.get('/fhir/Subscription', async (request, reply) =>
        reply.type(FHIR_JSON).send(hub.list(request.access!)),
      );
      app.get<{ Params: { id: string } }>('/fhir/Subscription/:id', async (request, reply) =>
        reply.type(FHIR_JSON).send(await hub.read(request.access!, request.params.id)),
      );
      app.put<{ Params: { id: string } }>('/fhir/Subscription/:id', async (request, reply) =>
        reply
          .type(FHIR_JSON)
          .send(await hub.update(request.access!, credentialOf(request), request.params.id, request.body)),
      );
      app.delete<{ Params: { id: string } }>('/fhir/Subscription/:id', async (request, reply) => {
        await hub.delete(request.access!, request.params.id);
        return reply.code(204).send();
      });
      app.get<{ Params: { id: string } }>('/fhir/Subscription/:id/$status', async (request, reply) =>
        reply.type(FHIR_JSON).send(await hub.status(request.access!, request.params.id)),
      );
      const token = async (request: FastifyRequest<{ Params: { id: string } }>) =>
        hub.bindingToken(request.access!, request.params.id, websocketUrl(baseUrl()));
      app.get<{ Params: { id: string } }>(
        '/fhir/Subscription/:id/$get-ws-binding-token',
        async (request, reply) => reply.type(FHIR_JSON).send(await token(request)),
      );
      app.post<{ Params: { id: string } }>(
        '/fhir/Subscription/:id/$get-ws-binding-token',
        async (request, reply) => reply.type(FHIR_JSON).send(await token(request)),
      );
    },
    stop: () => hub.stop(),
  };
}

/** The CapabilityStatement's Subscription entry, with the topics this node offers (backport canonical extension). */
export function withSubscriptions(capability: unknown, base: string): unknown {
  const cs = capability as { rest?: { resource?: { type: string }[] }[] };
  const rest = cs.rest?.[0];
  if (!rest) return capability;
  const entry = {
    type: 'Subscription',
    documentation: `Topic-based subscriptions (Subscriptions R5 Backport IG on R4): channels websocket (bind at ${websocketUrl(base)} with a token from $get-ws-binding-token) and rest-hook (endpoints on the node's allow-list). Only the caller's own subscriptions are visible.`,
    extension: TOPICS.map((t) => ({
      url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical',
      valueCanonical: `${base}/SubscriptionTopic/${t.name}`,
    })),
    interaction: ['create', 'read', 'update', 'delete', 'search-type'].map((code) => ({ code })),
  };
  // Its operations ($status, $get-ws-binding-token) are declared with the node's others, with their definitions.
  const declared = (rest.resource ?? []).find((r) => r.type === 'Subscription') as
    | { operation?: unknown }
    | undefined;
  const resources = (rest.resource ?? []).filter((r) => r.type !== 'Subscription');
  const withOps = declared?.operation ? { ...entry, operation: declared.operation } : entry;
  return { ...cs, rest: [{ ...rest, resource: [...resources, withOps] }, ...(cs.rest?.slice(1) ?? [])] };
}
