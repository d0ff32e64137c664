// The prescribing domain without I/O: what the node's prescription, dispensing and decision-support routes
// decide, kept pure so it can be tested against external data and reused by other FHIR clients.
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
