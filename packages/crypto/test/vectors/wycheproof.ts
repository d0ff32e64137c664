/**
 * Project Wycheproof vector runner for medledger's primitives: one pure function that takes a parsed vector file
 * and a `Platform` and reports how every test case fared. No I/O and no `node:` imports, so the same code runs
 * under Vitest in Node and bundled inside Chromium.
 *
 * Semantics: a `valid` case must produce the expected output, an `invalid` case must be rejected (the primitive's
 * documented way: `undefined`, `false` or a throw), an `acceptable` case may go either way but a returned value
 * must still be the expected one. Cases medledger's primitives do not support are counted as skipped with a
 * reason, never dropped. An unknown schema/algorithm throws, so a new vector file cannot pass by being ignored.
 *
 * The post-quantum files exercise `@noble/post-quantum` directly (both platforms use it); the platform argument
 * only matters for the classical primitives.
 */
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { bytesToHex, concatBytes, equalBytes, hexToBytes } from '../../src/bytes.js';
import { hashFunctions } from '../../src/hash.js';
import { isSupportedGcmIv, type Platform } from '../../src/platform/Platform.js';

/** The Wycheproof vector files (shared/data/wycheproof, without `.json`) medledger's primitives are proven against. */
export const WYCHEPROOF_FILES = [
  'aes_gcm_test',
  'x25519_test',
  'ed25519_test',
  'hmac_sha256_test',
  'hmac_sha3_256_test',
  'hkdf_sha256_test',
  'mlkem_768_test',
  'mlkem_768_encaps_test',
  'mlkem_768_keygen_seed_test',
  'mlkem_768_semi_expanded_decaps_test',
  'mldsa_65_verify_test',
  'mldsa_65_sign_seed_test',
  'mldsa_65_sign_noseed_test',
] as const;

/** Vector files shipped in shared/data/wycheproof that medledger deliberately does not run, and why. */
export const UNUSED_FILES: Readonly<Record<string, string>> = {
  chacha20_poly1305_test: 'medledger uses no ChaCha20-Poly1305 (AES-256-GCM only)',
  pbkdf2_hmacsha256_test: 'medledger derives passphrase keys with scrypt, not PBKDF2',
};

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofTest {
  readonly tcId: number;
  readonly comment?: string;
  readonly flags?: readonly string[];
  readonly result: WycheproofResult;
  readonly [field: string]: unknown;
}

export interface WycheproofGroup {
  readonly type?: string;
  readonly tests: readonly WycheproofTest[];
  readonly [field: string]: unknown;
}

export interface WycheproofFile {
  readonly algorithm: string;
  readonly schema: string;
  readonly numberOfTests?: number;
  readonly testGroups: readonly WycheproofGroup[];
  readonly [field: string]: unknown;
}

export interface VectorReport {
  /** The vector file's name (given by the caller) or, failing that, its schema. */
  readonly file: string;
  readonly algorithm: string;
  readonly schema: string;
  readonly total: number;
  readonly passed: number;
  readonly skipped: number;
  readonly failed: number;
  /** One line per failed case: `tcId N (result): reason`. */
  readonly failures: string[];
  /** Skip reason → number of cases skipped for it. */
  readonly skipReasons: Record<string, number>;
  /** How the `acceptable` cases went (both outcomes pass). */
  readonly acceptable: { accepted: number; rejected: number };
  /** Invalid or acceptable cases rejected by an exception rather than a `false`/`undefined` return. */
  readonly rejectedByThrow: number;
}

export type HkdfFunction = (
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
) => Uint8Array;

export interface RunOptions {
  /** Name to report (e.g. `aes_gcm_test`); defaults to the file's schema. */
  readonly name?: string;
  /**
   * HKDF-SHA256 under test. Defaults to RFC 5869's two steps over `platform.hmacSha256`, so that each platform's
   * HMAC is exercised; pass `hkdf` from `src/hash.ts` to test that module itself.
   */
  readonly hkdf?: HkdfFunction;
}

type Verdict =
  | { readonly status: 'pass'; readonly acceptable?: 'accepted' | 'rejected'; readonly byThrow?: boolean }
  | { readonly status: 'fail'; readonly reason: string }
  | { readonly status: 'skip'; readonly reason: string };

type CaseRunner = (test: WycheproofTest) => Verdict;

interface Suite {
  readonly schema: string;
  readonly algorithm: string;
  /** Prepares one test group: a runner for its cases, or a reason to skip all of them. */
  group(
    group: WycheproofGroup,
    platform: Platform,
    options: RunOptions,
  ): CaseRunner | { readonly skip: string };
}

const PASS: Verdict = { status: 'pass' };
const fail = (reason: string): Verdict => ({ status: 'fail', reason });

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function short(bytes: Uint8Array): string {
  const hex = bytesToHex(bytes);
  return hex.length > 32 ? `${hex.slice(0, 32)}...(${bytes.length} bytes)` : hex;
}

/** A hex field of a test or group; throws (a malformed vector, not an implementation failure) if absent. */
function hex(record: { readonly [field: string]: unknown }, field: string): Uint8Array {
  const value = record[field];
  if (typeof value !== 'string') throw new VectorFormatError(`vector has no hex field "${field}"`);
  return hexToBytes(value);
}

function optionalHex(record: { readonly [field: string]: unknown }, field: string): Uint8Array | undefined {
  return record[field] === undefined || record[field] === null ? undefined : hex(record, field);
}

function num(record: { readonly [field: string]: unknown }, field: string): number {
  const value = record[field];
  if (typeof value !== 'number') throw new VectorFormatError(`vector has no numeric field "${field}"`);
  return value;
}

export class VectorFormatError extends Error {
  override name = 'VectorFormatError';
}

/** Compares an output with the expected bytes; `undefined` when equal, else a short mismatch description. */
function mismatch(what: string, actual: Uint8Array, expected: Uint8Array): string | undefined {
  return equalBytes(actual, expected) ? undefined : `${what} ${short(actual)} != expected ${short(expected)}`;
}

type Attempt<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

function attempt<T>(op: () => T): Attempt<T> {
  try {
    return { ok: true, value: op() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * The common shape of "compute something and compare": a valid case must compute without throwing and match; an
 * invalid case must throw or differ; an acceptable case may throw, but if it computes it must match.
 * `compute` returns `undefined` on a match and a mismatch description otherwise.
 */
function judgeComputation(test: WycheproofTest, compute: () => string | undefined): Verdict {
  const outcome = attempt(compute);
  if (!outcome.ok && outcome.error instanceof VectorFormatError) return fail(outcome.error.message);
  switch (test.result) {
    case 'valid':
      if (!outcome.ok) return fail(`threw ${describeError(outcome.error)}`);
      return outcome.value === undefined ? PASS : fail(outcome.value);
    case 'invalid':
      if (!outcome.ok) return { status: 'pass', byThrow: true };
      return outcome.value === undefined ? fail('accepted an invalid case (output matched)') : PASS;
    case 'acceptable':
      if (!outcome.ok) return { status: 'pass', acceptable: 'rejected', byThrow: true };
      return outcome.value === undefined
        ? { status: 'pass', acceptable: 'accepted' }
        : fail(`acceptable case accepted with a wrong output: ${outcome.value}`);
  }
}

/**
 * For operations that must reject an invalid case by throwing (KEM, signing with bad keys, HKDF with a bad
 * length): an invalid case passes only if `compute` throws.
 */
function judgeMustThrowWhenInvalid(test: WycheproofTest, compute: () => string | undefined): Verdict {
  if (test.result !== 'invalid') return judgeComputation(test, compute);
  const outcome = attempt(compute);
  if (!outcome.ok) {
    return outcome.error instanceof VectorFormatError
      ? fail(outcome.error.message)
      : { status: 'pass', byThrow: true };
  }
  return fail(`accepted an invalid case without an error${outcome.value ? ` (${outcome.value})` : ''}`);
}

/**
 * For boolean verification: valid must verify, invalid must not, acceptable either way. `allowThrow` says
 * whether an exception counts as a rejection (noble's ML-DSA throws on malformed keys/contexts) or is a contract
 * violation (`Platform.ed25519Verify` must return false and never throw).
 */
function judgeVerification(test: WycheproofTest, verify: () => boolean, allowThrow: boolean): Verdict {
  const outcome = attempt(verify);
  if (!outcome.ok) {
    if (outcome.error instanceof VectorFormatError) return fail(outcome.error.message);
    if (test.result === 'valid' || !allowThrow) return fail(`verify threw ${describeError(outcome.error)}`);
    return test.result === 'acceptable'
      ? { status: 'pass', acceptable: 'rejected', byThrow: true }
      : { status: 'pass', byThrow: true };
  }
  switch (test.result) {
    case 'valid':
      return outcome.value ? PASS : fail('valid signature did not verify');
    case 'invalid':
      return outcome.value ? fail('invalid signature verified') : PASS;
    case 'acceptable':
      return { status: 'pass', acceptable: outcome.value ? 'accepted' : 'rejected' };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Classical primitives (through the Platform)

const aesGcm: Suite = {
  schema: 'aead_test_schema_v1.json',
  algorithm: 'AES-GCM',
  group(group, platform) {
    const tagSize = num(group, 'tagSize');
    if (tagSize !== 128) return { skip: `AES-GCM tag of ${tagSize} bits (medledger uses 128-bit tags only)` };
    const keySize = num(group, 'keySize');
    if (keySize !== 128 && keySize !== 192 && keySize !== 256) {
      return { skip: `AES-GCM key of ${keySize} bits is not AES` };
    }
    return (test) => {
      const key = hex(test, 'key');
      const iv = hex(test, 'iv');
      const aad = hex(test, 'aad');
      const msg = hex(test, 'msg');
      const sealed = concatBytes(hex(test, 'ct'), hex(test, 'tag'));
      if (test.result === 'valid' && !isSupportedGcmIv(iv)) {
        // Outside the platform contract both implementations must refuse, identically.
        if (attempt(() => platform.aesGcmEncrypt(key, iv, msg, aad)).ok)
          return fail('encrypt accepted an unsupported IV length');
        if (platform.aesGcmDecrypt(key, iv, sealed, aad) !== undefined)
          return fail('decrypt accepted an unsupported IV length');
        return {
          status: 'skip',
          reason: `AES-GCM IV of ${iv.length} bytes (the platform contract is 8..128 bytes)`,
        };
      }
      if (test.result === 'valid') {
        const enc = attempt(() => platform.aesGcmEncrypt(key, iv, msg, aad));
        if (!enc.ok) return fail(`encrypt threw ${describeError(enc.error)} (${iv.length}-byte IV)`);
        const encMismatch = mismatch('ciphertext||tag', enc.value, sealed);
        if (encMismatch) return fail(encMismatch);
        const dec = attempt(() => platform.aesGcmDecrypt(key, iv, sealed, aad));
        if (!dec.ok) return fail(`decrypt threw ${describeError(dec.error)} (${iv.length}-byte IV)`);
        if (dec.value === undefined)
          return fail(`decrypt rejected a valid ciphertext (${iv.length}-byte IV)`);
        const decMismatch = mismatch('plaintext', dec.value, msg);
        return decMismatch ? fail(decMismatch) : PASS;
      }
      // Invalid (or acceptable) ciphertexts: the contract is `undefined`, never a throw and never plaintext.
      const dec = attempt(() => platform.aesGcmDecrypt(key, iv, sealed, aad));
      if (!dec.ok) return fail(`decrypt threw ${describeError(dec.error)} instead of returning undefined`);
      if (!isSupportedGcmIv(iv) && attempt(() => platform.aesGcmEncrypt(key, iv, msg, aad)).ok) {
        return fail('encrypt accepted an unsupported IV length');
      }
      if (test.result === 'acceptable') {
        if (dec.value === undefined) return { status: 'pass', acceptable: 'rejected' };
        const decMismatch = mismatch('plaintext', dec.value, msg);
        return decMismatch ? fail(decMismatch) : { status: 'pass', acceptable: 'accepted' };
      }
      return dec.value === undefined ? PASS : fail('decrypt accepted an invalid ciphertext');
    };
  },
};

const x25519: Suite = {
  schema: 'xdh_comp_schema_v1.json',
  algorithm: 'XDH',
  group(group, platform) {
    if (group.curve !== 'curve25519')
      return { skip: `XDH curve ${String(group.curve)} (medledger uses X25519 only)` };
    return (test) => {
      const secret = hex(test, 'private');
      const peer = hex(test, 'public');
      const shared = hex(test, 'shared');
      if (shared.every((b) => b === 0)) {
        // Platform contract (RFC 7748 §6.1): a low-order peer key must make x25519 throw, whatever the label.
        const out = attempt(() => platform.x25519(secret, peer));
        if (out.ok) return fail('x25519 returned an all-zero shared secret instead of throwing');
        return test.result === 'acceptable'
          ? { status: 'pass', acceptable: 'rejected', byThrow: true }
          : test.result === 'invalid'
            ? { status: 'pass', byThrow: true }
            : fail('valid case expects an all-zero secret, which the platform contract forbids');
      }
      return judgeComputation(test, () => mismatch('shared secret', platform.x25519(secret, peer), shared));
    };
  },
};

const ed25519: Suite = {
  schema: 'eddsa_verify_schema_v1.json',
  algorithm: 'EDDSA',
  group(group, platform) {
    const key = group.publicKey as { curve?: string; pk?: string } | undefined;
    if (key?.curve !== 'edwards25519')
      return { skip: `EdDSA curve ${String(key?.curve)} (medledger uses Ed25519)` };
    const publicKey = hex(key, 'pk');
    return (test) => {
      const msg = hex(test, 'msg');
      const sig = hex(test, 'sig');
      return judgeVerification(test, () => platform.ed25519Verify(sig, msg, publicKey), false);
    };
  },
};

function macSuite(
  algorithm: string,
  outputBits: number,
  pick: (p: Platform) => Platform['hmacSha256'],
): Suite {
  return {
    schema: 'mac_test_schema_v1.json',
    algorithm,
    group(group, platform) {
      const tagSize = num(group, 'tagSize');
      if (tagSize % 8 !== 0 || tagSize > outputBits || tagSize <= 0) {
        return { skip: `${algorithm} tag of ${tagSize} bits` };
      }
      const mac = pick(platform);
      return (test) => {
        const key = hex(test, 'key');
        const msg = hex(test, 'msg');
        const tag = hex(test, 'tag');
        // Truncated tags (tagSize < output) are checked against the MAC's leftmost bytes (RFC 2104 §5).
        return judgeComputation(test, () => mismatch('tag', mac(key, msg).subarray(0, tagSize / 8), tag));
      };
    },
  };
}

const hkdfSha256: Suite = {
  schema: 'hkdf_test_schema_v1.json',
  algorithm: 'HKDF-SHA-256',
  group(_group, platform, options) {
    const hkdf = options.hkdf ?? hashFunctions(platform).hkdf;
    return (test) => {
      const ikm = hex(test, 'ikm');
      const salt = hex(test, 'salt');
      const info = hex(test, 'info');
      const size = num(test, 'size');
      const okm = hex(test, 'okm');
      return judgeMustThrowWhenInvalid(test, () => mismatch('okm', hkdf(ikm, salt, info, size), okm));
    };
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Post-quantum primitives (@noble/post-quantum on both platforms)

function mlKem768Only(group: WycheproofGroup): { readonly skip: string } | undefined {
  return group.parameterSet === 'ML-KEM-768'
    ? undefined
    : { skip: `${String(group.parameterSet)} (medledger uses ML-KEM-768 only)` };
}

/** Collects mismatches of several outputs into one description, `undefined` if all match. */
function mismatches(...found: (string | undefined)[]): string | undefined {
  const real = found.filter((m): m is string => m !== undefined);
  return real.length === 0 ? undefined : real.join('; ');
}

/** An ML-KEM-768 suite: `check` returns a mismatch description, throws to reject, or undefined when it matches. */
function mlKemSuite(schema: string, check: (test: WycheproofTest) => string | undefined): Suite {
  return {
    schema,
    algorithm: 'ML-KEM',
    group(group) {
      return mlKem768Only(group) ?? ((test) => judgeMustThrowWhenInvalid(test, () => check(test)));
    },
  };
}

// KeyGen from the 64-byte seed d||z, then Decaps (including implicit rejection of modified ciphertexts).
const mlKemDecaps = mlKemSuite('mlkem_test_schema.json', (test) => {
  const keys = ml_kem768.keygen(hex(test, 'seed'));
  const ek = optionalHex(test, 'ek');
  const K = ml_kem768.decapsulate(hex(test, 'c'), keys.secretKey);
  return mismatches(ek && mismatch('ek', keys.publicKey, ek), mismatch('K', K, hex(test, 'K')));
});

// Encaps_internal with the given m; invalid encapsulation keys (length, modulus check) must be refused.
const mlKemEncaps = mlKemSuite('mlkem_encaps_test_schema.json', (test) => {
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(hex(test, 'ek'), hex(test, 'm'));
  return mismatches(mismatch('c', cipherText, hex(test, 'c')), mismatch('K', sharedSecret, hex(test, 'K')));
});

const mlKemKeygen = mlKemSuite('mlkem_keygen_seed_test_schema.json', (test) => {
  const keys = ml_kem768.keygen(hex(test, 'seed'));
  return mismatches(
    mismatch('ek', keys.publicKey, hex(test, 'ek')),
    mismatch('dk', keys.secretKey, hex(test, 'dk')),
  );
});

// Decaps with an expanded 2400-byte dk: FIPS 203 §7.3 input checks (lengths, H(ek) inside dk) must refuse.
const mlKemSemiExpandedDecaps = mlKemSuite('mlkem_semi_expanded_decaps_test_schema.json', (test) => {
  const K = ml_kem768.decapsulate(hex(test, 'c'), hex(test, 'dk'));
  const expected = optionalHex(test, 'K');
  return expected ? mismatch('K', K, expected) : undefined;
});

const mlDsaVerify: Suite = {
  schema: 'mldsa_verify_schema.json',
  algorithm: 'ML-DSA-65',
  group(group) {
    const publicKey = hex(group, 'publicKey');
    return (test) => {
      const sig = hex(test, 'sig');
      const msg = hex(test, 'msg');
      const context = optionalHex(test, 'ctx');
      // noble throws (rather than returning false) on a wrong-length key or an over-long context; callers
      // must catch, and here a throw counts as a rejection.
      return judgeVerification(
        test,
        () => ml_dsa65.verify(sig, msg, publicKey, context ? { context } : {}),
        true,
      );
    };
  },
};

/**
 * Signs one ML-DSA case: the pure variant when `msg` is given (with `ctx`), Sign_internal over the external μ
 * when only `mu` is. `rnd` absent means deterministic signing (all-zero rnd, FIPS 204 §3.4).
 */
function mlDsaSignCase(test: WycheproofTest, secretKey: Uint8Array): Uint8Array {
  const rnd = optionalHex(test, 'rnd');
  const extraEntropy = rnd ?? false;
  const msg = optionalHex(test, 'msg');
  if (msg !== undefined) {
    const context = optionalHex(test, 'ctx');
    return ml_dsa65.sign(msg, secretKey, context ? { context, extraEntropy } : { extraEntropy });
  }
  return ml_dsa65.internal.sign(hex(test, 'mu'), secretKey, { externalMu: true, extraEntropy });
}

interface MlDsaKey {
  readonly secretKey: Uint8Array;
  /** The public key belonging to `secretKey`, computed only when a valid case needs to compare it. */
  readonly publicKey: () => Uint8Array;
}

function mlDsaSignSuite(schema: string, keyFrom: (group: WycheproofGroup) => MlDsaKey): Suite {
  return {
    schema,
    algorithm: 'ML-DSA-65',
    group(group) {
      const expectedPublicKey = optionalHex(group, 'publicKey');
      // Key derivation can itself be the rejection an invalid case expects (a seed of the wrong length), so it
      // runs inside each case's judgement, once per group.
      let key: Attempt<MlDsaKey> | undefined;
      const groupKey = (): MlDsaKey => {
        key ??= attempt(() => keyFrom(group));
        if (!key.ok) throw key.error;
        return key.value;
      };
      return (test) =>
        judgeMustThrowWhenInvalid(test, () => {
          const { secretKey, publicKey } = groupKey();
          const sig = mlDsaSignCase(test, secretKey);
          return mismatches(
            expectedPublicKey && test.result === 'valid'
              ? mismatch('public key', publicKey(), expectedPublicKey)
              : undefined,
            mismatch('signature', sig, hex(test, 'sig')),
          );
        });
    },
  };
}

const mlDsaSignSeed = mlDsaSignSuite('mldsa_sign_seed_schema.json', (group) => {
  const { secretKey, publicKey } = ml_dsa65.keygen(hex(group, 'privateSeed'));
  return { secretKey, publicKey: () => publicKey };
});

const mlDsaSignNoSeed = mlDsaSignSuite('mldsa_sign_noseed_schema.json', (group) => {
  const secretKey = hex(group, 'privateKey');
  let publicKey: Uint8Array | undefined;
  return { secretKey, publicKey: () => (publicKey ??= ml_dsa65.getPublicKey(secretKey)) };
});

// ---------------------------------------------------------------------------------------------------------------

const SUITES: readonly Suite[] = [
  aesGcm,
  x25519,
  ed25519,
  macSuite('HMACSHA256', 256, (p) => p.hmacSha256),
  macSuite('HMACSHA3-256', 256, (p) => p.hmacSha3_256),
  hkdfSha256,
  mlKemDecaps,
  mlKemEncaps,
  mlKemKeygen,
  mlKemSemiExpandedDecaps,
  mlDsaVerify,
  mlDsaSignSeed,
  mlDsaSignNoSeed,
];

/** Whether `runWycheproof` knows how to run this file (schema and algorithm). */
export function isSupported(file: Pick<WycheproofFile, 'schema' | 'algorithm'>): boolean {
  return findSuite(file) !== undefined;
}

function findSuite(file: Pick<WycheproofFile, 'schema' | 'algorithm'>): Suite | undefined {
  return SUITES.find((s) => s.schema === file.schema && s.algorithm === file.algorithm);
}

/** Runs every test case of one Wycheproof file against `platform`. Throws for a file it has no runner for. */
export function runWycheproof(
  file: WycheproofFile,
  platform: Platform,
  options: RunOptions = {},
): VectorReport {
  const suite = findSuite(file);
  if (!suite) throw new Error(`no Wycheproof runner for schema ${file.schema} / algorithm ${file.algorithm}`);
  let total = 0;
  let passed = 0;
  let skipped = 0;
  let rejectedByThrow = 0;
  const failures: string[] = [];
  const skipReasons: Record<string, number> = {};
  const acceptable = { accepted: 0, rejected: 0 };

  for (const group of file.testGroups) {
    const prepared = attempt(() => suite.group(group, platform, options));
    for (const test of group.tests) {
      total++;
      let verdict: Verdict;
      if (!prepared.ok) {
        verdict = fail(`test group could not be prepared: ${describeError(prepared.error)}`);
      } else if ('skip' in prepared.value) {
        verdict = { status: 'skip', reason: prepared.value.skip };
      } else {
        const runCase = prepared.value;
        const outcome = attempt(() => runCase(test));
        verdict = outcome.ok ? outcome.value : fail(`runner error: ${describeError(outcome.error)}`);
      }
      switch (verdict.status) {
        case 'pass':
          passed++;
          if (verdict.byThrow) rejectedByThrow++;
          if (verdict.acceptable) acceptable[verdict.acceptable]++;
          break;
        case 'skip':
          skipped++;
          skipReasons[verdict.reason] = (skipReasons[verdict.reason] ?? 0) + 1;
          break;
        case 'fail': {
          const flags = test.flags && test.flags.length > 0 ? ` [${test.flags.join(',')}]` : '';
          failures.push(`tcId ${test.tcId} (${test.result}${flags}): ${verdict.reason}`);
          break;
        }
      }
    }
  }
  return {
    file: options.name ?? file.schema,
    algorithm: file.algorithm,
    schema: file.schema,
    total,
    passed,
    skipped,
    failed: failures.length,
    failures,
    skipReasons,
    acceptable,
    rejectedByThrow,
  };
}

/** One-line summary, e.g. `wycheproof aes_gcm_test [node] 316 cases: 316 passed, 0 skipped`. */
export function formatReport(report: VectorReport, tag: string): string {
  const skips = Object.entries(report.skipReasons)
    .map(([reason, n]) => `${n}× ${reason}`)
    .join('; ');
  const extra = [
    report.failed > 0 ? `${report.failed} FAILED` : '',
    report.acceptable.accepted + report.acceptable.rejected > 0
      ? `acceptable: ${report.acceptable.accepted} accepted/${report.acceptable.rejected} rejected`
      : '',
    skips ? `skipped: ${skips}` : '',
  ].filter(Boolean);
  return `wycheproof ${report.file} [${tag}] ${report.total} cases: ${report.passed} passed, ${report.skipped} skipped${
    extra.length > 0 ? ` (${extra.join('; ')})` : ''
  }`;
}
