/**
 * The authorisation decision, table by table: every role × record category × interaction × purpose × owner ×
 * ledger state × token scope, checked against the rules it must never break (a grant never widens a role's
 * ceiling; nothing reaches another patient's record without a grant or a break-glass session; uncategorised
 * and unassigned data stay closed to people; system-owned records change only through the node's own routes),
 * plus rows spelled out for the cases a reader would look up.
 */

import { ConsortiumState, type IndexedGrant } from '@medledger/consent';
import { Action, MemberRole, Purpose } from '@medledger/contracts';
import { DataCategory, type RecordCategory, UNCATEGORISED } from '@medledger/core';
import {
  type Interaction,
  parseScopes,
  ROLES,
  type Role,
  roleAllows,
  roleDefinition,
  scopesPermit,
} from '@medledger/identity';
import type { Address, Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { type ConsentView, decide, type Subject, type Target } from './decide.js';

const ORG = 1;
const OTHER_ORG = 2;
const MEMBER = '0x1111111111111111111111111111111111111111' as Address;
const OTHER_MEMBER = '0x2222222222222222222222222222222222222222' as Address;
const PATIENT = `0x${'ab'.repeat(32)}` as Hex;
const NOW = 2_000_000_000;

const consortium = ConsortiumState.replay([
  { kind: 'admitted', organisation: ORG, at: 1 },
  { kind: 'admitted', organisation: OTHER_ORG, at: 1 },
  { kind: 'member', organisation: ORG, account: MEMBER, role: MemberRole.Practitioner, at: 2 },
  { kind: 'member', organisation: ORG, account: OTHER_MEMBER, role: MemberRole.Practitioner, at: 2 },
  { kind: 'licence', organisation: OTHER_ORG, account: MEMBER, at: 3, expiresAt: NOW + 1000 },
]);

const ALL_CATEGORIES = Object.values(DataCategory) as DataCategory[];
const CATEGORIES: RecordCategory[] = [...ALL_CATEGORIES, UNCATEGORISED];
const INTERACTIONS: Interaction[] = ['create', 'read', 'update', 'delete', 'search'];
const PURPOSES = Object.values(Purpose) as Purpose[];
const OWNERS: Target['owner'][] = ['shared', 'own', 'patient', 'unassigned'];
const isWrite = (i: Interaction) => i === 'create' || i === 'update' || i === 'delete';

function grant(over: Partial<IndexedGrant> = {}): IndexedGrant {
  return {
    id: `0x${'01'.repeat(32)}`,
    patient: PATIENT,
    grantee: ORG,
    granteeMember: '0x0000000000000000000000000000000000000000',
    actions: 0b11,
    resourceClasses: 0xfff,
    purposes: 0b11111,
    validFrom: 0,
    validUntil: NOW + 100,
    dataFrom: 0,
    dataUntil: 0,
    nonce: 1n,
    grantedAt: 10,
    grantedBlock: 1,
    grantedTx: `0x${'02'.repeat(32)}`,
    ...over,
  } as IndexedGrant;
}

const view = (over: Partial<ConsentView> = {}): ConsentView => ({
  organisation: ORG,
  at: NOW,
  consortium,
  grants: [],
  breakGlass: false,
  licenceValid: true,
  ...over,
});

/** The ledger states every decision is tried under. */
const VIEWS: Record<string, ConsentView | undefined> = {
  none: undefined,
  'no grant': view(),
  'grant to the organisation': view({ grants: [grant()] }),
  'grant to another member': view({ grants: [grant({ granteeMember: OTHER_MEMBER })] }),
  'grant revoked': view({ grants: [grant({ revokedAt: NOW - 1 })] }),
  'grant expired': view({ grants: [grant({ validUntil: NOW - 1 })] }),
  'grant to another organisation': view({ grants: [grant({ grantee: OTHER_ORG })] }),
  'break-glass': view({ breakGlass: true }),
  'grant, licence invalid': view({ grants: [grant()], licenceValid: false }),
};

const SCOPES = {
  'user/*.cruds': parseScopes('user/*.cruds'),
  'user/Observation.rs': parseScopes('user/Observation.rs'),
  'patient/*.cruds': parseScopes('patient/*.cruds'),
  'user/Observation.rs?category=laboratory': parseScopes('user/Observation.rs?category=laboratory'),
};

function person(role: Role, scopes: keyof typeof SCOPES, purpose: Purpose): Subject {
  return {
    kind: 'person',
    role,
    member: roleDefinition(role).memberRole === undefined ? undefined : MEMBER,
    scopes: SCOPES[scopes],
    purpose,
    ...(role === 'patient' ? { patientId: 'p1' } : {}),
  };
}

/** Every combination, with its decision. */
function everything() {
  const out = [];
  for (const role of ROLES)
    for (const scopes of Object.keys(SCOPES) as (keyof typeof SCOPES)[])
      for (const purpose of PURPOSES)
        for (const owner of OWNERS)
          for (const category of CATEGORIES)
            for (const action of INTERACTIONS)
              for (const [state, v] of Object.entries(VIEWS)) {
                const subject = person(role, scopes, purpose);
                const target: Target = { type: 'Observation', owner, category };
                const d = decide(subject, action, target, v);
                out.push({ role, scopes, purpose, owner, category, action, state, subject, target, v, d });
              }
  return out;
}

/** The combinations breaking a rule (empty when the rule holds), described for the failure message. */
function violations(
  all: ReturnType<typeof everything>,
  broken: (c: (typeof all)[number]) => boolean,
): string[] {
  return all
    .filter(broken)
    .slice(0, 5)
    .map(
      (c) => `${c.role} ${c.scopes} purpose ${c.purpose} ${c.action} ${c.owner}/${c.category} (${c.state})`,
    );
}

describe('decide: invariants over every combination', () => {
  const all = everything();

  it('covers the space', () => {
    expect(all.length).toBeGreaterThan(100_000);
  });

  it('never lets a grant widen the role ceiling, and needs the scopes', () => {
    const scoped = violations(all, (c) => {
      if (!c.d.allow) return false;
      const patientContext = c.role === 'patient' && c.owner !== 'patient';
      return !scopesPermit(SCOPES[c.scopes], {
        resourceType: 'Observation',
        interaction: c.action,
        ...(patientContext ? { patientContext: 'p1', targetPatient: 'p1' } : {}),
      });
    });
    expect(scoped).toEqual([]);
    const ceiling = violations(
      all,
      (c) =>
        c.d.allow &&
        c.owner === 'patient' &&
        (c.category === UNCATEGORISED ||
          !roleAllows(c.role, isWrite(c.action) ? 'write' : 'read', c.category, c.purpose)),
    );
    expect(ceiling).toEqual([]);
  });

  it("opens another patient's record only through a grant covering it, or break-glass for reading", () => {
    const broken = violations(all, (c) => {
      if (c.owner !== 'patient' || !c.d.allow) return false;
      if (roleDefinition(c.role).clinical && !c.v?.licenceValid) return true;
      if (c.d.via === 'grant')
        return c.state !== 'grant to the organisation' && c.state !== 'grant, licence invalid';
      if (c.d.via === 'break-glass') {
        return (
          c.state !== 'break-glass' ||
          isWrite(c.action) ||
          !roleDefinition(c.role).capabilities.includes('break-glass')
        );
      }
      return true;
    });
    expect(broken).toEqual([]);
  });

  it('keeps uncategorised and unassigned data, and other patients, closed to people', () => {
    const broken = violations(
      all,
      (c) =>
        c.d.allow &&
        (c.owner === 'unassigned' ||
          (c.category === UNCATEGORISED && c.owner === 'patient') ||
          (c.category === UNCATEGORISED && c.owner === 'own' && isWrite(c.action)) ||
          (c.role === 'patient' && c.owner === 'patient') ||
          (c.owner === 'own' && c.role !== 'patient')),
    );
    expect(broken).toEqual([]);
  });

  it('changes system-owned records only with the node’s own, named access', () => {
    const broken = violations(
      all,
      (c) => isWrite(c.action) && decide(c.subject, c.action, { ...c.target, systemOwned: true }, c.v).allow,
    );
    expect(broken).toEqual([]);
    for (const action of INTERACTIONS) {
      const target: Target = {
        type: 'Consent',
        owner: 'patient',
        category: DataCategory.Documents,
        systemOwned: true,
      };
      expect(decide({ kind: 'organisation' }, action, target).allow).toBe(!isWrite(action));
      expect(decide({ kind: 'node', purpose: 'consent record' }, action, target).allow).toBe(true);
    }
  });
});

describe('decide: rows', () => {
  const obs = (owner: Target['owner'], category: RecordCategory = DataCategory.Observations): Target => ({
    type: 'Observation',
    owner,
    category,
  });
  const doctor = person('doctor', 'user/*.cruds', Purpose.Treatment);

  it.each([
    [
      'a doctor with an organisation grant reads',
      doctor,
      'read',
      obs('patient'),
      VIEWS['grant to the organisation'],
      true,
    ],
    [
      'a doctor with an organisation grant writes',
      doctor,
      'update',
      obs('patient'),
      VIEWS['grant to the organisation'],
      true,
    ],
    ['a doctor without a grant is refused', doctor, 'read', obs('patient'), VIEWS['no grant'], false],
    [
      'a doctor with a revoked grant is refused',
      doctor,
      'read',
      obs('patient'),
      VIEWS['grant revoked'],
      false,
    ],
    [
      'a grant naming another member is not this one’s',
      doctor,
      'read',
      obs('patient'),
      VIEWS['grant to another member'],
      false,
    ],
    [
      'an invalid licence closes a granted record',
      doctor,
      'read',
      obs('patient'),
      VIEWS['grant, licence invalid'],
      false,
    ],
    ['break-glass opens reading', doctor, 'read', obs('patient'), VIEWS['break-glass'], true],
    ['break-glass does not open writing', doctor, 'update', obs('patient'), VIEWS['break-glass'], false],
    [
      'a doctor for payment is refused (role purpose)',
      person('doctor', 'user/*.cruds', Purpose.Payment),
      'read',
      obs('patient'),
      VIEWS['grant to the organisation'],
      false,
    ],
    [
      'a pharmacist never reads observations',
      person('pharmacist', 'user/*.cruds', Purpose.Treatment),
      'read',
      obs('patient'),
      VIEWS['grant to the organisation'],
      false,
    ],
    [
      'a researcher never reads a record',
      person('researcher', 'user/*.cruds', Purpose.Research),
      'read',
      obs('patient'),
      VIEWS['grant to the organisation'],
      false,
    ],
    [
      'an administrator never reads a record',
      person('admin', 'user/*.cruds', Purpose.Treatment),
      'read',
      obs('patient'),
      VIEWS['grant to the organisation'],
      false,
    ],
    [
      'an administrator writes the directory',
      person('admin', 'user/*.cruds', Purpose.Treatment),
      'update',
      obs('shared'),
      undefined,
      true,
    ],
    ['a doctor reads the directory', doctor, 'read', obs('shared'), undefined, true],
    ['a doctor does not write the directory', doctor, 'update', obs('shared'), undefined, false],
    [
      'a patient reads their own record',
      person('patient', 'patient/*.cruds', Purpose.Treatment),
      'read',
      obs('own'),
      undefined,
      true,
    ],
    [
      'a patient reads their own uncategorised data',
      person('patient', 'patient/*.cruds', Purpose.Treatment),
      'read',
      obs('own', UNCATEGORISED),
      undefined,
      true,
    ],
    [
      'a patient does not write their observations',
      person('patient', 'patient/*.cruds', Purpose.Treatment),
      'update',
      obs('own'),
      undefined,
      false,
    ],
    [
      'a patient writes their demographics',
      person('patient', 'patient/*.cruds', Purpose.Treatment),
      'update',
      obs('own', DataCategory.Demographics),
      undefined,
      true,
    ],
    [
      'a patient never reads another patient, whatever the grants',
      person('patient', 'patient/*.cruds', Purpose.Treatment),
      'read',
      obs('patient'),
      VIEWS['grant to the organisation'],
      false,
    ],
    [
      'a category-constrained scope without the codings permits nothing',
      person('doctor', 'user/Observation.rs?category=laboratory', Purpose.Treatment),
      'read',
      obs('patient'),
      VIEWS['grant to the organisation'],
      false,
    ],
  ] as const)('%s', (_, subject, action, target, v, allowed) => {
    expect(decide(subject, action, target, v).allow).toBe(allowed);
  });

  it('a category-constrained scope permits a matching resource only', () => {
    const subject = person('doctor', 'user/Observation.rs?category=laboratory', Purpose.Treatment);
    const grantView = VIEWS['grant to the organisation'];
    const lab = { ...obs('patient'), codings: [{ code: 'laboratory' }] };
    const vital = { ...obs('patient'), codings: [{ code: 'vital-signs' }] };
    expect(decide(subject, 'read', lab, grantView).allow).toBe(true);
    expect(decide(subject, 'read', vital, grantView).allow).toBe(false);
  });

  it('SMART clients act within their system scopes, on every patient', () => {
    const client: Subject = { kind: 'client', scopes: parseScopes('system/Organization.rs') };
    expect(decide(client, 'read', { type: 'Organization', owner: 'shared', category: 0 }).allow).toBe(true);
    expect(decide(client, 'read', obs('patient')).allow).toBe(false);
    const reader: Subject = { kind: 'client', scopes: parseScopes('system/Observation.rs') };
    expect(decide(reader, 'read', obs('patient')).allow).toBe(true);
    expect(decide(reader, 'update', obs('patient')).allow).toBe(false);
  });

  it('the action reaches the ledger as Read or Write', () => {
    const readOnly = view({ grants: [grant({ actions: 1 << Action.Read })] });
    expect(decide(doctor, 'read', obs('patient'), readOnly).allow).toBe(true);
    expect(decide(doctor, 'search', obs('patient'), readOnly).allow).toBe(true);
    expect(decide(doctor, 'create', obs('patient'), readOnly).allow).toBe(false);
  });

  it('the organisation’s audit log and administration: auditors read the log, administrators administer', () => {
    const op = (type: string, owner: Target['owner']): Target => ({ type, owner, category: UNCATEGORISED });
    const auditor = person('auditor', 'user/*.cruds', Purpose.Operations);
    const admin = person('admin', 'user/*.cruds', Purpose.Treatment);
    const patient = person('patient', 'patient/*.cruds', Purpose.Treatment);
    const client: Subject = { kind: 'client', scopes: parseScopes('system/*.cruds') };
    expect(decide(auditor, 'read', op('AuditEvent', 'organisation')).allow).toBe(true);
    expect(decide(auditor, 'read', op('AuditEvent', 'patient')).allow).toBe(true);
    expect(decide(auditor, 'update', op('AuditEvent', 'organisation')).allow).toBe(false);
    expect(decide(auditor, 'update', op('Administration', 'organisation')).allow).toBe(false);
    expect(decide(admin, 'update', op('Administration', 'organisation')).allow).toBe(true);
    expect(decide(admin, 'read', op('AuditEvent', 'organisation')).allow).toBe(false);
    expect(decide(doctor, 'read', op('AuditEvent', 'patient')).allow).toBe(false);
    expect(decide(doctor, 'update', op('Administration', 'organisation')).allow).toBe(false);
    expect(decide(patient, 'read', op('AuditEvent', 'own')).allow).toBe(true);
    expect(decide(patient, 'read', op('AuditEvent', 'organisation')).allow).toBe(false);
    expect(decide(client, 'read', op('AuditEvent', 'organisation')).allow).toBe(false);
    expect(decide(client, 'update', op('Administration', 'organisation')).allow).toBe(false);
    expect(decide({ kind: 'organisation' }, 'update', op('Administration', 'organisation')).allow).toBe(true);
  });
});
