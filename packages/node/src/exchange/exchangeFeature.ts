/**
 * Node-to-node exchange (docs/exchange.md, *In the node*). Routes:
 * - `GET /fhir/.well-known/medledger-key-bundle` (public): this organisation's encoded public key bundle, what
 *   the registry's keyBundleUri names and its keyBundleHash commits to;
 * - `POST /fhir/$exchange` (public: authenticated by the request's composite signature, not a bearer token):
 *   the custodian endpoint — sealed request bytes in, sealed response bytes out (application/octet-stream);
 * - `POST /fhir/$exchange-request` (bearer): a practitioner asks another organisation's node for a patient's
 *   records (FHIR Parameters in, a `collection` Bundle of the decrypted resources out, 404 for a denial).
 *
 * Logs carry the exchange's request / receipt ids, the peer organisation and the outcome — never a patient
 * pseudonym, a practitioner or any content.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { OrganisationKeys } from '@medledger/exchange';
import type { FastifyInstance } from 'fastify';
import type { Hex } from 'viem';
import { EXCHANGE_EXPORT, EXCHANGE_IMPORT, peerAgents } from '../audit/auditEvents.js';
import type { OrganisationNames } from '../features/directoryRoutes.js';
import type { Feature, NodeContext } from '../NodeContext.js';
import { ExchangeCustodian, isExchangeRefusal } from './ExchangeCustodian.js';
import { ExchangeRequester, type ReceivedResources } from './ExchangeRequester.js';
import { ExchangeStore } from './ExchangeStore.js';
import { parseExchangeParameters } from './exchangeParameters.js';
import { OrganisationDirectory } from './OrganisationDirectory.js';

export const KEY_BUNDLE_PATH = '/fhir/.well-known/medledger-key-bundle';
export const EXCHANGE_PATH = '/fhir/$exchange';
export const EXCHANGE_REQUEST_PATH = '/fhir/$exchange-request';
/** The system of Bundle.identifier in an exchange's result: the receipt id both nodes store. */
export const EXCHANGE_RECEIPT_SYSTEM = 'urn:medledger:exchange-receipt';

const OCTETS = 'application/octet-stream';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
/** A sealed request is exactly 9,363 bytes; leave room, refuse anything much larger before reading it. */
const REQUEST_BODY_LIMIT = 16 * 1024;

function resultBundle(received: ReceivedResources): unknown {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    identifier: { system: EXCHANGE_RECEIPT_SYSTEM, value: received.receiptId },
    timestamp: new Date().toISOString(),
    entry: received.resources.map(({ resource }) => ({
      ...(resource.id === undefined
        ? {}
        : { fullUrl: `${received.custodianEndpoint}/${resource.resourceType}/${resource.id}` }),
      resource,
    })),
  };
}

/** The exchange's receipt, as an audit entity (both nodes keep the receipt under this id). */
function receiptEntity(receiptId: string): Record<string, unknown> {
  return {
    what: { identifier: { system: EXCHANGE_RECEIPT_SYSTEM, value: receiptId } },
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
      code: '2',
      display: 'System Object',
    },
  };
}

/**
 * `custodian` may name the organisation as people read it (`valueString`, as `GET /directory/organisations`
 * lists it, any case) instead of its registry id (`valueInteger`): the name becomes the id here, before the
 * parameters are read. No active organisation, or more than one, by that name is refused like any malformed
 * parameter.
 */
async function custodianById(body: unknown, names: OrganisationNames): Promise<unknown> {
  const params = (body as { parameter?: unknown } | null)?.parameter;
  if (!Array.isArray(params)) return body;
  const named = params.find(
    (p: { name?: unknown; valueString?: unknown }) =>
      p?.name === 'custodian' && typeof p.valueString === 'string',
  ) as { valueString: string } | undefined;
  if (!named) return body;
  const wanted = named.valueString.trim().toLowerCase();
  const matches = (await names.organisations()).filter((o) => o.name.toLowerCase() === wanted);
  if (matches.length !== 1) {
    throw new MdlError(
      MdlErrorCode.BadInput,
      matches.length === 0
        ? 'Parameters: custodian names no active organisation (GET /directory/organisations lists them)'
        : 'Parameters: custodian names more than one organisation; give its registry id (valueInteger)',
    );
  }
  const id = Number(matches[0]!.id);
  return {
    ...(body as object),
    parameter: params.map((p) => (p === named ? { name: 'custodian', valueInteger: id } : p)),
  };
}

export function exchangeFeature(ctx: NodeContext, names: OrganisationNames): Feature {
  const keys = OrganisationKeys.fromKeyBundle(ctx.organisationId, ctx.bundle);
  const directory = new OrganisationDirectory(ctx.ledger);
  const store = new ExchangeStore(ctx.db);
  const custodian = new ExchangeCustodian({
    db: ctx.db,
    consent: ctx.consent,
    links: ctx.links,
    records: ctx.records,
    directory,
    store,
    keys,
  });
  const requester = new ExchangeRequester({
    consent: ctx.consent,
    directory,
    store,
    keys,
    organisationId: ctx.organisationId,
  });
  const encodedBundle = Buffer.from(ctx.bundle.publicBundle.encoded);

  return {
    publicPaths: [KEY_BUNDLE_PATH, EXCHANGE_PATH],
    async register(app: FastifyInstance) {
      app.get(KEY_BUNDLE_PATH, async (_request, reply) =>
        reply.type(OCTETS).header('cache-control', 'public, max-age=60').send(encodedBundle),
      );

      await app.register(async (scope) => {
        scope.addContentTypeParser(
          OCTETS,
          { parseAs: 'buffer', bodyLimit: REQUEST_BODY_LIMIT },
          (_r, body, done) => done(null, body),
        );
        scope.post(EXCHANGE_PATH, { bodyLimit: REQUEST_BODY_LIMIT }, async (request, reply) => {
          if (!Buffer.isBuffer(request.body)) {
            throw new MdlError(MdlErrorCode.BadInput, `the body must be ${OCTETS}`);
          }
          // Every exchange answered or refused is audited: a refusal names nobody (the request did not verify).
          request.auditDetail = { type: EXCHANGE_EXPORT, action: 'R', denied: true };
          try {
            const answer = await custodian.answer(new Uint8Array(request.body));
            const r = answer.receipt;
            const local = (await ctx.links.recordPseudonymsOf(ctx.db, [r.patient as Hex])).get(
              r.patient as Hex,
            );
            request.auditDetail = {
              type: EXCHANGE_EXPORT,
              action: 'R',
              agents: peerAgents(r.requester.organisation, r.practitioner.member, true),
              entities: [receiptEntity(r.receiptId)],
              ...(local ? { subjects: [{ pseudonym: local, breakGlass: r.breakGlass !== undefined }] } : {}),
              denied: r.outcome !== 'released',
            };
            request.log.info(
              {
                exchange: answer.receipt.requestId,
                receipt: answer.receipt.receiptId,
                requester: answer.receipt.requester.organisation,
                outcome: answer.receipt.outcome,
                records: answer.receipt.records.length,
              },
              'exchange answered',
            );
            return reply.type(OCTETS).send(Buffer.from(answer.bytes));
          } catch (error) {
            if (isExchangeRefusal(error)) {
              request.log.warn({ code: (error as MdlError).code }, 'exchange request refused');
            }
            throw error;
          }
        });
      });

      app.post(EXCHANGE_REQUEST_PATH, async (request, reply) => {
        const caller = request.access?.caller;
        if (caller?.kind !== 'person') {
          throw new MdlError(
            MdlErrorCode.Forbidden,
            'exchange requests are made on behalf of a practitioner, not a system account',
          );
        }
        const ask = parseExchangeParameters(await custodianById(request.body, names));
        const local = (await ctx.links.recordPseudonymsOf(ctx.db, [ask.patient])).get(ask.patient);
        request.auditDetail = {
          type: EXCHANGE_IMPORT,
          action: 'C',
          agents: peerAgents(ask.custodian, undefined, false),
          ...(local ? { subjects: [{ pseudonym: local }] } : {}),
        };
        try {
          const received = await requester.request(caller, ask);
          request.auditDetail.entities = [receiptEntity(received.receiptId)];
          request.log.info(
            {
              exchange: received.requestId,
              receipt: received.receiptId,
              custodian: ask.custodian,
              outcome: 'released',
              records: received.resources.length,
            },
            'exchange received',
          );
          return reply.type(FHIR_JSON).send(resultBundle(received));
        } catch (error) {
          if (error instanceof MdlError && error.code === MdlErrorCode.NotFound) {
            request.log.info({ custodian: ask.custodian, outcome: 'denied' }, 'exchange received');
          }
          throw error;
        }
      });
    },
    async stop() {
      keys.destroy();
    },
  };
}
