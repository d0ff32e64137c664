import { describe, expect, it } from 'vitest';
import { anchoringSummary, duration } from './nodeStatus';

const anchoring = {
  queuedLeaves: 0,
  inFlightLeaves: 0,
  pendingBatches: 0,
  submittedBatches: 0,
  confirmedBatches: 4,
  anchorLagMs: 0,
  leavesInConfirmedBatches: 120,
  chainAnchorCount: 4,
};

describe('node status in words', () => {
  it('says durations as people do', () => {
    expect(duration(200)).toBe('less than a second');
    expect(duration(12_000)).toBe('12 seconds');
    expect(duration(5 * 60_000)).toBe('5 minutes');
    expect(duration(3 * 3600_000)).toBe('3 hours');
    expect(duration(3 * 86400_000)).toBe('3 days');
  });

  it('summarises anchoring, flagging a lag over five minutes', () => {
    expect(anchoringSummary(anchoring)).toEqual({
      ok: true,
      text: 'Every record version is anchored on the chain (120 in 4 confirmed batches).',
    });
    expect(anchoringSummary({ ...anchoring, queuedLeaves: 2, anchorLagMs: 3000 })).toEqual({
      ok: true,
      text: '2 record versions waiting for the chain; the oldest for 3 seconds.',
    });
    const late = anchoringSummary({ ...anchoring, inFlightLeaves: 1, anchorLagMs: 10 * 60_000 });
    expect(late.ok).toBe(false);
    expect(late.text).toMatch(/1 record version waiting .* 10 minutes\. Check that the chain/);
  });
});
