import { isMdlError } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import { sharedDatabase, TestClock, unique } from '../test/fixture.js';
import {
  ACCOUNT_THROTTLE,
  ADDRESS_THROTTLE,
  addressBucket,
  LoginThrottle,
  rateLimited,
  retryAfterSeconds,
  throttleWait,
} from './LoginThrottle.js';

/** The seconds a begin() is told to wait, or 0 if it was admitted. */
async function attempt(throttle: LoginThrottle, key: string, ip: string): Promise<number> {
  try {
    await throttle.begin(key, ip);
    return 0;
  } catch (error) {
    expect(isMdlError(error, 'MDL_RATE_LIMITED')).toBe(true);
    expect((error as Error).message).not.toContain(key);
    return retryAfterSeconds(error)!;
  }
}

const ip = () =>
  `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

describe('throttle arithmetic', () => {
  it('waits nothing for the free failures, then doubles up to the cap, then locks out', () => {
    const p = ACCOUNT_THROTTLE;
    expect([0, 1, 2].map((n) => throttleWait(p, n, 0, 0))).toEqual([0, 0, 0]);
    expect([3, 4, 5, 6].map((n) => throttleWait(p, n, 0, 0))).toEqual([1000, 2000, 4000, 8000]);
    expect(throttleWait(p, 9, 0, 0)).toBe(64_000);
    expect(throttleWait({ ...p, lockoutAfter: 50 }, 20, 0, 0)).toBe(p.maxDelayMs);
    expect(throttleWait(p, 10, 0, 0)).toBe(p.lockoutMs);
    expect(throttleWait(p, 10, 0, p.lockoutMs - 1)).toBe(1);
    expect(throttleWait(p, 10, 0, p.lockoutMs)).toBe(0);
    expect(throttleWait(p, 50, 0, p.forgetAfterMs)).toBe(0);
  });

  it('buckets addresses: IPv4 as is, IPv6 per /64, mapped IPv4 as IPv4', () => {
    expect(addressBucket('192.0.2.7')).toBe('192.0.2.7');
    expect(addressBucket('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressBucket('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:DB8:1:2::ff')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('2001:0db8:0000:0002::1%eth0')).toBe('2001:db8:0:2::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('fe80::1.2.3.4')).toBe('fe80:0:0:0::/64');
    expect(addressBucket('not an address')).toBe('unknown');
    expect(addressBucket('')).toBe('unknown');
  });

  it('carries the retry-after on the one error class', () => {
    const error = rateLimited(7);
    expect(isMdlError(error, 'MDL_RATE_LIMITED')).toBe(true);
    expect(retryAfterSeconds(error)).toBe(7);
    expect(retryAfterSeconds(new Error('x'))).toBeUndefined();
  });
});

describe.each(await backends())('LoginThrottle on $name', (backend) => {
  const database = sharedDatabase(backend);

  async function setUp() {
    const clock = new TestClock();
    const db = await database();
    return { clock, db, throttle: new LoginThrottle(db, { clock: clock.now }) };
  }

  it('backs off exponentially after a few failures, then locks the account out', async () => {
    const { clock, throttle } = await setUp();
    const key = unique('user');
    const from = ip();
    for (let i = 0; i < 3; i++) expect(await attempt(throttle, key, from)).toBe(0);
    expect(await attempt(throttle, key, from)).toBe(1);
    clock.advance(1000);
    expect(await attempt(throttle, key, from)).toBe(0);
    expect(await attempt(throttle, key, from)).toBe(2);
    // Refused attempts are not counted: waiting out the delay is enough.
    expect(await attempt(throttle, key, from)).toBe(2);
    clock.advance(2000);
    expect(await attempt(throttle, key, from)).toBe(0);
    const waits: number[] = [];
    for (let failures = 5; failures < 10; failures++) {
      const wait = await attempt(throttle, key, from);
      waits.push(wait);
      clock.advance(wait * 1000);
      expect(await attempt(throttle, key, from)).toBe(0);
    }
    expect(waits).toEqual([4, 8, 16, 32, 64]);
    // Ten failures: locked out for the window, after each attempt.
    expect(await attempt(throttle, key, from)).toBe(15 * 60);
    clock.advance(15 * 60_000);
    expect(await attempt(throttle, key, from)).toBe(0);
    expect(await attempt(throttle, key, from)).toBe(15 * 60);
  });

  it('counts in the database: a restarted process sees the same counters', async () => {
    const { clock, db, throttle } = await setUp();
    const key = unique('user');
    const from = ip();
    for (let i = 0; i < 3; i++) await throttle.begin(key, from);
    const restarted = new LoginThrottle(db, { clock: clock.now });
    expect(await attempt(restarted, key, from)).toBe(1);
  });

  it('clears the account counter on success but only takes one attempt off the address', async () => {
    const { throttle } = await setUp();
    const from = ip();
    const key = unique('user');
    await throttle.begin(key, from);
    await throttle.begin(key, from);
    const ticket = await throttle.begin(key, from);
    await throttle.succeeded(ticket);
    for (let i = 0; i < 3; i++) expect(await attempt(throttle, key, from)).toBe(0);
    // The address kept its other failures: 20 free in total, minus the 5 counted so far.
    for (let i = 0; i < 15; i++) expect(await attempt(throttle, unique('spray'), from)).toBe(0);
    expect(await attempt(throttle, unique('spray'), from)).toBe(1);
  });

  it('throttles an address spraying many usernames, and not other addresses', async () => {
    const { throttle } = await setUp();
    const from = ip();
    for (let i = 0; i < ADDRESS_THROTTLE.freeFailures; i++) {
      expect(await attempt(throttle, unique('spray'), from)).toBe(0);
    }
    expect(await attempt(throttle, unique('spray'), from)).toBe(1);
    expect(await attempt(throttle, unique('spray'), ip())).toBe(0);
  });

  it('counts IPv6 clients per /64', async () => {
    const { throttle } = await setUp();
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
    for (let i = 0; i < ADDRESS_THROTTLE.freeFailures; i++) {
      expect(await attempt(throttle, unique('v6'), `${prefix}::${(i + 1).toString(16)}`)).toBe(0);
    }
    expect(await attempt(throttle, unique('v6'), `${prefix}:ffff:ffff:ffff:ffff`)).toBe(1);
  });

  it('forgets failures after a day without attempts', async () => {
    const { clock, throttle } = await setUp();
    const key = unique('user');
    const from = ip();
    for (let i = 0; i < 3; i++) await throttle.begin(key, from);
    expect(await attempt(throttle, key, from)).toBe(1);
    clock.advance(ACCOUNT_THROTTLE.forgetAfterMs);
    for (let i = 0; i < 3; i++) expect(await attempt(throttle, key, from)).toBe(0);
    expect(await attempt(throttle, key, from)).toBe(1);
    clock.advance(2 * ACCOUNT_THROTTLE.forgetAfterMs);
    expect(await throttle.prune()).toBeGreaterThanOrEqual(2);
  });

  it('lets exactly the free attempts of a parallel burst through', async () => {
    const { throttle } = await setUp();
    const key = unique('burst');
    const from = ip();
    const results = await Promise.all(Array.from({ length: 10 }, () => attempt(throttle, key, from)));
    expect(results.filter((r) => r === 0)).toHaveLength(ACCOUNT_THROTTLE.freeFailures);
    expect(results.filter((r) => r > 0)).toHaveLength(10 - ACCOUNT_THROTTLE.freeFailures);
  });
});
