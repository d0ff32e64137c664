// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAuditAnchor} from "./interfaces/IAuditAnchor.sol";
import {IConsortiumRegistry} from "./interfaces/IConsortiumRegistry.sol";
import {OrganisationId} from "./types/Types.sol";

/// @title AuditAnchor
/// @notice Checkpoints of organisations' append-only audit logs. An organisation opens a log once, then
/// anchors checkpoints of it; each (organisation, log) keeps its latest checkpoint, and tree sizes only grow,
/// so a log cannot be anchored shorter than before. Consistency between checkpoints is proved off-chain
/// (RFC 9162) from the CheckpointAnchored events.
/// @dev Opening a log writes both of its slots non-zero (the root slot holds a sentinel until the first
/// checkpoint; the other keeps the opening time for good), so every checkpoint, the first included, rewrites
/// two used slots instead of creating them. A log cannot be opened twice, so its tree size never resets.
contract AuditAnchor is IAuditAnchor {
    /// @dev Held in the root slot of an opened log before its first checkpoint. Never read back as a root:
    /// a log's root counts only once its tree size is non-zero.
    bytes32 private constant NO_ROOT_YET = bytes32(uint256(1));

    struct Checkpoint {
        bytes32 root;
        uint64 treeSize;
        uint40 anchoredAt;
        uint40 openedAt;
    }

    IConsortiumRegistry private immutable _registry;

    mapping(bytes32 logKey => Checkpoint) private _checkpoints;

    /// @param registry the consortium registry
    constructor(IConsortiumRegistry registry) {
        _registry = registry;
    }

    /// @notice Opens one of the caller's organisation's logs for checkpoints, once per log. Caller: a node
    /// account of an active organisation.
    /// @param logId the log, chosen by the organisation
    function openLog(bytes32 logId) external {
        OrganisationId organisation = _registry.requireActiveNodeAccount(msg.sender);
        Checkpoint storage checkpoint = _checkpoints[_logKey(organisation, logId)];
        if (checkpoint.openedAt != 0) revert AuditLogAlreadyOpen(logId);
        checkpoint.root = NO_ROOT_YET;
        checkpoint.openedAt = uint40(block.timestamp);
        emit AuditLogOpened(organisation, logId);
    }

    /// @notice Anchors a checkpoint of one of the caller's organisation's open logs. Caller: a node account of
    /// an active organisation.
    /// @param logId the log, opened with openLog
    /// @param treeSize number of entries, greater than at the last checkpoint
    /// @param root the Merkle tree head
    function anchorCheckpoint(bytes32 logId, uint64 treeSize, bytes32 root) external {
        OrganisationId organisation = _registry.requireActiveNodeAccount(msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        Checkpoint storage checkpoint = _checkpoints[_logKey(organisation, logId)];
        if (checkpoint.openedAt == 0) revert AuditLogNotOpen(logId);
        uint64 previous = checkpoint.treeSize;
        if (treeSize <= previous) revert TreeSizeNotIncreasing(logId, previous, treeSize);
        checkpoint.root = root;
        checkpoint.treeSize = treeSize;
        checkpoint.anchoredAt = uint40(block.timestamp);
        emit CheckpointAnchored(organisation, logId, treeSize, root);
    }

    /// @notice The latest checkpoint of a log (all zero when it has none, opened or not).
    /// @param organisation the log's organisation
    /// @param logId the log
    /// @return treeSize number of entries covered
    /// @return root the Merkle tree head
    /// @return anchoredAt when it was anchored
    function latestCheckpoint(
        OrganisationId organisation,
        bytes32 logId
    ) external view returns (uint64 treeSize, bytes32 root, uint40 anchoredAt) {
        Checkpoint storage checkpoint = _checkpoints[_logKey(organisation, logId)];
        treeSize = checkpoint.treeSize;
        if (treeSize == 0) return (0, bytes32(0), 0);
        return (treeSize, checkpoint.root, checkpoint.anchoredAt);
    }

    /// @notice When a log was opened (0 when it was not).
    /// @param organisation the log's organisation
    /// @param logId the log
    /// @return openedAt the opening block's timestamp
    function logOpenedAt(OrganisationId organisation, bytes32 logId) external view returns (uint40 openedAt) {
        return _checkpoints[_logKey(organisation, logId)].openedAt;
    }

    function _logKey(OrganisationId organisation, bytes32 logId) private pure returns (bytes32) {
        return keccak256(abi.encode(organisation, logId));
    }
}
