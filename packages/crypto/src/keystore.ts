/**
 * The passphrase-protected keystore: an organisation's (or a patient's) key bundles in one JSON document.
 * No I/O here — the node reads and writes the file (0600); this module turns text into keys and back.
 *
 * Format (docs/spec/keystore.md): the passphrase (NFC, UTF-8) and a random salt go through scrypt; the
 * 64-byte output splits into an encryption key and a check key. The check value (HMAC of a fixed label under
 * the check key) tells a wrong passphrase from a damaged file; the key list is sealed with key-committing
 * AES-256-GCM whose associated data is the canonical header (format, version, KDF parameters, salt), so no
 * parameter can be changed without detection.
 *
 * Rotation adds a new bundle and makes it the one used for new work; older bundles stay, marked retired, so
 * data wrapped to them can still be opened.
 */

import { MdlError, MdlErrorCode } from '@medledger/core';
import { platform } from '#platform';
import { AeadKey } from './aead.js';
import { base64urlToBytes, bytesToBase64url, bytesToUtf8, equalBytes, utf8ToBytes, wipe } from './bytes.js';
import {
  destroyKeyBundle,
  generateKeyBundle,
  type KeyBundle,
  type KeyId,
  keyBundleFromSecrets,
  type PublicKeyBundle,
} from './key-bundle.js';

export const KEYSTORE_FORMAT = 'medledger-keystore';
export const KEYSTORE_VERSION = 1;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** OWASP's recommended scrypt parameters (128 MiB, about a quarter second here). */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
/** Bounds enforced on files we open: the floor stops downgrades, the ceiling stops memory exhaustion. */
const MIN_N = 2 ** 14;
const MAX_N = 2 ** 22;
const MIN_PASSPHRASE_LENGTH = 12;

const CHECK_LABEL = utf8ToBytes('medledger/keystore/v1/check');

export type KeyStatus = 'active' | 'retired';

export interface KeyInfo {
  keyId: KeyId;
  createdAt: number;
  status: KeyStatus;
}

interface StoredKey {
  keyId: string;
  createdAt: number;
  status: KeyStatus;
  kem: string;
  sig: string;
}

/** Named 32-byte secrets beside the key bundles (e.g. the node's master secret, its ledger account key). */
type StoredSecrets = Record<string, string>;

interface KeystoreFile {
  format: typeof KEYSTORE_FORMAT;
  version: typeof KEYSTORE_VERSION;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  check: string;
  sealed: string;
}

function corrupt(why: string): MdlError {
  return new MdlError(MdlErrorCode.KeystoreCorrupt, `keystore file is damaged or not a keystore: ${why}`);
}

function validParams({ N, r, p }: ScryptParams): boolean {
  return (
    Number.isInteger(N) &&
    N >= MIN_N &&
    N <= MAX_N &&
    (N & (N - 1)) === 0 &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= 32 &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= 16
  );
}

/** The associated data: the header fields in a fixed order, so reordering JSON keys changes nothing. */
function headerAad(kdf: KeystoreFile['kdf']): Uint8Array {
  return utf8ToBytes(`${KEYSTORE_FORMAT}|${KEYSTORE_VERSION}|scrypt|${kdf.N}|${kdf.r}|${kdf.p}|${kdf.salt}`);
}

/**
 * An scrypt the caller supplies (RFC 7914; the output must equal the platform's): the node passes one that
 * runs on its thread pool, so opening a keystore on a request never blocks the event loop.
 */
export type AsyncScrypt = (
  password: Uint8Array,
  salt: Uint8Array,
  params: ScryptParams & { dkLen: number },
) => Promise<Uint8Array>;

const passphraseBytes = (passphrase: string) => utf8ToBytes(passphrase.normalize('NFC'));

function deriveKeys(passphrase: string, salt: Uint8Array, params: ScryptParams) {
  const pw = passphraseBytes(passphrase);
  const out = platform.scrypt(pw, salt, { ...params, dkLen: 64 });
  wipe(pw);
  return splitKeys(out);
}

async function deriveKeysAsync(
  passphrase: string,
  salt: Uint8Array,
  params: ScryptParams,
  scrypt: AsyncScrypt,
) {
  const pw = passphraseBytes(passphrase);
  try {
    const { N, r, p } = params;
    return splitKeys(await scrypt(pw, salt, { N, r, p, dkLen: 64 }));
  } finally {
    wipe(pw);
  }
}

/** The 64-byte KDF output: an encryption key and the check value (wipes the output). */
function splitKeys(out: Uint8Array) {
  if (out.length !== 64) throw new RangeError('scrypt must return 64 bytes');
  const encKey = new AeadKey(out.subarray(0, 32));
  const check = platform.hmacSha256(out.subarray(32), CHECK_LABEL);
  wipe(out);
  return { encKey, check };
}

function parseFile(text: string): KeystoreFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corrupt('not JSON');
  }
  const f = json as Partial<KeystoreFile>;
  if (typeof f !== 'object' || f === null || f.format !== KEYSTORE_FORMAT) throw corrupt('unknown format');
  if (f.version !== KEYSTORE_VERSION) {
    throw new MdlError(MdlErrorCode.Unsupported, `unsupported keystore version ${String(f.version)}`);
  }
  const kdf = f.kdf;
  if (kdf?.name !== 'scrypt' || typeof kdf.salt !== 'string' || !validParams(kdf)) {
    throw corrupt('invalid KDF parameters');
  }
  if (typeof f.check !== 'string' || typeof f.sealed !== 'string') throw corrupt('missing fields');
  return f as KeystoreFile;
}

function decodeB64(s: string, what: string): Uint8Array {
  try {
    return base64urlToBytes(s);
  } catch {
    throw corrupt(`${what} is not base64url`);
  }
}

/** A keystore file's header and sealed parts, decoded (no KDF work yet). */
function readFile(fileText: string) {
  const file = parseFile(fileText);
  return {
    file,
    salt: decodeB64(file.kdf.salt, 'salt'),
    expectedCheck: decodeB64(file.check, 'check'),
    sealed: decodeB64(file.sealed, 'sealed keys'),
  };
}

const SECRET_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class Keystore {
  #keys: { info: KeyInfo; bundle: KeyBundle }[];
  #secrets = new Map<string, Uint8Array>();
  #encKey: AeadKey;
  #check: Uint8Array;
  #kdf: KeystoreFile['kdf'];

  private constructor(
    keys: { info: KeyInfo; bundle: KeyBundle }[],
    encKey: AeadKey,
    check: Uint8Array,
    kdf: KeystoreFile['kdf'],
  ) {
    this.#keys = keys;
    this.#encKey = encKey;
    this.#check = check;
    this.#kdf = kdf;
  }

  /** Creates a keystore holding one freshly generated, active key bundle. */
  static create(passphrase: string, options: { scrypt?: ScryptParams; now?: number } = {}): Keystore {
    const { params, salt, kdf } = Keystore.#newKdf(passphrase, options.scrypt);
    return Keystore.#fresh(deriveKeys(passphrase, salt, params), kdf, options.now);
  }

  /**
   * `create` with the scrypt computed by `scrypt` — e.g. one that reports progress or yields to a browser's
   * event loop while it runs. Same file, same checks.
   */
  static async createAsync(
    passphrase: string,
    scrypt: AsyncScrypt,
    options: { scrypt?: ScryptParams; now?: number } = {},
  ): Promise<Keystore> {
    const { params, salt, kdf } = Keystore.#newKdf(passphrase, options.scrypt);
    return Keystore.#fresh(await deriveKeysAsync(passphrase, salt, params, scrypt), kdf, options.now);
  }

  static #newKdf(passphrase: string, scrypt: ScryptParams | undefined) {
    if (typeof passphrase !== 'string' || passphrase.length < MIN_PASSPHRASE_LENGTH) {
      throw new MdlError(
        MdlErrorCode.BadInput,
        `passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`,
      );
    }
    const params = scrypt ?? DEFAULT_SCRYPT;
    if (!validParams(params)) throw new MdlError(MdlErrorCode.BadInput, 'scrypt parameters out of bounds');
    const salt = platform.randomBytes(16);
    const kdf = {
      name: 'scrypt' as const,
      N: params.N,
      r: params.r,
      p: params.p,
      salt: bytesToBase64url(salt),
    };
    return { params, salt, kdf };
  }

  static #fresh(
    { encKey, check }: ReturnType<typeof splitKeys>,
    kdf: KeystoreFile['kdf'],
    now: number | undefined,
  ): Keystore {
    const bundle = generateKeyBundle(now);
    return new Keystore(
      [{ info: { keyId: bundle.keyId, createdAt: bundle.createdAt, status: 'active' }, bundle }],
      encKey,
      check,
      kdf,
    );
  }

  /**
   * Opens a keystore file. Throws MDL_KEYSTORE_WRONG_PASSPHRASE or MDL_KEYSTORE_CORRUPT (or MDL_UNSUPPORTED
   * for a newer version) — never returns keys that were not exactly the ones sealed.
   */
  static open(fileText: string, passphrase: string): Keystore {
    const parsed = readFile(fileText);
    return Keystore.#unseal(parsed, deriveKeys(passphrase, parsed.salt, parsed.file.kdf));
  }

  /**
   * `open` with the scrypt computed by `scrypt` (e.g. off the event loop). Same errors; the file is checked
   * before any KDF work is spent on it.
   */
  static async openAsync(fileText: string, passphrase: string, scrypt: AsyncScrypt): Promise<Keystore> {
    const parsed = readFile(fileText);
    return Keystore.#unseal(parsed, await deriveKeysAsync(passphrase, parsed.salt, parsed.file.kdf, scrypt));
  }

  static #unseal(
    { file, expectedCheck, sealed }: ReturnType<typeof readFile>,
    { encKey, check }: ReturnType<typeof splitKeys>,
  ): Keystore {
    if (!equalBytes(check, expectedCheck)) {
      encKey.destroy();
      throw new MdlError(MdlErrorCode.KeystoreWrongPassphrase, 'wrong keystore passphrase');
    }
    const plaintext = encKey.open(sealed, headerAad(file.kdf));
    if (!plaintext) {
      encKey.destroy();
      throw corrupt('authentication failed');
    }
    try {
      const { keys, secrets } = Keystore.#decodeContent(plaintext);
      const ks = new Keystore(keys, encKey, check, file.kdf);
      ks.#secrets = secrets;
      return ks;
    } finally {
      wipe(plaintext);
    }
  }

  static #decodeContent(plaintext: Uint8Array) {
    let stored: StoredKey[];
    let storedSecrets: StoredSecrets;
    try {
      const content = JSON.parse(bytesToUtf8(plaintext));
      stored = content.keys;
      storedSecrets = content.secrets ?? {};
    } catch {
      throw corrupt('sealed content is not a key list');
    }
    if (typeof storedSecrets !== 'object' || storedSecrets === null) throw corrupt('invalid secrets');
    const secrets = new Map<string, Uint8Array>();
    for (const [name, value] of Object.entries(storedSecrets)) {
      if (!SECRET_NAME.test(name) || typeof value !== 'string') throw corrupt('invalid secret entry');
      const bytes = decodeB64(value, 'secret');
      if (bytes.length !== 32) throw corrupt('secret is not 32 bytes');
      secrets.set(name, bytes);
    }
    return { keys: Keystore.#decodeKeys(stored), secrets };
  }

  static #decodeKeys(stored: StoredKey[]): { info: KeyInfo; bundle: KeyBundle }[] {
    if (!Array.isArray(stored) || stored.length === 0) throw corrupt('no keys');
    const keys = stored.map((s) => {
      if (s.status !== 'active' && s.status !== 'retired') throw corrupt('invalid key status');
      const bundle = keyBundleFromSecrets(decodeB64(s.kem, 'key'), decodeB64(s.sig, 'key'), s.createdAt);
      if (bundle.keyId !== s.keyId) throw corrupt('key id does not match its keys');
      return { info: { keyId: bundle.keyId, createdAt: s.createdAt, status: s.status }, bundle };
    });
    if (keys.filter((k) => k.info.status === 'active').length !== 1)
      throw corrupt('not exactly one active key');
    return keys;
  }

  /** The keys held, newest first. */
  list(): KeyInfo[] {
    return this.#keys.map((k) => ({ ...k.info })).sort((a, b) => b.createdAt - a.createdAt);
  }

  /** The bundle used for new work (signing, receiving new wraps). */
  active(): KeyBundle {
    return this.#keys.find((k) => k.info.status === 'active')!.bundle;
  }

  /** Any held bundle, active or retired (retired ones still decrypt). MDL_KEY_NOT_FOUND otherwise. */
  get(keyId: string): KeyBundle {
    const found = this.#keys.find((k) => k.info.keyId === keyId);
    if (!found) throw new MdlError(MdlErrorCode.KeyNotFound, 'no such key in the keystore');
    return found.bundle;
  }

  /** Generates a new active bundle; the previous active one becomes retired (decryption only). */
  rotate(now?: number): KeyBundle {
    const bundle = generateKeyBundle(now);
    for (const k of this.#keys) k.info.status = 'retired';
    this.#keys.push({ info: { keyId: bundle.keyId, createdAt: bundle.createdAt, status: 'active' }, bundle });
    return bundle;
  }

  /** The public bundle to publish (default: the active key's). */
  exportPublicBundle(keyId?: string): PublicKeyBundle {
    return (keyId ? this.get(keyId) : this.active()).publicBundle;
  }

  /**
   * A named 32-byte secret, generated on first use (so it is saved with the next `serialize()`). Names are
   * lower-case kebab-case, e.g. "node-master" or "ledger-account".
   */
  secret(name: string): Uint8Array {
    if (!SECRET_NAME.test(name))
      throw new MdlError(MdlErrorCode.BadInput, 'secret names are lower-case kebab-case');
    let value = this.#secrets.get(name);
    if (!value) {
      value = platform.randomBytes(32);
      this.#secrets.set(name, value);
    }
    return value.slice();
  }

  /** Names of the secrets held. */
  secretNames(): string[] {
    return [...this.#secrets.keys()].sort();
  }

  /** Serialises to the keystore file text, under the passphrase it was created or opened with. */
  serialize(): string {
    const keys: StoredKey[] = this.#keys.map(({ info, bundle }) => ({
      keyId: info.keyId,
      createdAt: info.createdAt,
      status: info.status,
      kem: bytesToBase64url(bundle.kemSecretKey),
      sig: bytesToBase64url(bundle.signingSecretKey),
    }));
    const secrets: StoredSecrets = Object.fromEntries(
      [...this.#secrets].map(([name, value]) => [name, bytesToBase64url(value)]),
    );
    const plaintext = utf8ToBytes(JSON.stringify({ keys, secrets }));
    try {
      const file: KeystoreFile = {
        format: KEYSTORE_FORMAT,
        version: KEYSTORE_VERSION,
        kdf: this.#kdf,
        check: bytesToBase64url(this.#check),
        sealed: bytesToBase64url(this.#encKey.seal(plaintext, headerAad(this.#kdf))),
      };
      return `${JSON.stringify(file, null, 2)}\n`;
    } finally {
      wipe(plaintext);
    }
  }

  /** Re-derives the file key from a new passphrase (new salt); call `serialize()` afterwards. */
  changePassphrase(newPassphrase: string, scrypt: ScryptParams = this.#kdf): void {
    if (typeof newPassphrase !== 'string' || newPassphrase.length < MIN_PASSPHRASE_LENGTH) {
      throw new MdlError(
        MdlErrorCode.BadInput,
        `passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`,
      );
    }
    if (!validParams(scrypt)) throw new MdlError(MdlErrorCode.BadInput, 'scrypt parameters out of bounds');
    const salt = platform.randomBytes(16);
    const { encKey, check } = deriveKeys(newPassphrase, salt, scrypt);
    this.#encKey.destroy();
    this.#encKey = encKey;
    this.#check = check;
    this.#kdf = { name: 'scrypt', N: scrypt.N, r: scrypt.r, p: scrypt.p, salt: bytesToBase64url(salt) };
  }

  /** Wipes every secret this object holds; it must not be used afterwards. */
  destroy(): void {
    for (const k of this.#keys) destroyKeyBundle(k.bundle);
    for (const v of this.#secrets.values()) wipe(v);
    this.#secrets.clear();
    this.#encKey.destroy();
    wipe(this.#check);
    this.#keys = [];
  }
}
