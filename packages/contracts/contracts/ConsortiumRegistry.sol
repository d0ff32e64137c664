// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IBesuAccountPermissioning, IBesuNodePermissioning} from "./interfaces/IBesuPermissioning.sol";
import {IConsortiumRegistry} from "./interfaces/IConsortiumRegistry.sol";
import {
    Licence,
    Member,
    MemberRole,
    Organisation,
    OrganisationId,
    OrganisationKind,
    OrganisationStatus
} from "./types/Types.sol";

/// @title ConsortiumRegistry
/// @notice Who belongs to the consortium: organisations (admitted and suspended by governance), the node
/// accounts and node keys (enodes) that act for them, their members, and the licences regulators issue to
/// members. It also answers Besu's on-chain account and node permissioning calls from that membership.
/// @dev GOVERNOR_ROLE is held by an admin account at first; hand it to a TimelockController (grantRole, then
/// renounceRole) when the consortium adopts a Governor. Organisation profiles are public consortium data;
/// nothing here concerns patients.
contract ConsortiumRegistry is IConsortiumRegistry, AccessControl {
    /// @notice The role that admits, suspends and reinstates organisations and manages their nodes.
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");

    bytes32 private constant CONNECTION_ALLOWED = bytes32(type(uint256).max);
    bytes32 private constant CONNECTION_DENIED = bytes32(type(uint256).max >> 1);

    uint32 private _organisationCount;
    mapping(OrganisationId => Organisation) private _organisations;
    mapping(address account => OrganisationId) private _nodeAccounts;
    mapping(bytes32 enodeKey => OrganisationId) private _enodes;
    mapping(address account => Member) private _members;
    mapping(address member => Licence) private _licences;

    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNOR_ROLE
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAccount();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Admits an organisation; it starts active, with no node accounts or members.
    /// @param kind what the organisation is
    /// @param endpoint base URL of its node
    /// @param keyBundleHash commitment to its public key bundle
    /// @param keyBundleUri where to fetch the key bundle
    /// @return id the new organisation's id
    function admitOrganisation(
        OrganisationKind kind,
        string calldata endpoint,
        bytes32 keyBundleHash,
        string calldata keyBundleUri
    ) external onlyRole(GOVERNOR_ROLE) returns (OrganisationId id) {
        id = OrganisationId.wrap(++_organisationCount);
        _organisations[id] = Organisation({
            kind: kind,
            status: OrganisationStatus.Active,
            keyBundleHash: keyBundleHash,
            endpoint: endpoint,
            keyBundleUri: keyBundleUri
        });
        emit OrganisationAdmitted(id, kind, endpoint, keyBundleHash, keyBundleUri);
    }

    /// @notice Suspends an organisation: its node accounts and members stop being accepted everywhere.
    /// @param id the organisation
    /// @param reasonHash commitment to the governance decision
    function suspendOrganisation(OrganisationId id, bytes32 reasonHash) external onlyRole(GOVERNOR_ROLE) {
        Organisation storage org = _existing(id);
        if (org.status != OrganisationStatus.Active) revert OrganisationNotActive(id);
        org.status = OrganisationStatus.Suspended;
        emit OrganisationSuspended(id, reasonHash);
    }

    /// @notice Lifts a suspension.
    /// @param id the organisation
    function reinstateOrganisation(OrganisationId id) external onlyRole(GOVERNOR_ROLE) {
        Organisation storage org = _existing(id);
        if (org.status != OrganisationStatus.Suspended) revert OrganisationNotSuspended(id);
        org.status = OrganisationStatus.Active;
        emit OrganisationReinstated(id);
    }

    /// @notice Lets an account transact and anchor for an organisation.
    /// @param id the organisation
    /// @param account the node's account
    function addNodeAccount(OrganisationId id, address account) external onlyRole(GOVERNOR_ROLE) {
        _existing(id);
        _requireFreshAccount(account);
        _nodeAccounts[account] = id;
        emit NodeAccountAdded(id, account);
    }

    /// @notice Removes a node account.
    /// @param account the node's account
    function removeNodeAccount(address account) external onlyRole(GOVERNOR_ROLE) {
        OrganisationId id = _nodeAccounts[account];
        if (OrganisationId.unwrap(id) == 0) revert UnknownNodeAccount(account);
        _nodeAccounts[account] = OrganisationId.wrap(0);
        emit NodeAccountRemoved(id, account);
    }

    /// @notice Lets a node, by its enode public key, join the network.
    /// @param id the organisation running the node
    /// @param enodeHigh first 32 bytes of the node's public key
    /// @param enodeLow last 32 bytes of the node's public key
    function addNodeEnode(OrganisationId id, bytes32 enodeHigh, bytes32 enodeLow) external onlyRole(GOVERNOR_ROLE) {
        _existing(id);
        bytes32 key = _enodeKey(enodeHigh, enodeLow);
        if (OrganisationId.unwrap(_enodes[key]) != 0) revert EnodeAlreadyRegistered(enodeHigh, enodeLow);
        _enodes[key] = id;
        emit NodeEnodeAdded(id, enodeHigh, enodeLow);
    }

    /// @notice Removes a node from the network.
    /// @param enodeHigh first 32 bytes of the node's public key
    /// @param enodeLow last 32 bytes of the node's public key
    function removeNodeEnode(bytes32 enodeHigh, bytes32 enodeLow) external onlyRole(GOVERNOR_ROLE) {
        bytes32 key = _enodeKey(enodeHigh, enodeLow);
        OrganisationId id = _enodes[key];
        if (OrganisationId.unwrap(id) == 0) revert UnknownEnode(enodeHigh, enodeLow);
        _enodes[key] = OrganisationId.wrap(0);
        emit NodeEnodeRemoved(id, enodeHigh, enodeLow);
    }

    // ---------------------------------------------------------------- organisations (their node accounts)

    /// @notice Updates the caller's organisation's endpoint and key bundle.
    /// @param endpoint base URL of the node
    /// @param keyBundleHash commitment to the new public key bundle
    /// @param keyBundleUri where to fetch it
    function updateOrganisationProfile(
        string calldata endpoint,
        bytes32 keyBundleHash,
        string calldata keyBundleUri
    ) external {
        OrganisationId id = requireActiveNodeAccount(msg.sender);
        Organisation storage org = _organisations[id];
        org.endpoint = endpoint;
        org.keyBundleHash = keyBundleHash;
        org.keyBundleUri = keyBundleUri;
        emit OrganisationProfileUpdated(id, endpoint, keyBundleHash, keyBundleUri);
    }

    /// @notice Registers a member of the caller's organisation.
    /// @param account the member's account
    /// @param role the member's role
    function registerMember(address account, MemberRole role) external {
        OrganisationId id = requireActiveNodeAccount(msg.sender);
        _requireFreshAccount(account);
        _members[account] = Member({organisation: id, role: role});
        emit MemberRegistered(id, account, role);
    }

    /// @notice Removes a member; callable by a node account of the member's (active) organisation or by
    /// governance.
    /// @param account the member's account
    function removeMember(address account) external {
        OrganisationId id = _members[account].organisation;
        if (OrganisationId.unwrap(id) == 0) revert UnknownMember(account);
        if (!hasRole(GOVERNOR_ROLE, msg.sender)) {
            OrganisationId callerOrg = requireActiveNodeAccount(msg.sender);
            if (OrganisationId.unwrap(callerOrg) != OrganisationId.unwrap(id)) revert NotNodeAccountOf(id, msg.sender);
        }
        delete _members[account];
        emit MemberRemoved(id, account);
    }

    // ---------------------------------------------------------------- licences (regulators' node accounts)

    /// @notice Issues or renews a member's licence. The caller must be a node account of an active regulator.
    /// @param member the member's account
    /// @param credentialHash commitment to the signed off-chain credential
    /// @param expiresAt first second the licence is no longer valid
    function issueLicence(address member, bytes32 credentialHash, uint40 expiresAt) external {
        OrganisationId issuer = requireActiveNodeAccount(msg.sender);
        if (_organisations[issuer].kind != OrganisationKind.Regulator) revert NotRegulator(issuer);
        if (OrganisationId.unwrap(_members[member].organisation) == 0) revert UnknownMember(member);
        if (expiresAt <= block.timestamp) revert InvalidLicenceExpiry(expiresAt);
        _licences[member] = Licence({
            issuer: issuer,
            issuedAt: uint40(block.timestamp),
            expiresAt: expiresAt,
            revokedAt: 0,
            credentialHash: credentialHash
        });
        emit LicenceIssued(member, issuer, credentialHash, expiresAt);
    }

    /// @notice Revokes a licence. The caller must be a node account of the (active) issuing organisation.
    /// @param member the licence holder's account
    function revokeLicence(address member) external {
        OrganisationId caller = requireActiveNodeAccount(msg.sender);
        Licence storage licence = _licences[member];
        OrganisationId issuer = licence.issuer;
        if (OrganisationId.unwrap(issuer) == 0) revert UnknownLicence(member);
        if (OrganisationId.unwrap(issuer) != OrganisationId.unwrap(caller)) revert NotLicenceIssuer(member, issuer);
        if (licence.revokedAt != 0) revert LicenceAlreadyRevoked(member);
        licence.revokedAt = uint40(block.timestamp);
        emit LicenceRevoked(member, issuer);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IConsortiumRegistry
    function requireActiveNodeAccount(address account) public view returns (OrganisationId id) {
        id = _nodeAccounts[account];
        if (OrganisationId.unwrap(id) == 0) revert NotActiveNodeAccount(account);
        if (_organisations[id].status != OrganisationStatus.Active) revert OrganisationNotActive(id);
    }

    /// @notice The organisation an account is a node account of (0 when none), whatever its status.
    /// @param account the account
    /// @return id the organisation
    function nodeAccountOrganisation(address account) external view returns (OrganisationId id) {
        return _nodeAccounts[account];
    }

    /// @notice The organisation a node key belongs to (0 when none), whatever its status.
    /// @param enodeHigh first 32 bytes of the node's public key
    /// @param enodeLow last 32 bytes of the node's public key
    /// @return id the organisation
    function enodeOrganisation(bytes32 enodeHigh, bytes32 enodeLow) external view returns (OrganisationId id) {
        return _enodes[_enodeKey(enodeHigh, enodeLow)];
    }

    /// @inheritdoc IConsortiumRegistry
    function memberOf(address account) external view returns (Member memory member, bool active) {
        member = _members[account];
        active = _isActive(member.organisation);
    }

    /// @inheritdoc IConsortiumRegistry
    function hasValidLicence(address member, uint40 at) external view returns (bool valid) {
        Licence storage licence = _licences[member];
        if (OrganisationId.unwrap(_members[member].organisation) == 0) return false;
        if (OrganisationId.unwrap(licence.issuer) == 0) return false;
        if (at < licence.issuedAt || at >= licence.expiresAt) return false;
        uint40 revokedAt = licence.revokedAt;
        return revokedAt == 0 || at < revokedAt;
    }

    /// @inheritdoc IConsortiumRegistry
    function licenceOf(address member) external view returns (Licence memory licence) {
        return _licences[member];
    }

    /// @inheritdoc IConsortiumRegistry
    function isOrganisationActive(OrganisationId id) external view returns (bool active) {
        return _isActive(id);
    }

    /// @inheritdoc IConsortiumRegistry
    function organisation(OrganisationId id) external view returns (Organisation memory profile) {
        return _existing(id);
    }

    /// @notice The number of organisations ever admitted; ids run from 1 to this number.
    /// @return count the number of organisations
    function organisationCount() external view returns (uint32 count) {
        return _organisationCount;
    }

    // ---------------------------------------------------------------- Besu permissioning

    /// @inheritdoc IBesuAccountPermissioning
    /// @dev Governance accounts may do anything, including deploying contracts. Node accounts and members of
    /// active organisations may call contracts and transfer value. Everyone else, patients included, relies on
    /// a member node to relay their signed messages.
    function transactionAllowed(
        address sender,
        address target,
        uint256,
        uint256,
        uint256,
        bytes calldata
    ) external view returns (bool allowed) {
        if (hasRole(GOVERNOR_ROLE, sender) || hasRole(DEFAULT_ADMIN_ROLE, sender)) return true;
        if (target == address(0)) return false;
        return _isActive(_nodeAccounts[sender]) || _isActive(_members[sender].organisation);
    }

    /// @inheritdoc IBesuNodePermissioning
    /// @dev Only the public keys count: RLPx authenticates them, while addresses and ports change with
    /// deployments and say nothing about who runs a node.
    function connectionAllowed(
        bytes32 sourceEnodeHigh,
        bytes32 sourceEnodeLow,
        bytes16,
        uint16,
        bytes32 destinationEnodeHigh,
        bytes32 destinationEnodeLow,
        bytes16,
        uint16
    ) external view returns (bytes32 verdict) {
        if (nodeAllowed(sourceEnodeHigh, sourceEnodeLow) && nodeAllowed(destinationEnodeHigh, destinationEnodeLow))
            return CONNECTION_ALLOWED;
        return CONNECTION_DENIED;
    }

    /// @inheritdoc IBesuNodePermissioning
    /// @dev A malformed enode id is answered with false, never a revert (Besu treats a revert as a failure).
    function connectionAllowed(string calldata enodeId, string calldata, uint16) external view returns (bool allowed) {
        (bool ok, bytes32 high, bytes32 low) = _parseEnodeId(bytes(enodeId));
        return ok && nodeAllowed(high, low);
    }

    /// @notice Whether a node key belongs to an active organisation.
    /// @param enodeHigh first 32 bytes of the node's public key
    /// @param enodeLow last 32 bytes of the node's public key
    /// @return allowed true when the node may take part in the network
    function nodeAllowed(bytes32 enodeHigh, bytes32 enodeLow) public view returns (bool allowed) {
        return _isActive(_enodes[_enodeKey(enodeHigh, enodeLow)]);
    }

    // ---------------------------------------------------------------- internals

    function _existing(OrganisationId id) private view returns (Organisation storage org) {
        org = _organisations[id];
        if (org.status == OrganisationStatus.None) revert UnknownOrganisation(id);
    }

    function _isActive(OrganisationId id) private view returns (bool) {
        return _organisations[id].status == OrganisationStatus.Active;
    }

    function _requireFreshAccount(address account) private view {
        if (account == address(0)) revert ZeroAccount();
        if (
            OrganisationId.unwrap(_nodeAccounts[account]) != 0 ||
            OrganisationId.unwrap(_members[account].organisation) != 0
        ) revert AccountAlreadyRegistered(account);
    }

    function _enodeKey(bytes32 enodeHigh, bytes32 enodeLow) private pure returns (bytes32 key) {
        return keccak256(abi.encode(enodeHigh, enodeLow));
    }

    /// @dev Parses 128 hex digits (either case, optional 0x) into the two halves of a public key.
    function _parseEnodeId(bytes memory text) private pure returns (bool ok, bytes32 high, bytes32 low) {
        uint256 offset = text.length == 130 && text[0] == "0" && (text[1] == "x" || text[1] == "X") ? 2 : 0;
        if (text.length - offset != 128) return (false, 0, 0);
        uint256 h;
        uint256 l;
        for (uint256 i = 0; i < 128; ++i) {
            uint8 c = uint8(text[offset + i]);
            uint256 nibble;
            if (c >= 48 && c <= 57) nibble = c - 48;
            else if (c >= 97 && c <= 102) nibble = c - 87;
            else if (c >= 65 && c <= 70) nibble = c - 55;
            else return (false, 0, 0);
            if (i < 64) h = (h << 4) | nibble;
            else l = (l << 4) | nibble;
        }
        return (true, bytes32(h), bytes32(l));
    }
}
