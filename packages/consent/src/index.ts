/**
 * @medledger/consent — consent as the node sees it: the chain projection of ConsentManager and the registry
 * (events → tables, reorgs rolled back) and the decisions read from it, the FHIR Consent ↔ on-chain terms
 * mapping, and the relayer of patient-signed grants / revocations and break-glass transactions. Chain plumbing
 * (client, embedded chain, bootstrap, anchorers) stays in @medledger/ledger. docs/consent.md describes the
 * tables, the freshness bound and the mapping.
 */
export {
  ConsentIndex,
  type ConsentIndexEvent,
  type ConsentIndexOptions,
  type SyncResult,
} from './ConsentIndex.js';
export {
  ConsentRelayer,
  type ConsentRelayerOptions,
  compactSignature,
  type Relayed,
  type SignedGrant,
  type SignedRevocation,
} from './ConsentRelayer.js';
export {
  ConsortiumState,
  type ConsortiumView,
  type LicenceState,
} from './ConsortiumState.js';
export {
  type ConsentFromFhirOptions,
  consentFromFhir,
  type FhirReference,
  type ResolvedActor,
} from './consentFromFhir.js';
export { consentIndexMigrations } from './consentIndexMigrations.js';
export type { BreakGlassFilter, BreakGlassSession, Cursor } from './consentStore.js';
export { type ConsentToFhirOptions, consentToFhir } from './consentToFhir.js';
export {
  ACTION_CODES,
  CONSENT_ACTION_SYSTEM,
  PURPOSE_CODES,
  PURPOSE_OF_USE_SYSTEM,
  RESOURCE_TYPES_SYSTEM,
  resourceTypesOfCategory,
} from './fhirConsentVocabulary.js';
export {
  type ConsentQuery,
  checkQuery,
  grantPermits,
  type IndexedGrant,
  permittingGrant,
} from './permittingGrant.js';
