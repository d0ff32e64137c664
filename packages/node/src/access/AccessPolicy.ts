/**
 * The one place where the node decides who may read or write which records. RecordService asks it about
 * every version it is about to open or write and hands its filter to every search, history and $everything
 * query, so that no interaction can bypass it and filtered pages stay full (no counts of hidden records).
 *
 * The rules, in order:
 * - Non-patient data (Organization, Practitioner, Medication…, filed under the node's directory pseudonym)
 *   is readable by every authenticated caller; people other than administrators may not write it.
 * - A system caller is the organisation acting as itself — the custodian of what its EHR sends — and may do
 *   what its SMART system scopes allow (a node API token: everything).
 * - A patient may read their own record (every category) and write what their role allows (demographics),
 *   within the token's patient/ scopes.
 * - Anyone else needs, all at once: the role ceiling (identity's roleAllows for the asserted purpose), a valid
 *   practitioner licence when the role is clinical, the token's SMART scopes, and an on-chain grant from the
 *   patient to this organisation (and member, if named) covering action, category and purpose now — or, for
 *   reading, an active break-glass session of this member for this patient.
 *
 * Decisions read the consent index, which is never staler than one block (docs/consent.md). Limits: a grant
 * with a data period (dataFrom/dataUntil) is only honoured for records without a clinical date, i.e. never
 * here yet — conservative, it hides rather than leaks; SMART `?category=` constraints are checked on reads
 * by id but a search under them is refused rather than filtered.
 */
import { type ConsentIndex, grantPermits } from '@medledger/consent';
import { Action } from '@medledger/contracts';
import { type DataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import { bytesToHex as hex } from '@medledger/crypto';
import {
  type DataAction,
  type Interaction,
  roleAllows,
  roleDefinition,
  scopesAllowAttempt,
  scopesPermit,
} from '@medledger/identity';
import type { AccessFilter, Queryable } from '@medledger/storage';
import type { Hex } from 'viem';
import type { Caller, PersonCaller } from './Caller.js';
import type { PatientLinks } from './PatientLinks.js';

const ALL_CATEGORIES_MASK = 0xfff;

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

/** A version the caller wants to read or write, as the index knows it. */
export interface RecordFacts {
  type: string;
  pseudonym: Uint8Array;
  category: DataCategory;
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

export class AccessPolicy {
  readonly caller: Caller;
  readonly #d: AccessDeps;
  /** Set once this request has read the chain head itself (see #consented). */
  #caughtUp: Promise<void> | undefined;
  /** The patients' record pseudonyms (hex) this request touched or tried to — named in its audit events. */
  readonly #subjects = new Map<string, Uint8Array>();
  /** Those whose records a break-glass session (not a grant) opened to this request. */
  readonly #openedByBreakGlass = new Set<string>();
  #refused = false;

  constructor(caller: Caller, deps: AccessDeps) {
    this.caller = caller;
    this.#d = deps;
  }

  /** True for callers that see everything (the node's own API tokens). */
  get unrestricted(): boolean {
    return this.caller.kind === 'system' && this.caller.scopes === undefined;
  }

  /**
   * Refuses an interaction the token's scopes can never allow for this type, before anything is looked up
   * (403: it reveals nothing about any record).
   */
  requireInteraction(type: string, interaction: Interaction): void {
    if (this.unrestricted) return;
    const scopes = this.caller.scopes ?? [];
    // A patient's token is for their own record: the attempt is judged in that context (the filter and the
    // per-record checks then keep it there).
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
   * audit event (non-patient data names nobody). RecordService calls it for every version it decides on or
   * returns, unrestricted callers included.
   */
  touch(r: { type: string; pseudonym: Uint8Array | undefined }): void {
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

  async canRead(r: RecordFacts): Promise<boolean> {
    return this.#noteRefusal(await this.#decide(r, 'read'));
  }

  async canWrite(r: RecordFacts): Promise<boolean> {
    return this.#noteRefusal(await this.#decide(r, 'write'));
  }

  #noteRefusal(allowed: boolean): boolean {
    if (!allowed) this.#refused = true;
    return allowed;
  }

  async #decide(r: RecordFacts, action: DataAction): Promise<boolean> {
    if (this.unrestricted) return true;
    const c = this.caller;
    const directory = this.#d.isDirectory(r.type, r.pseudonym);
    const interaction: Interaction = action === 'read' ? 'read' : 'update';
    if (c.kind === 'system') {
      return scopesPermit(c.scopes ?? [], { resourceType: r.type, interaction });
    }
    if (directory) {
      if (action === 'read') return true;
      return c.role === 'admin';
    }
    if (c.role === 'patient') {
      if (!c.patientId || !equal(r.pseudonym, this.#d.patientPseudonym(c.patientId))) return false;
      if (!roleAllows('patient', action, r.category, undefined)) return false;
      return scopesPermit(c.scopes, {
        resourceType: r.type,
        interaction,
        patientContext: c.patientId,
        targetPatient: c.patientId,
      });
    }
    if (!this.#personMayTouch(c, action, r.category)) return false;
    if (!scopesPermit(c.scopes, { resourceType: r.type, interaction })) return false;
    const chain = await this.#d.links.chainPseudonymOf(this.#d.db, r.pseudonym);
    if (!chain) return false;
    const query = {
      patient: chain,
      organisation: this.#d.organisation,
      ...(c.member ? { member: c.member } : {}),
      action: action === 'read' ? Action.Read : Action.Write,
      resourceClass: r.category,
      purpose: c.purpose,
    };
    if (await this.#d.consent.permits(query)) return true;
    if (action === 'read' && (await this.#breakGlassOpens(c, chain, r.pseudonym))) return true;
    // Before refusing: a grant mined a moment ago (relayed by another node) may not have reached the index
    // yet, which polls the head every 100 ms. Read the head now, once per request, and decide again.
    if (this.#caughtUp) return false;
    await this.#catchUp();
    if (await this.#d.consent.permits(query)) return true;
    return action === 'read' && (await this.#breakGlassOpens(c, chain, r.pseudonym));
  }

  async #breakGlassOpens(c: PersonCaller, chain: Hex, record: Uint8Array): Promise<boolean> {
    if (!(await this.#breakGlass(c, chain))) return false;
    this.#openedByBreakGlass.add(hex(record));
    return true;
  }

  #catchUp(): Promise<void> {
    this.#caughtUp ??= this.#d.consent.catchUp();
    return this.#caughtUp;
  }

  /** Role ceiling and, for clinical roles, a valid licence of the member account. */
  #personMayTouch(c: PersonCaller, action: DataAction, category: DataCategory): boolean {
    if (!roleAllows(c.role, action, category, c.purpose)) return false;
    if (roleDefinition(c.role).clinical) {
      if (!c.member) return false;
      if (!this.#d.consent.consortium.hasValidLicence(c.member, this.#d.consent.now())) return false;
    }
    return true;
  }

  async #breakGlass(c: PersonCaller, chain: Hex): Promise<boolean> {
    if (!c.member || !roleDefinition(c.role).capabilities.includes('break-glass')) return false;
    return (await this.#d.consent.activeBreakGlass(chain, c.member)) !== undefined;
  }

  /**
   * The filter for a search, history or $everything over `types` (undefined: unrestricted). Patients see
   * their own record; other people what their organisation's grants (and their break-glass sessions) cover
   * right now, within their role ceiling; everyone sees the directory of the types searched.
   */
  async filter(types: readonly string[]): Promise<AccessFilter | undefined> {
    if (this.unrestricted) return undefined;
    const c = this.caller;
    const pseudonyms: Uint8Array[] = [];
    const masks: number[] = [];
    for (const type of types) {
      pseudonyms.push(this.#d.directoryPseudonym(type));
      masks.push(1); // directory rows are filed under category 0
    }
    if (c.kind === 'system') {
      // System clients are limited by their scopes per interaction (requireInteraction), not per patient.
      return undefined;
    }
    if (c.role === 'patient') {
      if (c.patientId) {
        pseudonyms.push(this.#d.patientPseudonym(c.patientId));
        masks.push(ALL_CATEGORIES_MASK);
      }
      return { pseudonyms, categoryMasks: masks };
    }
    await this.#catchUp(); // a search sees every grant mined before it was asked
    const ceiling = (category: number) => this.#personMayTouch(c, 'read', category as DataCategory);
    const byPatient = new Map<Hex, number>();
    const at = this.#d.consent.now();
    for (const grant of await this.#d.consent.grantsTo(this.#d.organisation)) {
      let mask = byPatient.get(grant.patient) ?? 0;
      for (let category = 0; category < 12; category++) {
        if (!(grant.resourceClasses & (1 << category)) || !ceiling(category)) continue;
        const query = {
          patient: grant.patient,
          organisation: this.#d.organisation,
          ...(c.member ? { member: c.member } : {}),
          action: Action.Read,
          resourceClass: category,
          purpose: c.purpose,
          at,
        };
        if (grantPermits(grant, query, this.#d.consent.consortium)) mask |= 1 << category;
      }
      if (mask) byPatient.set(grant.patient, mask);
    }
    const viaBreakGlass = new Set<Hex>();
    if (c.member && roleDefinition(c.role).capabilities.includes('break-glass')) {
      for (const s of await this.#d.consent.breakGlassSessions({})) {
        if (s.member.toLowerCase() !== c.member.toLowerCase()) continue;
        if (!(await this.#d.consent.activeBreakGlass(s.patient, c.member))) continue;
        const granted = byPatient.get(s.patient) ?? 0;
        let mask = granted;
        for (let category = 0; category < 12; category++) if (ceiling(category)) mask |= 1 << category;
        byPatient.set(s.patient, mask);
        if (mask !== granted) viaBreakGlass.add(s.patient);
      }
    }
    const local = await this.#d.links.recordPseudonymsOf(this.#d.db, [...byPatient.keys()]);
    for (const [chain, mask] of byPatient) {
      const record = local.get(chain);
      if (!record) continue;
      // Whatever this query returns of that patient is flagged: the session widened what it may see.
      if (viaBreakGlass.has(chain)) this.#openedByBreakGlass.add(hex(record));
      pseudonyms.push(record);
      masks.push(mask);
    }
    return { pseudonyms, categoryMasks: masks };
  }
}
