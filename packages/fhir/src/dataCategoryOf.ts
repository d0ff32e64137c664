/**
 * Which consent category a resource type's records fall under. Consent is granted per category, so this table
 * decides which grantees may read what. Whether a record is patient data at all is not decided here but by
 * classifyResource (the R4 Patient compartment): patient data of a type missing here is 'uncategorised', which
 * no consent grant covers. `DIRECTORY_RESOURCE_TYPES` names the shared, non-patient types (organisations,
 * practitioners, places). Reasons for the less obvious choices are in docs/fhir.md.
 */
import { DataCategory } from '@medledger/core';

const C = DataCategory;

const CATEGORY: Readonly<Record<string, DataCategory>> = {
  Patient: C.Demographics,
  RelatedPerson: C.Demographics,
  Person: C.Demographics,

  Encounter: C.Encounters,
  EpisodeOfCare: C.Encounters,
  Appointment: C.Encounters,
  AppointmentResponse: C.Encounters,
  Schedule: C.Encounters,

  Condition: C.Conditions,
  FamilyMemberHistory: C.Conditions,
  ClinicalImpression: C.Conditions,
  RiskAssessment: C.Conditions,
  AdverseEvent: C.Conditions,

  Observation: C.Observations,
  DiagnosticReport: C.Observations,
  Specimen: C.Observations,
  BodyStructure: C.Observations,
  MolecularSequence: C.Observations,

  Medication: C.Medications,
  MedicationRequest: C.Medications,
  MedicationAdministration: C.Medications,
  MedicationDispense: C.Medications,
  MedicationStatement: C.Medications,
  DetectedIssue: C.Medications,

  Immunization: C.Immunizations,
  ImmunizationEvaluation: C.Immunizations,
  ImmunizationRecommendation: C.Immunizations,

  AllergyIntolerance: C.Allergies,

  Procedure: C.Procedures,
  ServiceRequest: C.Procedures,
  NutritionOrder: C.Procedures,

  ImagingStudy: C.Imaging,
  Media: C.Imaging,

  DocumentReference: C.Documents,
  DocumentManifest: C.Documents,
  Composition: C.Documents,
  CarePlan: C.Documents,
  CareTeam: C.Documents,
  Goal: C.Documents,
  QuestionnaireResponse: C.Documents,
  List: C.Documents,
  Communication: C.Documents,
  CommunicationRequest: C.Documents,
  RequestGroup: C.Documents,
  Flag: C.Documents,
  Consent: C.Documents,
  Provenance: C.Documents,
  Task: C.Documents,

  Claim: C.Claims,
  ClaimResponse: C.Claims,
  ExplanationOfBenefit: C.Claims,
  Coverage: C.Claims,
  CoverageEligibilityRequest: C.Claims,
  CoverageEligibilityResponse: C.Claims,
  Account: C.Claims,
  ChargeItem: C.Claims,
  Invoice: C.Claims,
  EnrollmentRequest: C.Claims,

  Device: C.Devices,
  DeviceRequest: C.Devices,
  DeviceUseStatement: C.Devices,
  DeviceMetric: C.Devices,
  VisionPrescription: C.Devices,
};

/** Shared reference data every member may read: not about one patient, so outside consent. */
export const DIRECTORY_RESOURCE_TYPES: readonly string[] = [
  'Organization',
  'OrganizationAffiliation',
  'Practitioner',
  'PractitionerRole',
  'Location',
  'HealthcareService',
  'Endpoint',
  'InsurancePlan',
  'Substance',
  'DeviceDefinition',
  'MedicationKnowledge',
];

const DIRECTORY: ReadonlySet<string> = new Set(DIRECTORY_RESOURCE_TYPES);

export function dataCategoryOf(resourceType: string): DataCategory | undefined {
  return Object.hasOwn(CATEGORY, resourceType) ? CATEGORY[resourceType] : undefined;
}

export function isDirectoryResourceType(resourceType: string): boolean {
  return DIRECTORY.has(resourceType);
}

/** Every resource type that has a data category. */
export function categorisedResourceTypes(): string[] {
  return Object.keys(CATEGORY);
}
