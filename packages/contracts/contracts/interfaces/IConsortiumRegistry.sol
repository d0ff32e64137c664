// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Licence, Member, MemberRole, Organisation, OrganisationId, OrganisationKind} from "../types/Types.sol";
import {IBesuAccountPermissioning, IBesuNodePermissioning} from "./IBesuPermissioning.sol";

/// @title Consortium membership: organisations, their nodes and members, licences
/// @notice Errors and events of ConsortiumRegistry, and the views other medledger contracts call.
interface IConsortiumRegistry is IBesuAccountPermissioning, IBesuNodePermissioning {
    /// @notice The organisation id was never admitted.
    error UnknownOrganisation(OrganisationId organisation);
    /// @notice The organisation is suspended.
    error OrganisationNotActive(OrganisationId organisation);
    /// @notice The organisation is not suspended, so it cannot be reinstated.
    error OrganisationNotSuspended(OrganisationId organisation);
    /// @notice The caller is not a node account of an active organisation.
    error NotActiveNodeAccount(address account);
    /// @notice The caller is not a node account of the organisation it acts on.
    error NotNodeAccountOf(OrganisationId organisation, address account);
    /// @notice The account is already a node account or a member.
    error AccountAlreadyRegistered(address account);
    /// @notice The zero address cannot be registered.
    error ZeroAccount();
    /// @notice The account is not a node account.
    error UnknownNodeAccount(address account);
    /// @notice The account is not a member.
    error UnknownMember(address account);
    /// @notice Only regulator organisations issue licences.
    error NotRegulator(OrganisationId organisation);
    /// @notice A licence must expire in the future.
    error InvalidLicenceExpiry(uint40 expiresAt);
    /// @notice The member holds no licence.
    error UnknownLicence(address member);
    /// @notice Only the issuing organisation may revoke a licence.
    error NotLicenceIssuer(address member, OrganisationId issuer);
    /// @notice The licence was already revoked.
    error LicenceAlreadyRevoked(address member);
    /// @notice The enode is already registered.
    error EnodeAlreadyRegistered(bytes32 enodeHigh, bytes32 enodeLow);
    /// @notice The enode is not registered.
    error UnknownEnode(bytes32 enodeHigh, bytes32 enodeLow);

    /// @notice A new organisation joined the consortium.
    event OrganisationAdmitted(
        OrganisationId indexed organisation,
        OrganisationKind kind,
        string endpoint,
        bytes32 keyBundleHash,
        string keyBundleUri
    );
    /// @notice An organisation changed its endpoint or published a new key bundle.
    event OrganisationProfileUpdated(
        OrganisationId indexed organisation,
        string endpoint,
        bytes32 keyBundleHash,
        string keyBundleUri
    );
    /// @notice Governance suspended an organisation; its nodes, members and anchors stop being accepted.
    event OrganisationSuspended(OrganisationId indexed organisation, bytes32 reasonHash);
    /// @notice Governance lifted a suspension.
    event OrganisationReinstated(OrganisationId indexed organisation);
    /// @notice An account may now transact and anchor for the organisation.
    event NodeAccountAdded(OrganisationId indexed organisation, address indexed account);
    /// @notice An account no longer acts for the organisation.
    event NodeAccountRemoved(OrganisationId indexed organisation, address indexed account);
    /// @notice A node (by its enode public key) may now join the network.
    event NodeEnodeAdded(OrganisationId indexed organisation, bytes32 enodeHigh, bytes32 enodeLow);
    /// @notice A node may no longer join the network.
    event NodeEnodeRemoved(OrganisationId indexed organisation, bytes32 enodeHigh, bytes32 enodeLow);
    /// @notice An organisation registered a member.
    event MemberRegistered(OrganisationId indexed organisation, address indexed account, MemberRole role);
    /// @notice A member was removed.
    event MemberRemoved(OrganisationId indexed organisation, address indexed account);
    /// @notice A regulator issued (or renewed) a member's licence.
    event LicenceIssued(
        address indexed member,
        OrganisationId indexed issuer,
        bytes32 credentialHash,
        uint40 expiresAt
    );
    /// @notice The issuing regulator revoked a licence.
    event LicenceRevoked(address indexed member, OrganisationId indexed issuer);

    /// @notice The organisation an account acts for as a node, reverting unless that organisation is active.
    /// @param account the account to check
    /// @return organisation the account's organisation
    function requireActiveNodeAccount(address account) external view returns (OrganisationId organisation);

    /// @notice A member's organisation and role, and whether that organisation is active.
    /// @param account the member's account
    /// @return member organisation (0 when not a member) and role
    /// @return active whether the member's organisation is active
    function memberOf(address account) external view returns (Member memory member, bool active);

    /// @notice Whether a member held a valid licence at a given time.
    /// @param member the member's account
    /// @param at the time to check (unix time)
    /// @return valid true when issued before `at`, not yet expired and not revoked at `at`, and the holder is
    /// still a member
    function hasValidLicence(address member, uint40 at) external view returns (bool valid);

    /// @notice Whether an organisation is admitted and not suspended.
    /// @param organisation the organisation to check
    /// @return active true when active
    function isOrganisationActive(OrganisationId organisation) external view returns (bool active);

    /// @notice An organisation's profile.
    /// @param id the organisation
    /// @return profile the organisation's kind, status, key bundle commitment, endpoint and key bundle location
    function organisation(OrganisationId id) external view returns (Organisation memory profile);

    /// @notice A member's licence (issuer 0 when none).
    /// @param member the member's account
    /// @return licence the licence record
    function licenceOf(address member) external view returns (Licence memory licence);
}
