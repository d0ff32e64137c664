/**
 * The patient a record belongs to — `Patient/<id>` (a version suffix dropped) or, before a bundle is planned,
 * `urn:uuid:…` — or undefined when it is no patient's or its patient cannot be told. A view of
 * classifyResource, which holds the rules (the R4 Patient compartment; docs/fhir.md).
 */
import { type ClassifyOptions, classifyResource, compartmentTypes } from './classifyResource.js';
import type { FhirResource } from './FhirResource.js';

export function patientReferenceOf(resource: FhirResource, options?: ClassifyOptions): string | undefined {
  const c = classifyResource(resource, options);
  return c.kind === 'patient' ? c.patient : undefined;
}

/** The resource types that can belong to a patient compartment (Patient itself first). */
export function compartmentResourceTypes(): string[] {
  return ['Patient', ...compartmentTypes()];
}
