// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

// Hyperledger Besu's on-chain permissioning calls, with the exact selectors Besu's controllers encode
// (TransactionSmartContractPermissioningController, NodeSmartContractPermissioningController for
// --permissions-nodes-contract-version=1 and NodeSmartContractV2PermissioningController for version 2).
// Besu simulates these calls at the chain head; a revert is treated as an error, so implementations answer
// false rather than revert.

/// @title Besu account permissioning
interface IBesuAccountPermissioning {
    /// @notice Whether Besu may accept a transaction into a block.
    /// @param sender the transaction's signer
    /// @param target the transaction's recipient, or address(0) for a contract creation
    /// @param value wei transferred
    /// @param gasPrice gas price offered
    /// @param gasLimit gas limit of the transaction
    /// @param payload the transaction's input data
    /// @return allowed true when the sender may transact
    function transactionAllowed(
        address sender,
        address target,
        uint256 value,
        uint256 gasPrice,
        uint256 gasLimit,
        bytes calldata payload
    ) external view returns (bool allowed);
}

/// @title Besu node permissioning, contract interface versions 1 and 2
interface IBesuNodePermissioning {
    /// @notice Version 1 (EEA client spec v5): whether two nodes may connect. An enode id is the node's 64-byte
    /// secp256k1 public key, split into high and low halves.
    /// @param sourceEnodeHigh first 32 bytes of the source node's public key
    /// @param sourceEnodeLow last 32 bytes of the source node's public key
    /// @param sourceEnodeIp source IP (IPv4 mapped into IPv6)
    /// @param sourceEnodePort source listening port
    /// @param destinationEnodeHigh first 32 bytes of the destination node's public key
    /// @param destinationEnodeLow last 32 bytes of the destination node's public key
    /// @param destinationEnodeIp destination IP (IPv4 mapped into IPv6)
    /// @param destinationEnodePort destination listening port
    /// @return verdict all ones when allowed, 0x7fff...ff when not (the values Besu's v1 controller expects)
    function connectionAllowed(
        bytes32 sourceEnodeHigh,
        bytes32 sourceEnodeLow,
        bytes16 sourceEnodeIp,
        uint16 sourceEnodePort,
        bytes32 destinationEnodeHigh,
        bytes32 destinationEnodeLow,
        bytes16 destinationEnodeIp,
        uint16 destinationEnodePort
    ) external view returns (bytes32 verdict);

    /// @notice Version 2 (EEA client spec v6): whether one node may take part in the network.
    /// @param enodeId the node's public key as 128 hex digits, without 0x
    /// @param enodeHost the node's IP address or host name
    /// @param enodePort the node's listening port
    /// @return allowed true when the node may connect
    function connectionAllowed(
        string calldata enodeId,
        string calldata enodeHost,
        uint16 enodePort
    ) external view returns (bool allowed);
}
