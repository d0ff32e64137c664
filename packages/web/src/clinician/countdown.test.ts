import { describe, expect, it } from 'vitest';
import { announcement, formatLeft, secondsLeft } from './countdown';

describe('the break-glass countdown', () => {
  it('counts whole seconds down to zero', () => {
    const now = Date.parse('2026-12-07T16:00:00.000Z');
    expect(secondsLeft('2026-12-07T16:10:00.000Z', now)).toBe(600);
    expect(secondsLeft('2026-12-07T16:00:00.400Z', now)).toBe(1);
    expect(secondsLeft('2026-12-07T15:00:00.000Z', now)).toBe(0);
  });

  it('formats the time left', () => {
    expect(formatLeft(3900)).toBe('1 h 05 min');
    expect(formatLeft(750)).toBe('12 min 30 s');
    expect(formatLeft(45)).toBe('45 s');
  });

  it('announces at sensible intervals only', () => {
    const said = Array.from({ length: 3601 }, (_, s) => announcement(s)).filter(Boolean);
    expect(said).toHaveLength(1 + 1 + 5 + 11); // end, 30 s, minutes 1–5, every 5 minutes from 10 to 60
    expect(announcement(600)).toBe('Emergency access ends in 10 minutes.');
    expect(announcement(60)).toBe('Emergency access ends in 1 minute.');
    expect(announcement(61)).toBeUndefined();
    expect(announcement(420)).toBeUndefined();
  });
});
