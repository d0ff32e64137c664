import { type ConsentTerms, consentDomain, consentTypes } from '@medledger/contracts/consent';
import { openPatientKeys } from '@medledger/identity';
import { recoverTypedDataAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { KeyFileError, PatientKeyFile, selfHeldSigner } from './patientKeys';

// The keystore format's floor, for speed; the app uses DEFAULT_SCRYPT.
const FAST = { N: 2 ** 14, r: 8, p: 1 };
const PASS = 'a passphrase only the patient knows';
const DOMAIN = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const;

const termsFor = (patient: `0x${string}`): ConsentTerms => ({
  patient,
  grantee: 2,
  granteeMember: '0x0000000000000000000000000000000000000000',
  actions: 1,
  resourceClasses: 1 << 3,
  purposes: 1,
  validFrom: 1_800_000_000,
  validUntil: 1_800_003_600,
  dataFrom: 0,
  dataUntil: 0,
  nonce: 7n,
});

describe('the patient’s keys in the browser', () => {
  it('creates a key file, reporting progress, that unlocks again to the same keys', async () => {
    const shares: number[] = [];
    const keys = await PatientKeyFile.create(PASS, { scrypt: FAST, onProgress: (s) => shares.push(s) });
    expect(shares.length).toBeGreaterThan(0);
    expect(shares.at(-1)).toBeCloseTo(1, 1);
    expect(keys.sealed).not.toContain(keys.address.slice(2).toLowerCase());
    const again = await PatientKeyFile.unlock(keys.sealed, PASS);
    expect(again.address).toBe(keys.address);
    expect(again.pseudonym).toBe(keys.pseudonym);
    expect(again.keyBundle().keyId).toBe(keys.keyBundle().keyId);
    expect(again.publicBundle.length).toBeGreaterThan(100);
  });

  it('refuses a wrong passphrase and a tampered or foreign file, saying which', async () => {
    const keys = await PatientKeyFile.create(PASS, { scrypt: FAST });
    await expect(PatientKeyFile.unlock(keys.sealed, 'not the passphrase at all')).rejects.toMatchObject({
      reason: 'wrong-passphrase',
    });
    const file = JSON.parse(keys.sealed);
    const sealed: string = file.sealed;
    const flipped = sealed.slice(0, 40) + (sealed[40] === 'A' ? 'B' : 'A') + sealed.slice(41);
    const tampered = JSON.stringify({ ...file, sealed: flipped });
    await expect(PatientKeyFile.unlock(tampered, PASS)).rejects.toMatchObject({ reason: 'damaged' });
    await expect(PatientKeyFile.unlock('{"hello":"world"}', PASS)).rejects.toBeInstanceOf(KeyFileError);
  });

  it('signs consent exactly as identity’s custodial keys do: same signature, same signer', async () => {
    const keys = await PatientKeyFile.create(PASS, { scrypt: FAST });
    // The node's implementation opens the browser's file (one format) and signs the same terms.
    const custodial = await openPatientKeys(keys.sealed, PASS);
    expect(custodial.address).toBe(keys.address);
    expect(custodial.pseudonym).toBe(keys.pseudonym);
    const terms = termsFor(keys.pseudonym);
    const deadline = 1_800_000_600n;
    const mine = await keys.signConsentTerms(terms, DOMAIN, deadline);
    const theirs = await custodial.signConsent(terms, DOMAIN, deadline);
    expect(mine).toEqual(theirs);
    const signer = await recoverTypedDataAddress({
      domain: consentDomain(DOMAIN.chainId, DOMAIN.verifyingContract),
      types: consentTypes,
      primaryType: 'GrantConsent',
      message: { consent: terms, deadline },
      signature: mine.signature,
    });
    expect(signer).toBe(keys.address);
    const id = `0x${'12'.repeat(32)}` as const;
    expect(await keys.signRevocation(id, DOMAIN, deadline)).toEqual(
      await custodial.signRevocation(id, DOMAIN, deadline),
    );
    custodial.destroy();
    // Terms naming someone else are not signed.
    await expect(keys.signConsentTerms(termsFor(`0x${'ab'.repeat(32)}`), DOMAIN, deadline)).rejects.toThrow(
      /another patient/,
    );
  });

  it('gives the consent screens a signer that dates its signatures', async () => {
    const keys = await PatientKeyFile.create(PASS, { scrypt: FAST });
    const signer = selfHeldSigner(keys, DOMAIN, { validForSeconds: 600, now: () => 1_800_000_000_000 });
    expect(signer.pseudonym).toBe(keys.pseudonym);
    const signed = await signer.sign(termsFor(keys.pseudonym));
    expect(signed.deadline).toBe(1_800_000_600n);
    expect(signed.signature).toBe(
      (await keys.signConsentTerms(termsFor(keys.pseudonym), DOMAIN, 1_800_000_600n)).signature,
    );
  });
});
