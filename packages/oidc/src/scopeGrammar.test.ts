// The provider issues scopes and the node enforces them under one grammar: properties over generated scopes.
import { isMdlError, MdlErrorCode } from '@medledger/core';
import {
  type Interaction,
  parseScope,
  parseScopes,
  type ScopeRequest,
  scopesPermit,
} from '@medledger/identity';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientMetadata, SMART_SCOPES_PROPERTY } from './clientRegistration.js';
import { accountMayHold, checkSystemScopes, checkUserFlowScopes, personTokenScopes } from './scopePolicy.js';
import { isFixedScope, resourceScopeOf, smartScopeCovers, splitScopes } from './smartScopes.js';

const TYPES = ['Observation', 'Condition', 'Patient', 'MedicationRequest', '*'] as const;
const OBS_CAT = 'http://terminology.hl7.org/CodeSystem/observation-category';

const categoryToken = fc.oneof(
  fc.constantFrom('laboratory', 'vital-signs', `${OBS_CAT}|laboratory`, `|laboratory`, `${OBS_CAT}|`),
  fc.stringMatching(/^[a-z0-9-]{1,12}$/),
);
const constraint = fc.oneof(
  fc
    .array(categoryToken, { minLength: 1, maxLength: 3 })
    .map(
      (tokens) => `category=${tokens.map((t) => (t.includes('|') ? t.replace('|', '%7C') : t)).join(',')}`,
    ),
  fc.array(categoryToken, { minLength: 1, maxLength: 2 }).map((tokens) => `category=${tokens.join(',')}`),
  fc.constantFrom('status=final', 'code=http://loinc.org|2339-0'),
);
const permissions = fc.oneof(
  fc.constantFrom('read', 'write', '*'),
  fc.subarray([...'cruds'], { minLength: 1 }).map((letters) => letters.join('')),
);
const level = fc.constantFrom('patient', 'user', 'system');
const scopeText = (l: string, t: string, p: string, c: readonly string[]) =>
  `${l}/${t}.${p}${c.length > 0 ? `?${c.join('&')}` : ''}`;
/** Scopes inside the grammar, as a client would write them. */
const wellFormed = fc
  .tuple(level, fc.constantFrom(...TYPES), permissions, fc.array(constraint, { maxLength: 2 }))
  .map(([l, t, p, c]) => scopeText(l, t, p, c));

/** Near misses and noise: edits of good scopes and strings over the grammar's alphabet. */
const anyScope = fc.oneof(
  wellFormed,
  fc
    .tuple(
      wellFormed,
      fc.nat(),
      fc.constantFrom('', ' ', '"', '\\', '?', '&', '=', '%', '.', '/', 'x', 'R', '%ZZ'),
    )
    .map(([s, at, ch]) => {
      const i = at % (s.length + 1);
      return s.slice(0, i) + ch + s.slice(i + (ch === '' ? 1 : 0));
    }),
  fc.stringMatching(/^[a-zA-Z*/.?&=%|:,0-9 "\\-]{0,40}$/),
  fc.constantFrom(
    'openid',
    'fhirUser',
    'launch/patient',
    'offline_access',
    'launch',
    'profile',
    'launch/encounter',
  ),
);

function nodeParses(scope: string): boolean {
  try {
    parseScope(scope);
    return true;
  } catch (e) {
    expect(isMdlError(e, MdlErrorCode.BadInput)).toBe(true);
    return false;
  }
}

/** What the provider issues for one scope, given a client registered for exactly that scope. */
function issued(scope: string): string[] {
  const metadata = clientMetadata({
    clientId: 'c',
    name: 'C',
    scopes: [scope],
    firstParty: false,
    ...(scope.startsWith('system/')
      ? { jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x' }] } }
      : { redirectUris: ['https://app.example/cb'] }),
  });
  const registered = splitScopes(metadata[SMART_SCOPES_PROPERTY]).map((s) => resourceScopeOf(s)!);
  if (scope.startsWith('system/')) {
    const r = checkSystemScopes([scope], registered);
    return r.ok ? r.scopes : [];
  }
  const r = checkUserFlowScopes([scope], registered);
  if (!r.ok) return [];
  const claims = { role: 'patient', patient: 'p1' };
  return personTokenScopes(r.scopes.filter((s) => accountMayHold(s, claims)));
}

describe('one scope grammar for the provider and the node', () => {
  it('every scope the provider issues parses identically in the node, its constraints intact', () => {
    fc.assert(
      fc.property(wellFormed, (scope) => {
        const tokens = issued(scope);
        expect(tokens).toEqual([scope]);
        const [atNode] = parseScopes(tokens.join(' '));
        expect(atNode).toEqual(resourceScopeOf(scope));
        expect(atNode).toMatchObject({ kind: 'resource', scope });
      }),
      { numRuns: 500 },
    );
  });

  it('a ?category= scope the provider issues permits at the node exactly the categories it names', () => {
    fc.assert(
      fc.property(categoryToken, categoryToken, (granted, other) => {
        const scope = `patient/Observation.rs?category=${granted}`;
        expect(issued(scope)).toEqual([scope]);
        const [system, code] = granted.includes('|') ? granted.split('|') : [undefined, granted];
        const request: ScopeRequest = {
          resourceType: 'Observation',
          interaction: 'read',
          patientContext: 'Patient/p1',
          targetPatient: 'Patient/p1',
          categories: [{ ...(system ? { system } : {}), ...(code ? { code } : { code: 'any' }) }],
        };
        expect(scopesPermit(scope, request)).toBe(true);
        if (!other.includes('|') && other !== code && other !== granted) {
          expect(
            scopesPermit(scope, { ...request, categories: [{ system: 'urn:other', code: other }] }),
          ).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a malformed scope is refused at both ends; whatever the provider accepts, the node parses', () => {
    const everything = ['patient/*.cruds', 'user/*.cruds', 'system/*.cruds'].map((s) => resourceScopeOf(s)!);
    const patient = { role: 'patient', patient: 'p1' };
    const doctor = { role: 'practitioner', fhirUser: 'Practitioner/x' };
    // Both sides of the property occur often enough to mean something.
    const sample = fc.sample(anyScope, { numRuns: 1000, seed: 1 });
    expect(sample.filter(nodeParses).length).toBeGreaterThan(200);
    expect(sample.filter((s) => !nodeParses(s)).length).toBeGreaterThan(200);
    fc.assert(
      fc.property(anyScope, (scope) => {
        const parses = nodeParses(scope);
        const accepted =
          resourceScopeOf(scope) !== undefined ||
          checkUserFlowScopes([scope], everything).ok ||
          checkSystemScopes([scope], everything).ok ||
          accountMayHold(scope, patient) ||
          accountMayHold(scope, doctor) ||
          personTokenScopes([scope]).length > 0;
        if (accepted) expect(parses, scope).toBe(true);
        if (!parses) {
          expect(resourceScopeOf(scope)).toBeUndefined();
          expect(isFixedScope(scope)).toBe(false);
          expect(() =>
            clientMetadata({
              clientId: 'c',
              name: 'C',
              scopes: [scope],
              firstParty: false,
              redirectUris: ['https://app.example/cb'],
            }),
          ).toThrow();
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a registration that covers a scope permits at the node at least what the scope does', () => {
    const request = fc.record({
      resourceType: fc.constantFrom('Observation', 'Condition', 'Patient'),
      interaction: fc.constantFrom<Interaction>('create', 'read', 'update', 'delete', 'search'),
      patientContext: fc.constantFrom(undefined, 'Patient/p1'),
      targetPatient: fc.constantFrom(undefined, 'Patient/p1', 'Patient/p2'),
      categories: fc.array(
        fc.record({
          system: fc.constantFrom(OBS_CAT, undefined),
          code: fc.constantFrom('laboratory', 'vital-signs'),
        }),
        { maxLength: 2 },
      ),
    });
    // A granted scope near the requested one: the same level, and often a wider type or more permissions.
    const pair = fc
      .tuple(level, fc.constantFrom(...TYPES), permissions, fc.array(constraint, { maxLength: 2 }))
      .chain(([l, t, p, c]) =>
        fc.tuple(
          fc.constant(scopeText(l, t, p, c)),
          fc
            .tuple(
              fc.constantFrom(t, '*'),
              fc.constantFrom(p, 'cruds'),
              fc.oneof(fc.constant(c), fc.array(constraint, { maxLength: 2 })),
            )
            .map(([gt, gp, gc]) => scopeText(l, gt, gp, gc)),
        ),
      );
    fc.assert(
      fc.property(pair, request, ([r, g], req) => {
        const granted = resourceScopeOf(g)!;
        const requested = resourceScopeOf(r)!;
        const clean = JSON.parse(JSON.stringify(req)) as ScopeRequest;
        if (smartScopeCovers(granted, requested) && scopesPermit([requested], clean)) {
          expect(scopesPermit([granted], clean)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
