/** The consent signers put the signature where the node reads it (consentFeature's header and extensions). */
import { describe, expect, it } from 'vitest';
import {
  consentSigner,
  custodialSigner,
  DEADLINE_EXTENSION,
  KEY_PASSPHRASE_HEADER,
  NONCE_EXTENSION,
  SELF_HELD_LABEL,
  SIGNATURE_EXTENSION,
  selfHeldSigner,
} from './consentSigner';
import { buildConsent } from './consentWording';

const consent = buildConsent({
  patientId: 'p1',
  organisationId: '2',
  categories: ['Observations'],
  write: false,
  purpose: 'TREAT',
  until: '2027-03-06',
});

describe('consent signers', () => {
  it('custodial: the Consent as chosen, the passphrase as the step-up header', async () => {
    const signed = await custodialSigner.signGrant(consent, 'my password');
    expect(signed.consent).toBe(consent);
    expect(signed.headers).toEqual({ [KEY_PASSPHRASE_HEADER]: 'my password' });
  });

  it('self-held: the signature, deadline and nonce as the three extensions the node requires, no header', async () => {
    const calls: string[] = [];
    const signer = selfHeldSigner(async (_c, secret, kind) => {
      calls.push(`${kind}:${secret}`);
      return {
        signature: `0x${'ab'.repeat(65)}`,
        deadline: new Date('2026-12-07T12:10:00.123Z'),
        nonce: 42n,
      };
    });
    const signed = await signer.signGrant(
      { ...consent, extension: [{ url: NONCE_EXTENSION, valueString: '1' }] },
      's',
    );
    expect(signed.headers).toEqual({});
    expect(signed.consent.extension).toEqual([
      { url: SIGNATURE_EXTENSION, valueString: `0x${'ab'.repeat(65)}` },
      { url: DEADLINE_EXTENSION, valueDateTime: '2026-12-07T12:10:00Z' },
      { url: NONCE_EXTENSION, valueString: '42' },
    ]);
    await signer.signRevocation({ ...consent, id: 'c1', status: 'inactive' }, 't');
    expect(calls).toEqual(['grant:s', 'revocation:t']);
  });

  it('picks the signer from who holds the keys (GET /account/keys)', () => {
    const keys = {
      patient: 'p1',
      pseudonym: `0x${'ab'.repeat(32)}` as const,
      consentManager: { chainId: 31337, verifyingContract: `0x${'cd'.repeat(20)}` as const },
    };
    expect(consentSigner(undefined, 'a1')).toBe(custodialSigner);
    expect(consentSigner({ ...keys, custody: 'custodial' }, 'a1')).toBe(custodialSigner);
    const own = consentSigner({ ...keys, custody: 'self' }, 'a1');
    expect(own.kind).toBe('self-held');
    expect(own.secretLabel).toBe(SELF_HELD_LABEL);
  });
});
