import type { ConsentTerms } from '@medledger/contracts';
import { validateResource } from '@medledger/fhir';
import fc from 'fast-check';
import { getAddress, type Hex, keccak256, toHex, zeroAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { consentFromFhir, type FhirReference } from './consentFromFhir.js';
import { consentToFhir } from './consentToFhir.js';

const U40_MAX = 2 ** 40 - 1;
const NOW = 1_800_000_000;
const PATIENT = keccak256(toHex('patient')) as Hex;
const MEMBER = getAddress('0x00000000000000000000000000000000000000bb');

const references = {
  patient: { reference: 'Patient/p1' },
  organisation: (id: number): FhirReference => ({ reference: `Organization/org-${id}` }),
  member: { reference: 'PractitionerRole/member-bb' },
};

const resolvers = {
  resolvePatient: (ref: FhirReference) => (ref.reference === 'Patient/p1' ? PATIENT : undefined),
  resolveActor: (ref: FhirReference) => {
    if (ref.reference === references.member.reference) return { organisation: 9, member: MEMBER };
    const m = /^Organization\/org-(\d+)$/.exec(ref.reference ?? '');
    return m ? { organisation: Number(m[1]) } : undefined;
  },
};

/** FHIR writes four-digit years: the last second it can say is 9999-12-31T23:59:59Z. */
const LAST = Date.UTC(10000, 0, 1) / 1000 - 1;
const second = fc.integer({ min: 1, max: LAST });
const termsArb: fc.Arbitrary<ConsentTerms> = fc
  .record({
    grantee: fc.integer({ min: 1, max: 0xffffffff }),
    byMember: fc.boolean(),
    actions: fc.integer({ min: 1, max: 3 }),
    resourceClasses: fc.integer({ min: 1, max: 0xfff }),
    purposes: fc.integer({ min: 1, max: 0x1f }),
    validFrom: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: NOW + 1000 })),
    validUntil: fc.oneof(fc.constant(U40_MAX), fc.integer({ min: NOW + 1001, max: LAST + 1 })),
    dataFrom: fc.oneof(fc.constant(0), second),
    dataSpan: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 10 ** 9 })),
    nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  })
  .map((r) => ({
    patient: PATIENT,
    grantee: r.byMember ? 9 : r.grantee,
    granteeMember: r.byMember ? MEMBER : zeroAddress,
    actions: r.actions,
    resourceClasses: r.resourceClasses,
    purposes: r.purposes,
    validFrom: r.validFrom,
    validUntil: r.validUntil,
    dataFrom: r.dataFrom,
    // -1: no upper bound (0); otherwise at or after dataFrom, and never 0 (which would mean "no bound").
    dataUntil: r.dataSpan < 0 ? 0 : Math.min(LAST, Math.max(1, r.dataFrom + r.dataSpan)),
    nonce: r.nonce,
  }));

function fhirOf(terms: ConsentTerms) {
  return consentToFhir(terms, {
    patient: references.patient,
    actor: terms.granteeMember === zeroAddress ? references.organisation(terms.grantee) : references.member,
  });
}

describe('consentToFhir', () => {
  it('writes a valid R4 Consent that maps back to the same terms', async () => {
    await fc.assert(
      fc.asyncProperty(termsArb, async (terms) => {
        const consent = fhirOf(terms);
        const validation = validateResource(consent);
        expect(validation.ok, JSON.stringify(validation)).toBe(true);
        const back = await consentFromFhir(consent, { ...resolvers, nonce: terms.nonce, now: NOW });
        expect(back).toEqual(terms);
      }),
      { numRuns: 200, seed: 5 },
    );
  });

  it('writes the period end inclusive, data categories as resource types, and a revoked grant as inactive', () => {
    const consent = consentToFhir(
      {
        patient: PATIENT,
        grantee: 2,
        granteeMember: zeroAddress,
        actions: 1,
        resourceClasses: 1 << 6, // Allergies
        purposes: 1 << 4, // Emergency
        validFrom: Date.UTC(2026, 0, 1) / 1000,
        validUntil: Date.UTC(2027, 0, 1) / 1000,
        dataFrom: 0,
        dataUntil: Date.UTC(2025, 0, 1) / 1000,
        nonce: 1n,
      },
      { patient: references.patient, actor: references.organisation(2), status: 'inactive', id: 'g1' },
    );
    expect(consent).toMatchObject({
      id: 'g1',
      status: 'inactive',
      provision: {
        type: 'permit',
        period: { start: '2026-01-01T00:00:00Z', end: '2026-12-31T23:59:59Z' },
        action: [{ coding: [{ code: 'access' }] }],
        purpose: [{ code: 'ETREAT' }],
        class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'AllergyIntolerance' }],
        dataPeriod: { end: '2025-01-01T00:00:00Z' },
      },
    });
    expect((consent.provision as Record<string, unknown>).dataPeriod).not.toHaveProperty('start');
  });

  it('refuses a time FHIR cannot write (year 10000 and later), but writes an open end', () => {
    const terms: ConsentTerms = {
      patient: PATIENT,
      grantee: 2,
      granteeMember: zeroAddress,
      actions: 1,
      resourceClasses: 1,
      purposes: 1,
      validFrom: 0,
      validUntil: U40_MAX,
      dataFrom: 0,
      dataUntil: 0,
      nonce: 1n,
    };
    expect((fhirOf(terms).provision as Record<string, unknown>).period).toBeUndefined();
    expect(() => fhirOf({ ...terms, validUntil: LAST + 2 })).toThrow(/year 9999/);
    expect(() => fhirOf({ ...terms, dataUntil: LAST + 1 })).toThrow(/year 9999/);
  });
});
