import { isMdlError, MdlErrorCode } from '@medledger/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from './bytes.js';
import { sha256 } from './hash.js';
import {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  MERKLE_HASH_LENGTH,
  MerkleTree,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from './rfc9162.js';

const hex = (hashes: readonly Uint8Array[]): string[] => hashes.map(bytesToHex);

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isMdlError(err) ? err.code : `not an MdlError: ${String(err)}`;
  }
  return undefined;
}

function flipBit(h: Uint8Array, bit = 0): Uint8Array {
  const out = h.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

/**
 * The reference tree of Certificate Transparency (RFC 6962 hashing, identical to RFC 9162 §2.1 with SHA-256):
 * transparency-dev/merkle testonly/constants.go (LeafInputs, NodeHashes, RootHashes) at commit
 * 417fb0c314750d94e53942e9f92e79b6d35915db.
 */
const LEAF_INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(hexToBytes);

// NODE_HASHES[level][index]: hashes of every complete subtree of the 8-leaf tree.
const NODE_HASHES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  [
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];

// ROOT_HASHES[n]: the root of the tree of the first n leaves (n = 0 is the empty tree).
const ROOT_HASHES = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/**
 * Known proofs in that tree: transparency-dev/merkle proof/verify_test.go (`inclusionProofs`, whose leaf numbers
 * are 1-based, and `consistencyProofs`) at commit 022f84cb1f2655a4399874cfa190c3f1d60b32a8.
 */
const INCLUSION_VECTORS: { leaf: number; size: number; proof: string[] }[] = [
  {
    leaf: 1,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    leaf: 2,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  { leaf: 1, size: 1, proof: [] },
];

const CONSISTENCY_VECTORS: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

/**
 * The verification probes of transparency-dev/merkle: every JSON file under testdata/inclusion/ and
 * testdata/consistency/ at commit 417fb0c314750d94e53942e9f92e79b6d35915db (happy paths plus mutated leaf
 * indices, sizes, roots and proofs, each with its expected verdict). Transcribed mechanically: base64 → hex, each
 * distinct hash stored once in PROBE_HASHES (some "hashes" are deliberately not 32 bytes long), a null proof as [].
 */
type InclusionProbe = [string, number, number, number, number, number[], boolean];
type ConsistencyProbe = [string, number, number, number, number, number[], boolean];

const PROBE_HASHES = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '',
  'abacaba000000000000000000000000000000000000000000060061e00123456',
  '57726f6e674c656166',
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
  '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  '9ea296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '57083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
  '6347aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  'b41a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  'c2854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  'db7ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'f2c54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '66340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  '0d3aed023148ffd2a259fbd0cdc7fb3cf975658760d3775b82af6f90aacc2dfc',
  '86a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '4f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
  '7b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  '57726f6e67526f6f74',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
  '1ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
  'da854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  'c37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  'ac1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  'a08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  '646f6e277420636172652032',
  '646f6e277420636172652031',
];

// [file under testdata/inclusion/, leafIdx, treeSize, leafHash, root, proof, wantErr]; hashes index PROBE_HASHES.
const INCLUSION_PROBES: InclusionProbe[] = [
  ['0/empty-root.json', 0, 1, 0, 1, [], true],
  ['0/happy-path.json', 0, 1, 0, 0, [], false],
  ['0/leafIdx-XOR-@2.json', 2, 1, 0, 0, [], true],
  ['0/leafIdx-plus-@1.json', 1, 1, 0, 0, [], true],
  ['0/leafIdx-sub-@1.json', 18446744073709552000, 1, 0, 0, [], true],
  ['0/preceding-garbage.json', 0, 1, 0, 0, [2], true],
  ['0/preceding-root.json', 0, 1, 0, 0, [0], true],
  ['0/random-root.json', 0, 1, 0, 3, [], true],
  ['0/trailing-garbage.json', 0, 1, 0, 0, [2], true],
  ['0/trailing-root.json', 0, 1, 0, 0, [0], true],
  ['0/treeSize-div-@2.json', 0, 0, 0, 0, [], true],
  ['0/treeSize-mul-@2.json', 0, 2, 0, 0, [], true],
  ['0/wrong-leaf.json', 0, 1, 4, 0, [], true],
  ['1/empty-root.json', 0, 8, 0, 1, [5, 6, 7], true],
  ['1/happy-path.json', 0, 8, 0, 8, [5, 6, 7], false],
  ['1/inserted-component.json', 0, 8, 0, 8, [5, 3, 6, 7], true],
  ['1/leafIdx-XOR-@2.json', 2, 8, 0, 8, [5, 6, 7], true],
  ['1/leafIdx-plus-@1.json', 1, 8, 0, 8, [5, 6, 7], true],
  ['1/leafIdx-sub-@1.json', 18446744073709552000, 8, 0, 8, [5, 6, 7], true],
  ['1/modified-proof[0]-bit-@3.json', 0, 8, 0, 8, [9, 6, 7], true],
  ['1/modified-proof[1]-bit-@3.json', 0, 8, 0, 8, [5, 10, 7], true],
  ['1/modified-proof[2]-bit-@3.json', 0, 8, 0, 8, [5, 6, 11], true],
  ['1/preceding-garbage.json', 0, 8, 0, 8, [2, 5, 6, 7], true],
  ['1/preceding-root.json', 0, 8, 0, 8, [8, 5, 6, 7], true],
  ['1/random-root.json', 0, 8, 0, 3, [5, 6, 7], true],
  ['1/removed-component.json', 0, 8, 0, 8, [5, 6], true],
  ['1/trailing-garbage.json', 0, 8, 0, 8, [5, 6, 7, 2], true],
  ['1/trailing-root.json', 0, 8, 0, 8, [5, 6, 7, 8], true],
  ['1/treeSize-div-@2.json', 0, 4, 0, 8, [5, 6, 7], true],
  ['1/treeSize-mul-@2.json', 0, 16, 0, 8, [5, 6, 7], true],
  ['1/wrong-leaf.json', 0, 8, 4, 8, [5, 6, 7], true],
  ['2/empty-root.json', 5, 8, 12, 1, [13, 14, 15], true],
  ['2/happy-path.json', 5, 8, 12, 8, [13, 14, 15], false],
  ['2/inserted-component.json', 5, 8, 12, 8, [13, 3, 14, 15], true],
  ['2/leafIdx-XOR-@2.json', 7, 8, 12, 8, [13, 14, 15], true],
  ['2/leafIdx-plus-@1.json', 6, 8, 12, 8, [13, 14, 15], true],
  ['2/leafIdx-sub-@1.json', 4, 8, 12, 8, [13, 14, 15], true],
  ['2/modified-proof[0]-bit-@3.json', 5, 8, 12, 8, [16, 14, 15], true],
  ['2/modified-proof[1]-bit-@3.json', 5, 8, 12, 8, [13, 17, 15], true],
  ['2/modified-proof[2]-bit-@3.json', 5, 8, 12, 8, [13, 14, 18], true],
  ['2/preceding-garbage.json', 5, 8, 12, 8, [2, 13, 14, 15], true],
  ['2/preceding-root.json', 5, 8, 12, 8, [8, 13, 14, 15], true],
  ['2/random-root.json', 5, 8, 12, 3, [13, 14, 15], true],
  ['2/removed-component.json', 5, 8, 12, 8, [13, 14], true],
  ['2/trailing-garbage.json', 5, 8, 12, 8, [13, 14, 15, 2], true],
  ['2/trailing-root.json', 5, 8, 12, 8, [13, 14, 15, 8], true],
  ['2/treeSize-div-@2.json', 5, 4, 12, 8, [13, 14, 15], true],
  ['2/treeSize-mul-@2.json', 5, 16, 12, 8, [13, 14, 15], true],
  ['2/wrong-leaf.json', 5, 8, 4, 8, [13, 14, 15], true],
  ['3/empty-root.json', 2, 3, 19, 1, [20], true],
  ['3/happy-path.json', 2, 3, 19, 21, [20], false],
  ['3/leafIdx-XOR-@2.json', 0, 3, 19, 21, [20], true],
  ['3/leafIdx-plus-@1.json', 3, 3, 19, 21, [20], true],
  ['3/leafIdx-sub-@1.json', 1, 3, 19, 21, [20], true],
  ['3/modified-proof[0]-bit-@3.json', 2, 3, 19, 21, [22], true],
  ['3/preceding-garbage.json', 2, 3, 19, 21, [2, 20], true],
  ['3/preceding-root.json', 2, 3, 19, 21, [21, 20], true],
  ['3/random-root.json', 2, 3, 19, 3, [20], true],
  ['3/removed-component.json', 2, 3, 19, 21, [], true],
  ['3/trailing-garbage.json', 2, 3, 19, 21, [20, 2], true],
  ['3/trailing-root.json', 2, 3, 19, 21, [20, 21], true],
  ['3/treeSize-div-@2.json', 2, 1, 19, 21, [20], true],
  ['3/treeSize-mul-@2.json', 2, 6, 19, 21, [20], true],
  ['3/wrong-leaf.json', 2, 3, 4, 21, [20], true],
  ['4/empty-root.json', 1, 5, 5, 1, [0, 6, 13], true],
  ['4/happy-path.json', 1, 5, 5, 23, [0, 6, 13], false],
  ['4/inserted-component.json', 1, 5, 5, 23, [0, 3, 6, 13], true],
  ['4/leafIdx-XOR-@2.json', 3, 5, 5, 23, [0, 6, 13], true],
  ['4/leafIdx-plus-@1.json', 2, 5, 5, 23, [0, 6, 13], true],
  ['4/leafIdx-sub-@1.json', 0, 5, 5, 23, [0, 6, 13], true],
  ['4/modified-proof[0]-bit-@3.json', 1, 5, 5, 23, [24, 6, 13], true],
  ['4/modified-proof[1]-bit-@3.json', 1, 5, 5, 23, [0, 10, 13], true],
  ['4/modified-proof[2]-bit-@3.json', 1, 5, 5, 23, [0, 6, 16], true],
  ['4/preceding-garbage.json', 1, 5, 5, 23, [2, 0, 6, 13], true],
  ['4/preceding-root.json', 1, 5, 5, 23, [23, 0, 6, 13], true],
  ['4/random-root.json', 1, 5, 5, 3, [0, 6, 13], true],
  ['4/removed-component.json', 1, 5, 5, 23, [0, 6], true],
  ['4/trailing-garbage.json', 1, 5, 5, 23, [0, 6, 13, 2], true],
  ['4/trailing-root.json', 1, 5, 5, 23, [0, 6, 13, 23], true],
  ['4/treeSize-div-@2.json', 1, 2, 5, 23, [0, 6, 13], true],
  ['4/treeSize-mul-@2.json', 1, 10, 5, 23, [0, 6, 13], true],
  ['4/wrong-leaf.json', 1, 5, 4, 23, [0, 6, 13], true],
  ['additional/0/empty-root-and-random-leaf.json', 0, 0, 3, 1, [], true],
  ['additional/0/empty-root.json', 0, 0, 2, 1, [], true],
  ['additional/0/random-leaf.json', 0, 0, 3, 2, [], true],
  ['additional/1/empty-root-and-random-leaf.json', 0, 1, 3, 1, [], true],
  ['additional/1/empty-root.json', 0, 1, 2, 1, [], true],
  ['additional/1/random-leaf.json', 0, 1, 3, 2, [], true],
  ['additional/2/empty-root-and-random-leaf.json', 1, 0, 3, 1, [], true],
  ['additional/2/empty-root.json', 1, 0, 2, 1, [], true],
  ['additional/2/random-leaf.json', 1, 0, 3, 2, [], true],
  ['additional/3/empty-root-and-random-leaf.json', 2, 1, 3, 1, [], true],
  ['additional/3/empty-root.json', 2, 1, 2, 1, [], true],
  ['additional/3/random-leaf.json', 2, 1, 3, 2, [], true],
  ['single-entry/empty-leaf.json', 0, 1, 2, 25, [], true],
  ['single-entry/empty-root-and-leaf.json', 0, 1, 2, 2, [], true],
  ['single-entry/empty-root.json', 0, 1, 25, 2, [], true],
  ['single-entry/matching-root-and-leaf.json', 0, 1, 25, 25, [], false],
];

// [file under testdata/consistency/, size1, size2, root1, root2, proof, wantErr]; hashes index PROBE_HASHES.
const CONSISTENCY_PROBES: ConsistencyProbe[] = [
  ['0/happy-path.json', 1, 1, 0, 0, [], false],
  ['1/empty-proof.json', 1, 8, 0, 8, [], true],
  ['1/happy-path.json', 1, 8, 0, 8, [5, 6, 7], false],
  ['1/modified-proof@0-bit-@4.json', 1, 8, 0, 8, [26, 6, 7], true],
  ['1/modified-proof@1-bit-@4.json', 1, 8, 0, 8, [5, 27, 7], true],
  ['1/modified-proof@2-bit-@4.json', 1, 8, 0, 8, [5, 6, 28], true],
  ['1/preceding-garbage.json', 1, 8, 0, 8, [2, 5, 6, 7], true],
  ['1/preceding-proof-@0.json', 1, 8, 0, 8, [5, 5, 6, 7], true],
  ['1/preceding-root1.json', 1, 8, 0, 8, [0, 5, 6, 7], true],
  ['1/preceding-root2.json', 1, 8, 0, 8, [8, 5, 6, 7], true],
  ['1/size1-XOR-@2.json', 3, 8, 0, 8, [5, 6, 7], true],
  ['1/size1-plus-@1.json', 2, 8, 0, 8, [5, 6, 7], true],
  ['1/size1-sub-@1.json', 0, 8, 0, 8, [5, 6, 7], true],
  ['1/size2-div-@2.json', 1, 4, 0, 8, [5, 6, 7], true],
  ['1/size2-mul-@2.json', 1, 16, 0, 8, [5, 6, 7], true],
  ['1/swapped-roots.json', 1, 8, 8, 0, [5, 6, 7], true],
  ['1/trailing-garbage.json', 1, 8, 0, 8, [5, 6, 7, 2], true],
  ['1/trailing-root1.json', 1, 8, 0, 8, [5, 6, 7, 0], true],
  ['1/trailing-root2.json', 1, 8, 0, 8, [5, 6, 7, 8], true],
  ['1/truncated-proof.json', 1, 8, 0, 8, [5, 6], true],
  ['1/wrong-root1.json', 1, 8, 29, 8, [5, 6, 7], true],
  ['1/wrong-root2.json', 1, 8, 0, 29, [5, 6, 7], true],
  ['2/empty-proof.json', 6, 8, 30, 8, [], true],
  ['2/happy-path.json', 6, 8, 30, 8, [31, 14, 15], false],
  ['2/modified-proof@0-bit-@4.json', 6, 8, 30, 8, [32, 14, 15], true],
  ['2/modified-proof@1-bit-@4.json', 6, 8, 30, 8, [31, 33, 15], true],
  ['2/modified-proof@2-bit-@4.json', 6, 8, 30, 8, [31, 14, 34], true],
  ['2/preceding-garbage.json', 6, 8, 30, 8, [2, 31, 14, 15], true],
  ['2/preceding-proof-@0.json', 6, 8, 30, 8, [31, 31, 14, 15], true],
  ['2/preceding-root1.json', 6, 8, 30, 8, [30, 31, 14, 15], true],
  ['2/preceding-root2.json', 6, 8, 30, 8, [8, 31, 14, 15], true],
  ['2/size1-XOR-@2.json', 4, 8, 30, 8, [31, 14, 15], true],
  ['2/size1-plus-@1.json', 7, 8, 30, 8, [31, 14, 15], true],
  ['2/size1-sub-@1.json', 5, 8, 30, 8, [31, 14, 15], true],
  ['2/size2-div-@2.json', 6, 4, 30, 8, [31, 14, 15], true],
  ['2/size2-mul-@2.json', 6, 16, 30, 8, [31, 14, 15], true],
  ['2/swapped-roots.json', 6, 8, 8, 30, [31, 14, 15], true],
  ['2/trailing-garbage.json', 6, 8, 30, 8, [31, 14, 15, 2], true],
  ['2/trailing-root1.json', 6, 8, 30, 8, [31, 14, 15, 30], true],
  ['2/trailing-root2.json', 6, 8, 30, 8, [31, 14, 15, 8], true],
  ['2/truncated-proof.json', 6, 8, 30, 8, [31, 14], true],
  ['2/wrong-root1.json', 6, 8, 29, 8, [31, 14, 15], true],
  ['2/wrong-root2.json', 6, 8, 30, 29, [31, 14, 15], true],
  ['3/empty-proof.json', 2, 5, 20, 23, [], true],
  ['3/happy-path.json', 2, 5, 20, 23, [6, 13], false],
  ['3/modified-proof@0-bit-@4.json', 2, 5, 20, 23, [27, 13], true],
  ['3/modified-proof@1-bit-@4.json', 2, 5, 20, 23, [6, 35], true],
  ['3/preceding-garbage.json', 2, 5, 20, 23, [2, 6, 13], true],
  ['3/preceding-proof-@0.json', 2, 5, 20, 23, [6, 6, 13], true],
  ['3/preceding-root1.json', 2, 5, 20, 23, [20, 6, 13], true],
  ['3/preceding-root2.json', 2, 5, 20, 23, [23, 6, 13], true],
  ['3/size1-XOR-@2.json', 0, 5, 20, 23, [6, 13], true],
  ['3/size1-plus-@1.json', 3, 5, 20, 23, [6, 13], true],
  ['3/size1-sub-@1.json', 1, 5, 20, 23, [6, 13], true],
  ['3/size2-div-@2.json', 2, 2, 20, 23, [6, 13], true],
  ['3/size2-mul-@2.json', 2, 10, 20, 23, [6, 13], true],
  ['3/swapped-roots.json', 2, 5, 23, 20, [6, 13], true],
  ['3/trailing-garbage.json', 2, 5, 20, 23, [6, 13, 2], true],
  ['3/trailing-root1.json', 2, 5, 20, 23, [6, 13, 20], true],
  ['3/trailing-root2.json', 2, 5, 20, 23, [6, 13, 23], true],
  ['3/truncated-proof.json', 2, 5, 20, 23, [6], true],
  ['3/wrong-root1.json', 2, 5, 29, 23, [6, 13], true],
  ['3/wrong-root2.json', 2, 5, 20, 29, [6, 13], true],
  ['4/empty-proof.json', 6, 7, 30, 36, [], true],
  ['4/happy-path.json', 6, 7, 30, 36, [31, 37, 15], false],
  ['4/modified-proof@0-bit-@4.json', 6, 7, 30, 36, [32, 37, 15], true],
  ['4/modified-proof@1-bit-@4.json', 6, 7, 30, 36, [31, 38, 15], true],
  ['4/modified-proof@2-bit-@4.json', 6, 7, 30, 36, [31, 37, 34], true],
  ['4/preceding-garbage.json', 6, 7, 30, 36, [2, 31, 37, 15], true],
  ['4/preceding-proof-@0.json', 6, 7, 30, 36, [31, 31, 37, 15], true],
  ['4/preceding-root1.json', 6, 7, 30, 36, [30, 31, 37, 15], true],
  ['4/preceding-root2.json', 6, 7, 30, 36, [36, 31, 37, 15], true],
  ['4/size1-XOR-@2.json', 4, 7, 30, 36, [31, 37, 15], true],
  ['4/size1-plus-@1.json', 7, 7, 30, 36, [31, 37, 15], true],
  ['4/size1-sub-@1.json', 5, 7, 30, 36, [31, 37, 15], true],
  ['4/size2-div-@2.json', 6, 3, 30, 36, [31, 37, 15], true],
  ['4/size2-mul-@2.json', 6, 14, 30, 36, [31, 37, 15], true],
  ['4/swapped-roots.json', 6, 7, 36, 30, [31, 37, 15], true],
  ['4/trailing-garbage.json', 6, 7, 30, 36, [31, 37, 15, 2], true],
  ['4/trailing-root1.json', 6, 7, 30, 36, [31, 37, 15, 30], true],
  ['4/trailing-root2.json', 6, 7, 30, 36, [31, 37, 15, 36], true],
  ['4/truncated-proof.json', 6, 7, 30, 36, [31, 37], true],
  ['4/wrong-root1.json', 6, 7, 29, 36, [31, 37, 15], true],
  ['4/wrong-root2.json', 6, 7, 30, 29, [31, 37, 15], true],
  ['additional/consistency-check-on-empty-tree-size1-is-zero-is-useless.json', 0, 1, 1, 1, [1], true],
  ['additional/roots-do-not-match-and-sizes-are-zero.json', 0, 0, 1, 39, [], true],
  ['additional/roots-do-not-not-match-and-sizes-are-one.json', 1, 1, 1, 39, [], true],
  ['additional/size1-is-greater-than-size2-again.json', 2, 1, 40, 39, [], true],
  ['additional/size1-is-greater-than-size2.json', 1, 0, 40, 39, [], true],
  ['additional/size1-is-zero-and-does-not-equal-size2.json', 0, 1, 40, 39, [], true],
  ['additional/size1-is-zero-and-size2-is-not-zero.json', 0, 1, 1, 39, [], true],
  ['additional/sizes-are-equal-one-and-proof-is-empty.json', 1, 1, 39, 39, [], false],
  ['additional/sizes-are-equal-one-but-roots-are-not.json', 1, 1, 40, 39, [], true],
  ['additional/sizes-are-equal-zero-and-proof-is-empty.json', 0, 0, 40, 40, [], true],
  ['additional/sizes-are-equal-zero-but-roots-are-not.json', 0, 0, 40, 39, [], true],
  ['additional/sizes-do-not-watch-and-proof-is-empty.json', 1, 2, 40, 39, [], true],
  ['additional/sizes-match-but-proof-is-not-empty-and-sizes-are-one.json', 1, 1, 1, 1, [1], true],
  ['additional/sizes-match-but-proof-is-not-empty-and-sizes-are-zero.json', 0, 0, 1, 1, [1], true],
];

const probeHash = (i: number): Uint8Array => hexToBytes(PROBE_HASHES[i] as string);

const LEAF_HASHES = LEAF_INPUTS.map(leafHash);

describe('reference tree (transparency-dev testonly/constants.go)', () => {
  it('leaf and node hashes of every complete subtree', () => {
    expect(hex(LEAF_HASHES)).toEqual(NODE_HASHES[0]);
    for (let level = 1; level < NODE_HASHES.length; level++) {
      const below = (NODE_HASHES[level - 1] as string[]).map(hexToBytes);
      const expected = NODE_HASHES[level] as string[];
      expected.forEach((h, i) => {
        expect(bytesToHex(nodeHash(below[2 * i] as Uint8Array, below[2 * i + 1] as Uint8Array))).toBe(h);
      });
    }
  });

  it('roots of every size 0..8, by definition, by appending, and historically', () => {
    const tree = new MerkleTree();
    expect(bytesToHex(tree.root())).toBe(ROOT_HASHES[0]);
    expect(bytesToHex(emptyRoot())).toBe(ROOT_HASHES[0]);
    expect(bytesToHex(emptyRoot())).toBe(bytesToHex(sha256(new Uint8Array())));
    for (let n = 1; n <= 8; n++) {
      expect(tree.append(LEAF_INPUTS[n - 1] as Uint8Array)).toBe(n - 1);
      expect(tree.size).toBe(n);
      expect(bytesToHex(tree.root())).toBe(ROOT_HASHES[n]);
    }
    for (let n = 0; n <= 8; n++) {
      expect(bytesToHex(rootFromLeafHashes(LEAF_HASHES.slice(0, n)))).toBe(ROOT_HASHES[n]);
      expect(bytesToHex(tree.root(n))).toBe(ROOT_HASHES[n]);
      expect(bytesToHex(MerkleTree.fromLeafHashes(LEAF_HASHES.slice(0, n)).root())).toBe(ROOT_HASHES[n]);
    }
  });

  it.each(INCLUSION_VECTORS)(
    'inclusion proof of leaf $leaf (1-based) in a tree of $size',
    ({ leaf, size, proof }) => {
      const tree = MerkleTree.fromLeafHashes(LEAF_HASHES);
      const index = leaf - 1;
      expect(hex(tree.inclusionProof(index, size))).toEqual(proof);
      expect(hex(inclusionProof(LEAF_HASHES, index, size))).toEqual(proof);
      const root = hexToBytes(ROOT_HASHES[size] as string);
      expect(
        verifyInclusion(LEAF_HASHES[index] as Uint8Array, index, size, proof.map(hexToBytes), root),
      ).toBe(true);
    },
  );

  it.each(CONSISTENCY_VECTORS)('consistency proof $size1 → $size2', ({ size1, size2, proof }) => {
    const tree = MerkleTree.fromLeafHashes(LEAF_HASHES);
    expect(hex(tree.consistencyProof(size1, size2))).toEqual(proof);
    expect(hex(consistencyProof(LEAF_HASHES, size1, size2))).toEqual(proof);
    const [root1, root2] = [ROOT_HASHES[size1], ROOT_HASHES[size2]].map((h) => hexToBytes(h as string));
    expect(
      verifyConsistency(size1, size2, root1 as Uint8Array, root2 as Uint8Array, proof.map(hexToBytes)),
    ).toBe(true);
  });
});

describe('transparency-dev verification probes (testdata/)', () => {
  it('the probe files were all transcribed', () => {
    expect(INCLUSION_PROBES).toHaveLength(98);
    expect(CONSISTENCY_PROBES).toHaveLength(98);
    expect(INCLUSION_PROBES.filter((p) => !p[6]).length).toBeGreaterThan(5);
    expect(CONSISTENCY_PROBES.filter((p) => !p[6]).length).toBeGreaterThan(5);
  });

  it.each(INCLUSION_PROBES)('inclusion %s', (_file, index, size, leaf, root, proof, wantErr) => {
    expect(verifyInclusion(probeHash(leaf), index, size, proof.map(probeHash), probeHash(root))).toBe(
      !wantErr,
    );
  });

  // One deliberate difference: transparency-dev accepts equal sizes with equal "roots" that are not hashes
  // ("don't care 2", 12 bytes); our verifiers refuse anything that is not a 32-byte hash.
  const STRICTER = new Set(['additional/sizes-are-equal-one-and-proof-is-empty.json']);

  it.each(CONSISTENCY_PROBES)('consistency %s', (file, size1, size2, root1, root2, proof, wantErr) => {
    const verdict = verifyConsistency(size1, size2, probeHash(root1), probeHash(root2), proof.map(probeHash));
    expect(verdict).toBe(!wantErr && !STRICTER.has(file));
  });
});

/** RFC 9162 §2.1.1 MTH, written out independently of the module, for the cross-checks below. */
function mth(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return sha256(new Uint8Array());
  if (hashes.length === 1) return hashes[0] as Uint8Array;
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return nodeHash(mth(hashes.slice(0, k)), mth(hashes.slice(k)));
}

function sampleOf(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const picks = new Set([0, 1, n - 2, n - 1, n >> 1]);
  for (let i = 1; picks.size < count; i++) picks.add((i * 7919) % n);
  return [...picks];
}

describe('generated proofs against the verifiers, sizes 1..300', () => {
  const MAX = 300;
  const leaves = Array.from({ length: MAX }, (_, i) => leafHash(Uint8Array.of(i & 0xff, i >> 8, 0x5a)));
  const tree = new MerkleTree();
  const roots: Uint8Array[] = [emptyRoot()];
  for (const l of leaves) {
    tree.appendLeafHash(l);
    roots.push(tree.root());
  }

  it('MerkleTree roots match the recursive definition at every size', () => {
    for (let n = 0; n <= MAX; n++) {
      expect(bytesToHex(roots[n] as Uint8Array)).toBe(bytesToHex(mth(leaves.slice(0, n))));
      expect(bytesToHex(tree.root(n))).toBe(bytesToHex(roots[n] as Uint8Array));
    }
    expect(bytesToHex(rootFromLeafHashes(leaves))).toBe(bytesToHex(tree.root()));
  });

  // Verdicts are collected and asserted once per test: tens of thousands of expect() calls would dominate the run.
  const same = (a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean =>
    hex(a).join() === hex(b).join();

  it('inclusion proofs verify, and any single alteration fails', () => {
    const wrong: string[] = [];
    const want = (got: boolean, expected: boolean, what: string): void => {
      if (got !== expected) wrong.push(what);
    };
    for (let size = 1; size <= MAX; size++) {
      const root = roots[size] as Uint8Array;
      for (const index of sampleOf(size, size <= 32 ? size : 5)) {
        const at = `size ${size} index ${index}`;
        const leaf = leaves[index] as Uint8Array;
        const proof = tree.inclusionProof(index, size);
        want(verifyInclusion(leaf, index, size, proof, root), true, `${at}: valid proof`);
        if (index === size >> 1 || (size <= 32 && index % 5 === 0)) {
          want(same(inclusionProof(leaves, index, size), proof), true, `${at}: array form differs`);
        }
        // Every proof element, the root and the leaf, each with one bit flipped.
        proof.forEach((_, i) => {
          const altered = proof.map((h, j) => (i === j ? flipBit(h, (i * 37 + index) % 256) : h));
          want(verifyInclusion(leaf, index, size, altered, root), false, `${at}: proof[${i}] altered`);
        });
        want(
          verifyInclusion(leaf, index, size, proof, flipBit(root, index % 256)),
          false,
          `${at}: root altered`,
        );
        want(
          verifyInclusion(flipBit(leaf, size % 256), index, size, proof, root),
          false,
          `${at}: leaf altered`,
        );
        // Other indices (same leaf and root) fail. A proof can be valid for several tree sizes, since the
        // verifier only sees the shape of the path; so another size must verify against that size's own root
        // exactly when the tree's proof for that size is the same list of hashes.
        for (const i of [index - 1, index + 1, index ^ 1, index ^ 2, size]) {
          if (i !== index) want(verifyInclusion(leaf, i, size, proof, root), false, `${at}: index ${i}`);
        }
        for (const s of [size - 1, size + 1, size * 2, size >> 1]) {
          if (s === size || s > MAX) continue;
          const expected = s > index && same(tree.inclusionProof(index, s), proof);
          want(verifyInclusion(leaf, index, s, proof, roots[s] as Uint8Array), expected, `${at}: size ${s}`);
        }
        want(verifyInclusion(leaf, index, 0, proof, root), false, `${at}: size 0`);
        // Truncated, extended, reordered proofs.
        if (proof.length > 0) {
          want(
            verifyInclusion(leaf, index, size, proof.slice(1), root),
            false,
            `${at}: first element dropped`,
          );
          want(
            verifyInclusion(leaf, index, size, proof.slice(0, -1), root),
            false,
            `${at}: last element dropped`,
          );
        }
        want(verifyInclusion(leaf, index, size, [...proof, root], root), false, `${at}: element appended`);
        want(verifyInclusion(leaf, index, size, [leaf, ...proof], root), false, `${at}: element prepended`);
        if (proof.length > 1) {
          want(verifyInclusion(leaf, index, size, [...proof].reverse(), root), false, `${at}: reversed`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('consistency proofs verify, and any single alteration fails', () => {
    const wrong: string[] = [];
    const want = (got: boolean, expected: boolean, what: string): void => {
      if (got !== expected) wrong.push(what);
    };
    for (let newSize = 1; newSize <= MAX; newSize++) {
      const newRoot = roots[newSize] as Uint8Array;
      for (const oldSize of sampleOf(newSize + 1, newSize <= 32 ? newSize + 1 : 5)) {
        const at = `${oldSize} -> ${newSize}`;
        const oldRoot = roots[oldSize] as Uint8Array;
        const proof = tree.consistencyProof(oldSize, newSize);
        want(verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof), true, `${at}: valid proof`);
        if (oldSize === newSize >> 1 || (newSize <= 32 && oldSize % 5 === 0)) {
          want(same(consistencyProof(leaves, oldSize, newSize), proof), true, `${at}: array form differs`);
        }
        proof.forEach((_, i) => {
          const altered = proof.map((h, j) => (i === j ? flipBit(h, (i * 41 + oldSize) % 256) : h));
          want(
            verifyConsistency(oldSize, newSize, oldRoot, newRoot, altered),
            false,
            `${at}: proof[${i}] altered`,
          );
        });
        want(
          verifyConsistency(oldSize, newSize, flipBit(oldRoot), newRoot, proof),
          false,
          `${at}: old root altered`,
        );
        // From size 0 every new root is consistent; otherwise a changed new root fails.
        want(
          verifyConsistency(oldSize, newSize, oldRoot, flipBit(newRoot, 255), proof),
          oldSize === 0,
          `${at}: new root altered`,
        );
        if (oldSize !== newSize) {
          want(verifyConsistency(oldSize, newSize, newRoot, oldRoot, proof), false, `${at}: roots swapped`);
          want(verifyConsistency(newSize, oldSize, oldRoot, newRoot, proof), false, `${at}: sizes swapped`);
        }
        // As for inclusion: other sizes verify (against their own roots) only where the proof is literally the same.
        for (const s of [oldSize - 1, oldSize + 1, oldSize * 2, oldSize >> 1]) {
          if (s === oldSize || s < 0 || s > newSize) continue;
          const expected = same(tree.consistencyProof(s, newSize), proof);
          want(
            verifyConsistency(s, newSize, roots[s] as Uint8Array, newRoot, proof),
            expected,
            `${at}: old size ${s}`,
          );
          if (s > 0 && !expected) {
            want(
              verifyConsistency(s, newSize, oldRoot, newRoot, proof),
              false,
              `${at}: old size ${s}, old root`,
            );
          }
        }
        for (const s of [newSize - 1, newSize + 1, newSize * 2]) {
          if (s === newSize || s < oldSize || s > MAX) continue;
          const expected = same(tree.consistencyProof(oldSize, s), proof);
          want(
            verifyConsistency(oldSize, s, oldRoot, roots[s] as Uint8Array, proof),
            expected,
            `${at}: new size ${s}`,
          );
        }
        if (proof.length > 0) {
          want(
            verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof.slice(1)),
            false,
            `${at}: first dropped`,
          );
          want(
            verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof.slice(0, -1)),
            false,
            `${at}: last dropped`,
          );
        }
        want(
          verifyConsistency(oldSize, newSize, oldRoot, newRoot, [...proof, newRoot]),
          false,
          `${at}: appended`,
        );
        if (proof.length > 1) {
          want(
            verifyConsistency(oldSize, newSize, oldRoot, newRoot, [...proof].reverse()),
            false,
            `${at}: reversed`,
          );
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a proof checked against the root of a neighbouring size fails', () => {
    let verified = 0;
    for (let size = 2; size <= 64; size++) {
      for (let index = 0; index < size - 1; index++) {
        const proof = tree.inclusionProof(index, size);
        if (
          verifyInclusion(leaves[index] as Uint8Array, index, size - 1, proof, roots[size - 1] as Uint8Array)
        ) {
          verified++;
        }
      }
    }
    expect(verified).toBe(0);
  });
});

/**
 * A tree of 2^40 + 2^33 + 5 identical leaves cannot be built, but all its subtree hashes follow from the leaf: the
 * complete subtree of 2^h leaves hashes to c[h] with c[h+1] = H(0x01 ‖ c[h] ‖ c[h]). This checks that sizes and
 * indices above 2^32 are handled without 32-bit truncation, with proofs built by a test-side RFC recursion.
 */
describe('sizes beyond 2^32', () => {
  const c: Uint8Array[] = [leafHash(Uint8Array.of(1))];
  for (let h = 1; h <= 53; h++) c.push(nodeHash(c[h - 1] as Uint8Array, c[h - 1] as Uint8Array));
  const subtree = (count: number): Uint8Array => {
    let k = 1;
    while (k < count) k *= 2;
    if (k === count) return c[Math.log2(count)] as Uint8Array;
    k /= 2;
    return nodeHash(c[Math.log2(k)] as Uint8Array, subtree(count - k));
  };
  const path = (m: number, n: number): Uint8Array[] => {
    if (n === 1) return [];
    let k = 1;
    while (k * 2 < n) k *= 2;
    return m < k ? [...path(m, k), subtree(n - k)] : [...path(m - k, n - k), subtree(k)];
  };
  const subproof = (m: number, n: number, whole: boolean): Uint8Array[] => {
    if (m === n) return whole ? [] : [subtree(m)];
    let k = 1;
    while (k * 2 < n) k *= 2;
    return m <= k
      ? [...subproof(m, k, whole), subtree(n - k)]
      : [...subproof(m - k, n - k, false), subtree(k)];
  };

  const size = 2 ** 40 + 2 ** 33 + 5;
  const root = subtree(size);

  it.each([0, 2 ** 32 - 1, 2 ** 32, 2 ** 33 + 7, 2 ** 40 - 1, 2 ** 40, size - 2, size - 1])(
    'inclusion of leaf %d',
    (index) => {
      const proof = path(index, size);
      expect(verifyInclusion(c[0] as Uint8Array, index, size, proof, root)).toBe(true);
      expect(verifyInclusion(c[0] as Uint8Array, index, size, proof, subtree(size - 1))).toBe(false);
      // A 32-bit truncation of index or size would show up as a wrong verdict for these neighbours.
      for (const other of [size + 2 ** 32, size - 2 ** 32, size + 1]) {
        const same = hex(path(index, other)).join() === hex(proof).join();
        expect(verifyInclusion(c[0] as Uint8Array, index, other, proof, subtree(other))).toBe(same);
      }
      expect(verifyInclusion(c[0] as Uint8Array, index + 2 ** 32, size, proof, root)).toBe(
        hex(path(index + 2 ** 32, size)).join() === hex(proof).join() && index + 2 ** 32 < size,
      );
    },
  );

  it.each([1, 3, 2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 40 + 1, size - 1])(
    'consistency from size %d',
    (oldSize) => {
      const proof = subproof(oldSize, size, true);
      expect(verifyConsistency(oldSize, size, subtree(oldSize), root, proof)).toBe(true);
      expect(verifyConsistency(oldSize + 2 ** 32, size, subtree(oldSize), root, proof)).toBe(false);
    },
  );

  it('refuses sizes beyond 2^53 - 1', () => {
    expect(verifyInclusion(c[0] as Uint8Array, 0, 2 ** 53, [], root)).toBe(false);
    expect(verifyConsistency(1, 2 ** 53, root, root, [root])).toBe(false);
  });
});

describe('verifiers return false on malformed input and never throw', () => {
  const leaf = LEAF_HASHES[0] as Uint8Array;
  const root8 = hexToBytes(ROOT_HASHES[8] as string);
  const proof = (INCLUSION_VECTORS[0] as { proof: string[] }).proof.map(hexToBytes);

  it('bad inclusion arguments', () => {
    expect(verifyInclusion(leaf, 0, 8, proof, root8)).toBe(true);
    const bad: [Uint8Array, number, number, Uint8Array[], Uint8Array][] = [
      [leaf.subarray(1), 0, 8, proof, root8],
      [leaf, 0, 8, proof, root8.subarray(1)],
      [leaf, 0, 8, [...proof.slice(0, 2), (proof[2] as Uint8Array).subarray(0, 31)], root8],
      [leaf, 0, 8, [...proof, new Uint8Array(0)], root8],
      [leaf, -1, 8, proof, root8],
      [leaf, 0.5, 8, proof, root8],
      [leaf, 8, 8, proof, root8],
      [leaf, 0, 0, [], emptyRoot()],
      [leaf, 0, Number.NaN, proof, root8],
      [leaf, 0, 8, Array.from({ length: 65 }, () => leaf), root8],
    ];
    for (const args of bad) expect(verifyInclusion(...args)).toBe(false);
  });

  it('bad consistency arguments, including the size-0 and equal-size rules', () => {
    const root4 = hexToBytes(ROOT_HASHES[4] as string);
    const empty = emptyRoot();
    expect(verifyConsistency(0, 0, empty, empty, [])).toBe(true);
    expect(verifyConsistency(0, 8, empty, root8, [])).toBe(true);
    expect(verifyConsistency(8, 8, root8, root8, [])).toBe(true);
    const bad: [number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
      [0, 0, empty, root8, []],
      [0, 0, root8, root8, []],
      [0, 8, root4, root8, []],
      [0, 8, empty, root8, [root8]],
      [8, 8, root8, root8, [root8]],
      [8, 8, root4, root8, []],
      [4, 8, root4, root8, []],
      [8, 4, root8, root4, [root4]],
      [-1, 8, empty, root8, []],
      [4, 8.5, root4, root8, [root4]],
      [4, 8, root4.subarray(1), root8, [root4]],
      [4, 8, root4, root8, Array.from({ length: 65 }, () => root4)],
    ];
    for (const args of bad) expect(verifyConsistency(...args)).toBe(false);
  });

  it('arbitrary junk', () => {
    fc.assert(
      fc.property(
        fc.anything(),
        fc.anything(),
        fc.anything(),
        fc.anything(),
        fc.anything(),
        (a, b, c, d, e) => {
          const f = verifyInclusion as (...args: unknown[]) => boolean;
          const g = verifyConsistency as (...args: unknown[]) => boolean;
          expect(f(a, b, c, d, e)).toBe(false);
          expect(g(a, b, c, d, e)).toBe(false);
          expect(f(leaf, 0, 8, [proof[0], a, proof[2]], root8)).toBe(false);
          expect(g(4, 8, a, root8, [b])).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('MerkleTree', () => {
  it('fromLeafHashes equals appending, also across buffer growth (5000 leaves)', () => {
    const leaves = Array.from({ length: 5000 }, (_, i) => leafHash(new TextEncoder().encode(`entry ${i}`)));
    const a = MerkleTree.fromLeafHashes(leaves);
    const b = new MerkleTree();
    for (const l of leaves) b.appendLeafHash(l);
    expect(a.size).toBe(5000);
    expect(bytesToHex(a.root())).toBe(bytesToHex(b.root()));
    expect(bytesToHex(a.root())).toBe(bytesToHex(mth(leaves)));
    for (const size of [1, 17, 1024, 1025, 4095, 4096, 4097, 5000]) {
      expect(bytesToHex(a.root(size))).toBe(bytesToHex(mth(leaves.slice(0, size))));
    }
    for (const i of [0, 1, 2047, 2048, 4095, 4096, 4999]) {
      expect(bytesToHex(a.leafHash(i))).toBe(bytesToHex(leaves[i] as Uint8Array));
      expect(verifyInclusion(leaves[i] as Uint8Array, i, 5000, a.inclusionProof(i), a.root())).toBe(true);
      expect(verifyConsistency(i + 1, 5000, a.root(i + 1), a.root(), a.consistencyProof(i + 1))).toBe(true);
    }
  });

  it('hands out copies and keeps its own', () => {
    const tree = new MerkleTree();
    const h = leafHash(Uint8Array.of(7));
    tree.appendLeafHash(h);
    h.fill(0);
    tree.leafHash(0).fill(0);
    tree.root().fill(0);
    tree.append(Uint8Array.of(8));
    for (const p of tree.inclusionProof(0)) p.fill(0);
    expect(bytesToHex(tree.leafHash(0))).toBe(bytesToHex(leafHash(Uint8Array.of(7))));
    expect(bytesToHex(tree.root())).toBe(
      bytesToHex(nodeHash(leafHash(Uint8Array.of(7)), leafHash(Uint8Array.of(8)))),
    );
  });

  it('refuses bad arguments with MdlError(BadInput)', () => {
    const tree = MerkleTree.fromLeafHashes(LEAF_HASHES);
    const calls: (() => unknown)[] = [
      () => tree.appendLeafHash(new Uint8Array(31)),
      () => tree.appendLeafHash('00' as unknown as Uint8Array),
      () => tree.append('data' as unknown as Uint8Array),
      () => tree.root(9),
      () => tree.root(-1),
      () => tree.root(1.5),
      () => tree.leafHash(8),
      () => tree.inclusionProof(8),
      () => tree.inclusionProof(3, 3),
      () => tree.inclusionProof(0, 0),
      () => tree.consistencyProof(5, 4),
      () => tree.consistencyProof(1, 9),
      () => MerkleTree.fromLeafHashes([new Uint8Array(32), new Uint8Array(33)]),
      () => rootFromLeafHashes([new Uint8Array(16)]),
      () => inclusionProof(LEAF_HASHES, 8),
      () => inclusionProof(LEAF_HASHES, 0, 9),
      () => consistencyProof(LEAF_HASHES, 9),
      () => nodeHash(new Uint8Array(32), new Uint8Array(31)),
      () => leafHash('x' as unknown as Uint8Array),
    ];
    for (const call of calls) expect(errorCode(call)).toBe(MdlErrorCode.BadInput);
  });

  it('consistency from 0 is the empty proof; equal sizes too', () => {
    const tree = MerkleTree.fromLeafHashes(LEAF_HASHES);
    expect(tree.consistencyProof(0)).toEqual([]);
    expect(tree.consistencyProof(8)).toEqual([]);
    expect(consistencyProof(LEAF_HASHES, 0)).toEqual([]);
    expect(MERKLE_HASH_LENGTH).toBe(32);
  });
});
