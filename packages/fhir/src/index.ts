/** @medledger/fhir — FHIR R4 for medledger, pure apart from loading the vendored schema once. */
export { type CapabilityStatementInput, capabilityStatement } from './capabilityStatement.js';
export {
  type Classification,
  type ClassifyOptions,
  classifyResource,
  type ResourceCategory,
} from './classifyResource.js';
export {
  categorisedResourceTypes,
  DIRECTORY_RESOURCE_TYPES,
  dataCategoryOf,
  isDirectoryResourceType,
} from './dataCategoryOf.js';
export {
  coverDays,
  type DateGranule,
  type DateGranuleOptions,
  type DatePrefix,
  type DateRange,
  DEFAULT_MIN_YEAR,
  dateGranulesFor,
  dayGranules,
  parseDateRange,
} from './dateGranules.js';
export {
  type DateAlternatives,
  type DateSearchPrefix,
  type DaySpan,
  datePredicate,
  daySpanOf,
  daySpanSatisfies,
  daySpanTokens,
} from './dateSearch.js';
export type { FhirResource } from './FhirResource.js';
export { FHIR_SCHEMA_SHA256, loadFhirSchema } from './fhirSchema.js';
export type { Issue, IssueCode, IssueSeverity } from './Issue.js';
export { isValidReference, type ReferenceOptions } from './isValidReference.js';
export { type OperationOutcome, operationOutcome } from './operationOutcome.js';
export { outcomeForError, statusForError } from './outcomeForError.js';
export { type JsonBodyResult, parseJsonBody } from './parseJsonBody.js';
export {
  DEFAULT_COUNT,
  type LastUpdatedPredicate,
  MAX_COUNT,
  type ParsedSearch,
  parseSearch,
  parseSince,
  type SearchClause,
  type SearchOptions,
  type SearchResult,
  type TokenTest,
} from './parseSearch.js';
export { PATIENT_COMPARTMENT } from './patientCompartment.generated.js';
export {
  DEFAULT_MATCH_COUNT,
  type Demographics,
  demographicsOf,
  MATCH_GRADE_URL,
  MAX_MATCH_COUNT,
  type MatchGrade,
  type MatchRequest,
  type MatchScore,
  matchSearches,
  parseMatchParameters,
  scoreMatch,
} from './patientMatch.js';
export { compartmentResourceTypes, patientReferenceOf } from './patientReferenceOf.js';
export {
  type BundleMethod,
  type BundlePlan,
  type BundlePlanResult,
  type PlannedEntry,
  type PlannedInteraction,
  planBundle,
  rewriteReferences,
} from './planBundle.js';
export { isResourceType, RESOURCE_TYPES, type ResourceType } from './resourceTypes.js';
export {
  COMMON_SEARCH_PARAMETERS,
  hasTextSearch,
  SEARCH_PARAMETERS,
  type SearchParamDef,
  type SearchParamKind,
  searchParametersOf,
  unsupportedSearchParameter,
} from './searchParameters.js';
export {
  normaliseSearchString,
  normaliseTelecom,
  STRING_PREFIX_CAP,
  searchPrefixes,
  searchPrefixOf,
} from './searchText.js';
export { type SearchToken, searchValuesOf } from './searchValuesOf.js';
export {
  DEFAULT_MAX_DEPTH,
  MAX_ISSUES,
  type ValidateOptions,
  type ValidationResult,
  validateResource,
} from './validateResource.js';
