/** What every FHIR route reads off a request: its record operations, its query, the resource type it names. */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { isResourceType } from '@medledger/fhir';
import type { FastifyRequest } from 'fastify';
import type { Records } from '../services/RecordService.js';

/** An R4 resource type, or the 404 an unknown type gets. */
export function requireType(type: string): string {
  if (!isResourceType(type)) throw new MdlError(MdlErrorCode.NotFound, 'unknown resource type');
  return type;
}

/** The request's record operations (set with its access by the authentication hook). */
export function recordsOf(request: FastifyRequest): Records {
  if (!request.records) throw new MdlError(MdlErrorCode.Unauthenticated, 'a valid bearer token is required');
  return request.records;
}

/** The request's query parameters, as the client sent them (repeated names kept, in order). */
export function query(request: FastifyRequest): URLSearchParams {
  const i = request.url.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : request.url.slice(i + 1));
}
