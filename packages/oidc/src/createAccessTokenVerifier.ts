/**
 * Verifies the access tokens this server issues for the FHIR API (RFC 9068 JWTs, `typ: at+jwt`) without a
 * database round trip: signature against our own keys (imported once), issuer, audience, expiry and
 * not-before with a small leeway, and the claims the FHIR layer relies on. Any failure is the same
 * MdlError Unauthenticated, saying nothing of which check failed.
 *
 * Limits: tokens are self-contained, so revoking a grant or disabling an account takes effect when the access
 * token expires (keep its lifetime short); refresh is refused at once.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { importJWK, type JWK, type JWTHeaderParameters, jwtVerify } from 'jose';
import { splitScopes } from './smartScopes.js';

export interface AccessTokenInfo {
  /** Account id for a person, client id for a system client. */
  readonly subject: string;
  readonly clientId: string;
  /** `user` when a person signed in, `system` for SMART Backend Services (client_credentials). */
  readonly kind: 'user' | 'system';
  readonly scopes: string[];
  /** FHIR Patient id of the patient context (patient users). */
  readonly patient?: string;
  /** The FHIR resource the user is, relative to the FHIR base (e.g. `Practitioner/abc`). */
  readonly fhirUser?: string;
  readonly role?: string;
  readonly organisation?: string;
  /** People: how they authenticated at sign-in (RFC 8176 values, e.g. `pwd`, `otp`, `mfa`). */
  readonly amr?: string[];
  /** People: when they signed in. */
  readonly authTime?: Date;
  readonly expiresAt: Date;
}

export interface AccessTokenVerifierOptions {
  issuer: string;
  audience: string;
  /** Public (or private: only the public part is used) signing JWKs with `kid` and `alg`. */
  keys: readonly JWK[];
  /** Leeway for `exp` / `nbf` / `iat`, in seconds (default 5). */
  clockToleranceSeconds?: number;
}

const MAX_TOKEN_LENGTH = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function refused(): MdlError {
  return new MdlError(MdlErrorCode.Unauthenticated, 'invalid access token');
}

const optionalString = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v : undefined;

export function createAccessTokenVerifier(
  options: AccessTokenVerifierOptions,
): (bearer: string) => Promise<AccessTokenInfo> {
  const algorithms = [...new Set(options.keys.map((k) => k.alg).filter((a): a is string => !!a))];
  // Key import is the expensive step of a verification: done once, shared by every call.
  const keys = new Map(
    options.keys.map((jwk) => {
      const { d: _d, ...pub } = jwk;
      const imported = importJWK(pub, jwk.alg);
      // A key that fails to import fails the verifications that select it, not the process.
      imported.catch(() => undefined);
      return [jwk.kid ?? '', imported] as const;
    }),
  );
  const getKey = (header: JWTHeaderParameters) => {
    const key = header.kid === undefined ? undefined : keys.get(header.kid);
    if (!key) throw refused();
    return key;
  };
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms,
    typ: 'at+jwt',
    clockTolerance: options.clockToleranceSeconds ?? 5,
    requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
  };

  return async (bearer: string) => {
    if (typeof bearer !== 'string' || bearer.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(bearer)) {
      throw refused();
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(bearer, getKey, verifyOptions));
    } catch {
      throw refused();
    }
    const subject = optionalString(payload.sub);
    const clientId = optionalString(payload.client_id);
    const kind = payload.kind;
    if (!subject || !clientId || (kind !== 'user' && kind !== 'system') || typeof payload.exp !== 'number') {
      throw refused();
    }
    const patient = optionalString(payload.patient);
    const fhirUser = optionalString(payload.fhirUser);
    const role = optionalString(payload.role);
    const organisation = optionalString(payload.organisation);
    const amr = Array.isArray(payload.amr)
      ? payload.amr.filter((m): m is string => typeof m === 'string')
      : [];
    const authTime = typeof payload.auth_time === 'number' ? new Date(payload.auth_time * 1000) : undefined;
    return {
      subject,
      clientId,
      kind,
      scopes: splitScopes(payload.scope),
      ...(patient === undefined ? {} : { patient }),
      ...(fhirUser === undefined ? {} : { fhirUser }),
      ...(role === undefined ? {} : { role }),
      ...(organisation === undefined ? {} : { organisation }),
      ...(amr.length ? { amr } : {}),
      ...(authTime === undefined ? {} : { authTime }),
      expiresAt: new Date(payload.exp * 1000),
    };
  };
}
