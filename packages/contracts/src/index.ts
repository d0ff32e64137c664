// @medledger/contracts: typed ABIs and bytecode of the consortium contracts, the consent vocabulary the
// patient signs, the prescription vocabulary, and the suite deployer.

import { auditAnchorAbi } from './generated/AuditAnchor.generated.js';
import { consentManagerAbi } from './generated/ConsentManager.generated.js';
import { consortiumRegistryAbi } from './generated/ConsortiumRegistry.generated.js';
import { prescriptionsAbi } from './generated/Prescriptions.generated.js';
import { recordRegistryAbi } from './generated/RecordRegistry.generated.js';

export {
  ACTION_COUNT,
  Action,
  type ConsentTerms,
  consentDomain,
  consentIdOf,
  consentTypes,
  mask,
  type PackedConsent,
  PURPOSE_COUNT,
  Purpose,
  packConsent,
  patientPseudonymOf,
  RESOURCE_CLASS_COUNT,
  ResourceClass,
  unpackConsent,
} from './consent.js';
export {
  type ConsentManagerDomain,
  type ConsentSignature,
  signConsentGrant,
  signConsentRevocation,
} from './consentSignatures.js';
export {
  type Artifact,
  abiHash,
  CORE_CONTRACTS,
  type ContractName,
  type CoreContractName,
  completeDeployment,
  DEFAULT_BREAK_GLASS_DURATION_CAP,
  DEPLOYMENT_FORMAT,
  type DeployedContract,
  type Deployment,
  type DeployOptions,
  deploySuite,
  OPTIONAL_CONTRACTS,
  type OptionalContractName,
  readDeployment,
  suiteArtifacts,
  writeDeployment,
} from './deploy.js';
export { auditAnchorAbi, auditAnchorBytecode } from './generated/AuditAnchor.generated.js';
export { consentManagerAbi, consentManagerBytecode } from './generated/ConsentManager.generated.js';
export {
  consortiumRegistryAbi,
  consortiumRegistryBytecode,
} from './generated/ConsortiumRegistry.generated.js';
export {
  consortiumTimelockAbi,
  consortiumTimelockBytecode,
} from './generated/ConsortiumTimelock.generated.js';
export { recordRegistryAbi, recordRegistryBytecode } from './generated/RecordRegistry.generated.js';
export {
  DEFAULT_SCHEDULE_RULES,
  dispenseCommitment,
  type PrescriptionRecord,
  PrescriptionStatus,
  type PrescriptionTerms,
  prescriptionCommitment,
  prescriptionsAbi,
  prescriptionsBytecode,
  Schedule,
  type ScheduleRule,
  scheduleMask,
} from './prescriptions.js';
export { MemberRole, OrganisationKind, OrganisationStatus } from './registry.js';

/** Every custom error of the suite, for decoding reverts that bubble up from the registry. */
export const medledgerErrorsAbi = [
  ...consortiumRegistryAbi,
  ...consentManagerAbi,
  ...recordRegistryAbi,
  ...auditAnchorAbi,
  ...prescriptionsAbi,
].filter((item) => item.type === 'error');
