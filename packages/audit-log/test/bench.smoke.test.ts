import { describe, expect, it } from 'vitest';
import { formatAuditBench, runAuditBench } from '../bench/audit.js';

describe('audit bench', () => {
  it('runs end to end on a small log (numbers only meaningful at full size)', async () => {
    const r = await runAuditBench({ events: 500, batch: 50, integrateEvery: 200, proofs: 20 });
    expect(r.events).toBe(500);
    expect(r.appendedAndIntegratedPerSecond).toBeGreaterThan(0);
    expect(formatAuditBench(r)).toContain('appended + integrated');
    if (process.env.AUDIT_BENCH_FULL === '1') console.log(formatAuditBench(await runAuditBench()));
  });
});
