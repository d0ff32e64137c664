/** Prescriptions in words: the refusals the node and the ledger give, said as what happened and what to do. */
import { describe, expect, it } from 'vitest';
import { fillsWords, pharmacyRefusalWords, verificationWords } from './rxWords';

describe('prescriptions in words', () => {
  it('says what a ledger refusal means and what the pharmacist does next', () => {
    const refusal = (status: number, diagnostics: string) => ({ status, issues: [{ diagnostics }] });
    expect(
      pharmacyRefusalWords(
        refusal(409, 'FillsExhausted: every fill of the prescription was dispensed'),
        'dispense',
      ),
    ).toBe(
      'The ledger refused: every fill of the prescription was dispensed. Nothing was dispensed or recorded. The patient needs a new prescription from their prescriber.',
    );
    expect(
      pharmacyRefusalWords(
        refusal(409, 'QuantityExceeded: a quantity of 40 exceeds the 30 the prescription still allows'),
        'dispense',
      ),
    ).toMatch(/exceeds the 30 .* Dispense at most the quantity that is left\.$/);
    expect(pharmacyRefusalWords({ status: 404, issues: [] }, 'fetch')).toMatch(/^No such prescription/);
    expect(pharmacyRefusalWords({ status: 503, issues: [] }, 'fetch')).toMatch(/could not be reached/);
    // Anything else keeps the app's general message.
    expect(
      pharmacyRefusalWords(
        { status: 400, issues: [{ diagnostics: 'quantity: a positive whole number' }] },
        'dispense',
      ),
    ).toBeUndefined();
    expect(pharmacyRefusalWords(new Error('x'), 'dispense')).toBeUndefined();
  });

  it('states the pharmacy’s verification and the fills left plainly', () => {
    const ok = {
      anchored: true,
      prescriberLicensed: true,
      status: 'active' as const,
      fillsRemaining: 2,
      quantityRemaining: 60,
    };
    expect(verificationWords(ok)).toMatch(/^Verified/);
    expect(verificationWords({ ...ok, prescriberLicensed: false, status: 'cancelled' })).toBe(
      'Do not dispense: the prescriber holds no valid licence; it is cancelled by the prescriber.',
    );
    expect(verificationWords(undefined)).toMatch(/^Not fetched yet/);
    expect(fillsWords(1, 2)).toBe('1 fill left of 2');
    expect(fillsWords(0)).toBe('0 fills left');
  });
});
