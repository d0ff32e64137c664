// @medledger/identity: accounts and roles, password hashing, TOTP and WebAuthn second factors, login
// throttling, SMART on FHIR scopes, regulator-signed practitioner licences and patient keys.
// docs/identity.md explains formats, the role matrix, security properties and limits.

export {
  type Account,
  type AccountId,
  AccountStore,
  type AccountStoreOptions,
  type AccountUpdate,
  type ApiTokenInfo,
  type ApiTokenOptions,
  foldUsername,
  type LoginRecord,
  type NewAccount,
  type PatientLink,
} from './AccountStore.js';
export {
  BOOTSTRAP_ADMIN_ID,
  BOOTSTRAP_ADMIN_USERNAME,
  type BootstrapAdminOptions,
  type BootstrapAdminResult,
  ensureBootstrapAdmin,
} from './bootstrapAdmin.js';
export { identityMigrations } from './identityMigrations.js';
export {
  type AccountAuthority,
  type AccountClaims,
  type AuthenticationMethod,
  accountAuthority,
  isPrivilegedRole,
  type LoginAttempt,
  type LoginContext,
  type LoginRefusal,
  type LoginRequest,
  type LoginResult,
  LoginService,
  type LoginServiceOptions,
  meetsRoleAssurance,
} from './LoginService.js';
export {
  ACCOUNT_THROTTLE,
  ADDRESS_THROTTLE,
  addressBucket,
  KEY_PASSPHRASE_THROTTLE,
  LoginThrottle,
  type RateLimitedError,
  rateLimited,
  retryAfterSeconds,
  type ThrottlePolicy,
  type ThrottleTicket,
  throttleWait,
} from './LoginThrottle.js';
export {
  assertLicenceValid,
  decodeLicence,
  encodeLicence,
  issueLicence,
  LICENCE_FORMAT,
  LICENCE_SIGNATURE_CONTEXT,
  type LicenceCredential,
  type LicenceTerms,
  licenceHash,
  type Qualification,
  type SignedLicence,
  verifyLicence,
} from './licence.js';
export {
  assertPasswordPolicy,
  checkPasswordPolicy,
  formatPasswordHash,
  hashPassword,
  MAX_CONCURRENT_HASHES,
  needsRehash,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  PASSWORD_SCRYPT,
  type ParsedPasswordHash,
  type PasswordPolicyResult,
  type PasswordProblem,
  parsePasswordHash,
  passwordHashesInProgress,
  type ScryptCost,
  verifyPassword,
} from './passwords.js';
export {
  CONSENT_ACCOUNT_SECRET,
  type ConsentManagerDomain,
  type ConsentSignature,
  createPatientKeys,
  openPatientKeys,
  PatientKeys,
} from './patientKeys.js';
export {
  type Capability,
  type DataAction,
  isClinicalRole,
  isRole,
  ROLE_DEFINITIONS,
  ROLES,
  type Role,
  type RoleDefinition,
  roleAllows,
  roleDefinition,
  roleHas,
} from './roles.js';
export {
  type AccessScope,
  type CategoryCoding,
  type IdentityScope,
  type Interaction,
  interactionLetters,
  type LaunchScope,
  parseScope,
  parseScopes,
  type ResourceScope,
  type ScopeLevel,
  type ScopeRequest,
  type SmartScope,
  scopesAllowAttempt,
  scopesPermit,
} from './smartScopes.js';
export {
  DEFAULT_TOTP,
  generateTotpSecret,
  matchTotp,
  type TotpAlgorithm,
  type TotpParams,
  type TotpSecret,
  totpCode,
  totpStep,
  totpUri,
} from './totp.js';
export {
  type WebAuthnConfig,
  type WebAuthnCredentialInfo,
  WebAuthnService,
} from './webauthn.js';
