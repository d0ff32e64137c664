/**
 * The consent rule of an eligibility check between nodes. Asking an insurer whether a drug is covered tells it
 * that this patient is about to receive this drug — medication data, disclosed for payment. So the patient must
 * have granted the insurer organisation Read of their Medications or their Claims data for the purpose Payment
 * (a grant on the ledger's ConsentManager, as docs/consent.md describes), in force now. Handing over an insurance
 * card is not taken as consent: it names the insurer, not what may be told to it, and leaves no record the
 * patient can see or revoke.
 *
 * Both nodes apply the rule: the requester before anything leaves it (so a refused check discloses nothing),
 * the insurer again on its own index (so a requester that skips it learns nothing either). The query carries no
 * record date (the disclosure is about now), so a grant whose data period has a start does not count.
 */
import type { ConsentIndex } from '@medledger/consent';
import { Action, Purpose } from '@medledger/contracts';
import { DataCategory } from '@medledger/core';
import type { Hex } from 'viem';

/** The data classes whose Payment grant to the insurer covers an eligibility check (either suffices). */
export const ELIGIBILITY_CONSENT_CLASSES = [DataCategory.Medications, DataCategory.Claims] as const;

/** True iff the patient's grants let `insurer` learn of a medication for payment now. */
export async function eligibilityConsented(
  consent: ConsentIndex,
  patient: Hex,
  insurer: number,
): Promise<boolean> {
  for (const resourceClass of ELIGIBILITY_CONSENT_CLASSES) {
    const grant = await consent.permits({
      patient,
      organisation: insurer,
      action: Action.Read,
      resourceClass,
      purpose: Purpose.Payment,
    });
    if (grant !== undefined) return true;
  }
  return false;
}
