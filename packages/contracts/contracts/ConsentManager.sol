// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IConsentManager} from "./interfaces/IConsentManager.sol";
import {IConsortiumRegistry} from "./interfaces/IConsortiumRegistry.sol";
import {
    AccessRequest,
    BreakGlass,
    Consent,
    ConsentId,
    ConsentPeriod,
    ConsentScope,
    Member,
    MemberRole,
    OrganisationId,
    PatientPseudonym
} from "./types/Types.sol";

/// @title ConsentManager
/// @notice Patients' consent grants (FHIR Consent semantics) and break-glass emergency access.
/// @dev Storage is one word per grant, keyed by the grant's EIP-712 struct hash: the granting address, the grant
/// time and the revocation time. The terms live in calldata and in the ConsentGranted event; callers of
/// isPermitted supply them again and the hash binds them. That word is also the replay guard: a grant whose id
/// exists (even revoked) cannot be recorded again, and a revocation cannot be repeated, so no per-patient nonce
/// is stored. A patient pseudonym is derived from the patient's signing address (pseudonymOf), so binding needs
/// no storage and cannot be squatted.
contract ConsentManager is IConsentManager, EIP712, AccessControl {
    /// @notice The role that sets the break-glass duration cap.
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");

    bytes32 private constant CONSENT_TYPEHASH =
        keccak256(
            "Consent(bytes32 patient,uint32 grantee,address granteeMember,uint8 actions,uint16 resourceClasses,"
            "uint8 purposes,uint40 validFrom,uint40 validUntil,uint40 dataFrom,uint40 dataUntil,uint64 nonce)"
        );
    bytes32 private constant GRANT_TYPEHASH =
        keccak256(
            "GrantConsent(Consent consent,uint256 deadline)"
            "Consent(bytes32 patient,uint32 grantee,address granteeMember,uint8 actions,uint16 resourceClasses,"
            "uint8 purposes,uint40 validFrom,uint40 validUntil,uint40 dataFrom,uint40 dataUntil,uint64 nonce)"
        );
    bytes32 private constant REVOKE_TYPEHASH = keccak256("RevokeConsent(bytes32 consentId,uint256 deadline)");
    bytes32 private constant PSEUDONYM_DOMAIN = keccak256("medledger.patient-pseudonym.v1");

    uint256 private constant ACTION_MASK = (1 << 2) - 1;
    uint256 private constant RESOURCE_CLASS_MASK = (1 << 12) - 1;
    uint256 private constant PURPOSE_MASK = (1 << 5) - 1;

    IConsortiumRegistry private immutable _registry;

    /// @dev bits 0-159 granting address, 160-199 grantedAt, 200-239 revokedAt (0: active).
    mapping(ConsentId => uint256) private _consents;
    mapping(uint256 id => BreakGlass) private _breakGlass;
    uint256 private _breakGlassCount;
    uint32 private _breakGlassDurationCap;

    /// @param registry the consortium registry
    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNOR_ROLE
    /// @param durationCap longest break-glass session, in seconds
    constructor(
        IConsortiumRegistry registry,
        address admin,
        uint32 durationCap
    ) EIP712("medledger ConsentManager", "1") {
        if (durationCap == 0) revert InvalidDurationCap(0);
        _registry = registry;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        _breakGlassDurationCap = durationCap;
        emit BreakGlassDurationCapChanged(0, durationCap);
    }

    // ---------------------------------------------------------------- consent

    /// @notice Records a grant signed by the patient (EIP-712 GrantConsent); any account may relay it.
    /// @param consent the terms
    /// @param deadline last second the signature is accepted
    /// @param r signature r
    /// @param vs signature s with v in the top bit (ERC-2098)
    /// @return consentId the grant's id
    function grantConsentBySig(
        Consent calldata consent,
        uint256 deadline,
        bytes32 r,
        bytes32 vs
    ) external returns (ConsentId consentId) {
        consentId = consentIdOf(consent);
        address signer = _signer(keccak256(abi.encode(GRANT_TYPEHASH, consentId, deadline)), deadline, r, vs);
        _grant(consent, consentId, signer);
    }

    /// @notice Records a grant sent by the patient's own account.
    /// @param consent the terms
    /// @return consentId the grant's id
    function grantConsent(Consent calldata consent) external returns (ConsentId consentId) {
        consentId = consentIdOf(consent);
        _grant(consent, consentId, msg.sender);
    }

    /// @notice Revokes a grant by the patient's signature (EIP-712 RevokeConsent); any account may relay it.
    /// @param consentId the grant
    /// @param deadline last second the signature is accepted
    /// @param r signature r
    /// @param vs signature s with v in the top bit (ERC-2098)
    function revokeConsentBySig(ConsentId consentId, uint256 deadline, bytes32 r, bytes32 vs) external {
        address signer = _signer(
            keccak256(abi.encode(REVOKE_TYPEHASH, ConsentId.unwrap(consentId), deadline)),
            deadline,
            r,
            vs
        );
        _revoke(consentId, signer);
    }

    /// @notice Revokes a grant from the patient's own account.
    /// @param consentId the grant
    function revokeConsent(ConsentId consentId) external {
        _revoke(consentId, msg.sender);
    }

    /// @notice Whether a recorded, unrevoked grant with these terms permits the request. Also requires the
    /// requesting organisation to be active and the requesting member (if any) to belong to it.
    /// @param consent the grant's terms, as emitted in ConsentGranted
    /// @param request who asks for what, for which purpose, when, about data of which date
    /// @return permitted true when the grant covers the request
    function isPermitted(
        Consent calldata consent,
        AccessRequest calldata request
    ) external view returns (bool permitted) {
        uint256 state = _consents[consentIdOf(consent)];
        if (state == 0) return false;
        ConsentScope scope = consent.scope;
        ConsentPeriod period = consent.period;
        uint40 at = request.at;
        uint40 revokedAt = uint40(state >> 200);
        if (at < uint40(state >> 160) || (revokedAt != 0 && at >= revokedAt)) return false;
        if (at < period.validFrom() || at >= period.validUntil()) return false;
        if (request.dataTime < period.dataFrom() || (period.dataUntil() != 0 && request.dataTime > period.dataUntil()))
            return false;
        if (OrganisationId.unwrap(scope.grantee()) != OrganisationId.unwrap(request.organisation)) return false;
        address member = scope.granteeMember();
        if (member != address(0) && member != request.member) return false;
        if (uint256(scope.actions()) & (1 << uint8(request.action)) == 0) return false;
        if (uint256(scope.resourceClasses()) & (1 << uint8(request.resourceClass)) == 0) return false;
        if (uint256(scope.purposes()) & (1 << uint8(request.purpose)) == 0) return false;
        if (!_registry.isOrganisationActive(request.organisation)) return false;
        if (request.member != address(0)) {
            (Member memory registered, ) = _registry.memberOf(request.member);
            if (OrganisationId.unwrap(registered.organisation) != OrganisationId.unwrap(request.organisation))
                return false;
        }
        return true;
    }

    /// @notice A grant's stored state.
    /// @param consentId the grant
    /// @return patientAccount the address that granted it (0 when unknown)
    /// @return grantedAt when it was recorded
    /// @return revokedAt when it was revoked (0: not revoked)
    function consentState(
        ConsentId consentId
    ) external view returns (address patientAccount, uint40 grantedAt, uint40 revokedAt) {
        uint256 state = _consents[consentId];
        return (address(uint160(state)), uint40(state >> 160), uint40(state >> 200));
    }

    /// @notice The id (EIP-712 struct hash) of a grant's terms.
    /// @param consent the terms
    /// @return consentId the id
    function consentIdOf(Consent calldata consent) public pure returns (ConsentId consentId) {
        ConsentScope scope = consent.scope;
        ConsentPeriod period = consent.period;
        return
            ConsentId.wrap(
                keccak256(
                    abi.encode(
                        CONSENT_TYPEHASH,
                        consent.patient,
                        scope.grantee(),
                        scope.granteeMember(),
                        scope.actions(),
                        scope.resourceClasses(),
                        scope.purposes(),
                        period.validFrom(),
                        period.validUntil(),
                        period.dataFrom(),
                        period.dataUntil(),
                        period.nonce()
                    )
                )
            );
    }

    /// @notice The pseudonym a patient signing address controls.
    /// @param patientAccount the patient's signing address
    /// @return pseudonym keccak256(abi.encode(keccak256("medledger.patient-pseudonym.v1"), patientAccount))
    function pseudonymOf(address patientAccount) public pure returns (PatientPseudonym pseudonym) {
        return PatientPseudonym.wrap(keccak256(abi.encode(PSEUDONYM_DOMAIN, patientAccount)));
    }

    // ---------------------------------------------------------------- break-glass

    /// @notice Opens emergency access to a patient's data. The caller must be a member of an active
    /// organisation with a valid licence.
    /// @param patient the patient's pseudonym
    /// @param reasonHash commitment to the stated reason (kept in the encrypted audit log)
    /// @param duration seconds of access, at most the governance cap
    /// @return id the session id
    function openBreakGlass(
        PatientPseudonym patient,
        bytes32 reasonHash,
        uint32 duration
    ) external returns (uint256 id) {
        if (reasonHash == bytes32(0)) revert EmptyReason();
        uint32 cap = _breakGlassDurationCap;
        if (duration == 0 || duration > cap) revert BreakGlassDurationOutOfRange(duration, cap);
        (Member memory member, bool active) = _registry.memberOf(msg.sender);
        if (!active || !_registry.hasValidLicence(msg.sender, uint40(block.timestamp)))
            revert NotLicensedMember(msg.sender);
        id = ++_breakGlassCount;
        uint40 expiresAt = uint40(block.timestamp + duration);
        _breakGlass[id] = BreakGlass({
            patient: patient,
            member: msg.sender,
            openedAt: uint40(block.timestamp),
            expiresAt: expiresAt,
            reviewed: false
        });
        emit BreakGlassOpened(id, patient, msg.sender, member.organisation, reasonHash, expiresAt);
    }

    /// @notice Ends one's own session before it expires.
    /// @param id the session
    function endBreakGlass(uint256 id) external {
        BreakGlass storage session = _existingBreakGlass(id);
        if (session.member != msg.sender) revert NotBreakGlassHolder(id, msg.sender);
        if (session.expiresAt <= block.timestamp) revert BreakGlassNotActive(id);
        session.expiresAt = uint40(block.timestamp);
        emit BreakGlassEnded(id);
    }

    /// @notice Closes the review of a finished session. The caller must be an auditor of an active organisation
    /// and not the member who opened it.
    /// @param id the session
    /// @param justified the auditor's verdict
    /// @param findingHash commitment to the review's findings
    function closeBreakGlassReview(uint256 id, bool justified, bytes32 findingHash) external {
        BreakGlass storage session = _existingBreakGlass(id);
        (Member memory auditor, bool active) = _registry.memberOf(msg.sender);
        if (!active || auditor.role != MemberRole.Auditor) revert NotAuditor(msg.sender);
        if (session.member == msg.sender) revert SelfReview(id);
        if (session.expiresAt > block.timestamp) revert BreakGlassStillActive(id, session.expiresAt);
        if (session.reviewed) revert BreakGlassAlreadyReviewed(id);
        session.reviewed = true;
        emit BreakGlassReviewed(id, msg.sender, justified, findingHash);
    }

    /// @notice Sets the longest break-glass session allowed.
    /// @param cap seconds, positive
    function setBreakGlassDurationCap(uint32 cap) external onlyRole(GOVERNOR_ROLE) {
        if (cap == 0) revert InvalidDurationCap(cap);
        emit BreakGlassDurationCapChanged(_breakGlassDurationCap, cap);
        _breakGlassDurationCap = cap;
    }

    /// @notice The longest break-glass session allowed, in seconds.
    /// @return cap the cap
    function breakGlassDurationCap() external view returns (uint32 cap) {
        return _breakGlassDurationCap;
    }

    /// @notice Whether a session gives this member access to this patient's data at a time.
    /// @param id the session
    /// @param patient the patient's pseudonym
    /// @param member the member's account
    /// @param at the time of access
    /// @return active true while the session runs; the member must still hold a valid licence
    function isBreakGlassActive(
        uint256 id,
        PatientPseudonym patient,
        address member,
        uint40 at
    ) external view returns (bool active) {
        BreakGlass storage session = _breakGlass[id];
        if (session.member != member || session.member == address(0)) return false;
        if (PatientPseudonym.unwrap(session.patient) != PatientPseudonym.unwrap(patient)) return false;
        if (at < session.openedAt || at >= session.expiresAt) return false;
        return _registry.hasValidLicence(member, at);
    }

    /// @notice A break-glass session.
    /// @param id the session
    /// @return session its record (member 0 when unknown)
    function breakGlass(uint256 id) external view returns (BreakGlass memory session) {
        return _breakGlass[id];
    }

    /// @notice The number of break-glass sessions ever opened; ids run from 1 to this number.
    /// @return count the number of sessions
    function breakGlassCount() external view returns (uint256 count) {
        return _breakGlassCount;
    }

    // ---------------------------------------------------------------- internals

    function _grant(Consent calldata consent, ConsentId consentId, address patientAccount) private {
        if (PatientPseudonym.unwrap(pseudonymOf(patientAccount)) != PatientPseudonym.unwrap(consent.patient))
            revert NotPatient(consent.patient, patientAccount);
        _checkTerms(consent.scope, consent.period);
        if (_consents[consentId] != 0) revert ConsentAlreadyExists(consentId);
        _consents[consentId] = uint256(uint160(patientAccount)) | (block.timestamp << 160);
        emit ConsentGranted(consentId, consent.patient, consent.scope.grantee(), consent.scope, consent.period);
    }

    function _revoke(ConsentId consentId, address patientAccount) private {
        uint256 state = _consents[consentId];
        if (state == 0) revert UnknownConsent(consentId);
        if (address(uint160(state)) != patientAccount) revert NotConsentController(consentId, patientAccount);
        if (state >> 200 != 0) revert ConsentAlreadyRevoked(consentId);
        _consents[consentId] = state | (block.timestamp << 200);
        emit ConsentRevoked(consentId);
    }

    function _checkTerms(ConsentScope scope, ConsentPeriod period) private view {
        uint256 actions = scope.actions();
        uint256 classes = scope.resourceClasses();
        uint256 purposes = scope.purposes();
        if (
            !scope.scopeIsCanonical() ||
            actions == 0 ||
            actions & ~ACTION_MASK != 0 ||
            classes == 0 ||
            classes & ~RESOURCE_CLASS_MASK != 0 ||
            purposes == 0 ||
            purposes & ~PURPOSE_MASK != 0
        ) revert InvalidConsentScope(scope);
        if (
            !period.periodIsCanonical() ||
            period.validFrom() >= period.validUntil() ||
            period.validUntil() <= block.timestamp ||
            (period.dataUntil() != 0 && period.dataFrom() > period.dataUntil())
        ) revert InvalidConsentPeriod(period);
    }

    function _signer(bytes32 structHash, uint256 deadline, bytes32 r, bytes32 vs) private view returns (address) {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecover(_hashTypedDataV4(structHash), r, vs);
        if (err != ECDSA.RecoverError.NoError) revert InvalidSignature();
        return signer;
    }

    function _existingBreakGlass(uint256 id) private view returns (BreakGlass storage session) {
        session = _breakGlass[id];
        if (session.member == address(0)) revert UnknownBreakGlass(id);
    }
}
