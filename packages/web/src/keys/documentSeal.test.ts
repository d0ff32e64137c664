import { generateKeyBundle } from '@medledger/crypto';
import { describe, expect, it } from 'vitest';
import { openDocument, sealDocument } from './documentSeal';

const PSEUDONYM = `0x${'5a'.repeat(32)}` as const;

describe('documents encrypted in the browser', () => {
  const bundle = generateKeyBundle();
  const photo = new Uint8Array(50_000).map((_, i) => (i * 31) % 251);
  const sealed = sealDocument(photo, { pseudonym: PSEUDONYM, publicBundle: bundle.publicBundle });

  it('round-trips under the patient’s key bundle, and the ciphertext hides the file', () => {
    expect(openDocument(sealed, bundle)).toEqual(photo);
    const text = Buffer.from(sealed.envelope).toString('latin1');
    expect(text).not.toContain(Buffer.from(photo.subarray(0, 64)).toString('latin1'));
  });

  it('refuses tampered ciphertext, a tampered key, another record’s id and another patient’s keys', () => {
    const envelope = sealed.envelope.slice();
    envelope[envelope.length - 20]! ^= 1;
    expect(() => openDocument({ ...sealed, envelope }, bundle)).toThrow();
    const wrappedKey = sealed.wrappedKey.slice();
    wrappedKey[wrappedKey.length - 5]! ^= 1;
    expect(() => openDocument({ ...sealed, wrappedKey }, bundle)).toThrow();
    expect(() => openDocument({ ...sealed, recordId: 'another' }, bundle)).toThrow();
    expect(() => openDocument(sealed, generateKeyBundle())).toThrow();
  });
});
