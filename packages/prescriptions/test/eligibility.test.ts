/**
 * Coverage eligibility round trips on realistic inputs: the patient, prescriptions and payer of a Synthea
 * bundle (shared/data), the Coverage rebuilt from the Coverage Synthea embeds in its ExplanationOfBenefits
 * (period = the span of their billable periods), and a small US Drug Formulary STU1 formulary. Every request
 * and response produced is validated against the official R4 schema.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FHIR_SCHEMA_SHA256, validateResource } from '@medledger/fhir';
import { beforeAll, describe, expect, it } from 'vitest';
import { decideEligibility, type EligibilityInput } from '../src/eligibility/decideEligibility.js';
import { ELIGIBILITY_ERROR_SYSTEM } from '../src/eligibility/eligibilityError.js';
import { eligibilityRequestFor } from '../src/eligibility/eligibilityRequestFor.js';
import {
  USDF_DRUG_TIER,
  USDF_DRUG_TIER_SYSTEM,
  USDF_PLAN_ID,
  USDF_PRIOR_AUTHORIZATION,
  USDF_QUANTITY_LIMIT,
  USDF_STEP_THERAPY,
} from '../src/eligibility/formularyDrug.js';
import { bundleResources, type Resource } from './syntheaData.js';

const BUNDLE = 'Chet_Thompson_eda17701-070d-4fae-9f7d-c8cd6263b63a.json';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const NOW = '2026-03-01T09:00:00Z';
const INSURER = 'Organization/insurer-private';
const PLAN = 'private-standard';

let resources: Resource[];
let patient: string;
let oxycodone: Resource;
let nitroglycerin: Resource;
let coverage: Resource;

function drug(
  code: string,
  o: {
    tier?: string;
    pa?: boolean;
    step?: boolean;
    ql?: boolean;
    plan?: string;
    copay?: number;
    status?: string;
  },
) {
  return {
    resourceType: 'MedicationKnowledge',
    id: `fd-${code}-${o.plan ?? 'all'}`,
    ...(o.status === undefined ? { status: 'active' } : { status: o.status }),
    extension: [
      ...(o.plan === undefined ? [] : [{ url: USDF_PLAN_ID, valueString: o.plan }]),
      ...(o.tier === undefined
        ? []
        : [
            {
              url: USDF_DRUG_TIER,
              valueCodeableConcept: { coding: [{ system: USDF_DRUG_TIER_SYSTEM, code: o.tier }] },
            },
          ]),
      { url: USDF_PRIOR_AUTHORIZATION, valueBoolean: o.pa ?? false },
      { url: USDF_STEP_THERAPY, valueBoolean: o.step ?? false },
      { url: USDF_QUANTITY_LIMIT, valueBoolean: o.ql ?? false },
    ],
    code: { coding: [{ system: RXNORM, code }] },
    ...(o.copay === undefined
      ? {}
      : {
          cost: [
            {
              type: {
                coding: [{ system: 'http://terminology.hl7.org/CodeSystem/benefit-type', code: 'copay' }],
              },
              cost: { value: o.copay, currency: 'USD' },
            },
          ],
        }),
  };
}

const FORMULARY = [
  drug('1049221', { tier: 'generic', pa: true, ql: true, copay: 10 }), // oxycodone / acetaminophen, every plan
  drug('562251', { tier: 'preferred-generic', plan: PLAN, copay: 0 }), // amoxicillin / clavulanate
  drug('705129', { tier: 'brand', plan: 'another-plan' }), // nitroglycerin, on another plan only
  drug('705129', { tier: 'brand', status: 'inactive' }), // … and withdrawn from the general list
];

beforeAll(() => {
  resources = bundleResources(BUNDLE);
  patient = `urn:uuid:${resources.find((r) => r.resourceType === 'Patient')?.id}`;
  const requests = resources.filter((r) => r.resourceType === 'MedicationRequest');
  oxycodone = requests.find((r) => JSON.stringify(r).includes('"1049221"'))!;
  nitroglycerin = requests.find((r) => JSON.stringify(r).includes('"705129"'))!;
  const eobs = resources.filter((r) => r.resourceType === 'ExplanationOfBenefit') as (Resource & {
    billablePeriod: { start: string; end: string };
    contained: Resource[];
  })[];
  const embedded = eobs[0]!.contained.find((c) => c.resourceType === 'Coverage')!;
  coverage = {
    ...embedded,
    id: 'private-1',
    period: {
      start: eobs.map((e) => e.billablePeriod.start).sort()[0],
      end: eobs
        .map((e) => e.billablePeriod.end)
        .sort()
        .at(-1),
    },
    class: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'plan' }] },
        value: PLAN,
      },
    ],
  };
});

function requestFor(mr: Resource, extra: Partial<Parameters<typeof eligibilityRequestFor>[1]> = {}) {
  const built = eligibilityRequestFor(mr, {
    coverage: 'Coverage/private-1',
    insurer: INSURER,
    created: NOW,
    id: 'cer-1',
    servicedDate: String(mr.authoredOn).slice(0, 10),
    ...extra,
  });
  if (!built.ok) throw new Error(JSON.stringify(built.outcome));
  return built.request;
}

function decide(input: Partial<EligibilityInput> & { request: unknown }) {
  const result = decideEligibility({ coverages: [coverage], formulary: FORMULARY, now: NOW, ...input });
  if (result.ok) {
    const v = validateResource(result.response);
    expect(v.ok ? [] : v.issues).toEqual([]);
  } else {
    expect(validateResource(result.outcome)).toMatchObject({ ok: true });
  }
  return result;
}

const errorCodes = (r: ReturnType<typeof decide>) =>
  r.ok ? (r.response.error ?? []).map((e) => e.code.coding[0]?.code) : ['refused'];

describe('the inputs', () => {
  it('are validated with the official R4 schema: the validator pins the same bytes as shared/data', () => {
    const shared = readFileSync(new URL('../../../../shared/data/fhir/fhir.schema.json', import.meta.url));
    expect(createHash('sha256').update(shared).digest('hex')).toBe(FHIR_SCHEMA_SHA256);
  });

  it('include a valid R4 Coverage of the patient rebuilt from the Synthea payer data', () => {
    expect(coverage).toMatchObject({
      status: 'active',
      beneficiary: { reference: patient },
      payor: [{ display: 'private' }],
    });
    expect(validateResource(coverage)).toMatchObject({ ok: true });
    for (const entry of FORMULARY) expect(validateResource(entry)).toMatchObject({ ok: true });
  });
});

describe('eligibilityRequestFor', () => {
  it('builds a valid request from a Synthea MedicationRequest', () => {
    const request = requestFor(oxycodone);
    expect(validateResource(request)).toMatchObject({ ok: true });
    expect(request).toMatchObject({
      resourceType: 'CoverageEligibilityRequest',
      id: 'cer-1',
      status: 'active',
      purpose: ['benefits', 'validation'],
      patient: { reference: patient },
      servicedDate: '1954-11-04',
      insurer: { reference: INSURER },
      insurance: [{ focal: true, coverage: { reference: 'Coverage/private-1' } }],
      item: [{ productOrService: { coding: [{ system: RXNORM, code: '1049221' }] } }],
    });
    // The Synthea requester is a bundle-local urn:uuid, not a provider reference: no provider is claimed.
    expect(request).not.toHaveProperty('provider');
  });

  it('names a practitioner requester as provider and defaults the service date to the creation date', () => {
    const built = eligibilityRequestFor(
      { ...oxycodone, requester: { reference: 'Practitioner/dr-1' } },
      { coverage: 'Coverage/private-1', insurer: INSURER, created: NOW },
    );
    expect(built).toMatchObject({
      ok: true,
      request: { provider: { reference: 'Practitioner/dr-1' }, servicedDate: '2026-03-01' },
    });
  });

  it('refuses invalid input with an OperationOutcome and never throws', () => {
    const options = { coverage: 'Coverage/private-1', insurer: INSURER, created: NOW };
    const cases: [unknown, Parameters<typeof eligibilityRequestFor>[1]][] = [
      [null, options],
      [{ resourceType: 'MedicationRequest' }, options],
      [coverage, options],
      [{ ...oxycodone, medicationCodeableConcept: { text: 'oxycodone' } }, options],
      [oxycodone, { ...options, purpose: [] }],
      [oxycodone, { ...options, purpose: ['everything' as 'benefits'] }],
      [oxycodone, { ...options, created: 'yesterday' }],
      [oxycodone, { ...options, coverage: 'not a reference' }],
      [oxycodone, undefined as unknown as typeof options],
    ];
    for (const [mr, o] of cases) {
      const built = eligibilityRequestFor(mr, o);
      expect(built.ok).toBe(false);
      if (!built.ok) {
        expect(validateResource(built.outcome)).toMatchObject({ ok: true });
        expect(JSON.stringify(built.outcome)).not.toContain(patient);
      }
    }
  });
});

describe('decideEligibility', () => {
  it('answers an active coverage with the tier, prior authorisation, limits and copay of the drug', () => {
    const result = decide({ request: requestFor(oxycodone) });
    expect(result).toMatchObject({
      ok: true,
      response: {
        resourceType: 'CoverageEligibilityResponse',
        status: 'active',
        purpose: ['benefits', 'validation'],
        patient: { reference: patient },
        servicedDate: '1954-11-04',
        created: NOW,
        request: { reference: 'CoverageEligibilityRequest/cer-1' },
        outcome: 'complete',
        disposition: 'Coverage in force; prior authorization required',
        insurer: { reference: INSURER },
        insurance: [
          {
            coverage: { reference: 'Coverage/private-1' },
            inforce: true,
            item: [
              {
                extension: [
                  {
                    url: USDF_DRUG_TIER,
                    valueCodeableConcept: { coding: [{ system: USDF_DRUG_TIER_SYSTEM, code: 'generic' }] },
                  },
                  { url: USDF_STEP_THERAPY, valueBoolean: false },
                  { url: USDF_QUANTITY_LIMIT, valueBoolean: true },
                ],
                category: { text: 'Pharmacy' },
                productOrService: { coding: [{ code: '1049221' }] },
                excluded: false,
                benefit: [
                  { type: { coding: [{ code: 'copay' }] }, allowedMoney: { value: 10, currency: 'USD' } },
                ],
                authorizationRequired: true,
              },
            ],
          },
        ],
      },
    });
    expect(result.ok && result.response.error).toBeUndefined();
  });

  it('uses the plan-specific formulary entry and a preferred tier without prior authorisation', () => {
    const amox = {
      ...oxycodone,
      medicationCodeableConcept: {
        coding: [
          { system: RXNORM, code: '562251', display: 'Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet' },
        ],
      },
    };
    const result = decide({ request: requestFor(amox) });
    const item = result.ok ? result.response.insurance?.[0]?.item?.[0] : undefined;
    expect(item).toMatchObject({
      excluded: false,
      authorizationRequired: false,
      benefit: [{ allowedMoney: { value: 0 } }],
    });
    expect(item?.extension?.[0]).toMatchObject({
      valueCodeableConcept: { coding: [{ code: 'preferred-generic' }] },
    });
    expect(result.ok && result.response.disposition).toBe('Coverage in force');
  });

  it('excludes a drug that is only on another plan or withdrawn: not on formulary', () => {
    const result = decide({ request: requestFor(nitroglycerin) });
    expect(result).toMatchObject({
      ok: true,
      response: { outcome: 'complete', insurance: [{ inforce: true, item: [{ excluded: true }] }] },
    });
    expect(errorCodes(result)).toEqual(['not-on-formulary']);
    expect(result.ok && result.response.error?.[0]?.code.coding[0]?.system).toBe(ELIGIBILITY_ERROR_SYSTEM);
  });

  it('is in force on the last day of the period and expired the day after', () => {
    const last = String((coverage.period as { end: string }).end).slice(0, 10);
    const onLast = decide({ request: requestFor(oxycodone, { servicedDate: last }) });
    expect(onLast.ok && onLast.response.insurance?.[0]?.inforce).toBe(true);
    const after = new Date(Date.parse(last) + 86_400_000).toISOString().slice(0, 10);
    const expired = decide({ request: requestFor(oxycodone, { servicedDate: after }) });
    expect(expired).toMatchObject({
      ok: true,
      response: { outcome: 'complete', insurance: [{ inforce: false }] },
    });
    expect(expired.ok && expired.response.insurance?.[0]).not.toHaveProperty('item');
    expect(errorCodes(expired)).toEqual(['coverage-inactive']);
    const before = decide({ request: requestFor(oxycodone, { servicedDate: '1954-11-03' }) });
    expect(errorCodes(before)).toEqual(['coverage-inactive']);
  });

  it('treats a cancelled coverage as not in force', () => {
    const result = decide({
      request: requestFor(oxycodone),
      coverages: [{ ...coverage, status: 'cancelled' }],
    });
    expect(result).toMatchObject({ ok: true, response: { insurance: [{ inforce: false }] } });
    expect(errorCodes(result)).toEqual(['coverage-inactive']);
  });

  it('answers unknown coverage for a coverage it does not hold or that is another patient’s', () => {
    const unknown = decide({ request: requestFor(oxycodone, { coverage: 'Coverage/nope' }) });
    expect(unknown).toMatchObject({ ok: true, response: { outcome: 'error' } });
    expect(unknown.ok && unknown.response).not.toHaveProperty('insurance');
    expect(errorCodes(unknown)).toEqual(['unknown-coverage']);
    const someoneElse = { ...coverage, beneficiary: { reference: 'Patient/someone-else' } };
    expect(errorCodes(decide({ request: requestFor(oxycodone), coverages: [someoneElse] }))).toEqual([
      'unknown-coverage',
    ]);
  });

  it('finds the patient’s coverages when the request names none, and answers validation without items', () => {
    const request = { ...requestFor(oxycodone, { purpose: ['validation'] }) };
    delete (request as { insurance?: unknown }).insurance;
    const result = decide({ request });
    expect(result).toMatchObject({
      ok: true,
      response: {
        purpose: ['validation'],
        outcome: 'complete',
        insurance: [{ coverage: { reference: 'Coverage/private-1' }, inforce: true }],
      },
    });
    expect(result.ok && result.response.insurance?.[0]).not.toHaveProperty('item');
    expect(errorCodes(decide({ request, coverages: [] }))).toEqual(['unknown-coverage']);
  });

  it('reports an item without an RxNorm code as a malformed request', () => {
    const request = requestFor(oxycodone);
    const items = [{ productOrService: { text: 'pain pills' } }];
    const result = decide({ request: { ...request, item: items } });
    expect(result).toMatchObject({
      ok: true,
      response: { outcome: 'error', insurance: [{ item: [{ excluded: true }] }] },
    });
    expect(errorCodes(result)).toEqual(['malformed-request']);
    expect(errorCodes(decide({ request: { ...request, item: undefined } }))).toEqual(['malformed-request']);
  });

  it('refuses requests and insurer records that are not valid R4, without echoing values', () => {
    const request = requestFor(oxycodone);
    const refusals: Partial<EligibilityInput>[] = [
      { request: null },
      { request: 'CoverageEligibilityRequest' },
      { request: { ...request, status: 'bogus' } },
      { request: { ...request, status: 'cancelled' } },
      { request: { ...request, purpose: ['everything'] } },
      { request: { ...request, resourceType: 'CoverageEligibilityResponse' } },
      { request: { ...request, id: undefined } },
      { request: { ...request, patient: { display: 'no reference' } } },
      { request: { ...request, servicedDate: undefined, created: undefined } },
      { request, now: 'later' },
      { request, coverages: [{ ...coverage, status: 42 }] },
      { request, coverages: [{ ...coverage, id: undefined }] },
      { request, formulary: [{ resourceType: 'Medication', id: 'x' }] },
    ];
    for (const [i, input] of refusals.entries()) {
      const result = decide({ request: input.request, ...input });
      expect([i, result.ok]).toEqual([i, false]);
      if (!result.ok) {
        expect(result.outcome.issue.length).toBeGreaterThan(0);
        expect(JSON.stringify(result.outcome)).not.toContain(patient);
      }
    }
    expect(decideEligibility(null as unknown as EligibilityInput).ok).toBe(false);
  });
});
