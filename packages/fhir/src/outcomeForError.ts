/**
 * The one place where error codes become HTTP statuses and OperationOutcome issue codes. MdlError messages
 * are written PHI-free and are passed on as diagnostics; integrity failures get a fixed text (saying which
 * check failed would help an attacker), and anything that is not an MdlError is an internal error whose
 * message is never shown.
 */
import { isMdlError, type MdlErrorCode } from '@medledger/core';
import { ISSUE_CODES, type Issue, type IssueCode } from './Issue.js';
import { type OperationOutcome, operationOutcome } from './operationOutcome.js';

interface Mapping {
  status: number;
  code: IssueCode;
  /** Fixed diagnostics replacing the error's message. */
  text?: string;
}

const INTEGRITY = 'stored data failed an integrity check';
const INTERNAL_TEXT = 'internal error';

/** Every code, so that adding one without deciding its status does not compile. */
const MAPPING: Readonly<Record<MdlErrorCode, Mapping>> = {
  MDL_BAD_INPUT: { status: 400, code: 'invalid' },
  MDL_UNSUPPORTED: { status: 400, code: 'not-supported' },
  MDL_NOT_FOUND: { status: 404, code: 'not-found' },
  MDL_GONE: { status: 410, code: 'deleted' },
  MDL_VERSION_CONFLICT: { status: 412, code: 'conflict' },
  MDL_MULTIPLE_MATCHES: { status: 412, code: 'multiple-matches' },
  MDL_UNAUTHENTICATED: { status: 401, code: 'login' },
  MDL_UNAVAILABLE: { status: 503, code: 'transient' },
  MDL_FORBIDDEN: { status: 403, code: 'forbidden' },
  MDL_RATE_LIMITED: { status: 429, code: 'throttled' },
  MDL_INVALID_CREDENTIAL: { status: 401, code: 'security' },
  MDL_REPLAY: { status: 401, code: 'security' },
  MDL_CONFLICT: { status: 409, code: 'conflict' },
  MDL_METHOD_NOT_ALLOWED: { status: 405, code: 'not-supported' },
  MDL_NOT_ACCEPTABLE: { status: 406, code: 'not-supported' },
  MDL_UNSUPPORTED_MEDIA_TYPE: { status: 415, code: 'not-supported' },
  MDL_UNPROCESSABLE: { status: 422, code: 'processing' },
  MDL_DECRYPT_FAILED: { status: 500, code: 'exception', text: INTEGRITY },
  MDL_CID_MISMATCH: { status: 500, code: 'exception', text: INTEGRITY },
  MDL_KEY_NOT_FOUND: { status: 500, code: 'exception', text: INTEGRITY },
  // Server-side faults whose messages may name files, settings or key ids: never shown to a client.
  MDL_CONFIG: { status: 500, code: 'exception', text: INTERNAL_TEXT },
  MDL_KEYSTORE_WRONG_PASSPHRASE: { status: 500, code: 'exception', text: INTERNAL_TEXT },
  MDL_KEYSTORE_CORRUPT: { status: 500, code: 'exception', text: INTERNAL_TEXT },
};

const INTERNAL: Mapping = { status: 500, code: 'exception', text: INTERNAL_TEXT };

const KNOWN_ISSUE_CODES: ReadonlySet<string> = new Set(ISSUE_CODES);

/** The HTTP status of an error (500 for anything that is not an MdlError). */
export function statusForError(err: unknown): number {
  return (isMdlError(err) ? MAPPING[err.code] : undefined)?.status ?? INTERNAL.status;
}

export function outcomeForError(err: unknown): { status: number; outcome: OperationOutcome } {
  const m = (isMdlError(err) ? MAPPING[err.code] : undefined) ?? INTERNAL;
  const detailed = m.text === undefined && isMdlError(err) ? err.issues : [];
  const issues: Issue[] =
    detailed.length > 0
      ? detailed.map((i) => ({
          severity: i.severity,
          code: KNOWN_ISSUE_CODES.has(i.code) ? (i.code as IssueCode) : m.code,
          diagnostics: i.diagnostics,
          expression: [...i.expression],
        }))
      : [{ severity: 'error', code: m.code, diagnostics: m.text ?? (err as Error).message, expression: [] }];
  return { status: m.status, outcome: operationOutcome(issues) };
}
