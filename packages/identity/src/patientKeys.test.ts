import {
  Action,
  type ConsentTerms,
  consentDomain,
  consentTypes,
  mask,
  Purpose,
  patientPseudonymOf,
  ResourceClass,
} from '@medledger/contracts';
import { decodePublicKeyBundle, Keystore } from '@medledger/crypto';
import { type Hex, recoverTypedDataAddress, zeroAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { passwordHashesInProgress } from './passwords.js';
import { CONSENT_ACCOUNT_SECRET, createPatientKeys, openPatientKeys } from './patientKeys.js';

/** The Keystore's lowest scrypt cost: enough for tests, which do not measure the KDF. */
const SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const PASS = 'patient passphrase one';
const DOMAIN = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const };

const keys = createPatientKeys(PASS, { scrypt: SCRYPT });

function terms(overrides: Partial<ConsentTerms> = {}): ConsentTerms {
  return {
    patient: keys.pseudonym,
    grantee: 2,
    granteeMember: zeroAddress,
    actions: mask(Action.Read),
    resourceClasses: mask(ResourceClass.Observations),
    purposes: mask(Purpose.Treatment),
    validFrom: 1_800_000_000,
    validUntil: 1_800_086_400,
    dataFrom: 0,
    dataUntil: 0,
    nonce: 1n,
    ...overrides,
  };
}

describe('patient keys', () => {
  it('hold a key bundle and a consent account whose pseudonym is the on-chain one', () => {
    expect(keys.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(keys.pseudonym).toBe(patientPseudonymOf(keys.address));
    expect(decodePublicKeyBundle(keys.publicBundle.encoded).keyId).toBe(keys.publicBundle.keyId);
    expect(keys.keyBundle().keyId).toBe(keys.publicBundle.keyId);
    expect(JSON.parse(keys.sealed)).toMatchObject({
      format: 'medledger-keystore',
      kdf: { name: 'scrypt', N: SCRYPT.N },
    });
    // Two patients never share keys.
    const other = createPatientKeys(PASS, { scrypt: SCRYPT });
    expect(other.address).not.toBe(keys.address);
    other.destroy();
  });

  it('open only with the passphrase, and to the same keys', async () => {
    const opened = await openPatientKeys(keys.sealed, PASS);
    expect(opened.address).toBe(keys.address);
    expect(opened.publicBundle.keyId).toBe(keys.publicBundle.keyId);
    opened.destroy();
    await expect(openPatientKeys(keys.sealed, 'patient passphrase two')).rejects.toThrow(
      expect.objectContaining({ code: 'MDL_KEYSTORE_WRONG_PASSPHRASE' }),
    );
    const damaged = JSON.parse(keys.sealed);
    damaged.sealed = `${damaged.sealed.slice(0, -4)}AAAA`;
    await expect(openPatientKeys(JSON.stringify(damaged), PASS)).rejects.toThrow(
      expect.objectContaining({ code: 'MDL_KEYSTORE_CORRUPT' }),
    );
    await expect(openPatientKeys('not a key file', PASS)).rejects.toThrow(
      expect.objectContaining({ code: 'MDL_KEYSTORE_CORRUPT' }),
    );
    // An organisation keystore has no consent account: not a patient key file.
    const organisation = Keystore.create(PASS, { scrypt: SCRYPT });
    await expect(openPatientKeys(organisation.serialize(), PASS)).rejects.toThrow(
      expect.objectContaining({ code: 'MDL_KEYSTORE_CORRUPT' }),
    );
    organisation.destroy();
  });

  it('open off the event loop, inside the scrypt bound: the loop keeps turning while a guess is checked', async () => {
    const guess = openPatientKeys(keys.sealed, 'a wrong guess at the passphrase');
    // The KDF is already queued on the libuv pool, counted with the password checks; nothing has blocked.
    expect(passwordHashesInProgress()).toBe(1);
    let turns = 0;
    let settled = false;
    const checked = guess.then(
      () => expect.fail('a wrong passphrase opened the keys'),
      (error: { code?: string }) => {
        settled = true;
        return error;
      },
    );
    while (!settled && passwordHashesInProgress() > 0) {
      turns++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(turns).toBeGreaterThan(0);
    expect(await checked).toMatchObject({ code: 'MDL_KEYSTORE_WRONG_PASSPHRASE' });
    expect(passwordHashesInProgress()).toBe(0);
    // An absurdly long "passphrase" is refused before any KDF work.
    const long = openPatientKeys(keys.sealed, 'x'.repeat(5000));
    expect(passwordHashesInProgress()).toBe(0);
    await expect(long).rejects.toMatchObject({ code: 'MDL_KEYSTORE_WRONG_PASSPHRASE' });
  });

  it('never put the consent key in the sealed file in clear', () => {
    const store = Keystore.open(keys.sealed, PASS);
    const secret = Buffer.from(store.secret(CONSENT_ACCOUNT_SECRET));
    store.destroy();
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      expect(keys.sealed).not.toContain(secret.toString(encoding));
    }
  });

  it('sign EIP-712 grants and revocations that recover to the patient', async () => {
    const t = terms();
    const deadline = 1_800_000_600n;
    const grant = await keys.signConsent(t, DOMAIN, deadline);
    const signer = await recoverTypedDataAddress({
      domain: consentDomain(DOMAIN.chainId, DOMAIN.verifyingContract),
      types: consentTypes,
      primaryType: 'GrantConsent',
      message: { consent: t, deadline },
      signature: grant.signature,
    });
    expect(signer).toBe(keys.address);
    const consentId = `0x${'11'.repeat(32)}` as Hex;
    const revoke = await keys.signRevocation(consentId, DOMAIN, deadline);
    expect(
      await recoverTypedDataAddress({
        domain: consentDomain(DOMAIN.chainId, DOMAIN.verifyingContract),
        types: consentTypes,
        primaryType: 'RevokeConsent',
        message: { consentId, deadline },
        signature: revoke.signature,
      }),
    ).toBe(keys.address);
    // The signature is for this chain and contract only.
    expect(
      await recoverTypedDataAddress({
        domain: consentDomain(1, DOMAIN.verifyingContract),
        types: consentTypes,
        primaryType: 'GrantConsent',
        message: { consent: t, deadline },
        signature: grant.signature,
      }),
    ).not.toBe(keys.address);
  });

  it("refuse to sign another patient's terms, and malformed input", async () => {
    const stranger = patientPseudonymOf('0x000000000000000000000000000000000000dEaD');
    await expect(keys.signConsent(terms({ patient: stranger }), DOMAIN, 1n)).rejects.toMatchObject({
      code: 'MDL_BAD_INPUT',
    });
    await expect(keys.signConsent(terms(), DOMAIN, 0n)).rejects.toMatchObject({ code: 'MDL_BAD_INPUT' });
    await expect(keys.signConsent(terms(), DOMAIN, 5 as never)).rejects.toMatchObject({
      code: 'MDL_BAD_INPUT',
    });
    await expect(keys.signRevocation('0x1234', DOMAIN, 1n)).rejects.toMatchObject({ code: 'MDL_BAD_INPUT' });
    // Upper-case hex of the own pseudonym is the same pseudonym.
    await expect(
      keys.signConsent(terms({ patient: `0x${keys.pseudonym.slice(2).toUpperCase()}` as Hex }), DOMAIN, 1n),
    ).resolves.toBeDefined();
  });

  it('change passphrase: the same keys, only under the new one', async () => {
    const opened = await openPatientKeys(keys.sealed, PASS);
    const resealed = opened.changePassphrase('a brand new passphrase');
    expect(opened.sealed).toBe(resealed);
    opened.destroy();
    await expect(openPatientKeys(resealed, PASS)).rejects.toThrow(
      expect.objectContaining({ code: 'MDL_KEYSTORE_WRONG_PASSPHRASE' }),
    );
    const reopened = await openPatientKeys(resealed, 'a brand new passphrase');
    expect(reopened.address).toBe(keys.address);
    expect(reopened.publicBundle.keyId).toBe(keys.publicBundle.keyId);
    expect(() => reopened.changePassphrase('short')).toThrow(
      expect.objectContaining({ code: 'MDL_BAD_INPUT' }),
    );
    reopened.destroy();
    expect(() => createPatientKeys('short', { scrypt: SCRYPT })).toThrow(
      expect.objectContaining({ code: 'MDL_BAD_INPUT' }),
    );
  });
});
