// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortiumRegistry} from "./interfaces/IConsortiumRegistry.sol";
import {IRecordRegistry} from "./interfaces/IRecordRegistry.sol";
import {OrganisationId} from "./types/Types.sol";

/// @title RecordRegistry
/// @notice Anchors of record commitments: Merkle roots over batches, or single commitments. A record
/// commitment is a hash the node computes over (record id, version, CID, patient pseudonym, author,
/// previous-version hash) with a salt; none of those fields reach the chain.
/// @dev Anchors live in events. The contract keeps one word: the head of a hash chain over every anchor, so a
/// verifier replaying the events from any RPC can tell when one was left out or altered. This keeps an anchor
/// to a single warm storage write whatever the batch size.
contract RecordRegistry is IRecordRegistry {
    uint8 private constant KIND_BATCH = 1;
    uint8 private constant KIND_RECORD = 2;

    IConsortiumRegistry private immutable _registry;

    /// @dev bits 0-191 of the chain head, bits 192-255 the number of anchors. Initialised non-zero so that
    /// every anchor rewrites a used slot.
    uint256 private _chain;

    /// @param registry the consortium registry
    constructor(IConsortiumRegistry registry) {
        _registry = registry;
        _chain = uint256(keccak256("medledger.record-anchors.v1")) >> 64;
    }

    /// @notice Anchors the Merkle root of a batch of record commitments. Caller: a node account of an active
    /// organisation.
    /// @param root Merkle root over the batch's record commitments
    /// @param batchSize number of leaves
    /// @param signatureDigest hash of the node's composite signature over the root
    function anchorBatch(bytes32 root, uint32 batchSize, bytes32 signatureDigest) external {
        OrganisationId organisation = _registry.requireActiveNodeAccount(msg.sender);
        if (root == bytes32(0)) revert ZeroCommitment();
        if (batchSize == 0) revert EmptyBatch();
        (uint64 sequence, bytes32 head) = _advance(
            abi.encode(KIND_BATCH, organisation, root, batchSize, signatureDigest, block.timestamp)
        );
        emit BatchAnchored(organisation, root, sequence, batchSize, signatureDigest, head);
    }

    /// @notice Anchors a single record commitment. Caller: a node account of an active organisation.
    /// @param recordCommitment the record's commitment
    /// @param signatureDigest hash of the node's composite signature over the commitment
    function anchorRecord(bytes32 recordCommitment, bytes32 signatureDigest) external {
        OrganisationId organisation = _registry.requireActiveNodeAccount(msg.sender);
        if (recordCommitment == bytes32(0)) revert ZeroCommitment();
        (uint64 sequence, bytes32 head) = _advance(
            abi.encode(KIND_RECORD, organisation, recordCommitment, signatureDigest, block.timestamp)
        );
        emit RecordAnchored(organisation, recordCommitment, sequence, signatureDigest, head);
    }

    /// @notice The anchor chain: its head and how many anchors it covers.
    /// @return head the current head (192 bits, right-aligned)
    /// @return count the number of anchors so far
    function anchorChain() external view returns (bytes32 head, uint64 count) {
        uint256 chain = _chain;
        return (bytes32(chain & type(uint192).max), uint64(chain >> 192));
    }

    /// @dev head' = keccak256(head ‖ anchor) truncated to 192 bits; 192 bits keep the count in the same word
    /// and still leave 96-bit collision resistance for an adversary who would need a second preimage anyway.
    function _advance(bytes memory anchor) private returns (uint64 sequence, bytes32 head) {
        uint256 chain = _chain;
        sequence = uint64(chain >> 192) + 1;
        head = bytes32(uint256(keccak256(abi.encodePacked(bytes24(uint192(chain)), anchor))) >> 64);
        _chain = (uint256(sequence) << 192) | uint256(head);
    }
}
