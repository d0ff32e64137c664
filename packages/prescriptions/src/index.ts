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
