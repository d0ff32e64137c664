/**
 * What the authorisation server needs from the account system, and nothing more: check a login, and tell
 * the claims of an account. `@medledger/identity` provides the implementation (passwords under a memory-hard
 * KDF, TOTP, throttling); this package never sees a password hash or a second-factor secret.
 */

/** What tokens say about an account. */
export interface AccountClaims {
  /** The account's role (patient, practitioner, …), as the identity package names it. */
  readonly role: string;
  /** Identifier of the organisation the account belongs to, when it belongs to one. */
  readonly organisation?: string;
  /** The FHIR resource the user is, relative to the FHIR base (e.g. `Practitioner/abc`). */
  readonly fhirUser?: string;
  /** FHIR Patient id, for patients: the patient context of patient-scoped tokens. */
  readonly patient?: string;
}

export interface AccountAuthority {
  /**
   * Checks a login (password and optional one-time code). Throws MdlError InvalidCredential (never saying
   * which part was wrong) or RateLimited. `amr` (RFC 8176 values, e.g. `["pwd", "otp"]`) may say which
   * factors were checked; `["pwd"]` is assumed when absent.
   */
  authenticate(
    input: { username: string; password: string; otp?: string },
    ctx: { ip: string },
  ): Promise<{ accountId: string; amr?: string[] }>;
  /** Claims for tokens; undefined when the account is gone or disabled (its tokens then stop being issued). */
  claims(accountId: string): Promise<AccountClaims | undefined>;
}
