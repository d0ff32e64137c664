/**
 * One access-log entry in plain words: who (the names the node resolved beside the event — people and
 * organisations, never ids or addresses), what they did to which kind of record, why (purpose of use), when,
 * whether it was refused, and whether it was emergency access ("break the glass"). Pure: the screen renders
 * it; the proof of the entry is checked elsewhere (verify/accessProof.ts) — the names are labels the proof
 * does not cover, the event's time, action, purpose and outcome are covered. Also the break-glass notices the
 * node writes to the patient as FHIR Communications, read as who / when / why / until when.
 */
import { CATEGORIES, CATEGORY_TYPES, purposeWords } from './consentWording';

export interface AgentName {
  person?: string;
  organisation?: string;
  role?: string;
  requestor: boolean;
}

export interface AccessWords {
  when: string;
  /** ISO instant of the event. */
  at: string;
  who: string;
  what: string;
  why: string;
  refused: boolean;
  breakGlass: boolean;
}

const ROLE_WORDS: Record<string, string> = {
  doctor: 'doctor',
  nurse: 'nurse',
  lab: 'lab staff',
  pharmacist: 'pharmacist',
  insurer: 'insurer',
  researcher: 'researcher',
  auditor: 'auditor',
  admin: 'administrator',
};

const VERBS: Record<string, string> = {
  read: 'Read',
  vread: 'Read an earlier version of',
  'search-type': 'Looked through',
  'history-instance': 'Read the history of',
  'history-type': 'Read the history of',
  create: 'Added to',
  update: 'Changed',
  patch: 'Changed',
  delete: 'Removed from',
  operation: 'Used',
  batch: 'Sent several requests about',
};
const ACTION_VERBS: Record<string, string> = {
  C: 'Added to',
  R: 'Read',
  U: 'Changed',
  D: 'Removed from',
  E: 'Used',
};

type Coding = { system?: string; code?: string };
type Event = {
  recorded?: string;
  action?: string;
  outcome?: string;
  subtype?: Coding[];
  agent?: { purposeOfUse?: { coding?: Coding[] }[]; requestor?: boolean }[];
  entity?: { what?: { reference?: string; type?: string } }[];
  extension?: { url?: string; valueString?: string }[];
  meta?: { security?: Coding[] };
};

/** The words for a resource type: its category's ("your test results"), or "your record". */
export function recordWords(type: string | undefined): string {
  if (!type) return 'your record';
  if (type === 'Consent') return 'your sharing choices';
  if (type === 'AuditEvent') return 'your access log';
  const category = CATEGORIES.find((c) => CATEGORY_TYPES[c.key].includes(type));
  return category ? `your ${category.words}` : 'your record';
}

/** "6 Dec 2026, 14:03" in the reader's time zone (or the given one, for tests). */
export function whenWords(iso: string, timeZone?: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  return new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    ...(timeZone ? { timeZone } : {}),
  }).format(ms);
}

function whoWords(agents: readonly AgentName[], self: { displayName: string }): string {
  const requestors = agents.filter((a) => a.requestor);
  const shown = requestors.length > 0 ? requestors : agents;
  if (shown.length === 0) return 'Someone';
  if (shown.some((a) => a.role === 'patient' && a.person === self.displayName)) return 'You';
  // An exchange names the organisation and its member as two agents: one line.
  const person = shown.find((a) => a.person)?.person;
  const role = shown.find((a) => a.role)?.role;
  const organisation = shown.find((a) => a.organisation)?.organisation;
  const roleText = role && ROLE_WORDS[role] ? ` (${ROLE_WORDS[role]})` : '';
  if (person && organisation) return `${person}${roleText}, ${organisation}`;
  return `${person ?? organisation ?? 'Someone'}${roleText}`;
}

export function describeAccess(
  event: Readonly<Record<string, unknown>>,
  agents: readonly AgentName[] | undefined,
  breakGlass: boolean,
  self: { displayName: string },
  timeZone?: string,
): AccessWords {
  const e = event as Event;
  const interaction = e.subtype?.find((s) => s.system === 'http://hl7.org/fhir/restful-interaction')?.code;
  const operation = e.subtype?.find((s) => s.system === 'urn:medledger:operation')?.code;
  const what0 = e.entity?.find((x) => x.what?.reference || x.what?.type)?.what;
  const route = e.extension?.find((x) => x.url === 'urn:medledger:route')?.valueString ?? '';
  // Without a resource entity (a create, a search by type), the route names the type: "POST /fhir/Consent".
  const routeType = /^[A-Z]+ \/fhir\/([A-Z][A-Za-z]+)/.exec(route)?.[1];
  const type = what0?.type ?? what0?.reference?.split('/')[0] ?? routeType;
  let what: string;
  if (operation === '$break-glass') what = 'Opened emergency access to your record';
  else if (operation === '$get-ws-binding-token' || type === 'Subscription') what = 'Followed live updates';
  else if (operation === '$everything') what = 'Read your whole record';
  else if (operation === '$exchange-request') what = 'Asked another organisation for your records';
  else if (route.includes('/audit/patients')) what = 'Read your access log';
  else {
    const verb = (interaction && VERBS[interaction]) ?? ACTION_VERBS[e.action ?? ''] ?? 'Used';
    what = `${verb} ${recordWords(type)}`;
  }
  const purpose = e.agent
    ?.flatMap((a) => a.purposeOfUse ?? [])
    .flatMap((p) => p.coding ?? [])
    .find((c) => c.code)?.code;
  const whoText = whoWords(agents ?? [], self);
  let why: string;
  if (breakGlass) why = 'Emergency access (“break the glass”)';
  else if (purpose) why = `For ${purposeWords(purpose)}`;
  else if (whoText === 'You') why = 'You, using your portal';
  else why = 'No purpose stated';
  const at = e.recorded ?? '';
  return {
    when: whenWords(at, timeZone),
    at,
    who: whoText,
    what,
    why,
    refused: e.outcome !== undefined && e.outcome !== '0',
    breakGlass,
  };
}

// Break-glass notices: FHIR Communications the node writes to the patient (features/breakGlassNotices.ts).
const SESSION_SYSTEM = 'urn:medledger:break-glass-session';
const EXPIRES_EXTENSION = 'urn:medledger:break-glass-expires';

export interface Communication {
  [key: string]: unknown;
  resourceType: string;
  id?: string;
  identifier?: { system?: string; value?: string }[];
  sender?: { display?: string };
  sent?: string;
  reasonCode?: { text?: string }[];
  extension?: { url?: string; valueDateTime?: string }[];
}

export interface BreakGlassNotice {
  id: string;
  who: string;
  from: string;
  until?: string;
  reason: string;
}

/** The notices among a patient's Communications (those naming a break-glass session), newest first. */
export function noticesOf(communications: readonly Communication[]): BreakGlassNotice[] {
  return communications
    .filter((c) => c.identifier?.some((i) => i.system === SESSION_SYSTEM))
    .map((c) => {
      const until = c.extension?.find((x) => x.url === EXPIRES_EXTENSION)?.valueDateTime;
      return {
        id: c.id ?? '',
        who: c.sender?.display ?? 'A practitioner',
        from: c.sent ?? '',
        ...(until ? { until } : {}),
        reason: c.reasonCode?.[0]?.text ?? 'No reason recorded here',
      };
    })
    .sort((a, b) => b.from.localeCompare(a.from));
}
