/**
 * FHIR search routes: type search (`GET [type]`, `POST [type]/_search` with a form body), system-level
 * search (`GET /fhir?_type=…`) and Patient compartment search (`GET Patient/[id]/[type]`). Each hands the
 * request's own record operations to the SearchComposer; `_format` and `_pretty` are left to the HTTP layer.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RecordService } from '../services/RecordService.js';
import { SearchComposer } from '../services/SearchComposer.js';
import { query, recordsOf, requireType } from './fhirRequest.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const FORM = 'application/x-www-form-urlencoded';

export async function registerFhirSearchRoutes(app: FastifyInstance, records: RecordService): Promise<void> {
  const composer = (request: FastifyRequest) =>
    new SearchComposer({
      records: recordsOf(request),
      urlOf: (type, id) => records.urlOf(type, id),
      baseUrl: records.baseUrl(),
    });

  await app.register(async (scope) => {
    // `POST [type]/_search` takes its parameters as a form; no other body is meaningful there (415).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => done(null, body));

    scope.get('/fhir', async (request, reply) =>
      reply.type(FHIR_JSON).send(await composer(request).system(query(request), records.baseUrl())),
    );

    scope.get<{ Params: { type: string } }>('/fhir/:type', async (request, reply) => {
      const type = requireType(request.params.type);
      return reply
        .type(FHIR_JSON)
        .send(await composer(request).search(type, query(request), `${records.baseUrl()}/${type}`));
    });

    scope.post<{ Params: { type: string } }>('/fhir/:type/_search', async (request, reply) => {
      const type = requireType(request.params.type);
      // Query parameters first, then the form's: both are the search (R4 3.1.1.5.1).
      const params = query(request);
      if (typeof request.body === 'string')
        for (const [k, v] of new URLSearchParams(request.body)) params.append(k, v);
      return reply
        .type(FHIR_JSON)
        .send(await composer(request).search(type, params, `${records.baseUrl()}/${type}`));
    });

    scope.get<{ Params: { id: string; type: string } }>('/fhir/Patient/:id/:type', async (request, reply) => {
      const { id, type } = request.params;
      // `Patient/[id]/_history` is the instance history, not a compartment search (the router prefers this
      // route's static `Patient` segment over the generic history route's `:type`).
      if (type === '_history') {
        return reply
          .type(FHIR_JSON)
          .send(await recordsOf(request).history({ type: 'Patient', id }, query(request)));
      }
      requireType(type);
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
      const url = `${records.baseUrl()}/Patient/${id}/${type}`;
      return reply.type(FHIR_JSON).send(await composer(request).compartment(id, type, query(request), url));
    });
  });
}
