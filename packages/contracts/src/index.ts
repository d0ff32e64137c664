// @medledger/contracts: typed ABIs and bytecode of the consortium contracts, the consent vocabulary the
// patient signs, and the suite deployer.

import { auditAnchorAbi } from './generated/AuditAnchor.generated.js';
import { consentManagerAbi } from './generated/ConsentManager.generated.js';
import { consortiumRegistryAbi } from './generated/ConsortiumRegistry.generated.js';
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
  type ContractName,
  DEFAULT_BREAK_GLASS_DURATION_CAP,
  DEPLOYMENT_FORMAT,
  type DeployedContract,
  type Deployment,
  type DeployOptions,
  deploySuite,
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
export { MemberRole, OrganisationKind, OrganisationStatus } from './registry.js';

/** Every custom error of the suite, for decoding reverts that bubble up from the registry. */
export const medledgerErrorsAbi = [
  ...consortiumRegistryAbi,
  ...consentManagerAbi,
  ...recordRegistryAbi,
  ...auditAnchorAbi,
].filter((item) => item.type === 'error');
