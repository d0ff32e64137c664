/**
 * The node's AuditEvents, shaped after IHE Basic Audit Log Patterns (BALP): who (agent: the account, its role,
 * its on-chain member account; for a peer organisation, the organisation), on behalf of which organisation
 * (source.observer), which patient (an entity of type Person / role Patient — one event per patient, as BALP asks,
 * so a patient's access log is exactly their events), which resource (entity `what`), why (purposeOfUse) and
 * with what outcome (0 success, 4 refused or failed, 8 server error; `outcomeDesc` says "denied" when the
 * access policy refused — the client saw only a 404). Break-glass access carries the security label BTG.
 *
 * A patient is named by the node-local record pseudonym of their records (a keyed hash, the same bytes the
 * audit log's subject index holds): the event never needs the patient's identifiers in clear, and the patient
 * finds their events by asking with their own Patient id. Events are sealed at rest; this module is pure.
 */
import type { AuditEventJson } from '@medledger/audit-log';
import { bytesToHex as hex } from '@medledger/crypto';
import type { Caller } from '../access/Caller.js';

export const RECORD_PSEUDONYM_SYSTEM = 'urn:medledger:record-pseudonym';
export const ACCOUNT_SYSTEM = 'urn:medledger:account';
export const ORGANISATION_SYSTEM = 'urn:medledger:organisation';
export const MEMBER_SYSTEM = 'urn:medledger:member';
const EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const ROLE_SYSTEM = 'urn:medledger:role';
const OPERATION_SYSTEM = 'urn:medledger:operation';
const ROUTE_EXTENSION = 'urn:medledger:route';

type Coding = { system: string; code: string; display?: string };

/** What a feature adds to its request's audit event (`request.auditDetail`). */
export interface AuditDetail {
  /** Replaces the event type (default: `rest`), e.g. DICOM Export for an exchange release. */
  type?: Coding;
  subtype?: Coding[];
  action?: 'C' | 'R' | 'U' | 'D' | 'E';
  /** Agents besides the caller, e.g. the requesting organisation and practitioner of an exchange. */
  agents?: Record<string, unknown>[];
  /** Entities besides the resource of the route, e.g. the exchange's receipt. */
  entities?: Record<string, unknown>[];
  /** Patients (record pseudonyms) the request concerned that the access policy did not see. */
  subjects?: { pseudonym: Uint8Array; breakGlass?: boolean }[];
  /** The request was refused by a decision (not merely malformed). */
  denied?: boolean;
  /** Why the request failed, when the status alone does not say (a refused key passphrase, a throttle). */
  outcomeDesc?: string;
}

export interface AuditedRequest {
  method: string;
  /** The route pattern (never the URL: it can carry identifiers and search values). */
  route: string;
  params: Record<string, string>;
  status: number;
  /** Absent for requests without a valid credential (and for public protocol endpoints). */
  caller?: Caller;
  purposeOfUse?: string;
  /** The client's address (BALP agent.network). */
  address?: string;
  subjects: readonly { pseudonym: Uint8Array; breakGlass: boolean }[];
  denied: boolean;
  detail?: AuditDetail;
}

const INTERACTION_ACTION: Record<string, 'C' | 'R' | 'U' | 'D' | 'E'> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  'search-type': 'E',
  'history-instance': 'R',
  'history-type': 'R',
  'history-system': 'R',
  update: 'U',
  patch: 'U',
  delete: 'D',
  operation: 'E',
  batch: 'E',
};

/** The FHIR restful interaction a route and method stand for. */
export function interactionOf(method: string, route: string): string {
  if (route.includes('$')) return 'operation';
  if (route === '/fhir' && method === 'POST') return 'batch';
  if (route.endsWith('/_history/:vid')) return 'vread';
  if (route.endsWith('/:id/_history')) return 'history-instance';
  if (route.endsWith('/:type/_history')) return 'history-type';
  if (route === '/fhir/_history') return 'history-system';
  if (/\/:id$/.test(route)) {
    if (method === 'GET') return 'read';
    if (method === 'PUT') return 'update';
    if (method === 'PATCH') return 'patch';
    return method === 'DELETE' ? 'delete' : 'operation';
  }
  if (method === 'POST') return 'create';
  // PUT and DELETE on a type are the conditional update and delete.
  if (method === 'PUT') return 'update';
  if (method === 'DELETE') return 'delete';
  return method === 'GET' ? 'search-type' : 'operation';
}

/** The patient entity of an event: the record pseudonym, never an identifier in clear. */
export function patientEntity(pseudonym: Uint8Array): Record<string, unknown> {
  return {
    what: { identifier: { system: RECORD_PSEUDONYM_SYSTEM, value: hex(pseudonym) } },
    type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
    role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
  };
}

function callerAgent(r: AuditedRequest): Record<string, unknown> {
  const c = r.caller;
  const network = r.address ? { network: { address: r.address, type: '2' } } : {};
  if (!c) {
    return {
      type: { coding: [{ system: PARTICIPATION, code: 'IRCP' }] },
      who: { display: 'unauthenticated client' },
      requestor: true,
      ...network,
    };
  }
  return {
    type: { coding: [{ system: PARTICIPATION, code: c.kind === 'system' ? 'CST' : 'IRCP' }] },
    ...(c.kind === 'person' ? { role: [{ coding: [{ system: ROLE_SYSTEM, code: c.role }] }] } : {}),
    who: { identifier: { system: ACCOUNT_SYSTEM, value: c.id } },
    ...(c.kind === 'person' && c.member
      ? { altId: `${MEMBER_SYSTEM}:${c.member.toLowerCase()}` }
      : c.kind === 'person' && c.patientId
        ? { altId: `Patient/${c.patientId}` }
        : {}),
    requestor: true,
    ...(r.purposeOfUse ? { purposeOfUse: [{ coding: [{ system: ACT_REASON, code: r.purposeOfUse }] }] } : {}),
    ...network,
  };
}

/**
 * The AuditEvents of one request: one per patient it concerned (BALP), or one naming no patient. Every event
 * of the request shares its agents, source, outcome and time.
 */
export function auditEventsOf(
  r: AuditedRequest,
  organisation: number,
  recorded: Date,
): { event: AuditEventJson; subject?: Uint8Array }[] {
  const interaction = interactionOf(r.method, r.route);
  const operation = /\$[a-z-]+/.exec(r.route)?.[0];
  const resource: Record<string, unknown>[] = [];
  if (r.params.type && r.params.id) resource.push({ what: { reference: `${r.params.type}/${r.params.id}` } });
  else if (r.route.startsWith('/fhir/Patient/:id') && r.params.id)
    resource.push({ what: { reference: `Patient/${r.params.id}` } });
  else if (r.params.type) resource.push({ what: { type: r.params.type } });
  const d = r.detail ?? {};
  const outcome = r.status < 400 ? '0' : r.status < 500 ? '4' : '8';
  const base = {
    resourceType: 'AuditEvent',
    type: d.type ?? { system: EVENT_TYPE, code: 'rest', display: 'Restful Operation' },
    subtype: d.subtype ?? [
      { system: RESTFUL, code: interaction },
      ...(operation ? [{ system: OPERATION_SYSTEM, code: operation }] : []),
    ],
    action: d.action ?? INTERACTION_ACTION[interaction] ?? 'E',
    recorded: recorded.toISOString(),
    outcome,
    ...(d.outcomeDesc
      ? { outcomeDesc: d.outcomeDesc }
      : r.denied || d.denied
        ? { outcomeDesc: 'denied by the access policy' }
        : {}),
    // A signed peer request (an exchange) names its organisation as the agent instead of a bearer caller.
    agent: r.caller || !d.agents ? [callerAgent(r), ...(d.agents ?? [])] : d.agents,
    source: {
      observer: { identifier: { system: ORGANISATION_SYSTEM, value: String(organisation) } },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4' }],
    },
    extension: [{ url: ROUTE_EXTENSION, valueString: `${r.method} ${r.route}` }],
  };
  const subjects = [...r.subjects];
  for (const s of d.subjects ?? []) {
    if (!subjects.some((t) => hex(t.pseudonym) === hex(s.pseudonym))) {
      subjects.push({ pseudonym: s.pseudonym, breakGlass: s.breakGlass ?? false });
    }
  }
  const breakGlassOperation = operation === '$break-glass';
  const entitiesOf = (patient?: Uint8Array) => {
    const entity = [...resource, ...(patient ? [patientEntity(patient)] : []), ...(d.entities ?? [])];
    return entity.length > 0 ? { entity } : {};
  };
  if (subjects.length === 0) {
    return [{ event: { ...base, ...(breakGlassOperation ? btg : {}), ...entitiesOf() } }];
  }
  return subjects.map((s) => ({
    event: { ...base, ...(s.breakGlass || breakGlassOperation ? btg : {}), ...entitiesOf(s.pseudonym) },
    subject: s.pseudonym,
  }));
}

/** BALP's flag for break-glass access: the security label BTG ("break the glass"). */
const btg = { meta: { security: [{ system: ACT_CODE, code: 'BTG', display: 'break the glass' }] } };

/** A login attempt (DICOM 110114 User Authentication / 110122 Login), success or failure. */
export function loginEvent(
  o: {
    accountId?: string;
    amr?: readonly string[];
    address?: string;
    success: boolean;
    method: string;
    /** Why a refused login was refused (the client is only ever told "sign-in failed"). */
    reason?: string;
  },
  organisation: number,
  recorded: Date,
): AuditEventJson {
  return {
    resourceType: 'AuditEvent',
    type: { system: DICOM, code: '110114', display: 'User Authentication' },
    subtype: [{ system: DICOM, code: '110122', display: 'Login' }],
    action: 'E',
    recorded: recorded.toISOString(),
    outcome: o.success ? '0' : '4',
    ...(o.success
      ? {}
      : { outcomeDesc: o.reason ? `credentials refused: ${o.reason}` : 'credentials refused' }),
    agent: [
      {
        type: { coding: [{ system: PARTICIPATION, code: 'IRCP' }] },
        who: o.accountId
          ? { identifier: { system: ACCOUNT_SYSTEM, value: o.accountId } }
          : { display: 'unknown account' },
        requestor: true,
        ...(o.address ? { network: { address: o.address, type: '2' } } : {}),
      },
    ],
    source: {
      observer: { identifier: { system: ORGANISATION_SYSTEM, value: String(organisation) } },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4' }],
    },
    extension: [
      { url: ROUTE_EXTENSION, valueString: o.method },
      ...(o.amr && o.amr.length > 0 ? [{ url: 'urn:medledger:amr', valueString: o.amr.join(' ') }] : []),
    ],
  };
}

/** Whether an event is flagged break-glass. */
export function isBreakGlass(event: AuditEventJson): boolean {
  const security = (event.meta as { security?: Coding[] } | undefined)?.security ?? [];
  return security.some((c) => c.system === ACT_CODE && c.code === 'BTG');
}

/** The DICOM codes of an exchange: the custodian's release is an Export, the requester's receipt an Import. */
export const EXCHANGE_EXPORT: Coding = { system: DICOM, code: '110106', display: 'Export' };
export const EXCHANGE_IMPORT: Coding = { system: DICOM, code: '110107', display: 'Import' };

/** An agent standing for another organisation (and, optionally, its member) in an exchange. */
export function peerAgents(
  organisation: number,
  member: string | undefined,
  requestor: boolean,
): Record<string, unknown>[] {
  return [
    {
      type: { coding: [{ system: PARTICIPATION, code: 'PRF' }] },
      who: { identifier: { system: ORGANISATION_SYSTEM, value: String(organisation) } },
      requestor,
    },
    ...(member
      ? [
          {
            type: { coding: [{ system: PARTICIPATION, code: 'PRF' }] },
            who: { identifier: { system: MEMBER_SYSTEM, value: member.toLowerCase() } },
            requestor,
          },
        ]
      : []),
  ];
}
