// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OrganisationId} from "../types/Types.sol";

/// @title Audit-log checkpoint anchors
/// @notice Errors and events of AuditAnchor.
interface IAuditAnchor {
    /// @notice The caller's organisation already opened a log with this id.
    error AuditLogAlreadyOpen(bytes32 logId);
    /// @notice The caller's organisation has not opened a log with this id.
    error AuditLogNotOpen(bytes32 logId);
    /// @notice A checkpoint must cover more entries than the last one of the same log.
    error TreeSizeNotIncreasing(bytes32 logId, uint64 previousTreeSize, uint64 treeSize);
    /// @notice A checkpoint root must not be zero.
    error ZeroRoot();

    /// @notice An organisation's node opened one of its audit logs for checkpoints.
    /// @param organisation the log's organisation
    /// @param logId the log, chosen by the organisation
    event AuditLogOpened(OrganisationId indexed organisation, bytes32 indexed logId);

    /// @notice An organisation's node anchored a checkpoint (RFC 9162 tree size and root) of one of its logs.
    /// @param organisation the log's organisation
    /// @param logId the log, chosen by the organisation
    /// @param treeSize number of entries the root covers
    /// @param root the Merkle tree head
    event CheckpointAnchored(OrganisationId indexed organisation, bytes32 indexed logId, uint64 treeSize, bytes32 root);
}
