import { describe, expect, it } from 'vitest';
import { BindingTokens } from './BindingTokens.js';

describe('BindingTokens', () => {
  it('redeems a token for its subscriptions until it expires, then never again', () => {
    let now = new Date('2026-12-07T12:00:00Z');
    const tokens = new BindingTokens({ now: () => now, lifetimeSeconds: 60 });
    const { token, expires } = tokens.issue(['s1']);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expires.toISOString()).toBe('2026-12-07T12:01:00.000Z');
    expect(tokens.redeem(token)?.subscriptionIds).toEqual(['s1']);
    expect(tokens.redeem('A'.repeat(43))).toBeUndefined();
    now = new Date('2026-12-07T12:01:00Z');
    expect(tokens.redeem(token)).toBeUndefined();
    now = new Date('2026-12-07T12:00:30Z');
    expect(tokens.redeem(token)).toBeUndefined(); // forgotten once expired
  });

  it('forgets the tokens of a subscription that is deleted or turned off', () => {
    const tokens = new BindingTokens();
    const a = tokens.issue(['s1']);
    const b = tokens.issue(['s2']);
    tokens.revokeFor('s1');
    expect(tokens.redeem(a.token)).toBeUndefined();
    expect(tokens.redeem(b.token)).toBeDefined();
  });
});
