// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ConsentId, ConsentPeriod, ConsentScope, OrganisationId, PatientPseudonym} from "../types/Types.sol";

/// @title Patient consent and break-glass access
/// @notice Errors and events of ConsentManager.
interface IConsentManager {
    /// @notice A grant with these exact terms (and nonce) was already recorded, possibly revoked since.
    error ConsentAlreadyExists(ConsentId consentId);
    /// @notice No grant with this id was recorded.
    error UnknownConsent(ConsentId consentId);
    /// @notice The grant was already revoked.
    error ConsentAlreadyRevoked(ConsentId consentId);
    /// @notice Actions, resource classes or purposes are empty or name undefined bits, or unused bits are set.
    error InvalidConsentScope(ConsentScope scope);
    /// @notice The validity period is empty or already over, the data period is inverted, or unused bits are set.
    error InvalidConsentPeriod(ConsentPeriod period);
    /// @notice The signed message's deadline has passed.
    error SignatureExpired(uint256 deadline);
    /// @notice The signature is malformed (bad length, high s or unrecoverable).
    error InvalidSignature();
    /// @notice The signer or sender does not control the patient pseudonym.
    error NotPatient(PatientPseudonym patient, address account);
    /// @notice The signer or sender is not the patient who granted the consent.
    error NotConsentController(ConsentId consentId, address account);
    /// @notice The caller is not a member of an active organisation holding a valid licence.
    error NotLicensedMember(address account);
    /// @notice A break-glass reason must be given.
    error EmptyReason();
    /// @notice The requested break-glass duration is zero or above the governance cap.
    error BreakGlassDurationOutOfRange(uint32 duration, uint32 cap);
    /// @notice A duration cap must be positive.
    error InvalidDurationCap(uint32 cap);
    /// @notice No break-glass session with this id.
    error UnknownBreakGlass(uint256 id);
    /// @notice The session is over (expired or ended).
    error BreakGlassNotActive(uint256 id);
    /// @notice The session is still running; it can be reviewed once it is over.
    error BreakGlassStillActive(uint256 id, uint40 expiresAt);
    /// @notice The session's review is already closed.
    error BreakGlassAlreadyReviewed(uint256 id);
    /// @notice Only the member who opened the session may end it.
    error NotBreakGlassHolder(uint256 id, address account);
    /// @notice The caller is not an auditor of an active organisation.
    error NotAuditor(address account);
    /// @notice An auditor may not review their own session.
    error SelfReview(uint256 id);

    /// @notice A patient granted consent. The terms are given so that nodes can cache them; the ledger keeps
    /// only the id (the terms' EIP-712 hash) and the grant's state.
    /// @param consentId the grant's id
    /// @param patient the granting patient's pseudonym
    /// @param grantee the organisation that receives access (also inside scope, repeated here to be indexed)
    /// @param scope grantee, grantee member, actions, resource classes and purposes (packed, see types/ConsentTerms.sol)
    /// @param period validity and data periods and nonce (packed, see types/ConsentTerms.sol)
    event ConsentGranted(
        ConsentId indexed consentId,
        PatientPseudonym indexed patient,
        OrganisationId indexed grantee,
        ConsentScope scope,
        ConsentPeriod period
    );
    /// @notice A patient revoked consent; it stops permitting access from this block on.
    event ConsentRevoked(ConsentId indexed consentId);
    /// @notice A licensed member opened emergency access to a patient's data. Nodes notify the patient and
    /// queue a review.
    event BreakGlassOpened(
        uint256 indexed id,
        PatientPseudonym indexed patient,
        address indexed member,
        OrganisationId organisation,
        bytes32 reasonHash,
        uint40 expiresAt
    );
    /// @notice The member ended a session before it expired.
    event BreakGlassEnded(uint256 indexed id);
    /// @notice An auditor closed a session's review.
    event BreakGlassReviewed(uint256 indexed id, address indexed auditor, bool justified, bytes32 findingHash);
    /// @notice Governance changed the longest break-glass session allowed.
    event BreakGlassDurationCapChanged(uint32 previousCap, uint32 newCap);
}
