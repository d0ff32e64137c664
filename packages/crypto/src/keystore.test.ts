import { isMdlError, type MdlErrorCode } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import { base64urlToBytes, bytesToBase64url } from './bytes.js';
import { decodePublicKeyBundle } from './key-bundle.js';
import { type AsyncScrypt, Keystore } from './keystore.js';
import { platform as web } from './platform/web.js';

// The floor the format accepts; production uses DEFAULT_SCRYPT (2^17).
const FAST = { N: 2 ** 14, r: 8, p: 1 };
const PASS = 'correct horse battery staple';

function expectCode(f: () => unknown, code: MdlErrorCode) {
  try {
    f();
  } catch (e) {
    expect(isMdlError(e, code), String(e)).toBe(true);
    return;
  }
  expect.unreachable(`expected ${code}`);
}

describe('keystore', () => {
  const ks = Keystore.create(PASS, { scrypt: FAST, now: 1_790_000_000 });
  const file = ks.serialize();

  it('creates one active bundle and reopens it with the passphrase', () => {
    const [only] = ks.list();
    expect(ks.list()).toHaveLength(1);
    expect(only).toMatchObject({ status: 'active', createdAt: 1_790_000_000 });
    const reopened = Keystore.open(file, PASS);
    expect(reopened.active().keyId).toBe(only!.keyId);
    expect(reopened.active().signingSecretKey).toEqual(ks.active().signingSecretKey);
    expect(file).not.toContain(bytesToBase64url(ks.active().kemSecretKey));
  });

  it('rotates: the new key is active, old keys stay for decryption, and all survive a save', () => {
    const k = Keystore.open(file, PASS);
    const oldId = k.active().keyId;
    const fresh = k.rotate(1_790_000_100);
    expect(k.active().keyId).toBe(fresh.keyId);
    expect(k.list().map((i) => i.status)).toEqual(['active', 'retired']);
    expect(k.get(oldId).keyId).toBe(oldId);
    const again = Keystore.open(k.serialize(), PASS);
    expect(again.list()).toEqual(k.list());
    expectCode(() => again.get('00'.repeat(16)), 'MDL_KEY_NOT_FOUND');
  });

  it('opens with a supplied scrypt to the same keys, and refuses the same way', async () => {
    // Another implementation of the same KDF (the browser platform's @noble scrypt), as the node supplies its own.
    let calls = 0;
    const scrypt: AsyncScrypt = async (password, salt, params) => {
      calls++;
      return web.scrypt(password, salt, params);
    };
    const opened = await Keystore.openAsync(file, PASS, scrypt);
    expect(opened.active().signingSecretKey).toEqual(ks.active().signingSecretKey);
    await expect(Keystore.openAsync(file, 'not the passphrase', scrypt)).rejects.toMatchObject({
      code: 'MDL_KEYSTORE_WRONG_PASSPHRASE',
    });
    expect(calls).toBe(2);
    // A damaged file is refused before any KDF work is spent on it.
    await expect(Keystore.openAsync('{"format":"nope"}', PASS, scrypt)).rejects.toMatchObject({
      code: 'MDL_KEYSTORE_CORRUPT',
    });
    expect(calls).toBe(2);
    await expect(Keystore.openAsync(file, PASS, async () => new Uint8Array(32))).rejects.toThrow(RangeError);
  });

  it('creates with a supplied scrypt a file the ordinary open reads', async () => {
    let calls = 0;
    const scrypt: AsyncScrypt = async (password, salt, params) => {
      calls++;
      expect(params).toMatchObject({ ...FAST, dkLen: 64 });
      return web.scrypt(password, salt, params);
    };
    const created = await Keystore.createAsync(PASS, scrypt, { scrypt: FAST, now: 1_790_000_000 });
    expect(calls).toBe(1);
    const reopened = Keystore.open(created.serialize(), PASS);
    expect(reopened.active().keyId).toBe(created.active().keyId);
    await expect(Keystore.createAsync('short', scrypt)).rejects.toMatchObject({ code: 'MDL_BAD_INPUT' });
    expect(calls).toBe(1);
  });

  it('exports a verifiable public bundle', () => {
    const pub = decodePublicKeyBundle(ks.exportPublicBundle().encoded);
    expect(pub.keyId).toBe(ks.active().keyId);
  });

  it('tells a wrong passphrase from a damaged file, and never returns garbage', () => {
    expectCode(() => Keystore.open(file, 'wrong horse battery staple'), 'MDL_KEYSTORE_WRONG_PASSPHRASE');
    expectCode(() => Keystore.open('{not json', PASS), 'MDL_KEYSTORE_CORRUPT');
    expectCode(() => Keystore.open('{"format":"other"}', PASS), 'MDL_KEYSTORE_CORRUPT');
    const json = JSON.parse(file);
    const sealed = base64urlToBytes(json.sealed);
    sealed[sealed.length - 20]! ^= 1;
    expectCode(
      () => Keystore.open(JSON.stringify({ ...json, sealed: bytesToBase64url(sealed) }), PASS),
      'MDL_KEYSTORE_CORRUPT',
    );
    expectCode(() => Keystore.open(JSON.stringify({ ...json, sealed: '***' }), PASS), 'MDL_KEYSTORE_CORRUPT');
    expectCode(() => Keystore.open(JSON.stringify({ ...json, version: 2 }), PASS), 'MDL_UNSUPPORTED');
  });

  it('detects tampering with the KDF header and refuses unsafe parameters', () => {
    const json = JSON.parse(file);
    // a changed salt derives a different check value: indistinguishable from a wrong passphrase, as it should be
    const salt = base64urlToBytes(json.kdf.salt);
    salt[0]! ^= 1;
    expectCode(
      () =>
        Keystore.open(JSON.stringify({ ...json, kdf: { ...json.kdf, salt: bytesToBase64url(salt) } }), PASS),
      'MDL_KEYSTORE_WRONG_PASSPHRASE',
    );
    expectCode(
      () => Keystore.open(JSON.stringify({ ...json, kdf: { ...json.kdf, N: 1024 } }), PASS),
      'MDL_KEYSTORE_CORRUPT',
    );
    expectCode(
      () => Keystore.open(JSON.stringify({ ...json, kdf: { ...json.kdf, N: 2 ** 30 } }), PASS),
      'MDL_KEYSTORE_CORRUPT',
    );
    expectCode(() => Keystore.create('short', { scrypt: FAST }), 'MDL_BAD_INPUT');
    expectCode(() => Keystore.create(PASS, { scrypt: { N: 1000, r: 8, p: 1 } }), 'MDL_BAD_INPUT');
  });

  it('changes the passphrase', () => {
    const k = Keystore.open(file, PASS);
    k.changePassphrase('a brand new passphrase', FAST);
    const text = k.serialize();
    expect(Keystore.open(text, 'a brand new passphrase').active().keyId).toBe(ks.active().keyId);
    expectCode(() => Keystore.open(text, PASS), 'MDL_KEYSTORE_WRONG_PASSPHRASE');
  });

  it('holds named 32-byte secrets that survive a save and are never shown in the file', () => {
    const k = Keystore.open(file, PASS);
    expect(k.secretNames()).toEqual([]);
    const master = k.secret('node-master');
    expect(master.length).toBe(32);
    expect(k.secret('node-master')).toEqual(master);
    expect(k.secret('ledger-account')).not.toEqual(master);
    const text = k.serialize();
    expect(text).not.toContain(bytesToBase64url(master));
    const again = Keystore.open(text, PASS);
    expect(again.secretNames()).toEqual(['ledger-account', 'node-master']);
    expect(again.secret('node-master')).toEqual(master);
    expectCode(() => k.secret('Bad Name'), 'MDL_BAD_INPUT');
  });

  it('wipes secrets on destroy', () => {
    const k = Keystore.open(file, PASS);
    const bundle = k.active();
    k.destroy();
    expect(bundle.kemSecretKey.every((b) => b === 0)).toBe(true);
    expect(bundle.signingSecretKey.every((b) => b === 0)).toBe(true);
  });
});
