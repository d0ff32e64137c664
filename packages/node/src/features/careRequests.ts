/**
 * Request helpers of the care feature: who is calling (administrator, auditor, patient…) and input checks
 * whose errors name the offending field (an OperationOutcome issue with an expression), never its value.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { FastifyRequest } from 'fastify';
import type { Caller, PersonCaller } from '../access/Caller.js';

/** MDL_BAD_INPUT naming `field` (message and OperationOutcome expression); the value is never echoed. */
export function badInput(field: string, message: string): MdlError {
  const diagnostics = `${field}: ${message}`;
  return new MdlError(MdlErrorCode.BadInput, diagnostics, {
    issues: [{ severity: 'error', code: 'invalid', diagnostics, expression: [field] }],
  });
}

export const forbidden = (message: string) => new MdlError(MdlErrorCode.Forbidden, message);
export const notFound = (message = 'resource not found') => new MdlError(MdlErrorCode.NotFound, message);

/** The authenticated caller (server.ts' hook has set it on every non-public route). */
export function callerOf(request: FastifyRequest): Caller {
  const caller = request.access?.caller;
  if (!caller) throw new MdlError(MdlErrorCode.Unauthenticated, 'a valid bearer token is required');
  return caller;
}

/**
 * Administrators: the organisation acting as itself with a node API token (an admin account's token, no
 * SMART scopes), or a person whose role is admin. SMART Backend Services clients (scoped system callers) are
 * EHR integrations, not administrators.
 */
export function requireAdministrator(request: FastifyRequest): Caller {
  const caller = callerOf(request);
  if (request.access?.allows('update', 'Administration')) return caller;
  throw forbidden('administration is for the organisation’s administrators');
}

export function requirePerson(request: FastifyRequest, what: string): PersonCaller {
  const caller = callerOf(request);
  if (caller.kind !== 'person') throw forbidden(`${what} is for people, not for system clients`);
  return caller;
}

/** A JSON object body (absent counts as empty when `optional`). */
export function objectBody(body: unknown, optional = false): Record<string, unknown> {
  if (body === undefined || body === null) {
    if (optional) return {};
    throw badInput('body', 'a JSON object is required');
  }
  if (typeof body !== 'object' || Array.isArray(body)) throw badInput('body', 'a JSON object is required');
  return body as Record<string, unknown>;
}

/** C0 controls and DEL (tab, line feed and carriage return allowed in multi-line text). */
function hasControl(v: string, multiline: boolean): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (multiline && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** What is left of a text once its invisible parts — format characters (\p{Cf}: zero-width spaces, bidi marks) and whitespace — are gone. */
const visible = (v: string) => v.replace(/[\p{Cf}\p{White_Space}]/gu, '');

/**
 * A trimmed string of at most `max` characters without control characters (newlines allowed) that shows
 * something: one made only of format characters and whitespace counts as empty.
 */
export function text(value: unknown, field: string, max: number, options: { multiline?: boolean } = {}) {
  if (typeof value !== 'string') throw badInput(field, 'a non-empty string is required');
  const v = value.normalize('NFC').trim();
  if (visible(v).length === 0) throw badInput(field, 'must not be empty');
  if (v.length > max) throw badInput(field, `at most ${max} characters`);
  if (hasControl(v, options.multiline === true)) throw badInput(field, 'must not contain control characters');
  return v;
}

/** Fewest letters or digits a justification must have. */
export const MIN_JUSTIFICATION = 3;

/**
 * Free text that justifies an action (a break-glass reason, a review finding): `text` that states something in
 * words — at least MIN_JUSTIFICATION letters or digits, one of them a letter, once format characters and
 * whitespace are set aside. Punctuation or symbols alone ("...", "!!!") are no reason.
 */
export function justification(value: unknown, field: string, max: number): string {
  const v = text(value, field, max, { multiline: true });
  const shown = visible(v);
  const words = shown.match(/[\p{L}\p{N}]/gu)?.length ?? 0;
  if (words < MIN_JUSTIFICATION || !/\p{L}/u.test(shown)) {
    throw badInput(field, `must say why in words (at least ${MIN_JUSTIFICATION} letters or digits)`);
  }
  return v;
}

export function optionalText(value: unknown, field: string, max: number): string | undefined {
  return value === undefined ? undefined : text(value, field, max);
}

/** A time given as Unix seconds or an ISO 8601 date-time; returned as Unix seconds. */
export function unixTime(value: unknown, field: string): number {
  let seconds: number | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) seconds = value;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) seconds = Math.floor(ms / 1000);
  }
  if (seconds === undefined || seconds > 2 ** 40 - 1) {
    throw badInput(field, 'Unix seconds or an ISO 8601 date-time expected');
  }
  return seconds;
}

/** A session or other on-chain counter id from a path segment. */
export function positiveId(value: unknown, field: string): number {
  if (typeof value !== 'string' || !/^[1-9]\d{0,14}$/.test(value)) throw notFound('no such session');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw badInput(field, 'out of range');
  return n;
}

export const isoOf = (seconds: number) => new Date(seconds * 1000).toISOString();
