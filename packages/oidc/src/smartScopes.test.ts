import type { ResourceScope } from '@medledger/identity';
import { describe, expect, it } from 'vitest';
import { accountMayHold, checkSystemScopes, checkUserFlowScopes, personTokenScopes } from './scopePolicy.js';
import { FIXED_SCOPES, resourceScopeOf, smartScopeCovers, splitScopes } from './smartScopes.js';

const p = (s: string) => resourceScopeOf(s)!;

describe('resourceScopeOf (the shared grammar)', () => {
  it('parses v2 scopes, with and without a query', () => {
    expect(resourceScopeOf('patient/Observation.rs')).toMatchObject({
      level: 'patient',
      resourceType: 'Observation',
      interactions: ['read', 'search'],
      constraints: [],
    });
    expect(resourceScopeOf('user/*.cruds')).toMatchObject({
      level: 'user',
      resourceType: '*',
      interactions: ['create', 'read', 'update', 'delete', 'search'],
    });
    expect(resourceScopeOf('system/*.rs')).toMatchObject({ level: 'system', resourceType: '*' });
    expect(resourceScopeOf('patient/Observation.rs?category=laboratory')).toMatchObject({
      scope: 'patient/Observation.rs?category=laboratory',
      constraints: [['category', 'laboratory']],
    });
    expect(
      resourceScopeOf('patient/Observation.r?code=http://loinc.org|2339-0&status=final')?.constraints,
    ).toEqual([
      ['code', 'http://loinc.org|2339-0'],
      ['status', 'final'],
    ]);
  });

  it('maps v1 permissions onto v2', () => {
    expect(p('patient/Observation.read').interactions).toEqual(p('patient/Observation.rs').interactions);
    expect(p('user/*.write').interactions).toEqual(p('user/*.cud').interactions);
    expect(p('system/Patient.*').interactions).toEqual(p('system/Patient.cruds').interactions);
  });

  it('refuses malformed scopes, and scopes that are not resource scopes', () => {
    for (const bad of [
      '',
      'openid',
      'launch/patient',
      'patient/Observation',
      'patient/Observation.',
      'patient/observation.rs',
      'patient/Observation.sr',
      'patient/Observation.rr',
      'patient/Observation.x',
      'patient/Observation.readwrite',
      'admin/Observation.rs',
      'patient/*.rs?',
      'patient/*.rs?code',
      'patient/*.rs?a=1&&b=2',
      'patient/*.rs?category=%E0%A4%A',
      'Patient/*.rs',
      `patient/${'A'.repeat(300)}.rs`,
    ]) {
      expect(resourceScopeOf(bad), bad).toBeUndefined();
    }
  });

  it('offers only fixed scopes the shared grammar knows', () => {
    for (const scope of FIXED_SCOPES) expect(resourceScopeOf(scope)).toBeUndefined();
  });

  it('splits scope parameters into distinct values', () => {
    expect(splitScopes('openid  openid patient/*.rs ')).toEqual(['openid', 'patient/*.rs']);
    expect(splitScopes(undefined)).toEqual([]);
    expect(splitScopes(['a'])).toEqual([]);
  });
});

describe('smartScopeCovers', () => {
  const covers = (granted: string, requested: string) => smartScopeCovers(p(granted), p(requested));
  it('covers narrower scopes of the same context', () => {
    expect(covers('system/*.rs', 'system/Observation.rs')).toBe(true);
    expect(covers('system/*.rs', 'system/Observation.r')).toBe(true);
    expect(covers('user/*.cruds', 'user/Patient.write')).toBe(true);
    expect(covers('patient/*.rs', 'patient/Observation.rs?category=vital-signs')).toBe(true);
    expect(covers('patient/Observation.rs?category=x', 'patient/Observation.rs?category=x')).toBe(true);
    // The same constraint, percent-encoded or not, as the node decodes it.
    expect(covers('patient/Observation.rs?category=a%7Cb', 'patient/Observation.rs?category=a|b')).toBe(true);
  });
  it('does not cover more permissions, another type, another context or another query', () => {
    expect(covers('system/*.rs', 'system/Observation.cruds')).toBe(false);
    expect(covers('system/Patient.rs', 'system/Observation.rs')).toBe(false);
    expect(covers('user/*.cruds', 'system/Observation.rs')).toBe(false);
    expect(covers('patient/*.rs', 'user/Observation.rs')).toBe(false);
    expect(covers('patient/Observation.rs?category=x', 'patient/Observation.rs')).toBe(false);
    expect(covers('patient/Observation.rs?category=x', 'patient/Observation.rs?category=y')).toBe(false);
    expect(
      covers('patient/Observation.rs?category=x', 'patient/Observation.rs?category=x&status=final'),
    ).toBe(false);
  });
});

describe('scope policy', () => {
  const registered: ResourceScope[] = ['patient/*.rs', 'user/Observation.cruds', 'system/*.rs'].map(p);

  it('lets a person flow ask for fixed scopes and covered patient/user scopes only', () => {
    expect(
      checkUserFlowScopes(['openid', 'fhirUser', 'patient/Observation.rs', 'user/Observation.c'], registered),
    ).toEqual({ ok: true, scopes: ['patient/Observation.rs', 'user/Observation.c'] });
    expect(checkUserFlowScopes(['patient/Observation.cruds'], registered)).toEqual({
      ok: false,
      scope: 'patient/Observation.cruds',
    });
    expect(checkUserFlowScopes(['system/Observation.rs'], registered)).toEqual({
      ok: false,
      scope: 'system/Observation.rs',
    });
    expect(checkUserFlowScopes(['profile'], registered)).toEqual({ ok: false, scope: 'profile' });
  });

  it('lets a system client ask for covered system scopes only, and at least one', () => {
    expect(checkSystemScopes(['system/Observation.rs', 'system/Patient.r'], registered)).toEqual({
      ok: true,
      scopes: ['system/Observation.rs', 'system/Patient.r'],
    });
    expect(checkSystemScopes([], registered)).toEqual({ ok: false, scope: '' });
    expect(checkSystemScopes(['system/Observation.cud'], registered).ok).toBe(false);
    expect(checkSystemScopes(['patient/Observation.rs'], registered).ok).toBe(false);
    expect(checkSystemScopes(['openid'], registered).ok).toBe(false);
  });

  it('gives patient scopes and the patient launch context only to accounts with a patient context', () => {
    const patient = { role: 'patient', patient: 'p1' };
    const doctor = { role: 'practitioner', fhirUser: 'Practitioner/x' };
    for (const scope of ['patient/Observation.rs', 'launch/patient']) {
      expect(accountMayHold(scope, patient)).toBe(true);
      expect(accountMayHold(scope, doctor)).toBe(false);
    }
    for (const scope of ['openid', 'fhirUser', 'offline_access', 'user/*.rs']) {
      expect(accountMayHold(scope, doctor)).toBe(true);
    }
    expect(accountMayHold('system/*.rs', patient)).toBe(false);
    expect(accountMayHold('bogus', patient)).toBe(false);
  });

  it('lets person tokens carry fixed and person scopes only', () => {
    expect(personTokenScopes(['openid', 'patient/*.rs', 'system/*.rs', 'bogus', 'user/*.r'])).toEqual([
      'openid',
      'patient/*.rs',
      'user/*.r',
    ]);
  });
});
