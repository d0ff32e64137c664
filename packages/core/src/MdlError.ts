/**
 * The one error base class of medledger. Every error that crosses a module boundary is an MdlError with a
 * stable code; the edge maps codes to FHIR OperationOutcome / HTTP status in one place.
 *
 * Messages must never contain PHI or secret material: they are written to logs and returned to callers.
 */

/** Stable error codes. Codes are API: add new ones, never rename or reuse. */
export const MdlErrorCode = {
  /** Input is malformed (wrong length, bad encoding, unknown version). */
  BadInput: 'MDL_BAD_INPUT',
  /** An envelope, key file or proof is of an unsupported format version or algorithm. */
  Unsupported: 'MDL_UNSUPPORTED',
  /** Decryption or authentication failed. Deliberately says nothing about which check failed. */
  DecryptFailed: 'MDL_DECRYPT_FAILED',
  /** A keystore was opened with the wrong passphrase. */
  KeystoreWrongPassphrase: 'MDL_KEYSTORE_WRONG_PASSPHRASE',
  /** A keystore file is damaged or is not a keystore. */
  KeystoreCorrupt: 'MDL_KEYSTORE_CORRUPT',
  /** A key id is not in the keystore or key ring. */
  KeyNotFound: 'MDL_KEY_NOT_FOUND',
  /** A content identifier does not match the bytes it names. */
  CidMismatch: 'MDL_CID_MISMATCH',
  /** The requested resource, version or blob does not exist — or the caller may not know that it does. */
  NotFound: 'MDL_NOT_FOUND',
  /** The resource existed and was deleted. */
  Gone: 'MDL_GONE',
  /** A write was based on a version that is no longer current (FHIR If-Match, optimistic locking). */
  VersionConflict: 'MDL_VERSION_CONFLICT',
  /** A conditional operation matched more than one resource. */
  MultipleMatches: 'MDL_MULTIPLE_MATCHES',
  /** The request carries no valid credential. */
  Unauthenticated: 'MDL_UNAUTHENTICATED',
  /** Configuration is missing or invalid. */
  Config: 'MDL_CONFIG',
  /** A dependency (chain, database, blob store) failed or is unreachable. */
  Unavailable: 'MDL_UNAVAILABLE',
  /**
   * The caller is authenticated but may not do this. Only for operations that reveal nothing about patient
   * data (administration, token scope on a whole interaction); denied access to patient data is NotFound.
   */
  Forbidden: 'MDL_FORBIDDEN',
  /** Too many attempts (login throttling, request rate); retry later. */
  RateLimited: 'MDL_RATE_LIMITED',
  /** A login, second factor or signed credential was refused. Says nothing about which part was wrong. */
  InvalidCredential: 'MDL_INVALID_CREDENTIAL',
  /** A signed request or message was seen before, or is outside its validity window. */
  Replay: 'MDL_REPLAY',
  /** The operation conflicts with the current state (e.g. an account or grant that already exists). */
  Conflict: 'MDL_CONFLICT',
  /** The endpoint exists but does not take this HTTP method (FHIR: 405). */
  MethodNotAllowed: 'MDL_METHOD_NOT_ALLOWED',
  /** The client asked for a representation the server does not produce (Accept, `_format`; FHIR: 406). */
  NotAcceptable: 'MDL_NOT_ACCEPTABLE',
  /** The request body is in a media type the endpoint does not take (FHIR: 415). */
  UnsupportedMediaType: 'MDL_UNSUPPORTED_MEDIA_TYPE',
  /** The request is well-formed but its result breaks the rules (a patch whose result is invalid; FHIR: 422). */
  Unprocessable: 'MDL_UNPROCESSABLE',
} as const;

export type MdlErrorCode = (typeof MdlErrorCode)[keyof typeof MdlErrorCode];

/**
 * One problem an error names, in the shape of a FHIR OperationOutcome.issue (the fhir package's `Issue` is this
 * type with its code narrowed to the R4 issue-type codes). `diagnostics` never echoes a value; `expression`
 * names the element or parameter at fault.
 */
export interface MdlIssue {
  severity: 'fatal' | 'error' | 'warning' | 'information';
  code: string;
  diagnostics: string;
  expression: string[];
}

export class MdlError extends Error {
  override readonly name = 'MdlError';
  readonly code: MdlErrorCode;
  /**
   * The problems in detail (for bad input: each offending element), as the edge reports them; empty when the
   * message says it all. The HTTP status still comes from `code`.
   */
  readonly issues: readonly MdlIssue[];

  constructor(
    code: MdlErrorCode,
    message: string,
    options?: { cause?: unknown; issues?: readonly MdlIssue[] | undefined },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options?.issues ?? [];
  }

  /** The same error with each issue's expression moved under `prefix` (a bundle entry, say); an issue naming
   * nothing is given the prefix itself. */
  under(prefix: string): MdlError {
    const issues =
      this.issues.length > 0
        ? this.issues.map((i) => ({
            ...i,
            expression: i.expression.length > 0 ? i.expression.map((e) => `${prefix}.${e}`) : [prefix],
          }))
        : [{ severity: 'error' as const, code: 'invalid', diagnostics: this.message, expression: [prefix] }];
    return new MdlError(this.code, this.message, { cause: this.cause, issues });
  }
}

/** Narrowing helper that also works across realms / duplicated module instances. */
export function isMdlError(err: unknown, code?: MdlErrorCode): err is MdlError {
  if (!(err instanceof Error) || err.name !== 'MdlError') return false;
  const actual = (err as { code?: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}
