/**
 * The auditor's reading of the organisation's audit log (GET /audit/events, docs/audit-log.md): an entry's
 * AuditEvent (IHE BALP shape) turned into plain words — when, who (role, account, on-chain member), what
 * (action and route), which patient (the node-local record pseudonym: the log never names a patient in
 * clear), why (purpose of use), the outcome and break-glass — the filters applied to loaded entries, the
 * paging that reads the log newest first, and the wording of the `audit verify` report.
 *
 * Limits: the node filters only by patient (a patient's own log, /audit/patients/:id/events); the other
 * filters apply to the entries loaded so far, so a filter that matches nothing on the loaded pages says so
 * and offers to load older entries. People appear as account ids and roles: the log holds no names.
 */

export interface AuditCoding {
  system?: string;
  code?: string;
  display?: string;
}

export interface AuditAgent {
  type?: { coding?: AuditCoding[] };
  role?: { coding?: AuditCoding[] }[];
  who?: { identifier?: { system?: string; value?: string }; display?: string; reference?: string };
  altId?: string;
  requestor?: boolean;
  purposeOfUse?: { coding?: AuditCoding[] }[];
  network?: { address?: string; type?: string };
}

export interface AuditEntity {
  what?: { reference?: string; type?: string; identifier?: { system?: string; value?: string } };
  role?: AuditCoding;
}

export interface AuditEvent {
  resourceType: 'AuditEvent';
  type?: AuditCoding;
  subtype?: AuditCoding[];
  action?: string;
  recorded: string;
  outcome?: string;
  outcomeDesc?: string;
  agent?: AuditAgent[];
  entity?: AuditEntity[];
  meta?: { security?: AuditCoding[] };
  extension?: { url: string; valueString?: string }[];
}

export interface ProvenEntry {
  index: number;
  event: AuditEvent;
  salt?: string;
  commitment: string;
  proof: string[];
  breakGlass: boolean;
  redacted?: boolean;
}

export interface Checkpoint {
  id: number;
  logId: string;
  size: number;
  root: string;
  timestamp: number;
  signature: string;
  anchor: {
    status?: string;
    chainId?: number;
    txHash?: string;
    blockNumber?: number;
  } | null;
}

export interface LogPage {
  checkpoint: Checkpoint;
  entries: ProvenEntry[];
  next?: number;
}

const ACCOUNT_SYSTEM = 'urn:medledger:account';
const MEMBER_PREFIX = 'urn:medledger:member:';
const PSEUDONYM_SYSTEM = 'urn:medledger:record-pseudonym';
const ROUTE_EXTENSION = 'urn:medledger:route';

export const ACTIONS: Record<string, string> = {
  C: 'Create',
  R: 'Read',
  U: 'Update',
  D: 'Delete',
  E: 'Search or operation',
};

export const OUTCOMES: Record<string, string> = {
  '0': 'Success',
  '4': 'Refused or failed',
  '8': 'Server error',
};

/** Purposes of use (HL7 v3 ActReason) as people say them. */
const PURPOSES: Record<string, string> = {
  TREAT: 'treatment',
  ETREAT: 'emergency treatment',
  HPAYMT: 'payment',
  HOPERAT: 'operations',
  HRESCH: 'research',
  PUBHLTH: 'public health',
  PATRQT: 'patient’s request',
  HSYSADMIN: 'system administration',
  HLEGAL: 'legal',
};

export interface EntryView {
  index: number;
  recorded: string;
  /** Who, as the event names them: "doctor · account 1a2b…" or "unauthenticated client". */
  who: string;
  role?: string;
  account?: string;
  member?: string;
  action: string;
  actionLabel: string;
  /** The route (method and pattern), e.g. "GET /fhir/:type/:id". */
  route?: string;
  /** The resource of the route, e.g. "Observation/123". */
  resource?: string;
  /** The patient's record pseudonym (hex), when the event concerns one. */
  patient?: string;
  purpose?: string;
  outcome: string;
  outcomeLabel: string;
  /** Why it failed or was refused ("denied by the access policy"…). */
  outcomeDesc?: string;
  breakGlass: boolean;
  address?: string;
  searchText: string;
}

const short = (value: string, length = 8) =>
  value.length > length + 1 ? `${value.slice(0, length)}…` : value;

export function describeEntry(entry: ProvenEntry): EntryView {
  const e = entry.event;
  const agent = e.agent?.find((a) => a.requestor) ?? e.agent?.[0];
  const role = agent?.role?.[0]?.coding?.[0]?.code;
  const account = agent?.who?.identifier?.system === ACCOUNT_SYSTEM ? agent.who.identifier.value : undefined;
  const member = agent?.altId?.startsWith(MEMBER_PREFIX)
    ? agent.altId.slice(MEMBER_PREFIX.length)
    : undefined;
  const whoParts = [
    role ?? (agent?.type?.coding?.[0]?.code === 'CST' ? 'system client' : undefined),
    account ? `account ${short(account)}` : agent?.who?.display,
  ].filter(Boolean);
  const purposeCode = agent?.purposeOfUse?.[0]?.coding?.[0]?.code;
  const patient = e.entity?.find((x) => x.what?.identifier?.system === PSEUDONYM_SYSTEM)?.what?.identifier
    ?.value;
  const resource = e.entity?.find((x) => x.what?.reference)?.what?.reference;
  const route = e.extension?.find((x) => x.url === ROUTE_EXTENSION)?.valueString;
  const action = e.action ?? 'E';
  const outcome = e.outcome ?? '0';
  const view: EntryView = {
    index: entry.index,
    recorded: e.recorded,
    who: whoParts.join(' · ') || 'unknown',
    ...(role ? { role } : {}),
    ...(account ? { account } : {}),
    ...(member ? { member } : {}),
    action,
    actionLabel: ACTIONS[action] ?? action,
    ...(route ? { route } : {}),
    ...(resource ? { resource } : {}),
    ...(patient ? { patient } : {}),
    ...(purposeCode ? { purpose: PURPOSES[purposeCode] ?? purposeCode } : {}),
    outcome,
    outcomeLabel: OUTCOMES[outcome] ?? outcome,
    ...(e.outcomeDesc ? { outcomeDesc: e.outcomeDesc } : {}),
    breakGlass: entry.breakGlass,
    ...(agent?.network?.address ? { address: agent.network.address } : {}),
    searchText: '',
  };
  view.searchText = [role, account, member, agent?.who?.display].filter(Boolean).join(' ').toLowerCase();
  return view;
}

export interface LogFilter {
  /** yyyy-mm-dd, local time, inclusive. */
  from: string;
  to: string;
  /** Part of an account id, a member address or a role. */
  person: string;
  /** A FHIR Patient id: the node answers that patient's log. */
  patient: string;
  action: string;
  outcome: string;
  breakGlassOnly: boolean;
}

export const NO_FILTER: LogFilter = {
  from: '',
  to: '',
  person: '',
  patient: '',
  action: '',
  outcome: '',
  breakGlassOnly: false,
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** What to correct in a filter, by field (empty when it is fine). */
export function filterErrors(f: LogFilter): Partial<Record<keyof LogFilter, string>> {
  const errors: Partial<Record<keyof LogFilter, string>> = {};
  if (f.from && !DATE.test(f.from)) errors.from = 'Enter a date such as 2026-12-01.';
  if (f.to && !DATE.test(f.to)) errors.to = 'Enter a date such as 2026-12-31.';
  if (!errors.from && !errors.to && f.from && f.to && f.to < f.from) {
    errors.to = 'The end date is before the start date.';
  }
  if (f.patient && !PATIENT_ID.test(f.patient.trim())) {
    errors.patient =
      'A Patient id has letters, digits, “-” and “.” only (up to 64), e.g. from the break-glass queue.';
  }
  return errors;
}

/** Whether an entry passes the filter's client-side part (dates, person, action, outcome, break-glass). */
export function matchesFilter(v: EntryView, f: LogFilter): boolean {
  const at = Date.parse(v.recorded);
  if (f.from && at < new Date(`${f.from}T00:00:00`).getTime()) return false;
  if (f.to && at > new Date(`${f.to}T23:59:59.999`).getTime()) return false;
  if (f.person && !v.searchText.includes(f.person.trim().toLowerCase())) return false;
  if (f.action && v.action !== f.action) return false;
  if (f.outcome && v.outcome !== f.outcome) return false;
  if (f.breakGlassOnly && !v.breakGlass) return false;
  return true;
}

export function isFiltered(f: LogFilter): boolean {
  return Object.entries(f).some(([, value]) => value !== '' && value !== false);
}

export const PAGE_SIZE = 100;

/** Where the whole log is read from: newest first, one page of `count` entries ending at the cursor. */
export interface WindowParam {
  cursor: number;
  count: number;
}

/** The newest page of a log of `size` entries (undefined for an empty log). */
export function newestWindow(size: number, page = PAGE_SIZE): WindowParam | undefined {
  if (size <= 0) return undefined;
  const cursor = Math.max(0, size - page);
  return { cursor, count: size - cursor };
}

/** The page before `w` (older entries), or undefined at the start of the log. */
export function olderWindow(w: WindowParam, page = PAGE_SIZE): WindowParam | undefined {
  if (w.cursor <= 0) return undefined;
  const cursor = Math.max(0, w.cursor - page);
  return { cursor, count: w.cursor - cursor };
}

export interface VerifyReport {
  ok: boolean;
  size: number;
  checkpoints: number;
  unsignedEntries: number;
  anchors: number;
  divergence?: Record<string, unknown> & { kind?: string; reason?: string };
}

const plural = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

/** The report in words: a headline and what was checked, or what diverged and what it means. */
export function explainVerification(r: VerifyReport): { ok: boolean; headline: string; details: string[] } {
  const checked = [
    `${plural(r.size, 'entry', 'entries')} recomputed into the Merkle tree, each sealed event checked against its commitment.`,
    `${plural(r.checkpoints, 'signed checkpoint')} checked: signature, order, root and consistency with the previous one.`,
    `${plural(r.anchors, 'on-chain anchor')} compared with the recomputed tree.`,
  ];
  if (r.unsignedEntries > 0) {
    checked.push(
      `${plural(r.unsignedEntries, 'entry', 'entries')} not yet covered by a checkpoint (the node signs one every second).`,
    );
  }
  if (r.ok) return { ok: true, headline: 'The audit log is intact.', details: checked };
  return {
    ok: false,
    headline: 'The audit log does not verify.',
    details: [divergenceText(r.divergence), ...checked],
  };
}

function divergenceText(d: VerifyReport['divergence']): string {
  if (!d) return 'The verifier reported a problem without details.';
  const at = (k: string) => (typeof d[k] === 'number' ? (d[k] as number).toLocaleString('en') : '?');
  const tail = ' Keep the database as it is and tell your organisation’s security officer: this is evidence.';
  if (d.kind === 'entry') {
    const why =
      d.reason === 'missing'
        ? 'is missing while later entries exist (deleted)'
        : d.reason === 'malformed'
          ? 'has a malformed commitment or salt'
          : 'does not match its commitment (the stored event or its salt was changed)';
    return `Entry ${at('index')} ${why}.${tail}`;
  }
  if (d.kind === 'anchor') {
    const why =
      d.reason === 'beyond-log'
        ? 'covers more entries than the log holds (entries were deleted after anchoring)'
        : 'is not reproduced by the stored entries (history was rewritten after anchoring)';
    return `The root anchored on-chain for ${at('size')} entries ${why}.${tail}`;
  }
  const reasons: Record<string, string> = {
    signature: 'its signature is not the node’s (edited or signed with another key)',
    'log-id': 'it belongs to another log',
    'beyond-log': 'it covers more entries than the log holds (entries deleted at the end)',
    order: 'its size or time is smaller than the previous checkpoint’s',
    root: `its root is not the recomputed one: an entry from ${at('entriesFrom')} on was changed`,
    consistency: 'it is not consistent with the previous checkpoint',
    anchor: 'its root differs from the one anchored on-chain',
  };
  return `Checkpoint ${at('id')} (${at('size')} entries): ${reasons[d.reason ?? ''] ?? d.reason}.${tail}`;
}

/** A date and time as people read it (the browser's locale and zone). */
export function formatWhen(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
