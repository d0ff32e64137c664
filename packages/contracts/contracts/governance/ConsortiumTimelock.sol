// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title ConsortiumTimelock
/// @notice The consortium's governance in production: OpenZeppelin's TimelockController, self-administered.
/// Its proposers (typically a Safe multisig of the member organisations) schedule calls to the registry and the
/// consent manager; after `minDelay` seconds its executors carry them out. Every member sees a decision on-chain
/// before it takes effect, and no single key can admit, suspend or change parameters alone.
/// @dev No extra admin: the timelock administers itself (changing its delay or its proposers is itself a
/// timelocked operation). `medledger consortium hand-over` grants it the roles and renounces the deployer's.
contract ConsortiumTimelock is TimelockController {
    /// @param minDelay seconds between scheduling and executing an operation
    /// @param proposers accounts that may schedule (and cancel) operations
    /// @param executors accounts that may execute ready operations (address(0): anyone)
    constructor(
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors
    ) TimelockController(minDelay, proposers, executors, address(0)) {}
}
