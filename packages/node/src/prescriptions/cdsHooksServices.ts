/**
 * The node's CDS Hooks 2.0 services (discovery, GET /cds-services): drug–drug interaction checking on
 * `order-select` (while an order is being chosen) and `order-sign` (before it is signed; the retired
 * `medication-prescribe` hook is accepted there too). Each asks the EHR to prefetch the patient, their active
 * medication orders, conditions and laboratory results; whatever is not prefetched the node reads from its own
 * records as the caller (cdsHooksData.ts).
 */
import type { InteractionHook } from '@medledger/prescriptions';

/** The prefetch keys this node asks for and reads itself when they are missing. */
export const PREFETCH = {
  patient: 'Patient/{{context.patientId}}',
  medications: 'MedicationRequest?patient={{context.patientId}}&status=active',
  conditions: 'Condition?patient={{context.patientId}}',
  observations: 'Observation?patient={{context.patientId}}&category=laboratory',
} as const;

export type PrefetchKey = keyof typeof PREFETCH;

export interface CdsService {
  hook: 'order-select' | 'order-sign';
  id: string;
  title: string;
  description: string;
  prefetch: Record<PrefetchKey, string>;
  usageRequirements: string;
}

const USAGE =
  'Call with a bearer token of this node (a practitioner’s token or a system client’s). Cards only concern ' +
  'medications the caller may see: what is not prefetched is read from this node’s records under the caller’s ' +
  'access. Load a licensed drug-name interaction list with MEDLEDGER_INTERACTION_LIST to add its pairs.';

export const CDS_SERVICES: readonly CdsService[] = [
  {
    hook: 'order-select',
    id: 'medication-interactions-select',
    title: 'Drug–drug interactions (order select)',
    description:
      'Checks a medication being selected against the patient’s other medications: HL7 PDDI-CDS warfarin + ' +
      'NSAIDs and digoxin + cyclosporine with their risk modifiers, and any loaded interaction list.',
    prefetch: { ...PREFETCH },
    usageRequirements: USAGE,
  },
  {
    hook: 'order-sign',
    id: 'medication-interactions-sign',
    title: 'Drug–drug interactions (order sign)',
    description:
      'Checks the medication orders about to be signed against each other and the patient’s other medications ' +
      '(the same knowledge as on order select).',
    prefetch: { ...PREFETCH },
    usageRequirements: USAGE,
  },
];

export function serviceById(id: string): (CdsService & { hook: InteractionHook }) | undefined {
  return CDS_SERVICES.find((s) => s.id === id);
}
