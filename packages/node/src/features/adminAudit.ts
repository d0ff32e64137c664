/**
 * What an administrative request says in its AuditEvent (server.ts records one for every authenticated
 * request): the act, as a subtype of the `urn:medledger:admin-action` system, and whom it was done to — the
 * account, OAuth client or API token, by identifier. Never a secret: no token value, password or key.
 * Set before the act is checked, so a refused attempt names its target too.
 */
import type { FastifyRequest } from 'fastify';
import { ACCOUNT_SYSTEM } from '../audit/auditEvents.js';

export const ADMIN_ACTION_SYSTEM = 'urn:medledger:admin-action';
export const CLIENT_SYSTEM = 'urn:medledger:oauth-client';
export const API_TOKEN_SYSTEM = 'urn:medledger:api-token';

const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';

export type AdminAction =
  | 'account-create'
  | 'account-disable'
  | 'account-enable'
  | 'totp-enrolment'
  | 'activation-reissue'
  | 'token-mint'
  | 'token-revoke'
  | 'client-register'
  | 'client-propose'
  | 'client-confirm'
  | 'client-remove';

const ACTION: Record<AdminAction, 'C' | 'U' | 'D' | 'E'> = {
  'account-create': 'C',
  'account-disable': 'U',
  'account-enable': 'U',
  'totp-enrolment': 'U',
  'activation-reissue': 'U',
  'token-mint': 'C',
  'token-revoke': 'D',
  'client-register': 'C',
  'client-propose': 'C',
  'client-confirm': 'U',
  'client-remove': 'D',
};

export interface AdminTarget {
  account?: string;
  client?: string;
  token?: string;
}

/** Names the act and its targets on the request's AuditEvent; `denied` when a rule refused it. */
export function auditAdminAct(
  request: FastifyRequest,
  act: AdminAction,
  target: AdminTarget,
  denied = false,
): void {
  const entity = (system: string, value: string, name: string) => ({
    what: { identifier: { system, value: value.slice(0, 128) } },
    type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
    name,
  });
  request.auditDetail = {
    subtype: [{ system: ADMIN_ACTION_SYSTEM, code: act }],
    action: ACTION[act],
    entities: [
      ...(target.account ? [entity(ACCOUNT_SYSTEM, target.account, 'account')] : []),
      ...(target.client ? [entity(CLIENT_SYSTEM, target.client, 'oauth client')] : []),
      ...(target.token ? [entity(API_TOKEN_SYSTEM, target.token, 'api token')] : []),
    ],
    ...(denied ? { denied: true } : {}),
  };
}

/** Marks the act recorded on the request as refused by a rule (not merely malformed). */
export function auditRefused(request: FastifyRequest): void {
  if (request.auditDetail) request.auditDetail.denied = true;
}
