/**
 * Prescriptions in words for every screen: the medication's name, the validity window, the ledger's status
 * and what is left, and the pharmacy's verification — plain sentences, no codes.
 */
import type { Resource } from '../api/fhir';
import type { ChainStatus, Verification } from '../api/prescriptions';

export function medicationWords(r: Resource): string {
  const concept = r.medicationCodeableConcept as
    | { text?: string; coding?: { code?: string; display?: string }[] }
    | undefined;
  return (
    concept?.text ??
    concept?.coding?.find((c) => c.display)?.display ??
    (concept?.coding?.[0]?.code ? `RxNorm ${concept.coding[0].code}` : 'Medication not named')
  );
}

const day = (iso: string) =>
  new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });

export function validityWords(r: Resource): string {
  const d = r.dispenseRequest as
    | {
        validityPeriod?: { start?: string; end?: string };
        numberOfRepeatsAllowed?: number;
        quantity?: { value?: number; unit?: string };
      }
    | undefined;
  const parts: string[] = [];
  if (d?.quantity?.value !== undefined) parts.push(`${d.quantity.value} ${d.quantity.unit ?? ''}`.trim());
  if (d?.numberOfRepeatsAllowed !== undefined) parts.push(`${d.numberOfRepeatsAllowed} repeat(s)`);
  if (d?.validityPeriod?.end) parts.push(`valid until ${day(d.validityPeriod.end)}`);
  return parts.join(', ') || 'No dispensing terms recorded';
}

export const STATUS_WORDS: Record<ChainStatus, string> = {
  active: 'Active',
  cancelled: 'Cancelled by the prescriber',
  completed: 'Completed: every fill used',
  expired: 'Expired',
  unknown: 'Unknown to the ledger',
};

export function validUntilWords(iso: string): string {
  return `Valid until ${day(iso)}`;
}

export function fillsWords(remaining: number, allowed?: number): string {
  const left = remaining === 1 ? '1 fill left' : `${remaining} fills left`;
  return allowed === undefined ? left : `${left} of ${allowed}`;
}

/** The pharmacy's checks in one sentence; what to do when one failed. */
export function verificationWords(v: Verification | undefined): string {
  if (!v) return 'Not fetched yet: fetch it to verify it against the ledger.';
  const problems: string[] = [];
  if (!v.anchored) problems.push('it does not match the ledger');
  if (!v.prescriberLicensed) problems.push('the prescriber holds no valid licence');
  if (v.status !== 'active') problems.push(`it is ${STATUS_WORDS[v.status].toLowerCase()}`);
  return problems.length === 0
    ? 'Verified: matches the ledger, the prescriber is licensed, the prescription is active.'
    : `Do not dispense: ${problems.join('; ')}.`;
}

const NEXT_STEP: Record<string, string> = {
  FillsExhausted: 'The patient needs a new prescription from their prescriber.',
  PrescriptionNotActive: 'The patient needs a new prescription from their prescriber.',
  PrescriptionExpired: 'The patient needs a new prescription from their prescriber.',
  PrescriptionWasCancelled: 'The prescriber cancelled it: do not dispense; the patient may ask them why.',
  QuantityExceeded: 'Dispense at most the quantity that is left.',
  RefillTooSoon: 'It is too early for the next fill: dispense it later.',
  PrescriptionNotYetValid: 'It is not valid yet: dispense it from its start date.',
  NotPharmacist: 'Only a pharmacist of an active pharmacy may dispense: ask your administrator.',
};

/**
 * A refusal of the pharmacy's node or of the ledger, said as what happened and what to do. The ledger's
 * refusals come as `<Rule>: <what>` diagnostics; a 404 means the prescription was never made available to
 * this pharmacy (no route to it, no valid token) — the node does not say whether it exists.
 */
export function pharmacyRefusalWords(error: unknown, what: 'fetch' | 'dispense'): string | undefined {
  const e = error as { status?: number; issues?: readonly { diagnostics?: string }[] } | undefined;
  if (!e || typeof e.status !== 'number') return undefined;
  if (e.status === 404) {
    return what === 'fetch'
      ? 'No such prescription is available to your pharmacy: it was not sent to you, or the token is wrong or already used. Ask the patient to choose your pharmacy in their portal, or for a new token.'
      : 'This prescription is not in your pharmacy’s queue any more. Fetch it again with the patient’s route or a new token.';
  }
  const diagnostics = e.issues?.[0]?.diagnostics;
  const rule = diagnostics ? /^([A-Za-z]+): (.*)$/.exec(diagnostics) : null;
  if (rule && (e.status === 409 || e.status === 422 || e.status === 403)) {
    const next = NEXT_STEP[rule[1]!] ?? 'Fetch the prescription again to see its current state.';
    return `The ledger refused: ${rule[2]}. Nothing was ${what === 'dispense' ? 'dispensed or recorded' : 'fetched'}. ${next}`;
  }
  if (e.status === 503) {
    return 'The prescriber’s node could not be reached or its answer did not verify. Nothing was recorded; try again in a moment.';
  }
  return undefined;
}
