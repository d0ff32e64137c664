/**
 * `$verify` a page at a time: `GET /fhir/$verify?_count=N` checks the first N record versions and answers with a
 * `cursor` for the next page (absent on the last) and, on the first page, the `total` of versions to check, so
 * a client can show progress and a verification of millions of versions is many short requests instead of one
 * that says nothing for minutes. Without `_count` the whole store is checked in one answer, as before.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { FastifyRequest } from 'fastify';
import type { RecordService, VersionKey } from '../services/RecordService.js';
import { query } from './fhirRequest.js';

/** The largest page: a page is one request, and a request should answer within seconds. */
export const MAX_VERIFY_PAGE = 5000;

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** The opaque cursor of the version a page ended with. */
function encodeCursor(key: VersionKey): string {
  return Buffer.from(JSON.stringify([key.type, key.id, key.version])).toString('base64url');
}

function decodeCursor(cursor: string): VersionKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 3 &&
    typeof parsed[0] === 'string' &&
    /^[A-Za-z]{1,64}$/.test(parsed[0]) &&
    typeof parsed[1] === 'string' &&
    ID.test(parsed[1]) &&
    Number.isInteger(parsed[2]) &&
    parsed[2] >= 1
  ) {
    return { type: parsed[0], id: parsed[1], version: parsed[2] };
  }
  throw new MdlError(MdlErrorCode.BadInput, 'cursor is not one this node gave out');
}

/** The `$verify` answer for a request: one page if it asked for `_count`, else the whole store. */
export async function verifyRecords(request: FastifyRequest, records: RecordService): Promise<unknown> {
  const params = query(request);
  const count = params.get('_count');
  const cursor = params.get('cursor');
  if (count === null) {
    if (cursor !== null) throw new MdlError(MdlErrorCode.BadInput, 'cursor goes with _count');
    return records.verifyAll(request.access!);
  }
  if (!/^\d{1,9}$/.test(count) || Number(count) < 1 || Number(count) > MAX_VERIFY_PAGE) {
    throw new MdlError(MdlErrorCode.BadInput, `_count must be an integer from 1 to ${MAX_VERIFY_PAGE}`);
  }
  const from = cursor === null ? undefined : decodeCursor(cursor);
  const total = from === undefined ? (await records.indexStats()).versions : undefined;
  const { next, ...page } = await records.verifyAll(request.access!, { from, limit: Number(count) });
  return {
    ...page,
    ...(total === undefined ? {} : { total: Number(total) }),
    ...(next ? { cursor: encodeCursor(next) } : {}),
  };
}
