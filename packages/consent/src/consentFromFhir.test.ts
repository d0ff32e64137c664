import { readdirSync, readFileSync } from 'node:fs';
import { Action, mask, Purpose } from '@medledger/contracts';
import { DataCategory, isMdlError, MdlErrorCode } from '@medledger/core';
import { getAddress, type Hex, keccak256, toHex, zeroAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { type ConsentFromFhirOptions, consentFromFhir, type FhirReference } from './consentFromFhir.js';
import { resourceTypesOfCategory } from './fhirConsentVocabulary.js';
import { fhirTimeRange } from './fhirTimeRange.js';

const EXAMPLES = new URL('../../../../shared/data/fhir/examples/', import.meta.url);
const NOW = Date.UTC(2026, 0, 1) / 1000;
const PATIENT = keccak256(toHex('patient f001')) as Hex;
const MEMBER = getAddress('0x00000000000000000000000000000000000000aa');

const options: ConsentFromFhirOptions = {
  resolvePatient: (ref: FhirReference) => (ref.reference?.startsWith('Patient/') ? PATIENT : undefined),
  // Organization/<n> is organisation n; Practitioner/lab-tech is a member of organisation 2.
  resolveActor: async (ref: FhirReference) => {
    const org = /^Organization\/(\d+)$/.exec(ref.reference ?? '');
    if (org) return { organisation: Number(org[1]) };
    if (ref.reference === 'Practitioner/lab-tech') return { organisation: 2, member: MEMBER };
    return undefined;
  },
  nonce: 7n,
  now: NOW,
};

const coding = (system: string, code: string) => ({ system, code });
const typesOf = (...categories: DataCategory[]) =>
  categories.flatMap((c) =>
    resourceTypesOfCategory(c).map((code) => coding('http://hl7.org/fhir/resource-types', code)),
  );

/** A Consent that maps: the lab (organisation 2) may read observations for treatment during 2026. */
function labConsent(): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [coding('http://terminology.hl7.org/CodeSystem/consentscope', 'patient-privacy')] },
    category: [{ coding: [coding('http://loinc.org', '59284-0')] }],
    patient: { reference: 'Patient/f001' },
    policyRule: { coding: [coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'OPTIN')] },
    provision: {
      type: 'permit',
      period: { start: '2026-01-01', end: '2026-12-31' },
      actor: [
        {
          role: { coding: [coding('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'PRCP')] },
          reference: { reference: 'Organization/2' },
        },
      ],
      action: [{ coding: [coding('http://terminology.hl7.org/CodeSystem/consentaction', 'access')] }],
      purpose: [coding('http://terminology.hl7.org/CodeSystem/v3-ActReason', 'TREAT')],
      class: typesOf(DataCategory.Observations),
    },
  };
}

async function refusal(resource: unknown, opts = options): Promise<string> {
  try {
    await consentFromFhir(resource, opts);
  } catch (error) {
    if (isMdlError(error, MdlErrorCode.BadInput)) return error.message;
    throw error;
  }
  throw new Error('mapped, expected a refusal');
}

/** The element path a refusal names. */
async function refusedAt(resource: unknown, opts = options): Promise<string> {
  return (await refusal(resource, opts)).split(':')[0]!;
}

function edit(change: (c: Record<string, any>) => void): Record<string, unknown> {
  const c = labConsent();
  change(c as Record<string, any>);
  return c;
}

describe('consentFromFhir', () => {
  it('maps a permit to exact terms', async () => {
    expect(await consentFromFhir(labConsent(), options)).toEqual({
      patient: PATIENT,
      grantee: 2,
      granteeMember: zeroAddress,
      actions: mask(Action.Read),
      resourceClasses: mask(DataCategory.Observations),
      purposes: mask(Purpose.Treatment),
      validFrom: Date.UTC(2026, 0, 1) / 1000,
      // The end is inclusive at its precision: the whole of 31 December.
      validUntil: Date.UTC(2027, 0, 1) / 1000,
      dataFrom: 0,
      dataUntil: 0,
      nonce: 7n,
    });
  });

  it('maps every action, purpose, class, a member actor and a data period', async () => {
    const terms = await consentFromFhir(
      edit((c) => {
        const p = c.provision;
        p.actor[0].reference = { reference: 'Practitioner/lab-tech' };
        p.actor[0].role.coding = [
          coding('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'IRCP'),
        ];
        p.action.push({
          coding: [
            coding('http://terminology.hl7.org/CodeSystem/consentaction', 'correct'),
            coding('http://example.org/local-actions', 'amend'), // a translation, ignored
          ],
        });
        p.purpose = ['TREAT', 'HPAYMT', 'HOPERAT', 'HRESCH', 'ETREAT'].map((code) =>
          coding('http://terminology.hl7.org/CodeSystem/v3-ActReason', code),
        );
        p.class = typesOf(...(Object.values(DataCategory) as DataCategory[]));
        p.period = { start: '2025-06-01T08:30:00+02:00' };
        p.dataPeriod = { start: '2020', end: '2024-02' };
      }),
      options,
    );
    expect(terms).toMatchObject({
      grantee: 2,
      granteeMember: MEMBER,
      actions: 0b11,
      purposes: 0b11111,
      resourceClasses: 0xfff,
      validFrom: Date.UTC(2025, 5, 1, 6, 30) / 1000,
      validUntil: 2 ** 40 - 1,
      dataFrom: Date.UTC(2020, 0, 1) / 1000,
      dataUntil: Date.UTC(2024, 2, 1) / 1000 - 1,
    });
  });

  const refusals: [string, (c: Record<string, any>) => void, string][] = [
    ['a draft', (c) => (c.status = 'draft'), 'Consent.status'],
    [
      'a research consent',
      (c) => (c.scope.coding = [coding('http://terminology.hl7.org/CodeSystem/consentscope', 'research')]),
      'Consent.scope',
    ],
    ['an unknown patient', (c) => (c.patient = { reference: 'Group/1' }), 'Consent.patient'],
    ['no provision', (c) => delete c.provision, 'Consent.provision'],
    ['a deny provision', (c) => (c.provision.type = 'deny'), 'Consent.provision.type'],
    ['an untyped provision', (c) => delete c.provision.type, 'Consent.provision.type'],
    [
      'a nested provision',
      (c) => (c.provision.provision = [{ type: 'deny' }]),
      'Consent.provision.provision',
    ],
    [
      'a security label',
      (c) =>
        (c.provision.securityLabel = [coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'PSY')]),
      'Consent.provision.securityLabel',
    ],
    [
      'a code',
      (c) => (c.provision.code = [{ coding: [coding('http://loinc.org', '34133-9')] }]),
      'Consent.provision.code',
    ],
    [
      'specific data',
      (c) => (c.provision.data = [{ meaning: 'instance', reference: { reference: 'Observation/1' } }]),
      'Consent.provision.data',
    ],
    ['no actor', (c) => delete c.provision.actor, 'Consent.provision.actor'],
    [
      'two actors',
      (c) => c.provision.actor.push({ ...c.provision.actor[0], reference: { reference: 'Organization/3' } }),
      'Consent.provision.actor',
    ],
    [
      'a custodian role',
      (c) =>
        (c.provision.actor[0].role.coding = [
          coding('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'CST'),
        ]),
      'Consent.provision.actor[0].role',
    ],
    [
      'an unknown grantee',
      (c) => (c.provision.actor[0].reference = { reference: 'Organization/unknown' }),
      'Consent.provision.actor[0].reference',
    ],
    ['no action', (c) => delete c.provision.action, 'Consent.provision.action'],
    [
      'the use action',
      (c) =>
        (c.provision.action = [
          { coding: [coding('http://terminology.hl7.org/CodeSystem/consentaction', 'use')] },
        ]),
      'Consent.provision.action[0]',
    ],
    [
      'an action without a consentaction code',
      (c) => c.provision.action.push({ text: 'read' }),
      'Consent.provision.action[1]',
    ],
    ['no purpose', (c) => delete c.provision.purpose, 'Consent.provision.purpose'],
    [
      'marketing',
      (c) => c.provision.purpose.push(coding('http://terminology.hl7.org/CodeSystem/v3-ActReason', 'HMARKT')),
      'Consent.provision.purpose[1]',
    ],
    [
      'a purpose from another system',
      (c) => (c.provision.purpose = [coding('http://example.org/purposes', 'TREAT')]),
      'Consent.provision.purpose[0]',
    ],
    ['no class', (c) => delete c.provision.class, 'Consent.provision.class'],
    [
      'a directory type',
      (c) => c.provision.class.push(coding('http://hl7.org/fhir/resource-types', 'Organization')),
      'Consent.provision.class[5]',
    ],
    [
      'a document format',
      (c) => (c.provision.class = [coding('urn:ietf:bcp:13', 'application/hl7-cda+xml')]),
      'Consent.provision.class[0]',
    ],
    [
      'part of a category',
      (c) => (c.provision.class = [coding('http://hl7.org/fhir/resource-types', 'Observation')]),
      'Consent.provision.class',
    ],
    [
      'a fraction of a second',
      (c) => (c.provision.period.end = '2026-06-01T00:00:00.5Z'),
      'Consent.provision.period.end',
    ],
    [
      'a period before 1970',
      (c) => (c.provision.period.start = '1964-01-01'),
      'Consent.provision.period.start',
    ],
    [
      'a period that is over',
      (c) => (c.provision.period = { end: '2025-12-31T23:59:59Z' }),
      'Consent.provision.period.end',
    ],
    [
      'an empty period',
      (c) => (c.provision.period = { start: '2027-01-01', end: '2026-06-01' }),
      'Consent.provision.period',
    ],
    [
      'an inverted data period',
      (c) => (c.provision.dataPeriod = { start: '2024-01-01', end: '2023-01-01' }),
      'Consent.provision.dataPeriod',
    ],
    [
      'a data period ending at the epoch',
      (c) => (c.provision.dataPeriod = { end: '1970-01-01T00:00:00Z' }),
      'Consent.provision.dataPeriod.end',
    ],
    [
      'a modifier extension',
      (c) => (c.provision.actor[0].modifierExtension = [{ url: 'http://example.org/x', valueBoolean: true }]),
      'Consent.provision.actor[0].modifierExtension',
    ],
    ['implicit rules', (c) => (c.implicitRules = 'http://example.org/rules'), 'Consent.implicitRules'],
    ['an invalid element', (c) => (c.provision.period.start = 'yesterday'), 'Consent.provision.period.start'],
    ['an unknown element', (c) => (c.provision.grantee = 'the lab'), 'Consent.provision.grantee'],
  ];
  it.each(refusals)('refuses %s, naming the element', async (_what, change, path) => {
    expect(await refusedAt(edit(change))).toBe(path);
  });

  it('refuses other resources, malformed input and a bad nonce', async () => {
    expect(await refusedAt({ resourceType: 'Patient' })).toBe('resourceType');
    expect(await refusedAt('Consent')).toBe('Consent');
    expect(await refusal(labConsent(), { ...options, nonce: 1n << 64n })).toMatch(/nonce/);
  });

  it('says which resource types a partial category lacks, and echoes no values', async () => {
    const message = await refusal(
      edit((c) => (c.provision.class = [coding('http://hl7.org/fhir/resource-types', 'Observation')])),
    );
    expect(message).toContain('Observations also needs BodyStructure, DiagnosticReport');
    const hidden = await refusal(edit((c) => (c.patient = { reference: 'Group/secret-name' })));
    expect(hidden).not.toContain('secret-name');
  });

  // The HL7 examples: none is a single permit the ledger can hold. Each is refused at the first element the
  // ledger cannot express, and — once that is "fixed" to `type: permit` — at the next one, so the refusals are
  // not all the same check.
  const expected: Record<string, [string, string]> = {
    'consent-example.json': ['Consent.provision.type', 'Consent.provision.actor'],
    'consent-example-Emergency.json': ['Consent.provision.type', 'Consent.provision.provision'],
    'consent-example-Out.json': ['Consent.provision.type', 'Consent.provision.actor[0].role'],
    'consent-example-grantor.json': ['Consent.provision.type', 'Consent.provision.actor'],
    'consent-example-notAuthor.json': ['Consent.provision.type', 'Consent.provision.actor[0].role'],
    'consent-example-notOrg.json': ['Consent.provision.type', 'Consent.provision.purpose'],
    'consent-example-notThem.json': ['Consent.provision.type', 'Consent.provision.actor[0].reference'],
    'consent-example-notThis.json': ['Consent.provision.type', 'Consent.provision.data'],
    'consent-example-notTime.json': ['Consent.provision.type', 'Consent.provision.actor'],
    'consent-example-pkb.json': ['Consent.provision.type', 'Consent.provision.provision'],
    'consent-example-signature.json': ['Consent.provision.type', 'Consent.provision.provision'],
    'consent-example-smartonfhir.json': ['Consent.provision.type', 'Consent.provision.provision'],
  };
  const files = readdirSync(EXAMPLES).filter((f) => f.startsWith('consent-'));

  it('covers every HL7 Consent example', () => {
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(files)('refuses the HL7 example %s at the element it cannot express', async (file) => {
    const resource = JSON.parse(readFileSync(new URL(file, EXAMPLES), 'utf8')) as Record<string, any>;
    // The examples' organisation is f001: resolvable here so that refusals come from the consent's terms.
    const opts = {
      ...options,
      now: Date.UTC(2015, 0, 1) / 1000,
      resolveActor: (ref: FhirReference) =>
        ref.reference === 'Organization/f001' ? { organisation: 1 } : options.resolveActor(ref),
    };
    const [first, second] = expected[file]!;
    expect(await refusedAt(resource, opts)).toBe(first);
    resource.provision.type = 'permit';
    expect(await refusedAt(resource, opts)).toBe(second);
  });
});

describe('fhirTimeRange', () => {
  it('reads a value at its precision', () => {
    const s = (...a: [number, number, number?, number?, number?, number?]) => Date.UTC(...a) / 1000;
    expect(fhirTimeRange('2024')).toEqual({ start: s(2024, 0), end: s(2025, 0) });
    expect(fhirTimeRange('2024-02')).toEqual({ start: s(2024, 1), end: s(2024, 2) });
    expect(fhirTimeRange('2024-02-29')).toEqual({ start: s(2024, 1, 29), end: s(2024, 2, 1) });
    expect(fhirTimeRange('2024-02-29T23:59:59-01:00')).toEqual({
      start: s(2024, 2, 1, 0, 59, 59),
      end: s(2024, 2, 1, 1, 0, 0),
    });
    expect(fhirTimeRange('2024-01-01T00:00:00.000Z')).toEqual({ start: s(2024, 0), end: s(2024, 0) + 1 });
  });

  it('refuses what the ledger cannot count', () => {
    expect(fhirTimeRange('2023-02-29')).toBe('format');
    expect(fhirTimeRange('2024-13')).toBe('format');
    expect(fhirTimeRange('24-01-01')).toBe('format');
    expect(fhirTimeRange('2024-01-01T00:00:00.25Z')).toBe('fraction');
    expect(fhirTimeRange('1969-12-31')).toBe('range');
    expect(fhirTimeRange('0070')).toBe('range');
    expect(fhirTimeRange('9999-12-31')).toEqual(expect.objectContaining({ start: expect.any(Number) }));
  });
});
