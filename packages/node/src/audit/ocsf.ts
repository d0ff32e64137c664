/**
 * AuditEvent → OCSF 1.1 (Open Cybersecurity Schema Framework), for SIEMs that ingest OCSF rather than FHIR:
 * logins become Authentication (class 3002, category Identity & Access Management), everything else API
 * Activity (class 6003, category Application Activity). The mapping keeps what a security analyst filters on —
 * time, actor, operation, outcome, source address, resources, the patient's record pseudonym and the
 * break-glass flag — and names the audit log entry (`metadata.uid`, `metadata.log_name`) so an event can be
 * traced back to its inclusion proof. Pure.
 */
import type { AuditEventJson } from '@medledger/audit-log';
import { isBreakGlass, RECORD_PSEUDONYM_SYSTEM } from './auditEvents.js';

const OCSF_VERSION = '1.1.0';

interface Agent {
  who?: { identifier?: { system?: string; value?: string }; display?: string };
  role?: { coding?: { code?: string }[] }[];
  requestor?: boolean;
  network?: { address?: string };
}
interface Entity {
  what?: { reference?: string; type?: string; identifier?: { system?: string; value?: string } };
}

const ACTIVITY: Record<string, [number, string]> = {
  C: [1, 'Create'],
  R: [2, 'Read'],
  U: [3, 'Update'],
  D: [4, 'Delete'],
};

export function toOcsf(event: AuditEventJson, index: number, logId: string): Record<string, unknown> {
  const agents = (event.agent ?? []) as Agent[];
  const actor = agents.find((a) => a.requestor) ?? agents[0];
  const entities = (event.entity ?? []) as Entity[];
  const type = event.type as { code?: string } | undefined;
  const extension = (event.extension ?? []) as { url?: string; valueString?: string }[];
  const operation = extension.find((e) => e.url === 'urn:medledger:route')?.valueString ?? 'unknown';
  const success = event.outcome === '0';
  const time = Date.parse(String(event.recorded));
  const login = type?.code === '110114';
  // BALP files a search as action E (execute); for a SIEM it is a read.
  const subtypes = ((event.subtype ?? []) as { code?: string }[]).map((c) => c.code);
  const searchOrHistory = subtypes.some((c) => c === 'search-type' || c?.startsWith('history-'));
  const [activityId, activityName] = login
    ? [1, 'Logon']
    : searchOrHistory
      ? [2, 'Read']
      : (ACTIVITY[String(event.action)] ?? [99, 'Other']);
  const classUid = login ? 3002 : 6003;
  const patient = entities.find((e) => e.what?.identifier?.system === RECORD_PSEUDONYM_SYSTEM);
  const user = actor?.who?.identifier?.value ?? actor?.who?.display ?? 'unknown';
  return {
    class_uid: classUid,
    class_name: login ? 'Authentication' : 'API Activity',
    category_uid: login ? 3 : 6,
    category_name: login ? 'Identity & Access Management' : 'Application Activity',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: classUid * 100 + activityId,
    time,
    severity_id: success ? 1 : 3,
    severity: success ? 'Informational' : 'Medium',
    status_id: success ? 1 : 2,
    status: success ? 'Success' : 'Failure',
    ...(event.outcomeDesc ? { status_detail: event.outcomeDesc } : {}),
    actor: {
      user: {
        uid: user,
        type: actor?.who?.identifier?.system ?? 'unknown',
        ...(actor?.role?.[0]?.coding?.[0]?.code ? { groups: [{ name: actor.role[0].coding[0].code }] } : {}),
      },
    },
    ...(login ? { user: { uid: user } } : { api: { operation, service: { name: 'medledger FHIR' } } }),
    ...(actor?.network?.address ? { src_endpoint: { ip: actor.network.address } } : {}),
    ...(entities.length > 0
      ? {
          resources: entities.map((e) => ({
            uid: e.what?.reference ?? e.what?.identifier?.value ?? e.what?.type ?? 'unknown',
            type: e.what?.identifier?.system ?? (e.what?.reference ? 'fhir-reference' : 'fhir-type'),
          })),
        }
      : {}),
    unmapped: {
      ...(patient ? { patient_record_pseudonym: patient.what?.identifier?.value } : {}),
      break_glass: isBreakGlass(event),
    },
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'medledger', vendor_name: 'medledger' },
      log_name: logId,
      uid: String(index),
    },
  };
}
