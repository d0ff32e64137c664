// The prescribing domain without I/O: what the node's prescription, dispensing and decision-support routes
// decide, kept pure so it can be tested against external data and reused by other FHIR clients.

export {
  type ClassifiedIngredient,
  type ClassifiedMedication,
  classifyMedication,
  controlledIngredientNames,
  RXNORM_SYSTEM,
} from './controlled/classifyMedication.js';
export {
  CONTROLLED_INGREDIENTS,
  type ControlledClass,
  type ControlledIngredient,
  controlledIngredient,
  type DeaSchedule,
  KNOWN_PRODUCT_CODES,
} from './controlled/controlledSubstances.js';
export {
  type DailyDose,
  type DailyDoseUnknown,
  type DoseUnitKind,
  dailyDose,
} from './controlled/dailyDose.js';
export { type DailyMme, dailyMme, type MmeUnknownReason } from './controlled/dailyMme.js';
export {
  type DetectedIssue,
  type DetectedIssueContext,
  detectedIssuesFor,
  RX_SIGNAL_SYSTEM,
  V3_ACT_CODE_SYSTEM,
} from './controlled/detectedIssues.js';
export { parseStrength, type Strength, type StrengthBasis } from './controlled/parseStrength.js';
export {
  assessControlledSubstanceRisk,
  DEFAULT_RISK_OPTIONS,
  type RiskAssessment,
  type RiskOptions,
  type RiskSeverity,
  type RiskSignal,
  RiskSignalCode,
} from './controlled/riskSignals.js';
export {
  calendarDay,
  isoDay,
  type ProviderEvent,
  type Skipped,
  type SkipReason,
  type SupplyEpisode,
  type SupplyHistory,
  supplyHistory,
  type TaggedDispense,
  type TaggedPrescription,
} from './controlled/supplyHistory.js';
export {
  type CoverageEligibilityResponse,
  decideEligibility,
  type EligibilityInput,
  type EligibilityResult,
  type ResponseInsurance,
  type ResponseItem,
} from './eligibility/decideEligibility.js';
export {
  ELIGIBILITY_ERROR_DISPLAY,
  ELIGIBILITY_ERROR_SYSTEM,
  EligibilityError,
} from './eligibility/eligibilityError.js';
export {
  type EligibilityPurpose,
  type EligibilityRequestOptions,
  type EligibilityRequestResult,
  eligibilityRequestFor,
} from './eligibility/eligibilityRequestFor.js';
export { type DayBounds, fhirDateBounds } from './eligibility/fhirDateBounds.js';
export {
  BENEFIT_TYPE_SYSTEM,
  type FormularyDrug,
  formularyDrug,
  type Money,
  USDF_DRUG_TIER,
  USDF_DRUG_TIER_SYSTEM,
  USDF_PLAN_ID,
  USDF_PRIOR_AUTHORIZATION,
  USDF_QUANTITY_LIMIT,
  USDF_STEP_THERAPY,
} from './eligibility/formularyDrug.js';
export {
  type CardAction,
  type CardIndicator,
  type CardSource,
  type CardSuggestion,
  type CdsCard,
  SUMMARY_MAX,
} from './interactions/cdsHooksCard.js';
export {
  INTERACTION_HOOKS,
  type InteractionHook,
  type InteractionRequest,
  interactionInputOf,
  type ParsedInteractionRequest,
  parseInteractionRequest,
} from './interactions/cdsHooksRequest.js';
export {
  checkInteractions,
  type IgnoredInput,
  type InteractionCheckInput,
  type InteractionCheckOptions,
  type InteractionCheckResult,
} from './interactions/checkInteractions.js';
export {
  type NamedInteraction,
  type NamedInteractionList,
  type NamedListResult,
  ONC_LIST_LABEL,
  parseOncHighPriorityList,
} from './interactions/oncHighPriorityList.js';
export { PDDI_CDS_KNOWLEDGE } from './interactions/pddiCdsKnowledge.generated.js';
