/**
 * A request's access: the caller, turned into the decision's subject, and everything the request needs to ask
 * `decide` (decide.ts) about the records it touches — the consent view of each patient (gathered once per
 * request and patient), the filter its searches, history and `$everything` carry into the index query (built
 * category by category from the same decision, so pages stay full and nothing hidden is counted), and the
 * patients it touched, for its audit events.
 *
 * Every record operation is obtained for an AccessPolicy (RecordService.for); there is no unrestricted default.
 * Code of the node that must act without a caller asks for it by name (`AccessPolicy.system(purpose)`), and
 * that name is what the request's audit trail and the code show.
 *
 * Freshness: a decision reads the consent index after its `ensureFresh()`, which bounds how stale it may be
 * (docs/consent.md). A decision never reads the chain head because it is about to say no: a refusal costs
 * what a grant costs, so timing does not tell them apart.
 */
import {
  type ConsentIndex,
  grantPermits,
  type IndexedGrant,
  resourceTypesOfCategory,
} from '@medledger/consent';
import { Action } from '@medledger/contracts';
import {
  type DataCategory,
  MdlError,
  MdlErrorCode,
  type RecordCategory,
  UNCATEGORISED,
} from '@medledger/core';
import { bytesToHex as hex } from '@medledger/crypto';
import {
  type CategoryCoding,
  type Interaction,
  type ResourceScope,
  roleDefinition,
  type SmartScope,
  scopesAllowAttempt,
} from '@medledger/identity';
import type { AccessFilter, Queryable } from '@medledger/storage';
import type { Hex } from 'viem';
import type { Caller, PersonCaller } from './Caller.js';
import { type ConsentView, type Decision, decide, type Subject, type Target } from './decide.js';
import type { PatientLinks } from './PatientLinks.js';

/** Data categories 0–11 and UNCATEGORISED (bit 15). */
const CATEGORY_BITS: readonly RecordCategory[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, UNCATEGORISED];

export interface AccessDeps {
  db: Queryable;
  consent: ConsentIndex;
  links: PatientLinks;
  organisation: number;
  /** The node-local record pseudonym of a FHIR Patient id. */
  patientPseudonym(id: string): Uint8Array;
  /** Whether a record pseudonym is the directory's (non-patient data) for this resource type. */
  isDirectory(type: string, pseudonym: Uint8Array): boolean;
  directoryPseudonym(type: string): Uint8Array;
}

/** A version the caller wants to read or write, as the index knows it (or as a write would file it). */
export interface RecordFacts {
  type: string;
  pseudonym: Uint8Array;
  category: RecordCategory;
  systemOwned?: boolean;
  /** The resource's category codings, once it is open (for `?category=` scopes). */
  codings?: readonly CategoryCoding[];
}

/**
 * What a caller may do with one patient's record right now, for the purpose it asserted: each data category
 * and action the decision allows, how (a grant, a break-glass session, the own record…) and until when (unix
 * seconds: the latest end among the grants that permit it, or the break-glass session's expiry).
 */
export interface PatientAccess {
  at: number;
  allowed: {
    category: DataCategory;
    action: 'read' | 'write';
    via: string;
    until?: number;
  }[];
  /** The caller's active break-glass session on this patient, if any. */
  breakGlass?: { session: number; expiresAt: number };
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The decision's subject for a caller. */
export function subjectOf(caller: Caller): Subject {
  if (caller.kind === 'node') return { kind: 'node', purpose: caller.purpose };
  if (caller.kind === 'system') {
    return caller.scopes === undefined ? { kind: 'organisation' } : { kind: 'client', scopes: caller.scopes };
  }
  return {
    kind: 'person',
    role: caller.role,
    member: caller.member,
    scopes: caller.scopes,
    purpose: caller.purpose,
    patientId: caller.patientId,
  };
}

export class AccessPolicy {
  readonly caller: Caller;
  readonly subject: Subject;
  readonly #d: AccessDeps;
  /** Consent views gathered by this request, by record pseudonym (hex). */
  readonly #views = new Map<string, Promise<ConsentView>>();
  /** The patients' record pseudonyms (hex) this request touched or tried to — named in its audit events. */
  readonly #subjects = new Map<string, Uint8Array>();
  /** Those whose records a break-glass session (not a grant) opened to this request. */
  readonly #openedByBreakGlass = new Set<string>();
  #refused = false;

  constructor(caller: Caller, deps: AccessDeps) {
    this.caller = caller;
    this.subject = subjectOf(caller);
    this.#d = deps;
  }

  /** System access for the node's own code, asked for by what it is for (e.g. "break-glass notice"). */
  static system(purpose: string, deps: AccessDeps): AccessPolicy {
    return new AccessPolicy({ kind: 'node', id: `node:${purpose}`, purpose }, deps);
  }

  /** True for subjects the decision never restricts on the generic paths (the organisation, the node). */
  get unrestricted(): boolean {
    return this.subject.kind === 'organisation' || this.subject.kind === 'node';
  }

  /** The SMART scopes that bound this caller, or undefined when none apply (the organisation, the node). */
  get #scopes(): readonly SmartScope[] | undefined {
    return this.subject.kind === 'person' || this.subject.kind === 'client' ? this.subject.scopes : undefined;
  }

  /**
   * Refuses an interaction the token's scopes can never allow for this type, before anything is looked up
   * (403: it reveals nothing about any record).
   */
  requireInteraction(type: string, interaction: Interaction): void {
    const scopes = this.#scopes;
    if (scopes === undefined) return;
    const patient = this.caller.kind === 'person' ? this.caller.patientId : undefined;
    const context = patient ? { patientContext: patient, targetPatient: patient } : {};
    if (!scopesAllowAttempt(scopes, { resourceType: type, interaction, ...context })) {
      throw new MdlError(
        MdlErrorCode.Forbidden,
        `the access token's scopes do not allow ${interaction} on ${type}`,
      );
    }
  }

  /**
   * Notes a record this request reads, writes, lists or is refused: its patient is named in the request's
   * audit event (non-patient data names nobody).
   */
  touch(r: { type: string; pseudonym: Uint8Array | null | undefined }): void {
    if (!(r.pseudonym instanceof Uint8Array) || this.#d.isDirectory(r.type, r.pseudonym)) return;
    const key = hex(r.pseudonym);
    if (!this.#subjects.has(key)) this.#subjects.set(key, r.pseudonym);
  }

  /** Notes the patient a `Patient/:id/...` request is about (break-glass, $everything, their access log). */
  touchPatient(id: string): void {
    this.touch({ type: 'Patient', pseudonym: this.#d.patientPseudonym(id) });
  }

  /** The patients this request touched (record pseudonyms), each flagged when break-glass opened it. */
  auditSubjects(): { pseudonym: Uint8Array; breakGlass: boolean }[] {
    return [...this.#subjects].map(([key, pseudonym]) => ({
      pseudonym,
      breakGlass: this.#openedByBreakGlass.has(key),
    }));
  }

  /** True once a decision of this request said no (its audit event says "denied", its response only 404). */
  get refused(): boolean {
    return this.#refused;
  }

  /** Notes a refusal decided outside `may` (a route's own check that ends in the same 404). */
  noteRefusal(): void {
    this.#refused = true;
  }

  /**
   * The decision about what is not a record of the index: the organisation's whole audit log or its
   * administration (no patient), or one patient's access log (`patientId`: noted as that patient's).
   */
  allows(action: Interaction, type: 'AuditEvent' | 'Administration', patientId?: string): boolean {
    let owner: Target['owner'] = 'organisation';
    if (patientId !== undefined) {
      this.touchPatient(patientId);
      owner = this.caller.kind === 'person' && this.caller.patientId === patientId ? 'own' : 'patient';
    }
    const decision = decide(this.subject, action, { type, owner, category: UNCATEGORISED });
    if (!decision.allow) this.#refused = true;
    return decision.allow;
  }

  /** The decision about one record (noted for the audit trail either way). */
  async may(action: Interaction, r: RecordFacts): Promise<boolean> {
    this.touch(r);
    const decision = await this.#decide(action, r);
    if (!decision.allow) this.#refused = true;
    else if (decision.via === 'break-glass') this.#openedByBreakGlass.add(hex(r.pseudonym));
    return decision.allow;
  }

  /**
   * What this caller may do with the patient's record now (the `$access` operation), decided category by
   * category by the same `decide` every read and write passes through. Empty when the patient is unknown or
   * nothing is allowed, which the route answers exactly like a missing patient.
   */
  async patientAccess(patientId: string): Promise<PatientAccess> {
    const pseudonym = this.#d.patientPseudonym(patientId);
    const allowed: PatientAccess['allowed'] = [];
    for (const category of CATEGORY_BITS) {
      if (category === UNCATEGORISED) continue;
      const type = resourceTypesOfCategory(category)[0] ?? 'Patient';
      for (const action of ['read', 'write'] as const) {
        const facts = { type, pseudonym, category };
        this.touch(facts);
        const decision = await this.#decide(action === 'read' ? 'read' : 'create', facts);
        if (decision.allow) allowed.push({ category, action, via: decision.via });
      }
    }
    const c = this.caller;
    const at = this.#d.consent.now();
    let breakGlass: PatientAccess['breakGlass'];
    if (c.kind === 'person' && allowed.some((a) => a.via === 'grant' || a.via === 'break-glass')) {
      const view = await this.#view(pseudonym, false);
      for (const a of allowed) {
        if (a.via !== 'grant') continue;
        const request = {
          organisation: view.organisation,
          ...(c.member ? { member: c.member } : {}),
          action: a.action === 'read' ? Action.Read : Action.Write,
          resourceClass: a.category,
          purpose: c.purpose,
          at: view.at,
        };
        const ends = view.grants
          .filter((g) => grantPermits(g, { ...request, patient: g.patient }, view.consortium))
          .map((g) => g.validUntil);
        if (ends.length > 0) a.until = Math.max(...ends);
      }
      const chain = await this.#d.links.chainPseudonymOf(this.#d.db, pseudonym);
      if (chain && c.member) {
        const session = await this.#d.consent.activeBreakGlass(chain, c.member, at);
        if (session) {
          breakGlass = { session: Number(session.id), expiresAt: session.expiresAt };
          for (const a of allowed) if (a.via === 'break-glass') a.until = session.expiresAt;
        }
      }
    }
    if (allowed.length === 0) this.#refused = true;
    return { at, allowed, ...(breakGlass ? { breakGlass } : {}) };
  }

  #owner(r: RecordFacts): Target['owner'] {
    if (this.#d.isDirectory(r.type, r.pseudonym)) return 'shared';
    const c = this.caller;
    if (c.kind === 'person' && c.patientId && equal(r.pseudonym, this.#d.patientPseudonym(c.patientId))) {
      return 'own';
    }
    return 'patient';
  }

  async #decide(action: Interaction, r: RecordFacts): Promise<Decision> {
    const target: Target = {
      type: r.type,
      owner: this.#owner(r),
      category: r.category,
      ...(r.systemOwned ? { systemOwned: true } : {}),
      ...(r.codings ? { codings: r.codings } : {}),
    };
    // Only people's access to others' records depends on the ledger: everyone else is decided without it.
    if (this.subject.kind !== 'person' || target.owner !== 'patient')
      return decide(this.subject, action, target);
    const first = decide(this.subject, action, target, await this.#view(r.pseudonym, false));
    if (first.allow || first.reason !== 'consent' || !this.#mayBreakGlass(action)) return first;
    return decide(this.subject, action, target, await this.#view(r.pseudonym, true));
  }

  #mayBreakGlass(action: Interaction): boolean {
    const c = this.caller;
    return (
      (action === 'read' || action === 'search') &&
      c.kind === 'person' &&
      c.member !== undefined &&
      roleDefinition(c.role).capabilities.includes('break-glass')
    );
  }

  /**
   * The consent view of a record's patient, once per request; `breakGlass` asks for the member's session too
   * (a second look only when no grant allowed it).
   */
  #view(pseudonym: Uint8Array, breakGlass: boolean): Promise<ConsentView> {
    const key = `${hex(pseudonym)}/${breakGlass}`;
    let view = this.#views.get(key);
    if (!view) {
      view = this.#gather(pseudonym, breakGlass);
      this.#views.set(key, view);
    }
    return view;
  }

  async #gather(pseudonym: Uint8Array, breakGlass: boolean): Promise<ConsentView> {
    const c = this.caller as PersonCaller;
    const { consent, links, db } = this.#d;
    await consent.ensureFresh();
    const chain = await links.chainPseudonymOf(db, pseudonym);
    const at = consent.now();
    return {
      organisation: this.#d.organisation,
      at,
      consortium: consent.consortium,
      grants: chain ? await consent.grantsOf(chain) : [],
      breakGlass:
        breakGlass && chain !== undefined && c.member !== undefined
          ? (await consent.activeBreakGlass(chain, c.member, at)) !== undefined
          : false,
      licenceValid: c.member !== undefined && consent.consortium.hasValidLicence(c.member, at),
    };
  }

  /**
   * The resource types of `types` (every type when empty) whose records this caller may list with
   * `interaction`, by scope alone; undefined when the caller is not limited by type. A type the caller may
   * list only under a `?category=` constraint is left out here: its records are listed by search, which turns
   * the constraint into a query clause (searchConstraint).
   */
  #listableTypes(types: readonly string[], interaction: 'search' | 'read'): string[] | undefined {
    const scopes = this.#scopes;
    if (scopes === undefined) return types.length > 0 ? [...types] : undefined;
    const own = this.caller.kind === 'person' ? this.caller.patientId : undefined;
    const context = own ? { patientContext: own, targetPatient: own } : {};
    const unconstrained = scopes.filter(
      (s): s is ResourceScope => s.kind === 'resource' && s.constraints.length === 0,
    );
    const covers = (type: string) =>
      scopesAllowAttempt(unconstrained, { resourceType: type, interaction, ...context });
    if (types.length > 0) return types.filter(covers);
    if (covers('*')) return undefined;
    return [...new Set(unconstrained.map((s) => s.resourceType).filter((t) => t !== '*' && covers(t)))];
  }

  /** Whether this caller reads `type` only under `?category=` scopes (so a read must look at the content). */
  constrainedByCategory(type: string): boolean {
    return this.#scopes !== undefined && !this.#listableTypes([type], 'read')?.length;
  }

  /**
   * For a search on `type` whose only covering scopes carry `?category=` constraints: the category values the
   * search must be limited to (one OR clause); undefined when an unconstrained scope covers the search.
   */
  searchConstraint(type: string): string[] | undefined {
    const scopes = this.#scopes;
    if (scopes === undefined || this.#listableTypes([type], 'search')?.length) return undefined;
    const values = scopes.flatMap((s) =>
      s.kind === 'resource' &&
      (s.resourceType === type || s.resourceType === '*') &&
      s.interactions.includes('search')
        ? s.constraints.filter(([name]) => name === 'category').flatMap(([, v]) => v.split(','))
        : [],
    );
    return [...new Set(values)];
  }

  /**
   * The filter for a search, history or $everything over `types` (empty: every type). Patients see their own
   * record; other people what their organisation's grants (and their break-glass sessions) cover right now,
   * category by category as `decide` says; everyone the directory of the types searched; SMART clients every
   * patient's records of the types their scopes list. Undefined only for unrestricted subjects.
   */
  async filter(
    types: readonly string[],
    interaction: 'search' | 'read' = 'search',
  ): Promise<AccessFilter | undefined> {
    if (this.unrestricted) return undefined;
    const listable = this.#listableTypes(types, interaction);
    const typeClause = listable === undefined ? {} : { types: listable };
    if (this.subject.kind === 'client')
      return { ...typeClause, everyPatient: true, pseudonyms: [], categoryMasks: [] };
    const c = this.caller as PersonCaller;
    const pseudonyms: Uint8Array[] = [];
    const masks: number[] = [];
    const maskFor = (decideFor: (category: RecordCategory) => boolean) =>
      CATEGORY_BITS.reduce<number>((m, category) => (decideFor(category) ? m | (1 << category) : m), 0);
    for (const type of listable ?? types) {
      const shared = { type, owner: 'shared', category: 0 } as const;
      if (decide(this.subject, interaction, shared).allow) {
        pseudonyms.push(this.#d.directoryPseudonym(type));
        masks.push(1); // directory rows are filed under category 0
      }
    }
    // Scopes were applied by type above; the masks below are about patients and categories.
    const anyType = listable?.[0] ?? types[0] ?? 'Patient';
    if (c.role === 'patient') {
      if (c.patientId) {
        const own = { type: anyType, owner: 'own' } as const;
        pseudonyms.push(this.#d.patientPseudonym(c.patientId));
        const subject = { ...(this.subject as Extract<Subject, { kind: 'person' }>), scopes: ALL };
        masks.push(maskFor((category) => decide(subject, 'read', { ...own, category }).allow));
      }
      return { ...typeClause, pseudonyms, categoryMasks: masks };
    }
    const { consent } = this.#d;
    await consent.ensureFresh();
    const at = consent.now();
    const byPatient = new Map<Hex, IndexedGrant[]>();
    for (const grant of await consent.grantsTo(this.#d.organisation)) {
      const key = grant.patient.toLowerCase() as Hex;
      byPatient.set(key, [...(byPatient.get(key) ?? []), grant]);
    }
    const sessions = new Set<Hex>();
    if (this.#mayBreakGlass('read')) {
      for (const s of await consent.breakGlassSessions({})) {
        if (s.member.toLowerCase() !== c.member!.toLowerCase()) continue;
        if (!(await consent.activeBreakGlass(s.patient, c.member!, at))) continue;
        const key = s.patient.toLowerCase() as Hex;
        sessions.add(key);
        if (!byPatient.has(key)) byPatient.set(key, []);
      }
    }
    const licenceValid = c.member !== undefined && consent.consortium.hasValidLicence(c.member, at);
    const local = await this.#d.links.recordPseudonymsOf(this.#d.db, [...byPatient.keys()]);
    const other = { type: anyType, owner: 'patient' } as const;
    // The person's scopes were applied per type (listable): here every listed type is in scope.
    const subject = { ...(this.subject as Extract<Subject, { kind: 'person' }>), scopes: ALL };
    for (const [chain, grants] of byPatient) {
      const record = local.get(chain);
      if (!record) continue;
      const base = {
        organisation: this.#d.organisation,
        at,
        consortium: consent.consortium,
        grants,
        licenceValid,
      };
      const granted = maskFor(
        (category) => decide(subject, 'read', { ...other, category }, { ...base, breakGlass: false }).allow,
      );
      const mask = sessions.has(chain)
        ? maskFor(
            (category) =>
              decide(subject, 'read', { ...other, category }, { ...base, breakGlass: true }).allow,
          )
        : granted;
      if (mask === 0) continue;
      // Whatever this query returns of that patient is flagged: the session widened what it may see.
      if (mask !== granted) this.#openedByBreakGlass.add(hex(record));
      pseudonyms.push(record);
      masks.push(mask);
    }
    return { ...typeClause, pseudonyms, categoryMasks: masks };
  }
}

/** Scopes that cover every type and interaction: for deciding per category once scopes were applied per type. */
const ALL: readonly SmartScope[] = [
  {
    kind: 'resource',
    scope: 'user/*.cruds',
    level: 'user',
    resourceType: '*',
    interactions: ['create', 'read', 'update', 'delete', 'search'],
    version: 2,
    constraints: [],
  },
  {
    kind: 'resource',
    scope: 'patient/*.cruds',
    level: 'patient',
    resourceType: '*',
    interactions: ['create', 'read', 'update', 'delete', 'search'],
    version: 2,
    constraints: [],
  },
];
