/**
 * The one way the app calls the node: same origin, the session's bearer token, JSON in and out. A failed call
 * throws ApiError, whose `message` is written for the person using the app (what happened and what to do),
 * from the answer's FHIR OperationOutcome when it has one. A 404 never hints that something hidden exists:
 * "not found or not shared with you" is all anyone learns.
 */
import { forgetSession, storedSession } from '../auth/oauth';

export interface OperationOutcomeIssue {
  severity?: string;
  code?: string;
  diagnostics?: string;
  expression?: string[];
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly issues: readonly OperationOutcomeIssue[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What to tell the person for an HTTP status (the outcome's own words are added for bad input). */
export function messageForStatus(status: number, diagnostics?: string, retryAfter?: number): string {
  switch (status) {
    case 0:
      return 'Cannot reach your organisation’s node. Check your connection and try again.';
    case 400:
    case 422:
      return diagnostics ? `Please correct this: ${diagnostics}` : 'Please check what you entered.';
    case 401:
      return 'Your session has ended. Sign in again to continue.';
    case 403:
      return 'Your role does not allow this. Ask your administrator if you need it.';
    case 404:
      return 'Not found, or not shared with you. If you need it, ask the patient for consent or use the emergency access your role allows.';
    case 409:
      return diagnostics
        ? `This conflicts with the current state: ${diagnostics}`
        : 'This changed meanwhile. Reload and try again.';
    case 412:
      return 'Someone changed this meanwhile. Reload to see their change, then try again.';
    case 429:
      return `Too many attempts. Wait ${retryAfter ?? 60} seconds and try again.`;
    default:
      return 'The node could not complete this. Try again; if it keeps failing, tell your administrator.';
  }
}

export interface RequestOptions {
  method?: string;
  /** A JSON body (sent as application/fhir+json for /fhir paths, application/json otherwise). */
  json?: unknown;
  /** A raw body with its own content type. */
  body?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Send without the bearer token (public endpoints). */
  anonymous?: boolean;
  /**
   * The request carries a step-up secret (the key passphrase that signs a consent): a 401 answers that secret,
   * not the session, so the session is kept and the message asks for the secret again.
   */
  stepUp?: boolean;
}

export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {
    Accept: 'application/fhir+json, application/json',
    ...options.headers,
  };
  if (!options.anonymous) {
    const session = storedSession();
    if (!session) throw new ApiError(messageForStatus(401), 401);
    headers.Authorization = `Bearer ${session.accessToken}`;
  }
  let body = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] = path.startsWith('/fhir') ? 'application/fhir+json' : 'application/json';
    body = JSON.stringify(options.json);
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(messageForStatus(0), 0);
  }
  if (!response.ok) {
    let issues: OperationOutcomeIssue[] = [];
    try {
      const outcome = (await response.json()) as { resourceType?: string; issue?: OperationOutcomeIssue[] };
      if (outcome.resourceType === 'OperationOutcome') issues = outcome.issue ?? [];
    } catch {
      // not JSON: the status says enough
    }
    if (response.status === 401 && options.stepUp) {
      throw new ApiError('That password is not correct. Type it again.', 401, issues);
    }
    if (response.status === 401) forgetSession();
    const retryAfter = Number(response.headers.get('Retry-After') ?? '') || undefined;
    throw new ApiError(
      messageForStatus(response.status, issues[0]?.diagnostics, retryAfter),
      response.status,
      issues,
      retryAfter,
    );
  }
  return response;
}

/** A JSON answer (undefined for 204). */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await request(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** The person-facing message of any error. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return messageForStatus(500);
}
