/**
 * The structural type of any FHIR R4 resource as this package hands it out: a JSON object with a known
 * `resourceType`. Element-level types are deliberately not modelled here; validation guarantees the shape.
 */
export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; [key: string]: unknown };
  [element: string]: unknown;
}
