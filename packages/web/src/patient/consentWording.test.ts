/**
 * Consent wording: stored grants read as plain sentences (categories, actions, purposes, periods, names),
 * the form's choices written as the Consent the node accepts (the node's own mapping, consentFromFhir, reads
 * it back to the same terms), and the category table the same as the node's.
 */
import { consentFromFhir, resourceTypesOfCategory } from '@medledger/consent';
import { Action, Purpose } from '@medledger/contracts/consent';
import { categoryMask, DataCategory } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import {
  actionWords,
  buildConsent,
  CATEGORIES,
  CATEGORY_TYPES,
  CONSENT_ID_SYSTEM,
  type ConsentResource,
  categoriesOf,
  checkChoices,
  dayWords,
  describeConsent,
  isGrantRecord,
  listWords,
  previewSentence,
  purposeWords,
  withdrawnConsent,
} from './consentWording';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const names = new Map([['2', 'Riverside Lab']]);
const lab = (over: Partial<Parameters<typeof buildConsent>[0]> = {}) =>
  buildConsent(
    {
      patientId: 'p1',
      organisationId: '2',
      categories: ['Observations'],
      write: true,
      purpose: 'TREAT',
      until: '2027-03-06',
      ...over,
    },
    NOW,
  );
const stored = (c: ConsentResource, status = 'active'): ConsentResource => ({
  ...c,
  id: 'c1',
  status,
  identifier: [{ system: CONSENT_ID_SYSTEM, value: `0x${'ab'.repeat(32)}` }],
});

describe('consent in plain language', () => {
  it('has the node’s categories, in its order, with its resource types', () => {
    expect(CATEGORIES.map((c) => c.key)).toEqual(Object.keys(DataCategory));
    for (const [key, value] of Object.entries(DataCategory)) {
      expect(CATEGORY_TYPES[key as keyof typeof CATEGORY_TYPES]).toEqual(resourceTypesOfCategory(value));
    }
  });

  it('reads a grant as one sentence', () => {
    const g = describeConsent(stored(lab()), names, NOW);
    expect(g.sentence).toBe(
      'Riverside Lab may see and add to your test results, for your treatment, until 6 March 2027',
    );
    expect(g).toMatchObject({ organisationId: '2', state: 'active', categories: ['Observations'] });
  });

  it('words categories, actions, purposes and periods', () => {
    expect(actionWords(['access'])).toBe('see');
    expect(actionWords(['correct'])).toBe('add to');
    expect(actionWords(['access', 'correct'])).toBe('see and add to');
    expect(purposeWords('ETREAT')).toBe('emergency treatment');
    expect(purposeWords('HRESCH')).toBe('research');
    expect(purposeWords('XYZ')).toBe('another purpose');
    expect(listWords(['a'])).toBe('a');
    expect(listWords(['a', 'b', 'c'])).toBe('a, b and c');
    expect(dayWords('2027-03-06')).toBe('6 March 2027');
    expect(dayWords('2027-03-06T10:00:00Z')).toBe('6 March 2027');
    const two = describeConsent(
      stored(lab({ categories: ['Medications', 'Allergies'], write: false, purpose: 'HRESCH' })),
      names,
      NOW,
    );
    expect(two.sentence).toBe(
      'Riverside Lab may see your medicines and allergies, for research, until 6 March 2027',
    );
  });

  it('names unknown organisations by their id, members without their address, and open ends', () => {
    const c = stored(lab({ organisationId: '7' }));
    expect(describeConsent(c, names, NOW).who).toBe('Organisation 7');
    const member = stored(lab());
    member.provision!.actor![0]!.reference = {
      identifier: { system: 'urn:medledger:member', value: `0x${'12'.repeat(20)}` },
    };
    const m = describeConsent(member, names, NOW);
    expect(m.who).toBe('One named person at an organisation');
    expect(m.sentence).not.toContain('0x');
    const open = stored(lab());
    delete open.provision!.period!.end;
    expect(describeConsent(open, names, NOW).sentence).toMatch(/, with no end date$/);
  });

  it('tells withdrawn and ended grants apart from active ones', () => {
    expect(describeConsent(stored(lab(), 'inactive'), names, NOW)).toMatchObject({
      state: 'withdrawn',
      sentence: expect.stringMatching(/^Riverside Lab could see and add to/),
    });
    const after = Date.parse('2027-03-07T00:00:01Z');
    expect(describeConsent(stored(lab()), names, after).state).toBe('ended');
    expect(describeConsent(stored(lab()), names, Date.parse('2027-03-06T23:00:00Z')).state).toBe('active');
  });

  it('counts only whole categories', () => {
    expect(categoriesOf([{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }])).toEqual([]);
    expect(isGrantRecord(stored(lab()))).toBe(true);
    expect(isGrantRecord(lab())).toBe(false);
  });

  it('checks the form and previews the sentence', () => {
    const ok = {
      organisationId: '2',
      categories: ['Observations'] as const,
      write: false,
      purpose: 'TREAT' as const,
      until: '2027-03-06',
    };
    expect(checkChoices(ok, NOW)).toEqual({});
    expect(checkChoices({ ...ok, organisationId: '', categories: [], until: '2020-01-01' }, NOW)).toEqual({
      organisation: 'Choose who you share with.',
      categories: 'Choose at least one kind of record.',
      until: 'Choose a day in the future.',
    });
    expect(checkChoices({ ...ok, until: 'soon' }, NOW).until).toBe(
      'Enter the last day of sharing as a date.',
    );
    expect(previewSentence(ok, 'Riverside Lab')).toBe(
      'Riverside Lab will be able to see your test results, for your treatment, until 6 March 2027.',
    );
  });

  it('writes the Consent the node maps to exactly the chosen terms', async () => {
    const consent = lab({ categories: ['Observations', 'Medications'] });
    const terms = await consentFromFhir(consent as never, {
      resolvePatient: () => `0x${'11'.repeat(32)}`,
      resolveActor: (ref) =>
        ref.identifier?.system === 'urn:medledger:organisation'
          ? { organisation: Number(ref.identifier.value) }
          : undefined,
      nonce: 1n,
      now: Math.floor(NOW / 1000),
    });
    expect(terms.grantee).toBe(2);
    expect(terms.actions).toBe((1 << Action.Read) | (1 << Action.Write));
    expect(terms.purposes).toBe(1 << Purpose.Treatment);
    expect(terms.resourceClasses).toBe(categoryMask(DataCategory.Observations, DataCategory.Medications));
    // The chosen day is the last day covered: the grant ends at the following midnight (UTC).
    expect(terms.validUntil).toBe(Date.parse('2027-03-07T00:00:00Z') / 1000);
    expect(terms.validFrom).toBe(Math.floor(NOW / 1000) - 60);
  });

  it('withdraws a stored grant as the same Consent, inactive', () => {
    const w = withdrawnConsent({ ...stored(lab()), meta: { versionId: '1' } });
    expect(w.status).toBe('inactive');
    expect(w.id).toBe('c1');
    expect('meta' in w).toBe(false);
    expect(w.provision).toEqual(lab().provision);
  });
});
