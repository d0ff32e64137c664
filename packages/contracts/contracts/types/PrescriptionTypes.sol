// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OrganisationId} from "./Types.sol";

// Value types, enums and structs of the Prescriptions contract. Enum order is ABI: appending is safe,
// reordering or removing changes meaning on-chain and in every node's cache.

/// @dev A prescription as the ledger knows it: the node's salted commitment to the signed FHIR
/// MedicationRequest. Opaque on-chain; it names no patient, drug or dosage.
type PrescriptionId is bytes32;

/// @dev US Controlled Substances Act schedules, numbered so that Schedule.II == 2. None: not a controlled
/// substance. Schedule I substances have no accepted medical use and can never be prescribed.
enum Schedule {
    None,
    I,
    II,
    III,
    IV,
    V
}

/// @dev A prescription's state. The ledger stores Active or Cancelled; Completed (every fill or the whole
/// quantity dispensed) and Expired (the window is over) are derived when it is read. None: unknown id.
enum PrescriptionStatus {
    None,
    Active,
    Cancelled,
    Completed,
    Expired
}

/// @dev The regulator's rule for one schedule.
/// @param maxRefills most refills a prescription may allow (fills allowed - 1)
/// @param maxValidity longest time from issue to the end of the window, in seconds
/// @param allowed whether the schedule may be prescribed at all
struct ScheduleRule {
    uint8 maxRefills;
    uint32 maxValidity;
    bool allowed;
}

/// @dev What a prescriber asks the ledger to enforce.
/// @param notBefore first second a fill is accepted
/// @param notAfter first second no fill is accepted any more
/// @param fillsAllowed first fill plus refills (at least 1)
/// @param quantityAllowed total quantity over all fills, in the dispense unit
/// @param minInterval least time between two fills, in seconds (0: none)
/// @param schedule the controlled-substance schedule of the drug (None when not controlled)
struct PrescriptionTerms {
    uint40 notBefore;
    uint40 notAfter;
    uint8 fillsAllowed;
    uint32 quantityAllowed;
    uint32 minInterval;
    Schedule schedule;
}

/// @dev A prescription's record (two storage words). status is as stored (Active or Cancelled) in storage and
/// derived (Completed, Expired) when returned by Prescriptions.prescription.
/// @param prescriber the practitioner member who issued it
/// @param organisation the prescriber's organisation at issue
/// @param schedule the controlled-substance schedule
/// @param status see PrescriptionStatus
/// @param fillsAllowed first fill plus refills
/// @param fillsUsed fills dispensed so far
/// @param notBefore first second a fill is accepted
/// @param notAfter first second no fill is accepted any more
/// @param quantityAllowed total quantity allowed
/// @param quantityDispensed quantity dispensed so far
/// @param minInterval least time between two fills, in seconds (0: none)
/// @param issuedAt when it was recorded
/// @param lastFilledAt when it was last dispensed (0: never)
struct Prescription {
    address prescriber;
    OrganisationId organisation;
    Schedule schedule;
    PrescriptionStatus status;
    uint8 fillsAllowed;
    uint8 fillsUsed;
    uint40 notBefore;
    uint40 notAfter;
    uint32 quantityAllowed;
    uint32 quantityDispensed;
    uint32 minInterval;
    uint40 issuedAt;
    uint40 lastFilledAt;
}

/// @dev A member's controlled-substance registration (like a DEA registration), issued by a regulator.
/// issuer == 0 means "none".
/// @param issuer the regulator organisation that issued it
/// @param schedules bitmask over Schedule of the schedules it covers (only II to V may be set)
/// @param issuedAt when it was issued
/// @param expiresAt first second it is no longer valid
/// @param revokedAt when the issuer revoked it (0: not revoked)
/// @param registrationHash commitment to the off-chain registration credential
struct ControlledRegistration {
    OrganisationId issuer;
    uint8 schedules;
    uint40 issuedAt;
    uint40 expiresAt;
    uint40 revokedAt;
    bytes32 registrationHash;
}
