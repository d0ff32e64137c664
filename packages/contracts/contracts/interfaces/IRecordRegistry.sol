// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OrganisationId} from "../types/Types.sol";

/// @title Record anchors
/// @notice Errors and events of RecordRegistry.
interface IRecordRegistry {
    /// @notice A root or record commitment must not be zero.
    error ZeroCommitment();
    /// @notice A batch holds at least one record.
    error EmptyBatch();

    /// @notice An organisation's node anchored the Merkle root of a batch of record commitments.
    /// @param organisation the anchoring organisation
    /// @param root Merkle root over the batch's record commitments
    /// @param sequence position of this anchor among all anchors of the contract, from 1
    /// @param batchSize number of leaves under the root
    /// @param signatureDigest hash of the node's composite signature over the root
    /// @param head the anchor chain head after this anchor
    event BatchAnchored(
        OrganisationId indexed organisation,
        bytes32 indexed root,
        uint64 sequence,
        uint32 batchSize,
        bytes32 signatureDigest,
        bytes32 head
    );
    /// @notice An organisation's node anchored a single record commitment.
    /// @param organisation the anchoring organisation
    /// @param recordCommitment the record's commitment
    /// @param sequence position of this anchor among all anchors of the contract, from 1
    /// @param signatureDigest hash of the node's composite signature over the commitment
    /// @param head the anchor chain head after this anchor
    event RecordAnchored(
        OrganisationId indexed organisation,
        bytes32 indexed recordCommitment,
        uint64 sequence,
        bytes32 signatureDigest,
        bytes32 head
    );
}
