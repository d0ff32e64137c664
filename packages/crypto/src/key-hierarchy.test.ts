import { DataCategory, isMdlError, type MdlErrorCode } from '@medledger/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flipBit, syntheaResources } from '../test/fixtures.js';
import { bytesToUtf8, utf8ToBytes } from './bytes.js';
import type { CategoryKeyRef } from './envelope.js';
import { sha256 } from './hash.js';
import { generateKeyBundle } from './key-bundle.js';
import {
  CategoryKey,
  openRecord,
  readRecordHeader,
  readWrappedKeyHeader,
  sealRecord,
  unwrapCategoryKey,
  wrapCategoryKey,
} from './key-hierarchy.js';
import { XWingDecapsulationKey } from './x-wing.js';

const pseudonym = sha256(utf8ToBytes('patient-1'));
const ref: CategoryKeyRef = { pseudonym, category: DataCategory.Observations, epoch: 0 };
const observation = syntheaResources().find((r) => r.resourceType === 'Observation')!;
const plaintext = utf8ToBytes(JSON.stringify(observation));

function expectCode(f: () => unknown, ...codes: MdlErrorCode[]) {
  try {
    f();
  } catch (e) {
    expect(
      codes.some((c) => isMdlError(e, c)),
      String(e),
    ).toBe(true);
    return;
  }
  expect.unreachable('expected an MdlError');
}

describe('sealed records under category keys', () => {
  const key = CategoryKey.generate(ref);
  const resolve = (r: CategoryKeyRef) => (r.epoch === key.ref.epoch ? key : undefined);
  const envelope = sealRecord(
    key,
    { recordId: `Observation/${observation.id}`, recordVersion: 1 },
    plaintext,
  );

  it('round-trips a Synthea Observation and exposes only the header without a key', () => {
    expect(Array.from(envelope.subarray(0, 5))).toEqual([0x4d, 0x44, 0x4c, 1, 1]);
    const header = readRecordHeader(envelope);
    expect(header).toMatchObject({ category: DataCategory.Observations, epoch: 0, recordVersion: 1 });
    expect(header.pseudonym).toEqual(pseudonym);
    const opened = openRecord(envelope, resolve);
    expect(JSON.parse(bytesToUtf8(opened.plaintext))).toEqual(observation);
    // the plaintext is not visible in the envelope
    expect(Buffer.from(envelope).includes(Buffer.from(String(observation.id)))).toBe(true); // the id is header
    expect(Buffer.from(envelope).includes(Buffer.from('"resourceType"'))).toBe(false);
  });

  it('uses a fresh data key per record version', () => {
    const again = sealRecord(key, { recordId: `Observation/${observation.id}`, recordVersion: 1 }, plaintext);
    expect(again).not.toEqual(envelope);
    expect(openRecord(again, resolve).plaintext).toEqual(plaintext);
  });

  it('never yields plaintext for a single-bit change anywhere in the envelope', () => {
    fc.assert(
      fc.property(fc.nat(), (r) => {
        const bad = flipBit(envelope, r % (envelope.length * 8));
        expectCode(
          () => openRecord(bad, resolve),
          'MDL_BAD_INPUT',
          'MDL_UNSUPPORTED',
          'MDL_KEY_NOT_FOUND',
          'MDL_DECRYPT_FAILED',
        );
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an envelope re-labelled as another record or version (the header is bound)', () => {
    const other = sealRecord(key, { recordId: 'Observation/other', recordVersion: 2 }, utf8ToBytes('{}'));
    const spliced = new Uint8Array([
      ...other.subarray(0, readHeaderLength(other)),
      ...envelope.subarray(readHeaderLength(envelope)),
    ]);
    expect(readRecordHeader(spliced)).toMatchObject({ recordId: 'Observation/other', recordVersion: 2 });
    expectCode(() => openRecord(spliced, resolve), 'MDL_DECRYPT_FAILED');
  });

  it('answers MDL_KEY_NOT_FOUND without a key for that patient, category or epoch', () => {
    expectCode(() => openRecord(envelope, () => undefined), 'MDL_KEY_NOT_FOUND');
    const otherPatient = CategoryKey.generate({ ...ref, pseudonym: sha256(utf8ToBytes('patient-2')) });
    expectCode(() => openRecord(envelope, () => otherPatient), 'MDL_KEY_NOT_FOUND');
    const otherCategory = CategoryKey.generate({ ...ref, category: DataCategory.Medications });
    expectCode(() => openRecord(envelope, () => otherCategory), 'MDL_KEY_NOT_FOUND');
    const sameRefWrongKey = CategoryKey.generate(ref);
    expectCode(() => openRecord(envelope, () => sameRefWrongKey), 'MDL_DECRYPT_FAILED');
  });

  it('rotation: a holder of only the old epoch cannot open records sealed after revocation', () => {
    const next = key.rotate();
    expect(next.ref.epoch).toBe(1);
    const after = sealRecord(next, { recordId: 'Observation/new', recordVersion: 1 }, plaintext);
    expectCode(() => openRecord(after, resolve), 'MDL_KEY_NOT_FOUND');
    expect(openRecord(after, () => next).plaintext).toEqual(plaintext);
  });

  it('validates its inputs', () => {
    expectCode(() => CategoryKey.generate({ ...ref, pseudonym: new Uint8Array(31) }), 'MDL_BAD_INPUT');
    expectCode(() => CategoryKey.generate({ ...ref, category: 12 as DataCategory }), 'MDL_BAD_INPUT');
    expectCode(() => CategoryKey.generate({ ...ref, epoch: -1 }), 'MDL_BAD_INPUT');
    expectCode(() => sealRecord(key, { recordId: '', recordVersion: 1 }, plaintext), 'MDL_BAD_INPUT');
    expectCode(() => sealRecord(key, { recordId: 'x', recordVersion: 0 }, plaintext), 'MDL_BAD_INPUT');
    expectCode(
      () => sealRecord(key, { recordId: 'x'.repeat(256), recordVersion: 1 }, plaintext),
      'MDL_BAD_INPUT',
    );
    expectCode(() => readRecordHeader(utf8ToBytes('not an envelope')), 'MDL_BAD_INPUT');
    const future = Uint8Array.from(envelope);
    future[3] = 2;
    expectCode(() => readRecordHeader(future), 'MDL_UNSUPPORTED');
  });
});

/** Header length of a sealed-record envelope: everything before the u16-prefixed wrapped data key. */
function readHeaderLength(envelope: Uint8Array): number {
  // prefix 5 + suite 1 + pseudonym 32 + category 1 + epoch 4 + version 4 + id length 1 + id
  return 48 + envelope[47]!;
}

describe('category keys wrapped to holders with HPKE (X-Wing)', () => {
  const holder = generateKeyBundle();
  const holderDk = new XWingDecapsulationKey(holder.kemSecretKey);
  const key = CategoryKey.generate(ref);
  const wrapped = wrapCategoryKey(key, {
    keyId: holder.keyId,
    kemPublicKey: holder.publicBundle.kemPublicKey,
  });
  const record = sealRecord(key, { recordId: 'Observation/o1', recordVersion: 3 }, plaintext);

  it('lets the holder unwrap the key and open records sealed under it', () => {
    expect(wrapped.length).toBe(5 + 6 + 16 + 37 + 1120 + 48);
    expect(readWrappedKeyHeader(wrapped)).toMatchObject({
      recipientKeyId: holder.keyId,
      ref: { epoch: 0, category: 3 },
    });
    const unwrapped = unwrapCategoryKey(wrapped, { keyId: holder.keyId, decapsulationKey: holderDk });
    expect(unwrapped.ref.pseudonym).toEqual(pseudonym);
    expect(openRecord(record, () => unwrapped).plaintext).toEqual(plaintext);
  });

  it('refuses other recipients and any tampering', () => {
    const stranger = generateKeyBundle();
    const strangerDk = new XWingDecapsulationKey(stranger.kemSecretKey);
    expectCode(
      () => unwrapCategoryKey(wrapped, { keyId: stranger.keyId, decapsulationKey: strangerDk }),
      'MDL_KEY_NOT_FOUND',
    );
    // a stranger claiming the holder's key id still cannot open it
    expectCode(
      () => unwrapCategoryKey(wrapped, { keyId: holder.keyId, decapsulationKey: strangerDk }),
      'MDL_DECRYPT_FAILED',
    );
    fc.assert(
      fc.property(fc.nat(), (r) => {
        const bad = flipBit(wrapped, r % (wrapped.length * 8));
        expectCode(
          () => unwrapCategoryKey(bad, { keyId: holder.keyId, decapsulationKey: holderDk }),
          'MDL_BAD_INPUT',
          'MDL_UNSUPPORTED',
          'MDL_KEY_NOT_FOUND',
          'MDL_DECRYPT_FAILED',
        );
      }),
      { numRuns: 60 },
    );
    expectCode(
      () => unwrapCategoryKey(wrapped.subarray(0, 100), { keyId: holder.keyId, decapsulationKey: holderDk }),
      'MDL_BAD_INPUT',
    );
  });
});
