import { readFileSync } from 'node:fs';
import { MemberRole, Purpose } from '@medledger/contracts';
import { DataCategory } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import {
  isClinicalRole,
  isRole,
  ROLE_DEFINITIONS,
  ROLES,
  type Role,
  roleAllows,
  roleDefinition,
  roleHas,
} from './roles.js';

const C = DataCategory;
const P = Purpose;
const CATEGORIES = Object.values(DataCategory) as DataCategory[];
const PURPOSES = Object.values(Purpose) as Purpose[];

/** Every (action, category, purpose) the role allows. */
function allowed(role: Role) {
  const out: string[] = [];
  for (const action of ['read', 'write'] as const)
    for (const category of CATEGORIES)
      for (const purpose of PURPOSES)
        if (roleAllows(role, action, category, purpose)) out.push(`${action}:${category}:${purpose}`);
  return out;
}

describe('role ceilings', () => {
  it('marks exactly doctor, nurse, pharmacist and lab as clinical (licence required)', () => {
    expect(ROLES.filter(isClinicalRole).sort()).toEqual(['doctor', 'lab', 'nurse', 'pharmacist']);
  });

  it('maps roles to on-chain member roles, none for patients and admins', () => {
    expect(Object.fromEntries(ROLES.map((r) => [r, roleDefinition(r).memberRole]))).toEqual({
      patient: undefined,
      doctor: MemberRole.Practitioner,
      nurse: MemberRole.Practitioner,
      lab: MemberRole.LabStaff,
      pharmacist: MemberRole.Pharmacist,
      insurer: MemberRole.ClaimAgent,
      researcher: MemberRole.Researcher,
      auditor: MemberRole.Auditor,
      admin: undefined,
    });
  });

  it('lets a pharmacist read medications, allergies and demographics and write only medications', () => {
    expect(roleAllows('pharmacist', 'read', C.Medications, P.Treatment)).toBe(true);
    expect(roleAllows('pharmacist', 'read', C.Allergies, P.Treatment)).toBe(true);
    expect(roleAllows('pharmacist', 'read', C.Demographics, P.Treatment)).toBe(true);
    expect(roleAllows('pharmacist', 'write', C.Medications, P.Treatment)).toBe(true);
    expect(roleAllows('pharmacist', 'read', C.Conditions, P.Treatment)).toBe(false);
    expect(roleAllows('pharmacist', 'read', C.Imaging, P.Treatment)).toBe(false);
    expect(roleAllows('pharmacist', 'write', C.Allergies, P.Treatment)).toBe(false);
    expect(roleAllows('pharmacist', 'read', C.Medications, P.Payment)).toBe(false);
    expect(roleAllows('pharmacist', 'read', C.Medications, P.Emergency)).toBe(false);
  });

  it('lets a lab write results and read only demographics', () => {
    for (const c of [C.Observations, C.Procedures, C.Imaging, C.Documents]) {
      expect(roleAllows('lab', 'write', c, P.Treatment)).toBe(true);
      expect(roleAllows('lab', 'read', c, P.Treatment)).toBe(false);
    }
    expect(roleAllows('lab', 'read', C.Demographics, P.Treatment)).toBe(true);
    expect(roleAllows('lab', 'write', C.Medications, P.Treatment)).toBe(false);
    expect(roleAllows('lab', 'write', C.Conditions, P.Treatment)).toBe(false);
  });

  it('lets an insurer read claims, encounters and demographics for payment only', () => {
    for (const c of [C.Claims, C.Encounters, C.Demographics]) {
      expect(roleAllows('insurer', 'read', c, P.Payment)).toBe(true);
      expect(roleAllows('insurer', 'read', c, P.Treatment)).toBe(false);
    }
    expect(roleAllows('insurer', 'read', C.Conditions, P.Payment)).toBe(false);
    expect(roleAllows('insurer', 'read', C.Observations, P.Payment)).toBe(false);
  });

  it('gives researchers, auditors and admins no record access at all', () => {
    for (const role of ['researcher', 'auditor', 'admin'] as const) expect(allowed(role)).toEqual([]);
    expect(roleHas('researcher', 'deidentified-aggregates')).toBe(true);
    expect(roleHas('auditor', 'audit')).toBe(true);
    expect(roleHas('admin', 'administer')).toBe(true);
    expect(roleHas('admin', 'audit')).toBe(false);
    expect(roleHas('auditor', 'administer')).toBe(false);
  });

  it('keeps claims from clinicians and break-glass (Emergency) to doctors and nurses', () => {
    for (const role of ['doctor', 'nurse'] as const) {
      expect(roleAllows(role, 'read', C.Claims, P.Treatment)).toBe(false);
      expect(roleAllows(role, 'read', C.Observations, P.Emergency)).toBe(true);
      expect(roleHas(role, 'break-glass')).toBe(true);
    }
    expect(ROLES.filter((r) => roleHas(r, 'break-glass')).sort()).toEqual(['doctor', 'nurse']);
    expect(roleAllows('doctor', 'read', C.Observations, P.Research)).toBe(false);
    expect(roleAllows('nurse', 'write', C.Conditions, P.Treatment)).toBe(false);
    expect(roleAllows('doctor', 'write', C.Conditions, P.Treatment)).toBe(true);
  });

  it("treats a patient's own-record access as not purpose-bound", () => {
    expect(roleAllows('patient', 'read', C.Claims, undefined)).toBe(true);
    expect(roleAllows('patient', 'write', C.Demographics, undefined)).toBe(true);
    expect(roleAllows('patient', 'write', C.Documents, undefined)).toBe(true);
    expect(roleAllows('patient', 'write', C.Observations, undefined)).toBe(false);
    expect(roleAllows('doctor', 'read', C.Observations, undefined)).toBe(false);
  });

  it('refuses unknown roles, actions, categories and purposes without throwing', () => {
    expect(roleAllows('root' as Role, 'read', C.Demographics, P.Treatment)).toBe(false);
    expect(roleAllows('doctor', 'delete' as 'read', C.Demographics, P.Treatment)).toBe(false);
    expect(roleAllows('doctor', 'read', 99 as DataCategory, P.Treatment)).toBe(false);
    expect(roleAllows('doctor', 'read', C.Demographics, 7 as Purpose)).toBe(false);
    expect(isRole('Doctor')).toBe(false);
    expect(roleHas('root' as Role, 'administer')).toBe(false);
    expect(() => roleDefinition('root' as Role)).toThrow();
  });

  it('cannot be widened at run time', () => {
    expect(() => (ROLE_DEFINITIONS.pharmacist.read as DataCategory[]).push(C.Imaging)).toThrow();
    expect(roleAllows('pharmacist', 'read', C.Imaging, P.Treatment)).toBe(false);
  });

  it('matches the matrix documented in docs/identity.md', () => {
    const doc = readFileSync(new URL('../../../docs/identity.md', import.meta.url), 'utf8');
    const block = /<!-- role-matrix:begin -->\n([\s\S]*?)<!-- role-matrix:end -->/.exec(doc)?.[1];
    expect(block, 'docs/identity.md has the role matrix block').toBeDefined();
    const names = Object.fromEntries(Object.entries(DataCategory).map(([k, v]) => [v, k]));
    const purposeNames = Object.fromEntries(Object.entries(Purpose).map(([k, v]) => [v, k]));
    const rows = block!
      .trim()
      .split('\n')
      .slice(2)
      .map((line) => line.split('|').map((cell) => cell.trim()));
    const documented = Object.fromEntries(
      rows.map((cells) => [cells[1]!.replaceAll('`', ''), cells.slice(2, 8)]),
    );
    for (const role of ROLES) {
      const def = ROLE_DEFINITIONS[role];
      const list = (xs: readonly number[], n: Record<number, string>) =>
        xs.length ? xs.map((x) => n[x]).join(', ') : '—';
      expect(documented[role], role).toEqual([
        def.clinical ? 'yes' : 'no',
        def.memberRole === undefined
          ? '—'
          : Object.entries(MemberRole).find(([, v]) => v === def.memberRole)![0],
        def.purposes.length ? def.purposes.map((p) => purposeNames[p]).join(', ') : '—',
        def.read.length === CATEGORIES.length ? 'all' : list(def.read, names),
        list(def.write, names),
        def.capabilities.length ? def.capabilities.join(', ') : '—',
      ]);
    }
  });
});
