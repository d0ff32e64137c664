/**
 * Password hashing and the password policy.
 *
 * Hashing: scrypt (RFC 7914) from node:crypto, memory-hard (Node 20 has no Argon2), run asynchronously on the
 * libuv pool so a login never blocks the event loop, at most MAX_CONCURRENT_HASHES at a time. Stored as a PHC-style string
 *   $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>
 * with salt and hash in unpadded standard base64 (the PHC string format). Verification compares in constant
 * time; `needsRehash` tells the caller to re-hash at the next successful login when the cost was raised.
 *
 * Policy: NIST SP 800-63B §5.1.1.2 — 12 to 256 characters after NFKC (each code point counts as one), no
 * composition rules, and refusal of a short list of the most common passwords, of repetitive or sequential
 * strings and of context words (the username, the service's name). Limits: the blocklist is short (a few
 * dozen entries of 12+ characters; shorter ones fail the length rule anyway), not a breach corpus.
 */

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { MdlError, MdlErrorCode } from '@medledger/core';

export interface ScryptCost {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/** OWASP's scrypt recommendation: N = 2^17 (128 MiB with r = 8), r = 8, p = 1. */
export const PASSWORD_SCRYPT: Readonly<ScryptCost> = Object.freeze({ ln: 17, r: 8, p: 1 });

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds on stored strings: the ceiling keeps a damaged or planted row from exhausting memory. */
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;
/** Verification input above this many UTF-8 bytes is refused outright (the policy allows 256 characters). */
const MAX_PASSWORD_BYTES = 4096;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

function validCost({ ln, r, p }: ScryptCost): boolean {
  return (
    Number.isInteger(ln) &&
    ln >= 1 &&
    ln <= MAX_LN &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= MAX_R &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= MAX_P
  );
}

/**
 * At most this many scrypt computations (password checks and key-file openings together) run at once; the rest
 * queue. At the default cost each holds 128 MiB, so a flood of logins (the node runs a 16-thread libuv pool) is
 * bounded at 512 MiB instead of 2 GiB.
 */
export const MAX_CONCURRENT_HASHES = 4;
let running = 0;
const waiting: (() => void)[] = [];

async function acquire(): Promise<void> {
  if (running < MAX_CONCURRENT_HASHES) {
    running++;
    return;
  }
  // The slot is handed over by release(), so `running` never exceeds the limit.
  await new Promise<void>((resolve) => waiting.push(resolve));
}

function release(): void {
  const next = waiting.shift();
  if (next) next();
  else running--;
}

/** How many scrypt computations (passwords and key files) are running now (for tests and metrics). */
export function passwordHashesInProgress(): number {
  return running;
}

/**
 * scrypt on the libuv pool, inside the concurrency bound: what password checks and the opening of patient key
 * files (patientKeys.ts) both use, so neither ever runs a KDF on the event loop.
 */
export async function boundedScrypt(
  password: Uint8Array,
  salt: Uint8Array,
  { N, r, p, dkLen }: { N: number; r: number; p: number; dkLen: number },
): Promise<Buffer> {
  await acquire();
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      scrypt(password, salt, dkLen, { N, r, p, maxmem: 256 * N * r * p + 2 ** 20 }, (error, key) =>
        error ? reject(error) : resolve(key),
      );
    });
  } finally {
    release();
  }
}

function deriveKey(password: Uint8Array, salt: Uint8Array, cost: ScryptCost, length: number) {
  return boundedScrypt(password, salt, { N: 2 ** cost.ln, r: cost.r, p: cost.p, dkLen: length });
}

/** The bytes a password is hashed as: NFKC (SP 800-63B §5.1.1.2), UTF-8. */
function passwordBytes(password: string): Buffer {
  return Buffer.from(password.normalize('NFKC'), 'utf8');
}

const B64 = /^[A-Za-z0-9+/]*$/;

function encodeB64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

function decodeB64(text: string): Buffer | undefined {
  if (!B64.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Refuse non-canonical encodings (stray low bits in the last character).
  return encodeB64(bytes) === text ? bytes : undefined;
}

export interface ParsedPasswordHash {
  cost: ScryptCost;
  salt: Uint8Array;
  hash: Uint8Array;
}

/** Parses a stored string; undefined if it is not a well-formed scrypt PHC string within bounds. */
export function parsePasswordHash(phc: string): ParsedPasswordHash | undefined {
  if (typeof phc !== 'string' || phc.length > 512) return undefined;
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([^$]*)\$([^$]+)$/.exec(phc);
  if (!m) return undefined;
  const cost = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const salt = decodeB64(m[4]!);
  const hash = decodeB64(m[5]!);
  if (!validCost(cost) || !salt || !hash || salt.length > 64 || hash.length < 16 || hash.length > 64) {
    return undefined;
  }
  return { cost, salt, hash };
}

export function formatPasswordHash({ cost, salt, hash }: ParsedPasswordHash): string {
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${encodeB64(salt)}$${encodeB64(hash)}`;
}

/** Hashes a password with a fresh 128-bit salt. Does not apply the policy (see `checkPasswordPolicy`). */
export async function hashPassword(password: string, cost: ScryptCost = PASSWORD_SCRYPT): Promise<string> {
  if (typeof password !== 'string') throw new MdlError(MdlErrorCode.BadInput, 'password must be a string');
  if (!validCost(cost)) throw new MdlError(MdlErrorCode.Config, 'scrypt cost out of bounds');
  const pw = passwordBytes(password);
  if (pw.length > MAX_PASSWORD_BYTES) throw new MdlError(MdlErrorCode.BadInput, 'password is too long');
  const salt = randomBytes(SALT_BYTES);
  const hash = await deriveKey(pw, salt, cost, HASH_BYTES);
  pw.fill(0);
  return formatPasswordHash({ cost, salt, hash });
}

/**
 * True only if `password` hashes to `phc`. False — never an exception — for a wrong password, a malformed or
 * out-of-bounds stored string, or oversized input.
 */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const parsed = parsePasswordHash(phc);
  if (!parsed || typeof password !== 'string') return false;
  const pw = passwordBytes(password);
  if (pw.length > MAX_PASSWORD_BYTES) return false;
  try {
    const computed = await deriveKey(pw, parsed.salt, parsed.cost, parsed.hash.length);
    return timingSafeEqual(computed, parsed.hash);
  } catch {
    return false;
  } finally {
    pw.fill(0);
  }
}

/** True when `phc` is unreadable or was made with a cost other than `cost` (re-hash at the next login). */
export function needsRehash(phc: string, cost: ScryptCost = PASSWORD_SCRYPT): boolean {
  const parsed = parsePasswordHash(phc);
  if (!parsed) return true;
  const c = parsed.cost;
  return c.ln !== cost.ln || c.r !== cost.r || c.p !== cost.p || parsed.hash.length !== HASH_BYTES;
}

export type PasswordProblem =
  | 'too-short'
  | 'too-long'
  | 'common'
  | 'repetitive'
  | 'contains-username'
  | 'contains-context-word';

export type PasswordPolicyResult = { ok: true } | { ok: false; problem: PasswordProblem };

/**
 * The most common passwords of 12 or more characters in public breach-frequency lists (shorter ones already
 * fail the length rule), compared after NFKC and lower-casing.
 */
const COMMON_PASSWORDS = new Set([
  '123456789012',
  '1234567890123',
  '12345678901234',
  '123456789000',
  '123456123456',
  '123123123123',
  '111111111111',
  '000000000000',
  '121212121212',
  '123456654321',
  '987654321098',
  '1q2w3e4r5t6y',
  '1q2w3e4r5t6y7u',
  '1qaz2wsx3edc',
  '1qaz2wsx3edc4rfv',
  'zaq12wsxcde3',
  '123qweasdzxc',
  '1234qwerasdf',
  'qwer1234asdf',
  'qwertyuiop123',
  'qwerty123456',
  'qwertyqwerty',
  'qwertyuiopasdf',
  'qwertyuiopasdfghjkl',
  'asdfghjkl123',
  'asdfasdfasdf',
  'zxcvbnm12345',
  'abcdefghijkl',
  'abc123abc123',
  'password1234',
  'password12345',
  'password123456',
  'password123!',
  'password1234!',
  'passwordpassword',
  'passw0rdpassw0rd',
  'p@ssw0rd1234',
  'p@ssword1234',
  'mypassword123',
  'iloveyou1234',
  'iloveyouiloveyou',
  'letmeinletmein',
  'welcome12345',
  'welcome123456',
  'administrator',
  'administrator1',
  'changeme1234',
  'trustno1trustno1',
  'football1234',
  'baseball1234',
  'superman1234',
  'princess1234',
  'sunshine1234',
  'monkey123456',
  'dragon123456',
  'correcthorsebatterystaple',
]);

/** Context words every password is checked against (SP 800-63B: "the name of the service"). */
const SERVICE_WORDS = ['medledger'];

function fold(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

/**
 * Checks a new password against the policy. `username` and any `contextWords` (e.g. the organisation's name)
 * may not appear in it; words shorter than 4 characters are not checked (too many false positives).
 */
export function checkPasswordPolicy(
  password: string,
  context: { username?: string; contextWords?: readonly string[] } = {},
): PasswordPolicyResult {
  if (typeof password !== 'string') return { ok: false, problem: 'too-short' };
  const normalised = password.normalize('NFKC');
  const chars = [...normalised];
  if (chars.length < PASSWORD_MIN_LENGTH) return { ok: false, problem: 'too-short' };
  if (chars.length > PASSWORD_MAX_LENGTH) return { ok: false, problem: 'too-long' };
  const folded = fold(password);
  if (COMMON_PASSWORDS.has(folded)) return { ok: false, problem: 'common' };
  if (new Set(chars).size < 4 || isSequential(chars)) return { ok: false, problem: 'repetitive' };
  const username = context.username === undefined ? '' : fold(context.username);
  if (username.length >= 4 && folded.includes(username)) return { ok: false, problem: 'contains-username' };
  for (const word of [...SERVICE_WORDS, ...(context.contextWords ?? [])]) {
    const w = fold(word);
    if (w.length >= 4 && folded.includes(w)) return { ok: false, problem: 'contains-context-word' };
  }
  return { ok: true };
}

/** A run of consecutive code points, ascending or descending ("abcdefghijkl", "987654321098" is not). */
function isSequential(chars: string[]): boolean {
  const points = chars.map((c) => c.codePointAt(0)!);
  const step = points[1]! - points[0]!;
  if (step !== 1 && step !== -1) return false;
  return points.every((p, i) => i === 0 || p - points[i - 1]! === step);
}

const PROBLEM_MESSAGES: Record<PasswordProblem, string> = {
  'too-short': `password must be at least ${PASSWORD_MIN_LENGTH} characters`,
  'too-long': `password must be at most ${PASSWORD_MAX_LENGTH} characters`,
  common: 'password is too common',
  repetitive: 'password is too repetitive or sequential',
  'contains-username': 'password must not contain the username',
  'contains-context-word': 'password must not contain the name of the service or organisation',
};

/** `checkPasswordPolicy`, throwing MDL_BAD_INPUT with a message that says what to change (never the password). */
export function assertPasswordPolicy(
  password: string,
  context: { username?: string; contextWords?: readonly string[] } = {},
): void {
  const result = checkPasswordPolicy(password, context);
  if (!result.ok) throw new MdlError(MdlErrorCode.BadInput, PROBLEM_MESSAGES[result.problem]);
}
