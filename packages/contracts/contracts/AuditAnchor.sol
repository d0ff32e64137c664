// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAuditAnchor} from "./interfaces/IAuditAnchor.sol";
import {IConsortiumRegistry} from "./interfaces/IConsortiumRegistry.sol";
import {OrganisationId} from "./types/Types.sol";

/// @title AuditAnchor
/// @notice Checkpoints of organisations' append-only audit logs. Each (organisation, log) keeps its latest
/// checkpoint; tree sizes only grow, so a log cannot be anchored shorter than before. Consistency between
/// checkpoints is proved off-chain (RFC 9162) from the CheckpointAnchored events.
/// @dev A log's first checkpoint writes two fresh slots; every later one rewrites them.
contract AuditAnchor is IAuditAnchor {
    struct Checkpoint {
        bytes32 root;
        uint64 treeSize;
        uint40 anchoredAt;
    }

    IConsortiumRegistry private immutable _registry;

    mapping(bytes32 logKey => Checkpoint) private _checkpoints;

    /// @param registry the consortium registry
    constructor(IConsortiumRegistry registry) {
        _registry = registry;
    }

    /// @notice Anchors a checkpoint of one of the caller's organisation's logs. Caller: a node account of an
    /// active organisation.
    /// @param logId the log
    /// @param treeSize number of entries, greater than at the last checkpoint
    /// @param root the Merkle tree head
    function anchorCheckpoint(bytes32 logId, uint64 treeSize, bytes32 root) external {
        OrganisationId organisation = _registry.requireActiveNodeAccount(msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        Checkpoint storage checkpoint = _checkpoints[_logKey(organisation, logId)];
        uint64 previous = checkpoint.treeSize;
        if (treeSize <= previous) revert TreeSizeNotIncreasing(logId, previous, treeSize);
        checkpoint.root = root;
        checkpoint.treeSize = treeSize;
        checkpoint.anchoredAt = uint40(block.timestamp);
        emit CheckpointAnchored(organisation, logId, treeSize, root);
    }

    /// @notice The latest checkpoint of a log (all zero when none).
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
        return (checkpoint.treeSize, checkpoint.root, checkpoint.anchoredAt);
    }

    function _logKey(OrganisationId organisation, bytes32 logId) private pure returns (bytes32) {
        return keccak256(abi.encode(organisation, logId));
    }
}
