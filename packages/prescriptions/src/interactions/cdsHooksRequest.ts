/**
 * A CDS Hooks request for the interaction services, checked and taken apart: the hook (CDS Hooks 2.0
 * `order-select` / `order-sign`, and the retired `medication-prescribe` the PDDI-CDS examples still send),
 * hookInstance, context.patientId, the draft orders, and prefetch — 2.0 style (resources by key) or 1.0 style
 * (`{response, resource}` items, also found under `context.prefetch` and stray `context.itemN` keys in the
 * PDDI-CDS examples). A malformed request is an error value whose message names the field, never its content.
 */
import type { InteractionCheckInput } from './checkInteractions.js';
import { type AnyResource, isResource, resourcesOf } from './resourcesOf.js';

export const INTERACTION_HOOKS = ['order-select', 'order-sign', 'medication-prescribe'] as const;
export type InteractionHook = (typeof INTERACTION_HOOKS)[number];

export interface InteractionRequest {
  hook: InteractionHook;
  hookInstance: string;
  /** The patient's id, without a `Patient/` prefix. */
  patientId: string;
  draftOrders: AnyResource[];
  /** Prefetch items by key (null and unusable values dropped). */
  prefetch: Record<string, unknown>;
}

export type ParsedInteractionRequest =
  | { ok: true; request: InteractionRequest }
  | { ok: false; code: 'MDL_CDS_BAD_REQUEST'; message: string };

const bad = (message: string): ParsedInteractionRequest => ({
  ok: false,
  code: 'MDL_CDS_BAD_REQUEST',
  message,
});
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseInteractionRequest(
  body: unknown,
  expectedHook?: InteractionHook,
): ParsedInteractionRequest {
  if (!isObject(body)) return bad('the request body must be a JSON object');
  const { hook, hookInstance, context } = body;
  if (typeof hook !== 'string' || !(INTERACTION_HOOKS as readonly string[]).includes(hook)) {
    return bad(`hook must be one of ${INTERACTION_HOOKS.join(', ')}`);
  }
  if (
    expectedHook &&
    hook !== expectedHook &&
    !(expectedHook === 'order-sign' && hook === 'medication-prescribe')
  ) {
    return bad(`this service answers the ${expectedHook} hook`);
  }
  if (typeof hookInstance !== 'string' || hookInstance.trim() === '' || hookInstance.length > 200) {
    return bad('hookInstance must be a non-empty string');
  }
  if (!isObject(context)) return bad('context must be an object');
  const rawPatient = context.patientId;
  if (typeof rawPatient !== 'string') return bad('context.patientId must be a string');
  const patientId = rawPatient.replace(/^Patient\//, '');
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(patientId)) return bad('context.patientId is not a FHIR id');

  const orders = hook === 'medication-prescribe' ? context.medications : context.draftOrders;
  const ordersField = hook === 'medication-prescribe' ? 'context.medications' : 'context.draftOrders';
  if (
    !(isResource(orders) && orders.resourceType === 'Bundle') &&
    !(hook === 'medication-prescribe' && Array.isArray(orders))
  ) {
    return bad(`${ordersField} must be a FHIR Bundle`);
  }
  if (hook === 'order-select') {
    const { selections } = context;
    if (!Array.isArray(selections) || !selections.every((s) => typeof s === 'string')) {
      return bad('context.selections must be an array of strings');
    }
  }
  const draftOrders = resourcesOf(orders);

  const prefetch: Record<string, unknown> = {};
  const addPrefetch = (items: unknown) => {
    if (!isObject(items)) return;
    for (const [key, value] of Object.entries(items)) {
      // null: the client could not prefetch it (CDS Hooks), so the service may fetch it itself; an empty
      // Bundle is an answer ("none").
      if (isObject(value) || Array.isArray(value)) prefetch[key] = value;
    }
  };
  if (body.prefetch !== undefined && body.prefetch !== null && !isObject(body.prefetch)) {
    return bad('prefetch must be an object');
  }
  if (hook === 'medication-prescribe') {
    addPrefetch(context.prefetch);
    addPrefetch(Object.fromEntries(Object.entries(context).filter(([k]) => /^item\d+$/.test(k))));
  }
  addPrefetch(body.prefetch);
  return {
    ok: true,
    request: { hook: hook as InteractionHook, hookInstance, patientId, draftOrders, prefetch },
  };
}

/** The engine's input from a request's draft orders, its prefetch, and any records fetched for it. */
export function interactionInputOf(
  request: InteractionRequest,
  now: Date,
  fetched: readonly unknown[] = [],
): InteractionCheckInput {
  const records = [...Object.values(request.prefetch), ...fetched].flatMap((v) => resourcesOf(v));
  return { draftOrders: request.draftOrders, patientRecords: records, now };
}
