// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortiumRegistry} from "./interfaces/IConsortiumRegistry.sol";
import {IPrescriptions} from "./interfaces/IPrescriptions.sol";
import {
    ControlledRegistration,
    Prescription,
    PrescriptionId,
    PrescriptionStatus,
    PrescriptionTerms,
    Schedule,
    ScheduleRule
} from "./types/PrescriptionTypes.sol";
import {Member, MemberRole, OrganisationId, OrganisationKind} from "./types/Types.sol";

/// @title Prescriptions
/// @notice Prescriptions whose fills every pharmacy of the consortium enforces: a licensed practitioner records
/// a prescription (window, fills, total quantity, controlled-substance schedule, optional minimum interval
/// between fills) under an opaque commitment; pharmacists of active pharmacies dispense against it, and the
/// ledger refuses any fill beyond what was prescribed, whichever pharmacy asks. The prescriber's node routes a
/// prescription to the pharmacy its patient chose (the routing is the message the pharmacy's node reads). The
/// regulator governs the rule of each schedule and the controlled-substance registrations of prescribers, and
/// sets the consortium's controlled-substance monitoring policy (the PDMP rule nodes apply when one asks another
/// for a patient's controlled-substance history).
/// @dev Nothing here names a patient, a drug or a dosage: the id is the node's salted hash of the signed FHIR
/// MedicationRequest, and a fill carries the node's salted hash of its MedicationDispense. The schedule is in
/// clear because the ledger enforces its rule. "Regulator" means a node account of an active organisation of
/// kind Regulator, as for ConsortiumRegistry.issueLicence. Schedule rules at deployment follow the US
/// Controlled Substances Act (21 U.S.C. 829, 21 CFR 1306):
///   None (not controlled): at most 11 refills, window at most 365 days after issue;
///   I: never prescribable (no accepted medical use), whatever the regulator sets;
///   II: no refills (one fill), window at most 90 days after issue;
///   III and IV: at most 5 refills, window at most 180 days (six months) after issue;
///   V: refills as prescribed (at most 254, the field's range), window at most 365 days after issue.
contract Prescriptions is IPrescriptions {
    uint32 private constant DAY = 1 days;
    /// @dev Bits of the schedules a registration may cover: II, III, IV and V (bits 2 to 5 of Schedule).
    uint8 private constant REGISTRABLE = 0x3c;
    /// @dev The longest monitoring look-back a regulator may set (two years).
    uint16 private constant MAX_LOOKBACK_DAYS = 730;

    IConsortiumRegistry private immutable _registry;

    mapping(PrescriptionId => Prescription) private _prescriptions;
    mapping(Schedule => ScheduleRule) private _rules;
    mapping(address member => ControlledRegistration) private _registrations;
    /// @dev Off at deployment: the consortium permits monitoring only once a regulator says so.
    bool private _monitoringEnabled;
    uint16 private _monitoringLookbackDays;

    /// @param registry the consortium registry
    constructor(IConsortiumRegistry registry) {
        _registry = registry;
        OrganisationId deployment = OrganisationId.wrap(0);
        _setRule(Schedule.None, ScheduleRule({maxRefills: 11, maxValidity: 365 * DAY, allowed: true}), deployment);
        _setRule(Schedule.I, ScheduleRule({maxRefills: 0, maxValidity: 0, allowed: false}), deployment);
        _setRule(Schedule.II, ScheduleRule({maxRefills: 0, maxValidity: 90 * DAY, allowed: true}), deployment);
        _setRule(Schedule.III, ScheduleRule({maxRefills: 5, maxValidity: 180 * DAY, allowed: true}), deployment);
        _setRule(Schedule.IV, ScheduleRule({maxRefills: 5, maxValidity: 180 * DAY, allowed: true}), deployment);
        _setRule(Schedule.V, ScheduleRule({maxRefills: 254, maxValidity: 365 * DAY, allowed: true}), deployment);
    }

    // ---------------------------------------------------------------- prescribing (practitioners)

    /// @notice Records a prescription. The caller must be a practitioner member of an active organisation with a
    /// valid licence and, for schedules II to V, an unexpired controlled-substance registration covering the
    /// schedule. The terms must obey the schedule's rule.
    /// @param id the node's salted commitment to the signed MedicationRequest
    /// @param terms window, fills, quantity, minimum interval and schedule
    function prescribe(PrescriptionId id, PrescriptionTerms calldata terms) external {
        if (PrescriptionId.unwrap(id) == bytes32(0)) revert ZeroPrescriptionId();
        (Member memory member, bool active) = _registry.memberOf(msg.sender);
        if (
            !active ||
            member.role != MemberRole.Practitioner ||
            !_registry.hasValidLicence(msg.sender, uint40(block.timestamp))
        ) revert NotLicensedPrescriber(msg.sender);
        Schedule schedule = terms.schedule;
        ScheduleRule memory rule = _rules[schedule];
        if (!rule.allowed) revert ScheduleNotPrescribable(schedule);
        if (schedule != Schedule.None && !hasControlledRegistration(msg.sender, schedule, uint40(block.timestamp)))
            revert NoControlledRegistration(msg.sender, schedule);
        if (terms.notBefore >= terms.notAfter || terms.notAfter <= block.timestamp)
            revert InvalidWindow(terms.notBefore, terms.notAfter);
        uint40 latest = uint40(block.timestamp + rule.maxValidity);
        if (terms.notAfter > latest) revert ValidityExceedsSchedule(terms.notAfter, latest);
        if (terms.fillsAllowed == 0) revert ZeroFills();
        if (terms.fillsAllowed - 1 > rule.maxRefills)
            revert RefillsExceedSchedule(terms.fillsAllowed - 1, rule.maxRefills);
        if (terms.quantityAllowed == 0) revert ZeroQuantity();
        Prescription storage p = _prescriptions[id];
        if (p.status != PrescriptionStatus.None) revert PrescriptionAlreadyExists(id);
        p.prescriber = msg.sender;
        p.organisation = member.organisation;
        p.schedule = schedule;
        p.status = PrescriptionStatus.Active;
        p.fillsAllowed = terms.fillsAllowed;
        p.notBefore = terms.notBefore;
        p.notAfter = terms.notAfter;
        p.quantityAllowed = terms.quantityAllowed;
        p.minInterval = terms.minInterval;
        p.issuedAt = uint40(block.timestamp);
        emit PrescriptionIssued(
            id,
            msg.sender,
            member.organisation,
            schedule,
            terms.notBefore,
            terms.notAfter,
            terms.fillsAllowed,
            terms.quantityAllowed,
            terms.minInterval
        );
    }

    /// @notice Cancels a prescription; every later fill is refused. The caller must be a practitioner member of
    /// the prescriber's organisation, which must be active: the prescriber, or a colleague covering for them
    /// (a prescriber who left the organisation can no longer cancel, their colleagues still can). No licence is
    /// required: cancelling only takes rights away.
    /// @param id the prescription
    /// @param reasonHash commitment to the stated reason (kept off-chain)
    function cancel(PrescriptionId id, bytes32 reasonHash) external {
        Prescription storage p = _existing(id);
        if (reasonHash == bytes32(0)) revert ZeroCommitment();
        (Member memory member, bool active) = _registry.memberOf(msg.sender);
        if (
            !active ||
            member.role != MemberRole.Practitioner ||
            OrganisationId.unwrap(member.organisation) != OrganisationId.unwrap(p.organisation)
        ) revert NotPrescriberOrganisation(id, msg.sender);
        if (p.status == PrescriptionStatus.Cancelled) revert PrescriptionWasCancelled(id);
        p.status = PrescriptionStatus.Cancelled;
        emit PrescriptionCancelled(id, msg.sender, reasonHash);
    }

    /// @notice Routes an active prescription to the pharmacy the patient chose; routing again replaces the
    /// choice. The caller must be a node account of the prescriber's (active) organisation: the node acts on
    /// its patient's choice. The pharmacy must be an active organisation of kind Pharmacy. Routing grants no
    /// right to dispense (any pharmacist may dispense against a prescription they were shown); it tells the
    /// pharmacy's node which prescription its custodian will release to it.
    /// @param id the prescription
    /// @param pharmacy the chosen pharmacy organisation
    function route(PrescriptionId id, OrganisationId pharmacy) external {
        Prescription storage p = _existing(id);
        OrganisationId caller = _registry.requireActiveNodeAccount(msg.sender);
        if (OrganisationId.unwrap(caller) != OrganisationId.unwrap(p.organisation))
            revert NotPrescriberNode(id, msg.sender);
        PrescriptionStatus status = _status(p);
        if (status != PrescriptionStatus.Active) revert PrescriptionNotActive(id, status);
        if (
            !_registry.isOrganisationActive(pharmacy) ||
            _registry.organisation(pharmacy).kind != OrganisationKind.Pharmacy
        ) revert NotActivePharmacy(pharmacy);
        emit PrescriptionRouted(id, pharmacy);
    }

    // ---------------------------------------------------------------- dispensing (pharmacists)

    /// @notice Records a fill. The caller must be a pharmacist member of an active organisation of kind
    /// Pharmacy. Refused when the prescription is unknown or cancelled, outside its window, out of fills, when
    /// the quantity is zero or would exceed the quantity allowed, or before the minimum interval since the last
    /// fill. Two pharmacies racing for the last fill: the first transaction in the block wins, the other reverts.
    /// @param id the prescription
    /// @param quantity the quantity of this fill, in the dispense unit
    /// @param dispenseCommitment the node's salted commitment to its MedicationDispense
    function dispense(PrescriptionId id, uint32 quantity, bytes32 dispenseCommitment) external {
        Prescription storage p = _existing(id);
        (Member memory member, bool active) = _registry.memberOf(msg.sender);
        if (
            !active ||
            member.role != MemberRole.Pharmacist ||
            _registry.organisation(member.organisation).kind != OrganisationKind.Pharmacy
        ) revert NotPharmacist(msg.sender);
        if (dispenseCommitment == bytes32(0)) revert ZeroCommitment();
        if (p.status == PrescriptionStatus.Cancelled) revert PrescriptionWasCancelled(id);
        if (block.timestamp < p.notBefore) revert PrescriptionNotYetValid(id, p.notBefore);
        if (block.timestamp >= p.notAfter) revert PrescriptionExpired(id, p.notAfter);
        uint8 fillsUsed = p.fillsUsed;
        uint8 fillsAllowed = p.fillsAllowed;
        if (fillsUsed >= fillsAllowed) revert FillsExhausted(id);
        if (quantity == 0) revert ZeroQuantity();
        uint32 quantityRemaining = p.quantityAllowed - p.quantityDispensed;
        if (quantity > quantityRemaining) revert QuantityExceeded(id, quantity, quantityRemaining);
        uint40 lastFilledAt = p.lastFilledAt;
        if (lastFilledAt != 0 && block.timestamp < uint256(lastFilledAt) + p.minInterval)
            revert RefillTooSoon(id, uint40(lastFilledAt + p.minInterval));
        ++fillsUsed;
        quantityRemaining -= quantity;
        p.fillsUsed = fillsUsed;
        p.quantityDispensed += quantity;
        p.lastFilledAt = uint40(block.timestamp);
        emit PrescriptionDispensed(
            id,
            member.organisation,
            msg.sender,
            dispenseCommitment,
            quantity,
            fillsUsed,
            fillsAllowed - fillsUsed,
            quantityRemaining
        );
    }

    // ---------------------------------------------------------------- governance (regulators' node accounts)

    /// @notice Sets the rule of a schedule: most refills, longest window after issue, and whether it may be
    /// prescribed at all. Applies to prescriptions recorded afterwards. Schedule I can never be allowed.
    /// @param schedule the schedule
    /// @param rule the new rule
    function setScheduleRule(Schedule schedule, ScheduleRule calldata rule) external {
        OrganisationId regulator = _requireRegulator();
        if (rule.allowed && schedule == Schedule.I) revert ScheduleNotPrescribable(schedule);
        if (rule.allowed && rule.maxValidity == 0) revert InvalidScheduleRule(schedule);
        _setRule(schedule, rule, regulator);
    }

    /// @notice Sets the consortium's controlled-substance monitoring policy. While enabled, a node may answer
    /// another node's request for a patient's controlled-substance prescriptions and dispenses of the last
    /// `lookbackDays` days, without a per-patient consent, when the requesting member is a licensed practitioner
    /// holding a controlled-substance registration or a pharmacist of an active pharmacy, for purpose
    /// Treatment — as state prescription-drug-monitoring laws permit. The nodes enforce who may ask; the ledger
    /// records the rule and who set it.
    /// @param enabled whether monitoring across organisations is permitted
    /// @param lookbackDays days of history a request may cover, 1 to 730 (kept when disabling)
    function setMonitoringPolicy(bool enabled, uint16 lookbackDays) external {
        OrganisationId regulator = _requireRegulator();
        if (lookbackDays == 0 || lookbackDays > MAX_LOOKBACK_DAYS) revert InvalidMonitoringLookback(lookbackDays);
        _monitoringEnabled = enabled;
        _monitoringLookbackDays = lookbackDays;
        emit MonitoringPolicySet(regulator, enabled, lookbackDays);
    }

    /// @notice Issues or renews a member's controlled-substance registration.
    /// @param member the member's account
    /// @param schedules bitmask over Schedule (bits 2 to 5: II to V), not empty
    /// @param expiresAt first second the registration is no longer valid
    /// @param registrationHash commitment to the off-chain registration credential
    function issueControlledRegistration(
        address member,
        uint8 schedules,
        uint40 expiresAt,
        bytes32 registrationHash
    ) external {
        OrganisationId issuer = _requireRegulator();
        (Member memory registered, ) = _registry.memberOf(member);
        if (OrganisationId.unwrap(registered.organisation) == 0) revert NotMember(member);
        if (schedules == 0 || schedules & ~REGISTRABLE != 0) revert InvalidRegistrationSchedules(schedules);
        if (expiresAt <= block.timestamp) revert InvalidRegistrationExpiry(expiresAt);
        _registrations[member] = ControlledRegistration({
            issuer: issuer,
            schedules: schedules,
            issuedAt: uint40(block.timestamp),
            expiresAt: expiresAt,
            revokedAt: 0,
            registrationHash: registrationHash
        });
        emit ControlledRegistrationIssued(member, issuer, schedules, expiresAt, registrationHash);
    }

    /// @notice Revokes a controlled-substance registration. The caller must be a node account of the (active)
    /// issuing regulator.
    /// @param member the registration holder's account
    function revokeControlledRegistration(address member) external {
        OrganisationId caller = _registry.requireActiveNodeAccount(msg.sender);
        ControlledRegistration storage registration = _registrations[member];
        OrganisationId issuer = registration.issuer;
        if (OrganisationId.unwrap(issuer) == 0) revert UnknownRegistration(member);
        if (OrganisationId.unwrap(issuer) != OrganisationId.unwrap(caller))
            revert NotRegistrationIssuer(member, issuer);
        if (registration.revokedAt != 0) revert RegistrationAlreadyRevoked(member);
        registration.revokedAt = uint40(block.timestamp);
        emit ControlledRegistrationRevoked(member, issuer);
    }

    // ---------------------------------------------------------------- views

    /// @notice A prescription's record, its status derived at the current block: Cancelled, else Completed when
    /// every fill or the whole quantity was dispensed, else Expired once the window is over, else Active (which
    /// includes a window not yet started). Unknown ids return an empty record with status None.
    /// @param id the prescription
    /// @return record the prescription
    function prescription(PrescriptionId id) external view returns (Prescription memory record) {
        record = _prescriptions[id];
        record.status = _status(record);
    }

    /// @notice What can still be dispensed now: fills and quantity left, both 0 unless the status is Active.
    /// @param id the prescription
    /// @return fills fills left
    /// @return quantity quantity left
    function remaining(PrescriptionId id) external view returns (uint8 fills, uint32 quantity) {
        Prescription memory p = _prescriptions[id];
        if (_status(p) != PrescriptionStatus.Active) return (0, 0);
        return (p.fillsAllowed - p.fillsUsed, p.quantityAllowed - p.quantityDispensed);
    }

    /// @notice The rule of a schedule.
    /// @param schedule the schedule
    /// @return rule most refills, longest window after issue, whether it may be prescribed
    function scheduleRule(Schedule schedule) external view returns (ScheduleRule memory rule) {
        return _rules[schedule];
    }

    /// @notice The consortium's controlled-substance monitoring policy (off, 0 days, until a regulator sets it).
    /// @return enabled whether monitoring across organisations is permitted
    /// @return lookbackDays days of history a request may cover
    function monitoringPolicy() external view returns (bool enabled, uint16 lookbackDays) {
        return (_monitoringEnabled, _monitoringLookbackDays);
    }

    /// @notice A member's controlled-substance registration (issuer 0 when none).
    /// @param member the member's account
    /// @return registration the registration record
    function controlledRegistrationOf(
        address member
    ) external view returns (ControlledRegistration memory registration) {
        return _registrations[member];
    }

    /// @notice Whether a member's controlled-substance registration covers a schedule at a time.
    /// @param member the member's account
    /// @param schedule the schedule (II to V; None and I are never covered)
    /// @param at the time to check (unix time)
    /// @return covered true when issued before `at`, not expired or revoked at `at`, and covering the schedule
    function hasControlledRegistration(
        address member,
        Schedule schedule,
        uint40 at
    ) public view returns (bool covered) {
        ControlledRegistration storage registration = _registrations[member];
        if (OrganisationId.unwrap(registration.issuer) == 0) return false;
        if ((uint256(registration.schedules) >> uint8(schedule)) & 1 == 0) return false;
        if (at < registration.issuedAt || at >= registration.expiresAt) return false;
        uint40 revokedAt = registration.revokedAt;
        return revokedAt == 0 || at < revokedAt;
    }

    // ---------------------------------------------------------------- internals

    function _existing(PrescriptionId id) private view returns (Prescription storage p) {
        p = _prescriptions[id];
        if (p.status == PrescriptionStatus.None) revert UnknownPrescription(id);
    }

    function _status(Prescription memory p) private view returns (PrescriptionStatus) {
        if (p.status != PrescriptionStatus.Active) return p.status;
        if (p.fillsUsed >= p.fillsAllowed || p.quantityDispensed >= p.quantityAllowed)
            return PrescriptionStatus.Completed;
        if (block.timestamp >= p.notAfter) return PrescriptionStatus.Expired;
        return PrescriptionStatus.Active;
    }

    /// @dev A node account of an active organisation of kind Regulator, as ConsortiumRegistry.issueLicence.
    function _requireRegulator() private view returns (OrganisationId regulator) {
        regulator = _registry.requireActiveNodeAccount(msg.sender);
        if (_registry.organisation(regulator).kind != OrganisationKind.Regulator)
            revert IConsortiumRegistry.NotRegulator(regulator);
    }

    function _setRule(Schedule schedule, ScheduleRule memory rule, OrganisationId regulator) private {
        _rules[schedule] = rule;
        emit ScheduleRuleSet(schedule, regulator, rule.maxRefills, rule.maxValidity, rule.allowed);
    }
}
