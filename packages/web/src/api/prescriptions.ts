/**
 * The node's prescription APIs (docs/prescriptions.md on the node side) and its CDS Hooks interaction check
 * (docs/cds-hooks.md): the prescriber's $prescribe and $cancel, the patient's list, $route and $token, the
 * pharmacist's queue, $fetch and $dispense. Shapes are what the node answers; the node decides every call.
 */
import { api } from './client';
import type { Resource } from './fhir';

export interface CdsCoding {
  system?: string;
  code: string;
  display?: string;
}
export interface CdsAction {
  type: 'create' | 'update' | 'delete';
  description: string;
  resource?: Record<string, unknown>;
  resourceId?: string[];
}
export interface CdsSuggestion {
  label: string;
  uuid: string;
  isRecommended?: boolean;
  actions?: CdsAction[];
}
export interface CdsCard {
  uuid: string;
  summary: string;
  detail?: string;
  indicator: 'info' | 'warning' | 'critical';
  source: { label: string; url?: string };
  suggestions?: CdsSuggestion[];
  overrideReasons?: CdsCoding[];
}

/** The order-sign interaction check: the draft (with a local id, so a card may suggest replacing it). */
export const CDS_SIGN_SERVICE = 'medication-interactions-sign';

export async function checkInteractions(
  patientId: string,
  draft: Resource,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<CdsCard[]> {
  const answer = await api<{ cards?: CdsCard[] }>(`/cds-services/${CDS_SIGN_SERVICE}`, {
    json: {
      hook: 'order-sign',
      hookInstance: crypto.randomUUID(),
      context: {
        patientId,
        draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: draft }] },
      },
    },
    headers,
    ...(signal ? { signal } : {}),
  });
  return answer.cards ?? [];
}

export interface Prescribed {
  resource: Resource;
  prescription: string;
  transaction: string;
}

export async function prescribe(order: Resource, headers: Record<string, string>): Promise<Prescribed> {
  const answer = await api<{
    parameter?: { name: string; resource?: Resource; valueString?: string }[];
  }>('/fhir/MedicationRequest/$prescribe', { json: order, headers });
  const param = (name: string) => answer.parameter?.find((p) => p.name === name);
  return {
    resource: param('resource')?.resource ?? { resourceType: 'MedicationRequest' },
    prescription: param('prescription')?.valueString ?? '',
    transaction: param('transaction')?.valueString ?? '',
  };
}

export function cancelPrescription(recordId: string, reason: string, headers: Record<string, string>) {
  return api<{ prescription: string; status: string; transaction: string }>(
    `/fhir/MedicationRequest/${encodeURIComponent(recordId)}/$cancel`,
    { json: { reason }, headers },
  );
}

export type ChainStatus = 'unknown' | 'active' | 'cancelled' | 'completed' | 'expired';

export interface MyPrescription {
  prescription: string;
  medicationRequest: string;
  medication?: string;
  status: ChainStatus;
  fillsAllowed: number;
  fillsUsed: number;
  fillsRemaining: number;
  quantityRemaining: number;
  validUntil: string;
  lastFilledAt?: string;
  routedTo?: number;
}

export async function myPrescriptions(): Promise<MyPrescription[]> {
  return (await api<{ prescriptions: MyPrescription[] }>('/prescriptions')).prescriptions;
}

/** The record id of `MedicationRequest/<id>`. */
export const recordIdOf = (reference: string) => reference.replace(/^MedicationRequest\//, '');

export function routePrescription(recordId: string, pharmacy: number) {
  return api<{ prescription: string; pharmacy: number; transaction: string }>(
    `/fhir/MedicationRequest/${encodeURIComponent(recordId)}/$route`,
    { json: { pharmacy } },
  );
}

export function prescriptionToken(recordId: string) {
  return api<{ prescription: string; token: string }>(
    `/fhir/MedicationRequest/${encodeURIComponent(recordId)}/$token`,
    { method: 'POST' },
  );
}

export interface Verification {
  anchored: boolean;
  prescriberLicensed: boolean;
  status: ChainStatus;
  fillsRemaining: number;
  quantityRemaining: number;
}

export interface QueueEntry {
  prescription: string;
  custodian: number;
  routed: boolean;
  fetched: boolean;
  verification?: Verification;
  status: ChainStatus;
  cancelled: boolean;
  fillsRemaining: number;
}

export async function pharmacyQueue(): Promise<QueueEntry[]> {
  return (await api<{ queue: QueueEntry[] }>('/pharmacy/queue')).queue;
}

export interface Fetched {
  prescription: string;
  custodian: number;
  verification: Verification;
  medicationRequest: Resource;
}

export function fetchPrescription(by: { prescription: string } | { token: string }) {
  return api<Fetched>('/pharmacy/prescriptions/$fetch', { json: by });
}

export function dispensePrescription(prescription: string, quantity: number) {
  return api<{ prescription: string; medicationDispense: string; transaction: string }>(
    `/pharmacy/prescriptions/${encodeURIComponent(prescription)}/$dispense`,
    { json: { quantity } },
  );
}
