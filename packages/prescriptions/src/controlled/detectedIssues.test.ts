import { validateResource } from '@medledger/fhir';
import { describe, expect, it } from 'vitest';
import { detectedIssuesFor, RX_SIGNAL_SYSTEM, V3_ACT_CODE_SYSTEM } from './detectedIssues.js';
import { type RiskSignal, RiskSignalCode } from './riskSignals.js';

const signal = (code: RiskSignal['code'], evidence: string[] = ['MedicationDispense/d1']): RiskSignal => ({
  code,
  severity: 'moderate',
  summary: 'A plain summary.',
  evidence,
});

describe('detectedIssuesFor', () => {
  it('produces valid R4 DetectedIssues with the v3 ActCode where one fits and the own code always', () => {
    const all = Object.values(RiskSignalCode).map((c) => signal(c));
    const issues = detectedIssuesFor(all, {
      patient: 'Patient/p1',
      identified: '2026-03-01T12:00:00Z',
      author: 'Organization/pharmacy-1',
    });
    expect(issues).toHaveLength(all.length);
    for (const issue of issues) {
      const result = validateResource(issue);
      expect(result.ok ? [] : result.issues).toEqual([]);
      expect(issue.code.coding.at(-1)?.system).toBe(RX_SIGNAL_SYSTEM);
      expect(issue.implicated).toEqual([{ reference: 'MedicationDispense/d1' }]);
      expect(issue.author).toEqual({ reference: 'Organization/pharmacy-1' });
    }
    const v3 = Object.fromEntries(
      issues.map((i) => [
        i.code.coding.at(-1)?.code,
        i.code.coding.find((c) => c.system === V3_ACT_CODE_SYSTEM)?.code,
      ]),
    );
    expect(v3).toEqual({
      RX_OPIOID_MME_HIGH: 'DOSEH',
      RX_OPIOID_MME_CAUTION: 'DOSEH',
      RX_OPIOID_MME_UNKNOWN: undefined,
      RX_OPIOID_OVERLAP_PRESCRIBERS: 'DUPTHPY',
      RX_OPIOID_BENZODIAZEPINE_OVERLAP: 'DRG',
      RX_MULTIPLE_PRESCRIBERS: undefined,
      RX_MULTIPLE_PHARMACIES: undefined,
      RX_EARLY_REFILL: 'TOOSOON',
    });
  });

  it('omits implicated and author when there are none, and yields nothing for no signals', () => {
    const [issue] = detectedIssuesFor([signal(RiskSignalCode.MultiplePharmacies, [])], {
      patient: 'Patient/p1',
      identified: '2026-03-01',
    });
    expect(issue).not.toHaveProperty('implicated');
    expect(issue).not.toHaveProperty('author');
    expect(validateResource(issue)).toMatchObject({ ok: true });
    expect(detectedIssuesFor([], { patient: 'Patient/p1', identified: '2026-03-01' })).toEqual([]);
  });
});
