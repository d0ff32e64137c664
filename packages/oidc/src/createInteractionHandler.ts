/**
 * The user-facing half of an authorization request: oidc-provider stops at "this needs a login" or "this
 * needs consent" and sends the browser to `<prefix>/interaction/<uid>`; this handler renders the page, checks
 * what is posted back, and hands the result to oidc-provider, which continues the authorization request.
 *
 * CSRF: the interaction is found through its cookie (signed, HttpOnly, SameSite=Lax, scoped to this
 * interaction's path) and must match the uid in the URL, so a form posted from another site carries no
 * cookie and a stale page cannot act on a newer interaction. Errors never say which field was wrong.
 *
 * Consent also applies the account's limits: scopes the account cannot hold (patient scopes without a
 * patient context) are recorded as rejected, so the app receives only what was granted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isMdlError, MdlErrorCode } from '@medledger/core';
import { errors, type InteractionDetails, type Provider } from 'oidc-provider';
import type { AccountAuthority, AccountClaims } from './AccountAuthority.js';
import { FIRST_PARTY_PROPERTY } from './clientRegistration.js';
import { consentPage, loginPage, messagePage, PAGE_CSP } from './pages.js';
import { readForm } from './readForm.js';
import { accountMayHold } from './scopePolicy.js';

export type InteractionAction = 'login' | 'confirm' | 'abort';

export interface InteractionDeps {
  provider: Provider;
  authority: AccountAuthority;
  /** Path prefix the server is mounted under (the issuer's path), e.g. `/oauth`. */
  prefix: string;
}

const GENERIC_LOGIN_ERROR = 'Sign-in failed. Check what you entered and try again.';
const THROTTLED = 'Too many sign-in attempts. Wait a few minutes and try again.';
const EXPIRED =
  'This sign-in request has expired or was already used. Go back to the application and start again.';

function send(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.end(html);
}

function field(form: URLSearchParams, name: string, max: number): string | undefined {
  const value = form.get(name);
  return value !== null && value.length <= max ? value : undefined;
}

interface ScopeDecision {
  grantedOidc: string[];
  rejectedOidc: string[];
  resources: Array<{ indicator: string; granted: string[]; rejected: string[] }>;
}

function decide(details: InteractionDetails, claims: AccountClaims): ScopeDecision {
  const d = details.prompt.details;
  const oidc = Array.isArray(d.missingOIDCScope) ? (d.missingOIDCScope as string[]) : [];
  const resources = (d.missingResourceScopes ?? {}) as Record<string, string[]>;
  return {
    grantedOidc: oidc.filter((s) => accountMayHold(s, claims)),
    rejectedOidc: oidc.filter((s) => !accountMayHold(s, claims)),
    resources: Object.entries(resources).map(([indicator, scopes]) => ({
      indicator,
      granted: scopes.filter((s) => accountMayHold(s, claims)),
      rejected: scopes.filter((s) => !accountMayHold(s, claims)),
    })),
  };
}

export function createInteractionHandler(deps: InteractionDeps) {
  const { provider, authority, prefix } = deps;

  async function grantConsent(
    req: IncomingMessage,
    res: ServerResponse,
    details: InteractionDetails,
    decision: ScopeDecision,
    accountId: string,
  ): Promise<void> {
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    if (decision.grantedOidc.length) grant.addOIDCScope(decision.grantedOidc.join(' '));
    if (decision.rejectedOidc.length) grant.rejectOIDCScope(decision.rejectedOidc.join(' '));
    const claims = details.prompt.details.missingOIDCClaims;
    if (Array.isArray(claims) && claims.length) grant.addOIDCClaims(claims as string[]);
    for (const r of decision.resources) {
      if (r.granted.length) grant.addResourceScope(r.indicator, r.granted.join(' '));
      if (r.rejected.length) grant.rejectResourceScope(r.indicator, r.rejected.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: details.grantId ? {} : { grantId } },
      { mergeWithLastSubmission: true },
    );
  }

  return async function handleInteraction(
    req: IncomingMessage,
    res: ServerResponse,
    uid: string,
    action: InteractionAction | undefined,
  ): Promise<void> {
    const expectedMethod = action === undefined ? 'GET' : 'POST';
    if (req.method !== expectedMethod) {
      res.setHeader('Allow', expectedMethod);
      return send(res, 405, messagePage('Not allowed', 'This page cannot be used that way.'));
    }
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (error) {
      if (error instanceof errors.SessionNotFound)
        return send(res, 400, messagePage('Sign-in expired', EXPIRED));
      throw error;
    }
    if (details.uid !== uid) return send(res, 400, messagePage('Sign-in expired', EXPIRED));
    const client = await provider.Client.find(String(details.params.client_id));
    if (!client) return send(res, 400, messagePage('Sign-in expired', EXPIRED));
    const clientName = client.clientName ?? client.clientId;
    const base = `${prefix}/interaction/${encodeURIComponent(uid)}`;
    const prompt = details.prompt.name;

    if (action === 'abort') {
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'the user denied the request' },
        { mergeWithLastSubmission: false },
      );
    }

    if (prompt === 'login') {
      if (action === undefined)
        return send(res, 200, loginPage({ action: `${base}/login`, uid, clientName }));
      if (action !== 'login') return send(res, 400, messagePage('Sign-in expired', EXPIRED));
      const form = await readForm(req);
      const username = form && field(form, 'username', 256);
      const password = form && field(form, 'password', 1024);
      const otp = form && field(form, 'otp', 32);
      if (!username || !password || otp === undefined) {
        return send(
          res,
          200,
          loginPage({ action: `${base}/login`, uid, clientName, error: GENERIC_LOGIN_ERROR }),
        );
      }
      let accountId: string;
      let amr: string[] | undefined;
      try {
        ({ accountId, amr } = await authority.authenticate(
          { username, password, ...(otp ? { otp } : {}) },
          { ip: provider.createContext(req, res).ip },
        ));
      } catch (error) {
        if (isMdlError(error, MdlErrorCode.RateLimited)) {
          return send(
            res,
            429,
            loginPage({ action: `${base}/login`, uid, clientName, username, error: THROTTLED }),
          );
        }
        if (isMdlError(error, MdlErrorCode.InvalidCredential)) {
          return send(
            res,
            200,
            loginPage({ action: `${base}/login`, uid, clientName, username, error: GENERIC_LOGIN_ERROR }),
          );
        }
        throw error;
      }
      return provider.interactionFinished(
        req,
        res,
        { login: { accountId, amr: amr ?? ['pwd'], remember: false } },
        { mergeWithLastSubmission: false },
      );
    }

    if (prompt === 'consent') {
      const accountId = details.session?.accountId;
      const claims = accountId === undefined ? undefined : await authority.claims(accountId);
      if (accountId === undefined || !claims) {
        return provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'the account cannot be used' },
          { mergeWithLastSubmission: false },
        );
      }
      const decision = decide(details, claims);
      if (client[FIRST_PARTY_PROPERTY] === true || action === 'confirm') {
        return grantConsent(req, res, details, decision, accountId);
      }
      if (action !== undefined) return send(res, 400, messagePage('Sign-in expired', EXPIRED));
      const granted = new Set([...decision.grantedOidc, ...decision.resources.flatMap((r) => r.granted)]);
      const withheld = new Set([...decision.rejectedOidc, ...decision.resources.flatMap((r) => r.rejected)]);
      return send(
        res,
        200,
        consentPage({
          action: `${base}/confirm`,
          abortAction: `${base}/abort`,
          clientName,
          scopes: [...granted],
          withheld: [...withheld],
        }),
      );
    }

    return send(res, 400, messagePage('Sign-in expired', EXPIRED));
  };
}
