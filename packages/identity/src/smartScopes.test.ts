import { describe, expect, it } from 'vitest';
import {
  interactionLetters,
  parseScope,
  parseScopes,
  type ResourceScope,
  type ScopeRequest,
  scopesAllowAttempt,
  scopesPermit,
} from './smartScopes.js';

const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';
const OBS_CAT = 'http://terminology.hl7.org/CodeSystem/observation-category';
const COND_CAT = 'http://terminology.hl7.org/CodeSystem/condition-category';

function resource(scope: string): ResourceScope {
  const parsed = parseScope(scope);
  expect(parsed.kind).toBe('resource');
  return parsed as ResourceScope;
}

describe('parsing (SMART App Launch v2 examples)', () => {
  it('parses the spec examples of patient-, user- and system-level scopes', () => {
    const examples: [string, string, string, string][] = [
      ['patient/Observation.rs', 'patient', 'Observation', 'rs'],
      ['patient/Patient.r', 'patient', 'Patient', 'r'],
      ['patient/Observation.c', 'patient', 'Observation', 'c'],
      ['patient/*.cruds', 'patient', '*', 'cruds'],
      ['patient/*.rs', 'patient', '*', 'rs'],
      ['user/Observation.rs', 'user', 'Observation', 'rs'],
      ['user/Appointment.cruds', 'user', 'Appointment', 'cruds'],
      ['user/*.cruds', 'user', '*', 'cruds'],
      ['user/Patient.rs', 'user', 'Patient', 'rs'],
      ['system/Observation.rs', 'system', 'Observation', 'rs'],
      ['system/*.rs', 'system', '*', 'rs'],
      ['system/Encounter.cud', 'system', 'Encounter', 'cud'],
      ['patient/AllergyIntolerance.cud', 'patient', 'AllergyIntolerance', 'cud'],
      ['patient/Observation.cu', 'patient', 'Observation', 'cu'],
    ];
    for (const [scope, level, type, letters] of examples) {
      const s = resource(scope);
      expect(s.level, scope).toBe(level);
      expect(s.resourceType).toBe(type);
      expect(interactionLetters(s.interactions)).toBe(letters);
      expect(s.version).toBe(2);
      expect(s.constraints).toEqual([]);
    }
  });

  it('reads v1 scopes with their v2 meaning', () => {
    expect(interactionLetters(resource('patient/Observation.read').interactions)).toBe('rs');
    expect(interactionLetters(resource('patient/Observation.write').interactions)).toBe('cud');
    expect(interactionLetters(resource('user/*.*').interactions)).toBe('cruds');
    expect(resource('user/*.*').version).toBe(1);
  });

  it('keeps ?param=value constraints, decoded', () => {
    expect(resource(`patient/Observation.rs?category=${LAB}`).constraints).toEqual([['category', LAB]]);
    expect(resource(`patient/Condition.rs?category=${COND_CAT}|health-concern`).constraints).toEqual([
      ['category', `${COND_CAT}|health-concern`],
    ]);
    expect(
      resource('patient/Observation.rs?code:in=http://valueset.example.org/ValueSet/diabetes-codes')
        .constraints,
    ).toEqual([['code:in', 'http://valueset.example.org/ValueSet/diabetes-codes']]);
    expect(resource('user/Observation.rs?category=vital-signs&status=final').constraints).toEqual([
      ['category', 'vital-signs'],
      ['status', 'final'],
    ]);
    expect(resource('user/Observation.rs?category=a%7Cb').constraints).toEqual([['category', 'a|b']]);
  });

  it('parses identity, launch and refresh scopes', () => {
    expect(parseScopes('openid fhirUser launch launch/patient offline_access')).toEqual([
      { kind: 'identity', scope: 'openid' },
      { kind: 'identity', scope: 'fhirUser' },
      { kind: 'launch', scope: 'launch' },
      { kind: 'launch', scope: 'launch/patient', context: 'patient' },
      { kind: 'access', scope: 'offline_access' },
    ]);
    expect(parseScope('launch/encounter')).toEqual({
      kind: 'launch',
      scope: 'launch/encounter',
      context: 'encounter',
    });
    expect(parseScope('launch/list?role=https://example.org/med-list-at-home')).toMatchObject({
      context: 'list',
      role: 'https://example.org/med-list-at-home',
    });
    expect(parseScope('online_access')).toEqual({ kind: 'access', scope: 'online_access' });
    expect(parseScopes('  patient/Observation.rs   patient/Observation.rs openid ')).toHaveLength(2);
  });

  it('refuses malformed scopes instead of guessing', () => {
    const malformed = [
      'patient/Observation.dus', // out of order (the spec's own example)
      'patient/Observation.sr',
      'patient/Observation.rr',
      'patient/Observation.',
      'patient/Observation',
      'patient/Observation.x',
      'patient/Observation.r*',
      'patient/Observation.Read',
      'patient/Observation.readwrite',
      'patient/observation.rs',
      'Patient/Observation.rs',
      'practitioner/Observation.rs',
      'patient/*.rs.rs',
      'patient//Observation.rs',
      'patient/Obs-ervation.rs',
      'patient/Observation.rs?',
      'patient/Observation.rs?category',
      'patient/Observation.rs?category=',
      'patient/Observation.rs?=x',
      'patient/Observation.rs?category=%E0%A4%A',
      'launch/Patient',
      'launch/patient?role',
      'launch/patient?foo=bar',
      'launch/',
      'openid2',
      'email',
      'FHIRUSER',
      'patient/Observation.rs\u00a0',
      'patient/Observation."rs"',
      '',
    ];
    for (const scope of malformed) {
      expect(() => parseScope(scope), scope).toThrow(expect.objectContaining({ code: 'MDL_BAD_INPUT' }));
    }
    expect(() => parseScopes('openid patient/Observation.sr')).toThrow();
    expect(() => parseScopes(42 as unknown as string)).toThrow();
  });
});

describe('scopesPermit', () => {
  const patientRead: ScopeRequest = {
    resourceType: 'Observation',
    interaction: 'read',
    patientContext: '123',
    targetPatient: '123',
  };

  it('limits patient/ scopes to the patient in context', () => {
    expect(scopesPermit('patient/Observation.rs', patientRead)).toBe(true);
    expect(scopesPermit('patient/Observation.rs', { ...patientRead, interaction: 'search' })).toBe(true);
    // A patient token used for another patient, or without a patient context, or for no patient's data.
    expect(scopesPermit('patient/Observation.rs', { ...patientRead, targetPatient: '456' })).toBe(false);
    expect(
      scopesPermit('patient/Observation.rs', {
        resourceType: 'Observation',
        interaction: 'read',
        targetPatient: '123',
      }),
    ).toBe(false);
    expect(
      scopesPermit('patient/*.rs', {
        resourceType: 'Medication',
        interaction: 'read',
        patientContext: '123',
      }),
    ).toBe(false);
  });

  it('grants exactly the listed interactions; write does not imply read', () => {
    expect(scopesPermit('patient/Observation.c', { ...patientRead, interaction: 'create' })).toBe(true);
    expect(scopesPermit('patient/Observation.c', patientRead)).toBe(false);
    expect(
      scopesPermit('patient/AllergyIntolerance.cud', { ...patientRead, resourceType: 'AllergyIntolerance' }),
    ).toBe(false);
    expect(scopesPermit('patient/Observation.rs', { ...patientRead, interaction: 'update' })).toBe(false);
    expect(scopesPermit('patient/Observation.rs', { ...patientRead, interaction: 'delete' })).toBe(false);
    expect(scopesPermit('patient/Observation.write', { ...patientRead, interaction: 'delete' })).toBe(true);
    expect(scopesPermit('patient/Observation.write', patientRead)).toBe(false);
  });

  it('matches the resource type or the wildcard, and combines scopes as a union', () => {
    expect(scopesPermit('patient/Condition.rs', patientRead)).toBe(false);
    expect(scopesPermit('patient/*.rs', patientRead)).toBe(true);
    expect(
      scopesPermit('patient/Condition.rs patient/AllergyIntolerance.rs', {
        ...patientRead,
        resourceType: 'AllergyIntolerance',
      }),
    ).toBe(true);
    expect(scopesPermit('openid fhirUser launch/patient', patientRead)).toBe(false);
    expect(scopesPermit('', patientRead)).toBe(false);
  });

  it('lets user/ and system/ scopes through to the underlying permissions', () => {
    const anyPatient = { resourceType: 'Observation', interaction: 'search' as const, targetPatient: '999' };
    expect(scopesPermit('user/Observation.rs', anyPatient)).toBe(true);
    expect(scopesPermit('system/*.rs', anyPatient)).toBe(true);
    expect(scopesPermit('system/Encounter.cud', { resourceType: 'Encounter', interaction: 'create' })).toBe(
      true,
    );
    expect(scopesPermit('system/Encounter.cud', { resourceType: 'Encounter', interaction: 'read' })).toBe(
      false,
    );
  });

  it('enforces ?category= with FHIR token semantics and fails closed on other constraints', () => {
    const lab = `patient/Observation.rs?category=${LAB}`;
    const laboratory = [{ system: OBS_CAT, code: 'laboratory' }];
    const vitals = [{ system: OBS_CAT, code: 'vital-signs' }];
    expect(scopesPermit(lab, { ...patientRead, categories: laboratory })).toBe(true);
    expect(scopesPermit(lab, { ...patientRead, categories: [...vitals, ...laboratory] })).toBe(true);
    expect(scopesPermit(lab, { ...patientRead, categories: vitals })).toBe(false);
    expect(scopesPermit(lab, { ...patientRead, categories: [{ code: 'laboratory' }] })).toBe(false);
    expect(scopesPermit(lab, patientRead)).toBe(false);
    expect(
      scopesPermit('user/Observation.rs?category=laboratory', { ...patientRead, categories: laboratory }),
    ).toBe(true);
    expect(
      scopesPermit('user/Observation.rs?category=|laboratory', { ...patientRead, categories: laboratory }),
    ).toBe(false);
    expect(
      scopesPermit('user/Observation.rs?category=|laboratory', {
        ...patientRead,
        categories: [{ code: 'laboratory' }],
      }),
    ).toBe(true);
    expect(
      scopesPermit(`user/Observation.rs?category=${OBS_CAT}|`, { ...patientRead, categories: vitals }),
    ).toBe(true);
    expect(
      scopesPermit('user/Observation.rs?category=vital-signs,laboratory', {
        ...patientRead,
        categories: laboratory,
      }),
    ).toBe(true);
    // Constraints we cannot enforce permit nothing.
    expect(scopesPermit('user/Observation.rs?status=final', { ...patientRead, categories: laboratory })).toBe(
      false,
    );
    expect(
      scopesPermit('user/Observation.rs?category:not=laboratory', { ...patientRead, categories: vitals }),
    ).toBe(false);
    // A constrained and an unconstrained scope: the union.
    expect(scopesPermit(`${lab} patient/Observation.r`, { ...patientRead, categories: vitals })).toBe(true);
  });

  it('lets a search start under a category scope, whose results are then filtered', () => {
    const lab = `patient/Observation.rs?category=${LAB}`;
    const search = {
      resourceType: 'Observation',
      interaction: 'search' as const,
      patientContext: '1',
      targetPatient: '1',
    };
    expect(scopesAllowAttempt(lab, search)).toBe(true);
    expect(scopesAllowAttempt(lab, { ...search, targetPatient: '2' })).toBe(false);
    expect(scopesAllowAttempt('user/Observation.rs?status=final', search)).toBe(false);
    expect(scopesPermit(lab, { ...search, categories: [{ system: OBS_CAT, code: 'laboratory' }] })).toBe(
      true,
    );
    expect(scopesPermit(lab, { ...search, categories: [{ system: OBS_CAT, code: 'social-history' }] })).toBe(
      false,
    );
  });

  it('refuses a malformed scope string outright', () => {
    expect(() => scopesPermit('patient/Observation.sr', patientRead)).toThrow();
  });
});
