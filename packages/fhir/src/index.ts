/** @medledger/fhir — FHIR R4 for medledger, pure apart from loading the vendored schema once. */
export {
  applyFhirPathPatch,
  applyJsonPatch,
  MAX_PATCH_OPERATIONS,
} from './applyPatch.js';
export {
  type CapabilityStatementInput,
  capabilityStatement,
  type SmartSecurity,
} from './capabilityStatement.js';
export {
  type Classification,
  type ClassifyOptions,
  classifyResource,
  type ResourceCategory,
} from './classifyResource.js';
export {
  type ChainSpec,
  type CompositionResult,
  composeSearch,
  type HasSpec,
  type IncludeSpec,
  isReferenceParam,
  PRESENTATION_PARAMETERS,
  referenceParamsOf,
  referenceTargets,
  type SearchComposition,
  type SortKey,
} from './composeSearch.js';
export {
  type ConditionalReference,
  conditionalReferencesOf,
  looksConditional,
  parseConditionalReference,
} from './conditionalReferences.js';
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
export {
  CLINICAL_DATE_ELEMENTS,
  careDaysOf,
  type EverythingParameters,
  parseEverythingParameters,
  withinCareDates,
} from './everythingParameters.js';
export type { FhirResource } from './FhirResource.js';
export { FHIR_SCHEMA_SHA256, loadFhirSchema } from './fhirSchema.js';
export type { Issue, IssueCode, IssueSeverity } from './Issue.js';
export { includedReferences, referenceTarget } from './includedReferences.js';
export { isValidReference, type ReferenceOptions } from './isValidReference.js';
export {
  OPERATION_DEFINITIONS,
  type OperationDefinitionSpec,
  type OperationParameter,
  operationDefinition,
  operationDefinitionUrl,
} from './operationDefinitions.js';
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
export { REQUIRED_ELEMENTS } from './requiredElements.generated.js';
export { MANDATORY_ELEMENTS, SUMMARY_ELEMENTS } from './resourceElements.generated.js';
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
export { SEARCH_TOKEN_SCHEME, type SearchToken, searchValuesOf } from './searchValuesOf.js';
export {
  isElementName,
  type Shaping,
  SUBSETTED,
  SUBSETTED_SYSTEM,
  type SummaryShape,
  shapeResource,
} from './shapeResource.js';
export { type Sortable, sortResources } from './sortResources.js';
export {
  DEFAULT_MAX_DEPTH,
  MAX_ISSUES,
  type ValidateOptions,
  type ValidationResult,
  validateResource,
} from './validateResource.js';
