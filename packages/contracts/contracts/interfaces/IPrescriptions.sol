// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OrganisationId} from "../types/Types.sol";
import {PrescriptionId, PrescriptionStatus, Schedule} from "../types/PrescriptionTypes.sol";

/// @title Prescriptions enforced across the consortium's pharmacies
/// @notice Errors and events of Prescriptions.
interface IPrescriptions {
    /// @notice A prescription id must not be zero.
    error ZeroPrescriptionId();
    /// @notice A prescription with this id was already recorded.
    error PrescriptionAlreadyExists(PrescriptionId id);
    /// @notice No prescription with this id was recorded.
    error UnknownPrescription(PrescriptionId id);
    /// @notice The caller is not a practitioner of an active organisation holding a valid licence.
    error NotLicensedPrescriber(address account);
    /// @notice The caller holds no unexpired, unrevoked controlled-substance registration covering the schedule.
    error NoControlledRegistration(address account, Schedule schedule);
    /// @notice The schedule may not be prescribed (Schedule I, or disallowed by the regulator).
    error ScheduleNotPrescribable(Schedule schedule);
    /// @notice The window is empty or already over.
    error InvalidWindow(uint40 notBefore, uint40 notAfter);
    /// @notice The window ends later after issue than the schedule's rule allows.
    error ValidityExceedsSchedule(uint40 notAfter, uint40 latest);
    /// @notice A prescription allows at least one fill.
    error ZeroFills();
    /// @notice More refills than the schedule's rule allows.
    error RefillsExceedSchedule(uint8 refills, uint8 maxRefills);
    /// @notice A quantity must be positive.
    error ZeroQuantity();
    /// @notice The caller is not a pharmacist of an active pharmacy.
    error NotPharmacist(address account);
    /// @notice The prescription was cancelled.
    error PrescriptionWasCancelled(PrescriptionId id);
    /// @notice The window has not started.
    error PrescriptionNotYetValid(PrescriptionId id, uint40 notBefore);
    /// @notice The window is over.
    error PrescriptionExpired(PrescriptionId id, uint40 notAfter);
    /// @notice Every fill allowed was dispensed.
    error FillsExhausted(PrescriptionId id);
    /// @notice The fill would take the dispensed quantity above the quantity allowed.
    error QuantityExceeded(PrescriptionId id, uint32 requested, uint32 remaining);
    /// @notice The minimum interval since the last fill has not passed.
    error RefillTooSoon(PrescriptionId id, uint40 earliest);
    /// @notice A dispense commitment or a cancellation reason must be given.
    error ZeroCommitment();
    /// @notice Only a practitioner of the prescriber's (active) organisation may cancel.
    error NotPrescriberOrganisation(PrescriptionId id, address account);
    /// @notice Only a node account of the prescriber's (active) organisation may route a prescription.
    error NotPrescriberNode(PrescriptionId id, address account);
    /// @notice Only an active prescription may be routed (not cancelled, completed or expired).
    error PrescriptionNotActive(PrescriptionId id, PrescriptionStatus status);
    /// @notice The organisation is not an active pharmacy.
    error NotActivePharmacy(OrganisationId pharmacy);
    /// @notice A schedule rule that allows prescribing needs a positive maximum validity.
    error InvalidScheduleRule(Schedule schedule);
    /// @notice The account is not a member of any organisation.
    error NotMember(address account);
    /// @notice A registration covers a non-empty subset of schedules II to V.
    error InvalidRegistrationSchedules(uint8 schedules);
    /// @notice A registration must expire in the future.
    error InvalidRegistrationExpiry(uint40 expiresAt);
    /// @notice The member holds no controlled-substance registration.
    error UnknownRegistration(address member);
    /// @notice Only the issuing regulator may revoke a registration.
    error NotRegistrationIssuer(address member, OrganisationId issuer);
    /// @notice The registration was already revoked.
    error RegistrationAlreadyRevoked(address member);
    /// @notice A monitoring look-back must be 1 to 730 days.
    error InvalidMonitoringLookback(uint16 lookbackDays);

    /// @notice A practitioner recorded a prescription.
    /// @param id the commitment to the signed MedicationRequest
    /// @param prescriber the practitioner member
    /// @param organisation the prescriber's organisation
    /// @param schedule the controlled-substance schedule
    /// @param notBefore first second a fill is accepted
    /// @param notAfter first second no fill is accepted any more
    /// @param fillsAllowed first fill plus refills
    /// @param quantityAllowed total quantity allowed
    /// @param minInterval least time between fills (0: none)
    event PrescriptionIssued(
        PrescriptionId indexed id,
        address indexed prescriber,
        OrganisationId indexed organisation,
        Schedule schedule,
        uint40 notBefore,
        uint40 notAfter,
        uint8 fillsAllowed,
        uint32 quantityAllowed,
        uint32 minInterval
    );
    /// @notice A pharmacist dispensed a fill.
    /// @param id the prescription
    /// @param pharmacy the dispensing organisation
    /// @param pharmacist the dispensing member
    /// @param dispenseCommitment the node's salted commitment to its MedicationDispense
    /// @param quantity the quantity of this fill
    /// @param fillNumber 1 for the first fill, 2 for the first refill, ...
    /// @param fillsRemaining fills still allowed after this one
    /// @param quantityRemaining quantity still allowed after this one
    event PrescriptionDispensed(
        PrescriptionId indexed id,
        OrganisationId indexed pharmacy,
        address indexed pharmacist,
        bytes32 dispenseCommitment,
        uint32 quantity,
        uint8 fillNumber,
        uint8 fillsRemaining,
        uint32 quantityRemaining
    );
    /// @notice A practitioner of the prescriber's organisation cancelled a prescription; no fill follows.
    event PrescriptionCancelled(PrescriptionId indexed id, address indexed cancelledBy, bytes32 reasonHash);
    /// @notice The prescriber's node routed a prescription to the pharmacy the patient chose (again: a new choice).
    /// @param id the prescription
    /// @param pharmacy the chosen pharmacy organisation
    event PrescriptionRouted(PrescriptionId indexed id, OrganisationId indexed pharmacy);
    /// @notice The regulator (or the constructor, organisation 0) set the rule of a schedule.
    event ScheduleRuleSet(
        Schedule indexed schedule,
        OrganisationId indexed regulator,
        uint8 maxRefills,
        uint32 maxValidity,
        bool allowed
    );
    /// @notice A regulator issued (or renewed) a member's controlled-substance registration.
    event ControlledRegistrationIssued(
        address indexed member,
        OrganisationId indexed issuer,
        uint8 schedules,
        uint40 expiresAt,
        bytes32 registrationHash
    );
    /// @notice The issuing regulator revoked a controlled-substance registration.
    event ControlledRegistrationRevoked(address indexed member, OrganisationId indexed issuer);
    /// @notice A regulator set the consortium's controlled-substance monitoring policy.
    /// @param regulator the regulator organisation
    /// @param enabled whether monitoring across organisations is permitted
    /// @param lookbackDays how many days of history a monitoring request may cover
    event MonitoringPolicySet(OrganisationId indexed regulator, bool enabled, uint16 lookbackDays);
}
