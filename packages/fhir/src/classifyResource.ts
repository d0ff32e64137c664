/**
 * Whose data a resource is, and under which consent category — the one decision that files a record under a
 * patient's pseudonym or in the shared directory. Derived from the R4 Patient CompartmentDefinition
 * (patientCompartment.generated.ts), with the rules in docs/fhir.md:
 * - Patient is its own patient;
 * - a compartment type belongs to the Patient named at the first of its compartment paths (definition order)
 *   that names one; if none does (subject is a Group, no subject, a Patient on another server) it is
 *   'unassigned': patient data whose patient is unknown, never shared;
 * - any other type that nevertheless names exactly one Patient anywhere in it (Binary.securityContext, a
 *   document Bundle's entries, an extension) is that patient's; naming several patients, or a patient this
 *   node cannot resolve, makes it 'unassigned';
 * - everything else is 'shared' (directory data every member may read), except the types that carry a data
 *   category without being in the R4 compartment (Medication, DeviceMetric): those stay 'unassigned'.
 * Limits: pure and synchronous, no resolution against the store; a `urn:uuid:` is only known to be a Patient
 * through the enclosing Bundle's entries or `typeOfUrn`. Unresolved, it is taken to be the patient at a
 * compartment path (the way a transaction names its patient before planning) and makes any other resource
 * 'unassigned' — classify after planning, or pass `typeOfUrn`.
 */
import type { DataCategory } from '@medledger/core';
import { dataCategoryOf } from './dataCategoryOf.js';
import { referencesAt } from './elementValues.js';
import type { FhirResource } from './FhirResource.js';
import { PATIENT_COMPARTMENT } from './patientCompartment.generated.js';

export type ResourceCategory = DataCategory | 'uncategorised';

export type Classification =
  | { kind: 'patient'; patient: string; category: ResourceCategory }
  | { kind: 'shared' }
  | { kind: 'unassigned'; category: ResourceCategory };

export interface ClassifyOptions {
  /**
   * The resource type a `urn:uuid:` stands for (for a transaction entry before planning: the type of the
   * entry with that fullUrl), or undefined when unknown.
   */
  typeOfUrn?: (urn: string) => string | undefined;
}

/**
 * Where medledger deliberately departs from definition order (docs/fhir.md): Device is attributed through
 * Device.patient although R4 leaves it out of the compartment; a Coverage is the beneficiary's before the
 * policy holder's, and an AuditEvent the patient's whose record it is about before the acting patient's.
 */
const DEVIATIONS: Readonly<Record<string, readonly string[]>> = {
  Device: ['patient'],
  Coverage: ['beneficiary', 'subscriber', 'policyHolder', 'payor'],
  AuditEvent: ['entity.what', 'agent.who'],
};

const PATHS: ReadonlyMap<string, readonly (readonly string[])[]> = new Map(
  Object.entries({ ...PATIENT_COMPARTMENT, ...DEVIATIONS })
    .filter(([type]) => type !== 'Patient')
    .map(([type, paths]) => [type, paths.map((p) => p.split('.'))]),
);

const ID = '[A-Za-z0-9\\-.]{1,64}';
const PATIENT_REF = new RegExp(`^Patient/(${ID})(/_history/${ID})?$`);
/** Any other reference that points at a Patient: another server's, conditional (`Patient?identifier=…`), malformed. */
const OTHER_PATIENT_REF = /(^|\/)Patient[/?]/;
const PATIENT_ID = new RegExp(`^${ID}$`);
const URN_UUID = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** A reference to a Patient this node cannot attribute. */
const FOREIGN: unique symbol = Symbol('foreign patient');
/** Resources nested deeper than this (Bundle in Bundle in …) are not inspected and make the whole unassigned. */
const MAX_NESTING = 16;

/** `Patient/<id>` for a reference naming a Patient (version dropped), the urn for `urn:uuid:`, else undefined. */
export function normalisePatientReference(reference: string): string | undefined {
  const m = PATIENT_REF.exec(reference);
  if (m !== null) return `Patient/${m[1]}`;
  return URN_UUID.test(reference) ? reference : undefined;
}

/** The resource types with a patient compartment path (not Patient itself), Device included. */
export function compartmentTypes(): string[] {
  return [...PATHS.keys()];
}

export function classifyResource(resource: FhirResource, options: ClassifyOptions = {}): Classification {
  return classify(resource, { typeOfUrn: options.typeOfUrn, entries: new Map(), depth: 0 });
}

interface Context {
  typeOfUrn: ((urn: string) => string | undefined) | undefined;
  /** fullUrl → resource of the enclosing Bundles' entries. */
  entries: ReadonlyMap<string, unknown>;
  depth: number;
}

function categoryOf(type: string): ResourceCategory {
  return dataCategoryOf(type) ?? 'uncategorised';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function classify(resource: Record<string, unknown>, ctx: Context): Classification {
  const type = typeof resource.resourceType === 'string' ? resource.resourceType : '';
  const category = categoryOf(type);
  if (type === 'Patient') {
    const id = resource.id;
    return typeof id === 'string' && PATIENT_ID.test(id)
      ? { kind: 'patient', patient: `Patient/${id}`, category }
      : { kind: 'unassigned', category };
  }
  const paths = PATHS.get(type);
  if (paths !== undefined) {
    for (const path of paths) {
      for (const ref of referencesAt(resource, path)) {
        const p = patientOf(ref, ctx, true);
        if (typeof p === 'string') return { kind: 'patient', patient: p, category };
      }
    }
    return { kind: 'unassigned', category };
  }
  const found = scan(resource, ctx);
  if (found.unattributable || found.patients.size > 1) return { kind: 'unassigned', category };
  const [patient] = found.patients;
  if (patient !== undefined) return { kind: 'patient', patient, category };
  return category === 'uncategorised' ? { kind: 'shared' } : { kind: 'unassigned', category };
}

/**
 * The patient a reference names: `Patient/<id>`, or a urn known (or, at a compartment path, assumed) to be a
 * Patient; FOREIGN for a Patient this node cannot attribute (another server's, conditional, a Patient entry
 * without id).
 */
function patientOf(
  ref: string,
  ctx: Context,
  atCompartmentPath: boolean,
): string | typeof FOREIGN | undefined {
  const m = PATIENT_REF.exec(ref);
  if (m !== null) return `Patient/${m[1]}`;
  const entry = ctx.entries.get(ref);
  if (isObject(entry)) {
    if (entry.resourceType !== 'Patient') return undefined;
    if (typeof entry.id === 'string' && PATIENT_ID.test(entry.id)) return `Patient/${entry.id}`;
    return URN_UUID.test(ref) ? ref : FOREIGN;
  }
  if (URN_UUID.test(ref)) {
    // An unknown urn may be a Patient: assumed so where the compartment expects one, else not attributable.
    const t = ctx.typeOfUrn?.(ref);
    if (t === 'Patient' || (t === undefined && atCompartmentPath)) return ref;
    return t === undefined ? FOREIGN : undefined;
  }
  return OTHER_PATIENT_REF.test(ref) ? FOREIGN : undefined;
}

/** Every patient named anywhere in a resource outside the compartment, nested resources included. */
function scan(
  root: Record<string, unknown>,
  outer: Context,
): { patients: Set<string>; unattributable: boolean } {
  const patients = new Set<string>();
  let unattributable = false;
  const ctx: Context = { ...outer, entries: withEntries(root, outer.entries), depth: outer.depth + 1 };
  const stack: unknown[] = Object.values(root);
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
      continue;
    }
    if (!isObject(v)) continue;
    if (typeof v.resourceType === 'string') {
      if (ctx.depth > MAX_NESTING) {
        unattributable = true;
        continue;
      }
      const c = classify(v, ctx);
      if (c.kind === 'patient') patients.add(c.patient);
      else if (c.kind === 'unassigned') unattributable = true;
      continue;
    }
    if (typeof v.reference === 'string') {
      const p = patientOf(v.reference, ctx, false);
      if (p === FOREIGN) unattributable = true;
      else if (p !== undefined) patients.add(p);
    } else if (v.type === 'Patient' && isObject(v.identifier)) {
      // A logical reference to a patient by identifier: patient data, but whose cannot be told here.
      unattributable = true;
    }
    for (const item of Object.values(v)) stack.push(item);
  }
  return { patients, unattributable };
}

function withEntries(
  resource: Record<string, unknown>,
  outer: ReadonlyMap<string, unknown>,
): Map<string, unknown> {
  const entries = new Map(outer);
  if (resource.resourceType === 'Bundle' && Array.isArray(resource.entry)) {
    for (const e of resource.entry) {
      if (isObject(e) && typeof e.fullUrl === 'string' && isObject(e.resource))
        entries.set(e.fullUrl, e.resource);
    }
  }
  return entries;
}
