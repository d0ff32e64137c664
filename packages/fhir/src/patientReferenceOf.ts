/**
 * The patient a record belongs to, following the R4 (4.0.1) Patient CompartmentDefinition: for each type the
 * element behind the compartment's primary parameter (subject, patient, beneficiary, …). Only references that
 * name a Patient are returned — `Patient/<id>` (a version suffix is dropped) or, before a bundle is planned,
 * `urn:uuid:…`; a subject that is a Group, Device or Location, or an absolute URL to another server, yields
 * undefined. Deviation from R4: Device (outside the R4 compartment) is attributed through Device.patient.
 */
import { referencesAt } from './elementValues.js';
import type { FhirResource } from './FhirResource.js';

const PATIENT_PATHS: Readonly<Record<string, readonly string[][]>> = {
  Account: [['subject']],
  AdverseEvent: [['subject']],
  AllergyIntolerance: [['patient']],
  Appointment: [['participant', 'actor']],
  AppointmentResponse: [['actor']],
  AuditEvent: [
    ['entity', 'what'],
    ['agent', 'who'],
  ],
  Basic: [['subject']],
  BodyStructure: [['patient']],
  CarePlan: [['subject']],
  CareTeam: [['subject']],
  ChargeItem: [['subject']],
  Claim: [['patient']],
  ClaimResponse: [['patient']],
  ClinicalImpression: [['subject']],
  Communication: [['subject']],
  CommunicationRequest: [['subject']],
  Composition: [['subject']],
  Condition: [['subject']],
  Consent: [['patient']],
  Coverage: [['beneficiary'], ['subscriber'], ['policyHolder']],
  CoverageEligibilityRequest: [['patient']],
  CoverageEligibilityResponse: [['patient']],
  DetectedIssue: [['patient']],
  Device: [['patient']],
  DeviceRequest: [['subject']],
  DeviceUseStatement: [['subject']],
  DiagnosticReport: [['subject']],
  DocumentManifest: [['subject']],
  DocumentReference: [['subject']],
  Encounter: [['subject']],
  EnrollmentRequest: [['candidate']],
  EpisodeOfCare: [['patient']],
  ExplanationOfBenefit: [['patient']],
  FamilyMemberHistory: [['patient']],
  Flag: [['subject']],
  Goal: [['subject']],
  ImagingStudy: [['subject']],
  Immunization: [['patient']],
  ImmunizationEvaluation: [['patient']],
  ImmunizationRecommendation: [['patient']],
  Invoice: [['subject'], ['recipient']],
  List: [['subject']],
  MeasureReport: [['subject']],
  Media: [['subject']],
  MedicationAdministration: [['subject']],
  MedicationDispense: [['subject']],
  MedicationRequest: [['subject']],
  MedicationStatement: [['subject']],
  MolecularSequence: [['patient']],
  NutritionOrder: [['patient']],
  Observation: [['subject']],
  Person: [['link', 'target']],
  Procedure: [['subject']],
  Provenance: [['target']],
  QuestionnaireResponse: [['subject']],
  RelatedPerson: [['patient']],
  RequestGroup: [['subject']],
  ResearchSubject: [['individual']],
  RiskAssessment: [['subject']],
  Schedule: [['actor']],
  ServiceRequest: [['subject']],
  Specimen: [['subject']],
  SupplyDelivery: [['patient']],
  SupplyRequest: [['deliverTo']],
  VisionPrescription: [['patient']],
};

const PATIENT_REF = /^Patient\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const URN_UUID = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** `Patient/<id>` for a reference naming a Patient (version dropped), the urn for `urn:uuid:`, else undefined. */
export function normalisePatientReference(reference: string): string | undefined {
  const m = PATIENT_REF.exec(reference);
  if (m !== null) return `Patient/${m[1]}`;
  return URN_UUID.test(reference) ? reference : undefined;
}

export function patientReferenceOf(resource: FhirResource): string | undefined {
  if (resource.resourceType === 'Patient') {
    return typeof resource.id === 'string' ? `Patient/${resource.id}` : undefined;
  }
  const paths = Object.hasOwn(PATIENT_PATHS, resource.resourceType)
    ? PATIENT_PATHS[resource.resourceType]
    : undefined;
  for (const path of paths ?? []) {
    for (const r of referencesAt(resource, path)) {
      const p = normalisePatientReference(r);
      if (p !== undefined) return p;
    }
  }
  return undefined;
}

/** The resource types that can belong to a patient compartment (plus Patient itself). */
export function compartmentResourceTypes(): string[] {
  return ['Patient', ...Object.keys(PATIENT_PATHS)];
}
