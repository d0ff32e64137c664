/**
 * Building blocks of the route schemas (openapi.ts explains that they describe and do not enforce): the
 * error shape every route answers with, the security requirements, and small JSON Schema helpers.
 */

/** Every error of the node: a FHIR OperationOutcome (application/fhir+json), server.ts' error handler. */
export const OPERATION_OUTCOME_SCHEMA = {
  $id: 'OperationOutcome',
  title: 'OperationOutcome',
  description:
    'A FHIR R4 OperationOutcome: one issue or more, each with a severity, an issue type code, a message and, ' +
    'for bad input, the offending field in `expression` (the value is never quoted).',
  type: 'object',
  required: ['resourceType', 'issue'],
  properties: {
    resourceType: { const: 'OperationOutcome' },
    issue: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['severity', 'code'],
        properties: {
          severity: { enum: ['fatal', 'error', 'warning', 'information'] },
          code: {
            type: 'string',
            description: 'The FHIR issue type (invalid, forbidden, not-found, conflict…)',
          },
          diagnostics: { type: 'string' },
          expression: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;

const ERROR_TEXT: Record<number, string> = {
  400: 'The input is malformed or breaks a rule; the issue names the field',
  401: 'No valid bearer token (with a `WWW-Authenticate: Bearer` header)',
  403: 'The caller may not use this route',
  404: 'No such thing — or one the caller may not see (the two are indistinguishable)',
  409: 'The request conflicts with the current state',
  413: 'The body is larger than the node accepts',
  415: 'The body is not JSON (application/json or application/fhir+json)',
  429: 'Too many attempts (with a `Retry-After` header)',
  503: 'A component (database, chain) is unavailable',
};

/** The error responses of a route: an OperationOutcome for each status, and `default` for server errors. */
export function errors(...statuses: number[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const status of statuses) {
    out[status] = {
      description: ERROR_TEXT[status] ?? 'An error',
      content: { 'application/fhir+json': { schema: { $ref: 'OperationOutcome#' } } },
    };
  }
  out.default = {
    description: 'An unexpected server error (500), with no detail',
    content: { 'application/fhir+json': { schema: { $ref: 'OperationOutcome#' } } },
  };
  return out;
}

/** The errors of a route behind the bearer token: 401, plus the given ones. */
export const authErrors = (...statuses: number[]) => errors(401, ...statuses);

export const BEARER = [{ bearer: [] }];
export const PUBLIC: never[] = [];

/** A JSON response of a status with a description. */
export const json = (description: string, schema: Record<string, unknown>) => ({ description, ...schema });

/** An answer with no body. */
export const noContent = (description: string) => ({ description, type: 'null' });

export const str = (description: string, extra: Record<string, unknown> = {}) => ({
  type: 'string',
  description,
  ...extra,
});
export const int = (description: string, extra: Record<string, unknown> = {}) => ({
  type: 'integer',
  description,
  ...extra,
});
export const bool = (description: string) => ({ type: 'boolean', description });
export const dateTime = (description: string) => ({ type: 'string', format: 'date-time', description });
export const nullable = (schema: Record<string, unknown>) => ({ ...schema, type: [schema.type, 'null'] });

/** An object with the given properties, all required unless listed as optional. */
export function object(
  properties: Record<string, unknown>,
  options: { optional?: string[]; additional?: boolean; description?: string } = {},
) {
  const optional = new Set(options.optional ?? []);
  return {
    type: 'object',
    ...(options.description ? { description: options.description } : {}),
    properties,
    required: Object.keys(properties).filter((k) => !optional.has(k)),
    additionalProperties: options.additional ?? false,
  };
}

/** Path parameters, all strings. */
export const params = (names: Record<string, string>) =>
  object(Object.fromEntries(Object.entries(names).map(([k, d]) => [k, str(d)])));

/** A query string: its parameters described as the text they are (the routes parse them); all optional unless listed. */
export const query = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
});

export const ETHEREUM_ADDRESS = str('An Ethereum address (0x and 40 hex digits)', {
  pattern: '^0x[0-9a-fA-F]{40}$',
});
export const HASH = str('A 32-byte hash, 0x-prefixed hex', { pattern: '^0x[0-9a-fA-F]{64}$' });
export const BASE64URL = str('Bytes in base64url', { pattern: '^[A-Za-z0-9_-]*$' });
