/**
 * The browser derives the on-chain terms of a Consent exactly as the node does (consentFromFhir with the
 * consent feature's resolvers), for the Consents the app builds; what it signs recovers to the patient.
 */
import { consentFromFhir, type FhirReference } from '@medledger/consent';
import { consentDomain, consentTypes } from '@medledger/contracts/consent';
import { recoverTypedDataAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { buildConsent, type GrantChoices, withdrawnConsent } from '../patient/consentWording';
import { signWithKeys } from './consentSigning';
import { consentTermsOf, fhirSeconds, grantIdOf, randomNonce } from './consentTerms';
import { PatientKeyFile } from './patientKeys';

const FAST = { N: 2 ** 14, r: 8, p: 1 };
const DOMAIN = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const;
const PSEUDONYM = `0x${'Ab'.repeat(32)}` as const;
const NOW = Date.parse('2026-12-07T12:00:00Z');

/** The node's derivation (consentFeature.ts): the caller's own pseudonym; registry organisation ids. */
const nodeTerms = (consent: unknown, nonce: bigint, pseudonym: `0x${string}` = PSEUDONYM) =>
  consentFromFhir(consent, {
    resolvePatient: () => pseudonym,
    resolveActor: (ref: FhirReference) => {
      const { system, value } = ref.identifier ?? {};
      return system === 'urn:medledger:organisation' && value && /^[1-9]\d{0,9}$/.test(value)
        ? { organisation: Number(value) }
        : undefined;
    },
    nonce,
    now: Math.floor(NOW / 1000),
  });

const CHOICES: GrantChoices[] = [
  {
    patientId: 'p1',
    organisationId: '2',
    categories: ['Observations'],
    write: true,
    purpose: 'TREAT',
    until: '2027-03-06',
  },
  {
    patientId: 'p1',
    organisationId: '1',
    categories: ['Demographics', 'Medications', 'Allergies', 'Documents'],
    write: false,
    purpose: 'HRESCH',
    until: '2026-12-07',
  },
  {
    patientId: 'p1',
    organisationId: '4294967295',
    categories: ['Claims', 'Devices', 'Imaging', 'Encounters', 'Conditions', 'Procedures', 'Immunizations'],
    write: false,
    purpose: 'HPAYMT',
    until: '2030-02-28',
  },
  {
    patientId: 'p1',
    organisationId: '3',
    categories: ['Observations', 'Conditions'],
    write: true,
    purpose: 'ETREAT',
    until: '2028-12-31',
  },
  {
    patientId: 'p1',
    organisationId: '7',
    categories: ['Medications'],
    write: false,
    purpose: 'HOPERAT',
    until: '2027-01-01',
  },
];

describe('the consent terms the browser signs', () => {
  it('equal the node’s derivation for the consents the app builds', async () => {
    for (const [i, choices] of CHOICES.entries()) {
      const consent = buildConsent(choices, NOW);
      const nonce = BigInt(i) * 0x1234_5678_9abc_def1n;
      const mine = consentTermsOf(consent, { pseudonym: PSEUDONYM, nonce, now: Math.floor(NOW / 1000) });
      expect(mine).toEqual(await nodeTerms(consent, nonce));
    }
  });

  it('equal it for periods at other precisions, zones and a data period', async () => {
    const base = buildConsent(CHOICES[0]!, NOW);
    const variants = [
      { period: { start: '2026-12-07T13:00:00+01:00', end: '2027-03-06T23:59:59-05:00' } },
      { period: { start: '2026', end: '2027-06' } },
      { period: { end: '2027' } },
      { period: { start: '2026-12-07T11:59:00.000Z', end: '2027-01-01' }, dataPeriod: { end: '2026-12-01' } },
      { dataPeriod: { start: '2020-01-01', end: '2026-12-07T12:00:00Z' } },
    ];
    for (const variant of variants) {
      const consent = { ...base, provision: { ...base.provision, ...variant } };
      const nonce = randomNonce();
      expect(consentTermsOf(consent, { pseudonym: PSEUDONYM, nonce, now: Math.floor(NOW / 1000) })).toEqual(
        await nodeTerms(consent, nonce),
      );
    }
  });

  it('refuses what the node would read differently, rather than sign it', async () => {
    const base = buildConsent(CHOICES[0]!, NOW);
    const options = { pseudonym: PSEUDONYM, nonce: 1n, now: Math.floor(NOW / 1000) };
    const refused = [
      { ...base, status: 'draft' },
      { ...base, provision: { ...base.provision, type: 'deny' } },
      { ...base, provision: { ...base.provision, class: base.provision!.class!.slice(1) } },
      { ...base, provision: { ...base.provision, purpose: [{ system: 'x', code: 'TREAT' }] } },
      { ...base, provision: { ...base.provision, period: { end: '2026-12-06' } } },
      {
        ...base,
        provision: {
          ...base.provision,
          actor: [
            {
              ...base.provision!.actor![0]!,
              reference: { identifier: { system: 'urn:medledger:member', value: '0x01' } },
            },
          ],
        },
      },
    ];
    for (const consent of refused) {
      expect(() => consentTermsOf(consent, options)).toThrow(/cannot be signed here/);
      await expect(nodeTerms(consent, 1n)).rejects.toThrow();
    }
    expect(() => fhirSeconds('2026-12-07T12:00:00.5Z', 'x')).toThrow(/fractions/);
  });

  it('nonces are random uint64s', () => {
    const a = randomNonce();
    expect(a).toBeGreaterThanOrEqual(0n);
    expect(a).toBeLessThan(1n << 64n);
    expect(randomNonce()).not.toBe(a);
  });
});

describe('a self-held patient signing in the browser', () => {
  it('signs the node’s terms with a signature that recovers to the patient; revocations the grant id', async () => {
    const keys = await PatientKeyFile.create('a passphrase only the patient knows', { scrypt: FAST });
    const account = { pseudonym: keys.pseudonym, consentManager: DOMAIN };
    const consent = buildConsent({ ...CHOICES[0]!, until: '2099-12-31' });
    const signed = await signWithKeys(keys, consent, 'grant', account, { nonce: 99n });
    expect(signed.nonce).toBe(99n);
    expect(signed.deadline.getTime()).toBeGreaterThan(Date.now());
    // What the node will relay: its own derivation from the posted Consent, with the nonce and deadline sent.
    const terms = await nodeTerms(consent, signed.nonce, keys.pseudonym);
    const signer = await recoverTypedDataAddress({
      domain: consentDomain(DOMAIN.chainId, DOMAIN.verifyingContract),
      types: consentTypes,
      primaryType: 'GrantConsent',
      message: { consent: terms, deadline: BigInt(signed.deadline.getTime() / 1000) },
      signature: signed.signature,
    });
    expect(signer).toBe(keys.address);

    const consentId = `0x${'5e'.repeat(32)}` as const;
    const stored = {
      ...consent,
      id: 'c1',
      identifier: [{ system: 'urn:medledger:consent-id', value: consentId }],
    };
    expect(grantIdOf(stored)).toBe(consentId);
    const revoked = await signWithKeys(keys, withdrawnConsent(stored), 'revocation', account);
    expect(revoked.nonce).toBe(0n);
    expect(
      await recoverTypedDataAddress({
        domain: consentDomain(DOMAIN.chainId, DOMAIN.verifyingContract),
        types: consentTypes,
        primaryType: 'RevokeConsent',
        message: { consentId, deadline: BigInt(revoked.deadline.getTime() / 1000) },
        signature: revoked.signature,
      }),
    ).toBe(keys.address);

    // Keys that are not the account's sign nothing.
    await expect(
      signWithKeys(keys, consent, 'grant', { pseudonym: PSEUDONYM, consentManager: DOMAIN }),
    ).rejects.toThrow(/not the one linked to your account/);
    keys.destroy();
  });
});
