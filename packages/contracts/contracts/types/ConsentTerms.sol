// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OrganisationId} from "./Types.sol";

// The two packed words of a consent grant and their field accessors, bound with `using ... global` so that
// `consent.scope.grantee()` reads naturally wherever the types are imported.

/// @dev Who a grant is for and what it covers, packed into one word (calldata and event data are paid per byte):
/// bits 0-31 grantee OrganisationId; 32-191 granteeMember (address(0): any member of the grantee); 192-199
/// actions (bitmask over Action); 200-215 resourceClasses (bitmask over ResourceClass); 216-223 purposes
/// (bitmask over Purpose); 224-255 zero. See the accessors below.
type ConsentScope is uint256;

/// @dev When a grant applies, packed into one word: bits 0-39 validFrom (first second of use); 40-79
/// validUntil (first second it may no longer be used); 80-119 dataFrom (earliest clinical date covered, 0: no
/// bound); 120-159 dataUntil (latest clinical date covered, 0: no bound); 160-223 nonce (chosen by the patient's
/// app so identical terms can be granted again after a revocation); 224-255 zero. See the accessors below.
type ConsentPeriod is uint256;

using {grantee, granteeMember, actions, resourceClasses, purposes, scopeIsCanonical} for ConsentScope global;
using {validFrom, validUntil, dataFrom, dataUntil, nonce, periodIsCanonical} for ConsentPeriod global;

function grantee(ConsentScope scope) pure returns (OrganisationId) {
    return OrganisationId.wrap(uint32(ConsentScope.unwrap(scope)));
}

function granteeMember(ConsentScope scope) pure returns (address) {
    return address(uint160(ConsentScope.unwrap(scope) >> 32));
}

function actions(ConsentScope scope) pure returns (uint8) {
    return uint8(ConsentScope.unwrap(scope) >> 192);
}

function resourceClasses(ConsentScope scope) pure returns (uint16) {
    return uint16(ConsentScope.unwrap(scope) >> 200);
}

function purposes(ConsentScope scope) pure returns (uint8) {
    return uint8(ConsentScope.unwrap(scope) >> 216);
}

/// @dev The unused top bits must be zero, so that one set of terms has exactly one packed form.
function scopeIsCanonical(ConsentScope scope) pure returns (bool) {
    return ConsentScope.unwrap(scope) >> 224 == 0;
}

function validFrom(ConsentPeriod period) pure returns (uint40) {
    return uint40(ConsentPeriod.unwrap(period));
}

function validUntil(ConsentPeriod period) pure returns (uint40) {
    return uint40(ConsentPeriod.unwrap(period) >> 40);
}

function dataFrom(ConsentPeriod period) pure returns (uint40) {
    return uint40(ConsentPeriod.unwrap(period) >> 80);
}

function dataUntil(ConsentPeriod period) pure returns (uint40) {
    return uint40(ConsentPeriod.unwrap(period) >> 120);
}

function nonce(ConsentPeriod period) pure returns (uint64) {
    return uint64(ConsentPeriod.unwrap(period) >> 160);
}

/// @dev The unused top bits must be zero, so that one set of terms has exactly one packed form.
function periodIsCanonical(ConsentPeriod period) pure returns (bool) {
    return ConsentPeriod.unwrap(period) >> 224 == 0;
}
