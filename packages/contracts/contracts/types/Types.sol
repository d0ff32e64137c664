// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ConsentPeriod, ConsentScope} from "./ConsentTerms.sol";

// Value types and enums shared by the medledger consortium contracts. Enum order is ABI: appending is safe,
// reordering or removing changes meaning on-chain and in every node's cache.

/// @dev Sequential organisation number assigned at admission, starting at 1 (0 means "none").
type OrganisationId is uint32;

/// @dev A patient as the ledger knows them: a hash of the patient's signing address (see
/// ConsentManager.pseudonymOf). It never encodes a name, a record number or any other identifier.
type PatientPseudonym is bytes32;

/// @dev EIP-712 struct hash of a Consent: the commitment the ledger keeps for a grant.
type ConsentId is bytes32;

/// @dev The kinds of organisation a consortium admits.
enum OrganisationKind {
    Hospital,
    Clinic,
    Lab,
    Pharmacy,
    Insurer,
    Research,
    Regulator
}

/// @dev None marks an id that was never admitted.
enum OrganisationStatus {
    None,
    Active,
    Suspended
}

/// @dev The roles a member (a person acting for an organisation) may hold.
enum MemberRole {
    Practitioner,
    LabStaff,
    Pharmacist,
    ClaimAgent,
    Researcher,
    Auditor
}

/// @dev FHIR Consent.provision.action, as bit positions of Consent.actions.
enum Action {
    Read,
    Write
}

/// @dev FHIR resource classes a consent may cover, as bit positions of Consent.resourceClasses.
enum ResourceClass {
    Demographics,
    Encounters,
    Conditions,
    Observations,
    Medications,
    Immunisations,
    Allergies,
    Procedures,
    Imaging,
    Documents,
    Claims,
    Devices
}

/// @dev FHIR purpose of use (v3 PurposeOfUse: TREAT, HPAYMT, HOPERAT, HRESCH, ETREAT), as bit positions of
/// Consent.purposes.
enum Purpose {
    Treatment,
    Payment,
    Operations,
    Research,
    Emergency
}

/// @dev A patient's grant. The patient signs the unpacked fields as EIP-712 typed data (see ConsentManager's
/// CONSENT_TYPEHASH), and that struct hash is the grant's ConsentId. Only the id and the grant's state are
/// stored; the terms travel in calldata and in the ConsentGranted event.
struct Consent {
    PatientPseudonym patient;
    ConsentScope scope;
    ConsentPeriod period;
}

/// @dev The question asked of ConsentManager.isPermitted.
/// @param organisation the organisation asking for access
/// @param member the member acting for it, or address(0) for the organisation's node itself
/// @param action the action requested
/// @param resourceClass the class of the data requested
/// @param purpose the purpose of use claimed
/// @param at the time of access (unix time)
/// @param dataTime the clinical date of the data requested (unix time)
struct AccessRequest {
    OrganisationId organisation;
    address member;
    Action action;
    ResourceClass resourceClass;
    Purpose purpose;
    uint40 at;
    uint40 dataTime;
}

/// @dev Public profile of an organisation.
/// @param kind what the organisation is
/// @param status Active or Suspended (None: never admitted)
/// @param keyBundleHash commitment (SHA-256 or keccak-256, per the node software) to the public key bundle
/// @param endpoint base URL of the organisation's node
/// @param keyBundleUri where to fetch the key bundle committed to by keyBundleHash
struct Organisation {
    OrganisationKind kind;
    OrganisationStatus status;
    bytes32 keyBundleHash;
    string endpoint;
    string keyBundleUri;
}

/// @dev A member of an organisation. organisation == 0 means "not a member".
struct Member {
    OrganisationId organisation;
    MemberRole role;
}

/// @dev A professional licence issued by a regulator organisation. issuer == 0 means "no licence".
/// @param issuer the regulator organisation that issued it
/// @param issuedAt when it was issued
/// @param expiresAt first second it is no longer valid
/// @param revokedAt when the issuer revoked it (0: not revoked)
/// @param credentialHash commitment to the signed off-chain credential
struct Licence {
    OrganisationId issuer;
    uint40 issuedAt;
    uint40 expiresAt;
    uint40 revokedAt;
    bytes32 credentialHash;
}

/// @dev An emergency access session.
/// @param patient whose data is accessed
/// @param member the licensed member who opened it
/// @param openedAt when it was opened
/// @param expiresAt first second it is no longer active (set to the end time if ended early)
/// @param reviewed whether an auditor has closed its review
struct BreakGlass {
    PatientPseudonym patient;
    address member;
    uint40 openedAt;
    uint40 expiresAt;
    bool reviewed;
}
