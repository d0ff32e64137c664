// The benchmark module runs (tiny sizes here; numbers come from the node's bench runner, not from tests).
import { describe, expect, it } from 'vitest';
import { formatExchangeBench, runExchangeBench } from '../bench/exchange.js';

describe('exchange benchmark', () => {
  it('runs the full protocol and reports every step', async () => {
    const result = await runExchangeBench({ resources: 5, iterations: 2 });
    expect(result.latencyMs.roundTrip.n).toBe(2);
    expect(result.latencyMs.openRecords.mean).toBeGreaterThan(0);
    expect(result.sizes.responseBytes).toBeGreaterThan(result.sizes.sealedRecordsBytes);
    expect(formatExchangeBench(result)).toContain('round trip');
  });
});
