// Identity against the real contracts on anvil: a patient's consent signed with keys made here is accepted by
// ConsentManager (the keys are real), and a licence's hash is what the registry records for the practitioner.

import {
  Action,
  type ConsentTerms,
  consentIdOf,
  mask,
  Purpose,
  packConsent,
  ResourceClass,
} from '@medledger/contracts';
import { generateKeyBundle } from '@medledger/crypto';
import { zeroAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  CLINIC,
  eventOf,
  expectRevert,
  REGULATOR,
  useSuite,
  YEAR,
} from '../../contracts/test/helpers/fixture.js';
import { issueLicence, licenceHash, verifyLicence } from './licence.js';
import { createPatientKeys, openPatientKeys, type PatientKeys } from './patientKeys.js';

const suite = useSuite();
const SCRYPT = { N: 2 ** 14, r: 8, p: 1 };

function terms(keys: PatientKeys, now: number, overrides: Partial<ConsentTerms> = {}): ConsentTerms {
  return {
    patient: keys.pseudonym,
    grantee: CLINIC,
    granteeMember: zeroAddress,
    actions: mask(Action.Read),
    resourceClasses: mask(ResourceClass.Observations, ResourceClass.Medications),
    purposes: mask(Purpose.Treatment),
    validFrom: now,
    validUntil: now + 30 * 24 * 3600,
    dataFrom: 0,
    dataUntil: 0,
    nonce: 1n,
    ...overrides,
  };
}

const domain = () => ({
  chainId: suite.deployment.chainId,
  verifyingContract: suite.addresses.ConsentManager,
});

describe('patient keys on the ledger', () => {
  it("signs grants and revocations ConsentManager accepts as the patient's", async () => {
    const keys = createPatientKeys('patient passphrase one', { scrypt: SCRYPT });
    expect(await suite.read('ConsentManager', 'pseudonymOf', [keys.address])).toBe(keys.pseudonym);
    const consent = terms(keys, await suite.now());
    const deadline = BigInt((await suite.now()) + 600);
    const grant = await keys.signConsent(consent, domain(), deadline);
    const receipt = await suite.send(suite.accounts.hospitalNode, 'ConsentManager', 'grantConsentBySig', [
      packConsent(consent),
      deadline,
      grant.r,
      grant.vs,
    ]);
    const id = consentIdOf(consent);
    expect(eventOf(receipt, 'ConsentGranted')).toMatchObject({
      consentId: id,
      patient: keys.pseudonym,
      grantee: CLINIC,
    });
    const [controller] = await suite.read<[string, number, number]>('ConsentManager', 'consentState', [id]);
    expect(controller).toBe(keys.address);

    // After a passphrase change the keys are the same: the revocation signed then is accepted too.
    const resealed = keys.changePassphrase('patient passphrase two');
    keys.destroy();
    const reopened = await openPatientKeys(resealed, 'patient passphrase two');
    const revoke = await reopened.signRevocation(id, domain(), deadline);
    const revoked = await suite.send(suite.accounts.hospitalNode, 'ConsentManager', 'revokeConsentBySig', [
      id,
      deadline,
      revoke.r,
      revoke.vs,
    ]);
    expect(eventOf(revoked, 'ConsentRevoked')).toEqual({ consentId: id });
    reopened.destroy();
  });

  it("is refused for another patient's consent, another chain, or another contract", async () => {
    const keys = createPatientKeys('patient passphrase one', { scrypt: SCRYPT });
    const other = createPatientKeys('patient passphrase one', { scrypt: SCRYPT });
    const deadline = BigInt((await suite.now()) + 600);
    const mine = terms(keys, await suite.now());
    // Another patient's keys refuse to sign these terms; a signature they make over their own terms does not
    // verify for this patient's.
    await expect(other.signConsent(mine, domain(), deadline)).rejects.toMatchObject({
      code: 'MDL_BAD_INPUT',
    });
    const theirs = await other.signConsent(terms(other, await suite.now()), domain(), deadline);
    await expectRevert(
      suite.send(suite.accounts.hospitalNode, 'ConsentManager', 'grantConsentBySig', [
        packConsent(mine),
        deadline,
        theirs.r,
        theirs.vs,
      ]),
      'NotPatient',
    );
    for (const wrong of [
      { ...domain(), chainId: domain().chainId + 1 },
      { ...domain(), verifyingContract: suite.addresses.RecordRegistry },
    ]) {
      const sig = await keys.signConsent(mine, wrong, deadline);
      await expectRevert(
        suite.send(suite.accounts.hospitalNode, 'ConsentManager', 'grantConsentBySig', [
          packConsent(mine),
          deadline,
          sig.r,
          sig.vs,
        ]),
        'NotPatient',
      );
    }
    keys.destroy();
    other.destroy();
  });
});

describe('licences on the ledger', () => {
  it("records the credential's hash as the registry's credentialHash", async () => {
    const regulator = generateKeyBundle();
    const member = suite.accounts.clinicPractitioner.address;
    const now = await suite.now();
    const licence = issueLicence(
      {
        issuer: REGULATOR,
        subject: member,
        name: 'Dr Clinic Practitioner',
        qualification: { system: 'http://terminology.hl7.org/CodeSystem/v2-0360', code: 'MD' },
        issuedAt: now,
        expiresAt: now + YEAR,
      },
      regulator,
    );
    const hash = licenceHash(licence);
    const receipt = await suite.send(suite.accounts.regulatorNode, 'ConsortiumRegistry', 'issueLicence', [
      member,
      hash,
      licence.credential.expiresAt,
    ]);
    expect(eventOf(receipt, 'LicenceIssued')).toMatchObject({ member, credentialHash: hash });
    const onChain = await suite.read<{ credentialHash: string; expiresAt: number; revokedAt: number }>(
      'ConsortiumRegistry',
      'licenceOf',
      [member],
    );
    expect(onChain).toMatchObject({
      credentialHash: hash,
      expiresAt: licence.credential.expiresAt,
      revokedAt: 0,
    });
    expect(verifyLicence(licence, regulator.publicBundle, await suite.now())).toBe(true);
    expect(await suite.read('ConsortiumRegistry', 'hasValidLicence', [member, await suite.now()])).toBe(true);
  });
});
