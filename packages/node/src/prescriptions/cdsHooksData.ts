/**
 * The records an interaction check needs that the CDS client did not prefetch, read from this node's records
 * as the caller — through the same Records (and so the same access policy and consent) as a FHIR read or
 * search of theirs. A record the caller may not see is simply absent: the check then runs exactly as if the
 * patient had none, and nothing says that something was hidden. At most 1000 resources per type are read.
 */
import { isMdlError, MdlErrorCode } from '@medledger/core';
import type { Records } from '../services/RecordService.js';
import type { PrefetchKey } from './cdsHooksServices.js';

const SEARCHES: Record<Exclude<PrefetchKey, 'patient'>, [string, Record<string, string>]> = {
  medications: ['MedicationRequest', { status: 'active' }],
  conditions: ['Condition', {}],
  observations: ['Observation', { category: 'laboratory' }],
};

/** Refusals that mean "nothing for this caller" — the absence of records, as the caller sees it. */
const isAbsent = (error: unknown) =>
  isMdlError(error, MdlErrorCode.NotFound) ||
  isMdlError(error, MdlErrorCode.Gone) ||
  isMdlError(error, MdlErrorCode.Forbidden);

export async function readMissingPrefetch(
  records: Records,
  patientId: string,
  missing: readonly PrefetchKey[],
): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const key of missing) {
    try {
      if (key === 'patient') {
        out.push((await records.read('Patient', patientId)).resource);
      } else {
        const [type, extra] = SEARCHES[key];
        out.push(
          await records.search(type, new URLSearchParams({ patient: patientId, _count: '1000', ...extra })),
        );
      }
    } catch (error) {
      if (!isAbsent(error)) throw error;
    }
  }
  return out;
}
