import { describe, expect, it } from 'vitest';
import {
  assertPasswordPolicy,
  checkPasswordPolicy,
  formatPasswordHash,
  hashPassword,
  MAX_CONCURRENT_HASHES,
  needsRehash,
  PASSWORD_SCRYPT,
  parsePasswordHash,
  passwordHashesInProgress,
  verifyPassword,
} from './passwords.js';

/** Cheap parameters for tests that do not need the production cost. */
const FAST = { ln: 10, r: 8, p: 1 };

// RFC 7914 §12 test vectors (the fourth, N = 2^20 with 1 GiB of memory, is left out to keep the suite fast).
const RFC7914 = [
  {
    password: '',
    salt: '',
    ln: 4,
    r: 1,
    p: 1,
    dk: '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
  },
  {
    password: 'password',
    salt: 'NaCl',
    ln: 10,
    r: 8,
    p: 16,
    dk: 'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
  },
  {
    password: 'pleaseletmein',
    salt: 'SodiumChloride',
    ln: 14,
    r: 8,
    p: 1,
    dk: '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887',
  },
];

function vectorPhc(v: (typeof RFC7914)[number]) {
  return formatPasswordHash({
    cost: { ln: v.ln, r: v.r, p: v.p },
    salt: Buffer.from(v.salt, 'utf8'),
    hash: Buffer.from(v.dk, 'hex'),
  });
}

describe('scrypt password hashes', () => {
  it('verifies the RFC 7914 vectors through the PHC encoding', async () => {
    for (const v of RFC7914) {
      const phc = vectorPhc(v);
      expect(phc).toMatch(new RegExp(`^\\$scrypt\\$ln=${v.ln},r=${v.r},p=${v.p}\\$`));
      expect(await verifyPassword(v.password, phc), v.password).toBe(true);
      expect(await verifyPassword(`${v.password}x`, phc)).toBe(false);
      // One flipped bit of the stored hash.
      const flipped = Buffer.from(v.dk, 'hex');
      flipped[5]! ^= 1;
      expect(await verifyPassword(v.password, vectorPhc({ ...v, dk: flipped.toString('hex') }))).toBe(false);
    }
  });

  it('encodes the second vector exactly as the PHC string format does', () => {
    expect(vectorPhc(RFC7914[1]!)).toBe(
      '$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA',
    );
  });

  it('hashes with a fresh salt and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery', FAST);
    const b = await hashPassword('correct horse battery', FAST);
    expect(a).not.toBe(b);
    expect(parsePasswordHash(a)).toMatchObject({ cost: FAST });
    expect(parsePasswordHash(a)!.salt).toHaveLength(16);
    expect(parsePasswordHash(a)!.hash).toHaveLength(32);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('normalises to NFKC, so composed and decomposed input are one password', async () => {
    const composed = 'caf\u00e9 au lait au lait';
    const decomposed = 'cafe\u0301 au lait au lait';
    const phc = await hashPassword(composed, FAST);
    expect(await verifyPassword(decomposed, phc)).toBe(true);
  });

  it('refuses malformed, out-of-bounds and oversized input without throwing', async () => {
    const good = await hashPassword('some long password', FAST);
    const [, , params, salt, hash] = good.split('$');
    const bad = [
      '',
      'plaintext',
      `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${hash}`,
      `$scrypt$ln=21,r=8,p=1$${salt}$${hash}`, // above the memory ceiling
      `$scrypt$ln=0,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=10,r=0,p=1$${salt}$${hash}`,
      `$scrypt$ln=10,r=8,p=17$${salt}$${hash}`,
      `$scrypt$${params}$${salt}$`,
      `$scrypt$${params}$${salt}$${hash}=`, // padding is not PHC
      `$scrypt$${params}$${salt}$${hash!.replace(/.$/, '-')}`, // base64url alphabet
      `$scrypt$${params}$${salt}$${hash!.slice(0, 10)}`, // too short a hash
      `$scrypt$${params}$${salt}$${hash}$extra`,
    ];
    for (const phc of bad) {
      expect(parsePasswordHash(phc), phc).toBeUndefined();
      expect(await verifyPassword('some long password', phc)).toBe(false);
      expect(needsRehash(phc, FAST)).toBe(true);
    }
    expect(await verifyPassword('x'.repeat(5000), good)).toBe(false);
    expect(await verifyPassword(42 as unknown as string, good)).toBe(false);
    await expect(hashPassword('x'.repeat(5000), FAST)).rejects.toMatchObject({ code: 'MDL_BAD_INPUT' });
    await expect(hashPassword('password123456', { ln: 30, r: 8, p: 1 })).rejects.toMatchObject({
      code: 'MDL_CONFIG',
    });
  });

  it('asks for a re-hash when the cost differs from the current one', async () => {
    const phc = await hashPassword('another long password', FAST);
    expect(needsRehash(phc, FAST)).toBe(false);
    expect(needsRehash(phc, { ...FAST, ln: 11 })).toBe(true);
    expect(needsRehash(phc, PASSWORD_SCRYPT)).toBe(true);
    expect(needsRehash(vectorPhc(RFC7914[2]!), { ln: 14, r: 8, p: 1 })).toBe(true); // 64-byte hash
    expect(PASSWORD_SCRYPT).toEqual({ ln: 17, r: 8, p: 1 });
  });

  it('runs at most MAX_CONCURRENT_HASHES scrypt computations at once, queueing the rest', async () => {
    const phc = await hashPassword('queued password here', FAST);
    let peak = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, passwordHashesInProgress());
    }, 1);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => verifyPassword(i % 2 ? 'queued password here' : 'wrong', phc)),
    );
    clearInterval(timer);
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => i % 2 === 1));
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(MAX_CONCURRENT_HASHES);
    expect(passwordHashesInProgress()).toBe(0);
  });

  it('hashes at the production cost without blocking the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const phc = await hashPassword('production cost password');
    clearInterval(timer);
    expect(parsePasswordHash(phc)!.cost).toEqual(PASSWORD_SCRYPT);
    // The interval fired while scrypt ran on the thread pool: a hash computed on the event loop would resolve
    // (its continuation is a microtask) before any timer could run.
    expect(ticks).toBeGreaterThan(0);
  });
});

describe('password policy (NIST SP 800-63B)', () => {
  it('accepts long passphrases without composition rules', () => {
    for (const pw of [
      'correct horse battery',
      'all lower case words',
      'ünïcödé wörds ok',
      '🙂🙂🙂🙂🙂🙂 and more',
    ]) {
      expect(checkPasswordPolicy(pw), pw).toEqual({ ok: true });
    }
  });

  it('counts characters after NFKC, not UTF-16 units', () => {
    // 11 emoji are 22 UTF-16 units but 11 characters: too short.
    expect(checkPasswordPolicy('🙂🙁😀😃😄😁😆😅😂🤣😊')).toEqual({ ok: false, problem: 'too-short' });
    expect(checkPasswordPolicy(`aaa${'bcd'.repeat(84)}xyz`)).toEqual({
      ok: false,
      problem: 'too-long',
    });
    expect(checkPasswordPolicy(`x${'abc'.repeat(85)}`)).toEqual({ ok: true }); // exactly 256
  });

  it('refuses short, common, repetitive and sequential passwords', () => {
    expect(checkPasswordPolicy('short pass')).toEqual({ ok: false, problem: 'too-short' });
    expect(checkPasswordPolicy('Password1234')).toEqual({ ok: false, problem: 'common' });
    expect(checkPasswordPolicy('QWERTY123456')).toEqual({ ok: false, problem: 'common' });
    expect(checkPasswordPolicy('aaaaaaaaaaaaaaaa')).toEqual({ ok: false, problem: 'repetitive' });
    expect(checkPasswordPolicy('abababababababab')).toEqual({ ok: false, problem: 'repetitive' });
    expect(checkPasswordPolicy('abcdefghijkl')).toEqual({ ok: false, problem: 'common' });
    expect(checkPasswordPolicy('abcdefghijklmnop')).toEqual({ ok: false, problem: 'repetitive' });
    expect(checkPasswordPolicy('bcdefghijklmnopq')).toEqual({ ok: false, problem: 'repetitive' });
    expect(checkPasswordPolicy('zyxwvutsrqponm')).toEqual({ ok: false, problem: 'repetitive' });
  });

  it('refuses the username and the service name inside the password', () => {
    expect(checkPasswordPolicy('dr.house-2024!!', { username: 'Dr.House' })).toEqual({
      ok: false,
      problem: 'contains-username',
    });
    expect(checkPasswordPolicy('my MedLedger password', {})).toEqual({
      ok: false,
      problem: 'contains-context-word',
    });
    expect(checkPasswordPolicy('st mary hospital pass', { contextWords: ['St Mary'] })).toEqual({
      ok: false,
      problem: 'contains-context-word',
    });
    // Very short usernames are not searched for.
    expect(checkPasswordPolicy('a perfectly fine password', { username: 'al' })).toEqual({ ok: true });
  });

  it('throws MDL_BAD_INPUT with a message that never contains the password', () => {
    const secret = 'Password1234';
    try {
      assertPasswordPolicy(secret);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'MDL_BAD_INPUT' });
      expect(String((error as Error).message)).not.toContain(secret);
    }
    expect(() => assertPasswordPolicy('a decent passphrase')).not.toThrow();
  });
});
