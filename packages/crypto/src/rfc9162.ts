/**
 * RFC 9162 §2.1 Merkle tree hashing with SHA-256 for the append-only audit log: leaf and node hashes, roots,
 * inclusion and consistency proofs (generation and verification), and an append-only in-memory tree.
 *
 * Limits: tree sizes and indices are JavaScript numbers, so at most 2^53 − 1 leaves (all arithmetic is done
 * without 32-bit bitwise operators). The size-0 consistency proof, which RFC 9162 leaves undefined, is the empty
 * proof and requires the old root to be the empty-tree root. The MerkleTree keeps every complete-subtree hash
 * in memory (64–128 bytes per leaf); persistence belongs to the caller.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { equalBytes } from './bytes.js';
import { sha256 } from './hash.js';

/** Length in bytes of every hash in the tree. */
export const MERKLE_HASH_LENGTH = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);
const EMPTY_ROOT = sha256(new Uint8Array(0));

/** Hashes in a tree of at most 2^53 leaves need at most 53 proof elements; anything longer is refused at once. */
const MAX_PROOF_LENGTH = 64;

function bad(message: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, message);
}

function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === MERKLE_HASH_LENGTH;
}

function isSize(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

function assertHash(h: unknown, what: string): asserts h is Uint8Array {
  if (!isHash(h)) throw bad(`${what} must be a 32-byte hash`);
}

/** The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1). */
export function emptyRoot(): Uint8Array {
  return EMPTY_ROOT.slice();
}

/** MTH({d}) = SHA-256(0x00 ‖ d). */
export function leafHash(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw bad('leaf data must be bytes');
  const buf = new Uint8Array(1 + data.length);
  buf.set(LEAF_PREFIX);
  buf.set(data, 1);
  return sha256(buf);
}

/** SHA-256(0x01 ‖ left ‖ right) for two 32-byte subtree hashes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertHash(left, 'left subtree hash');
  assertHash(right, 'right subtree hash');
  const buf = new Uint8Array(1 + 2 * MERKLE_HASH_LENGTH);
  buf.set(NODE_PREFIX);
  buf.set(left, 1);
  buf.set(right, 1 + MERKLE_HASH_LENGTH);
  return sha256(buf);
}

/** The largest power of two strictly less than n (n ≥ 2): the split point k of RFC 9162 §2.1.1. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n >= 1 && 2 ** Math.round(Math.log2(n)) === n;
}

/** Hash of the subtree of `count` leaves starting at leaf `start`; supplied by the array or the tree form. */
type SubtreeHash = (start: number, count: number) => Uint8Array;

/** PATH(m, D[start:start+n]) of RFC 9162 §2.1.3.1, deepest sibling first. */
function path(subtree: SubtreeHash, m: number, start: number, n: number): Uint8Array[] {
  // Walk down from the root collecting siblings, then reverse: the RFC lists the deepest sibling first.
  const out: Uint8Array[] = [];
  let [mm, s, size] = [m, start, n];
  while (size > 1) {
    const k = splitPoint(size);
    if (mm < k) {
      out.push(subtree(s + k, size - k));
      size = k;
    } else {
      out.push(subtree(s, k));
      mm -= k;
      s += k;
      size -= k;
    }
  }
  return out.reverse();
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of RFC 9162 §2.1.4.1, for 0 < m ≤ n. */
function subproof(subtree: SubtreeHash, m: number, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let [mm, s, size, complete] = [m, 0, n, true];
  while (mm !== size) {
    const k = splitPoint(size);
    if (mm <= k) {
      out.push(subtree(s + k, size - k));
      size = k;
    } else {
      out.push(subtree(s, k));
      mm -= k;
      s += k;
      size -= k;
      complete = false;
    }
  }
  if (!complete) out.push(subtree(s, size));
  return out.reverse();
}

function checkLeafHashes(hashes: readonly Uint8Array[]): void {
  if (!Array.isArray(hashes)) throw bad('leaf hashes must be an array');
  for (const h of hashes) assertHash(h, 'leaf hash');
}

/** MTH over `hashes[start, start+count)` by the recursive definition; O(count) hashing. */
function rangeHash(hashes: readonly Uint8Array[], start: number, count: number): Uint8Array {
  if (count === 1) return hashes[start] as Uint8Array;
  const k = splitPoint(count);
  return nodeHash(rangeHash(hashes, start, k), rangeHash(hashes, start + k, count - k));
}

/** MTH(D[n]) from the leaf hashes, by the recursive definition of RFC 9162 §2.1.1. */
export function rootFromLeafHashes(hashes: readonly Uint8Array[]): Uint8Array {
  checkLeafHashes(hashes);
  return hashes.length === 0 ? emptyRoot() : rangeHash(hashes, 0, hashes.length).slice();
}

/** Inclusion proof for leaf `index` in the tree formed by the first `treeSize` leaf hashes. O(treeSize). */
export function inclusionProof(
  hashes: readonly Uint8Array[],
  index: number,
  treeSize: number = hashes.length,
): Uint8Array[] {
  checkLeafHashes(hashes);
  if (!isSize(treeSize) || treeSize > hashes.length) throw bad('tree size out of range');
  if (!isSize(index) || index >= treeSize) throw bad('leaf index out of range');
  return path((s, c) => rangeHash(hashes, s, c).slice(), index, 0, treeSize);
}

/** Consistency proof between the trees of the first `oldSize` and `newSize` leaf hashes. O(newSize). */
export function consistencyProof(
  hashes: readonly Uint8Array[],
  oldSize: number,
  newSize: number = hashes.length,
): Uint8Array[] {
  checkLeafHashes(hashes);
  if (!isSize(newSize) || newSize > hashes.length) throw bad('tree size out of range');
  if (!isSize(oldSize) || oldSize > newSize) throw bad('old tree size out of range');
  if (oldSize === 0) return [];
  return subproof((s, c) => rangeHash(hashes, s, c).slice(), oldSize, newSize);
}

/** RFC 9162 §2.1.3.2. False for a wrong proof and for any malformed argument; never throws. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  try {
    if (!isHash(leaf) || !isHash(root) || !isSize(index) || !isSize(treeSize) || index >= treeSize)
      return false;
    if (!Array.isArray(proof) || proof.length > MAX_PROOF_LENGTH || !proof.every(isHash)) return false;
    let fn = index;
    let sn = treeSize - 1;
    let r = leaf;
    for (const p of proof) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      } else {
        r = nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && equalBytes(r, root);
  } catch {
    return false;
  }
}

/**
 * RFC 9162 §2.1.4.2, extended to the cases the RFC leaves out: equal sizes need an empty proof and equal roots;
 * old size 0 needs an empty proof and the empty-tree root. False for any malformed argument; never throws.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  try {
    if (!isSize(oldSize) || !isSize(newSize) || oldSize > newSize || !isHash(oldRoot) || !isHash(newRoot)) {
      return false;
    }
    if (!Array.isArray(proof) || proof.length > MAX_PROOF_LENGTH || !proof.every(isHash)) return false;
    if (oldSize === 0) {
      return (
        proof.length === 0 &&
        equalBytes(oldRoot, EMPTY_ROOT) &&
        (newSize > 0 || equalBytes(newRoot, EMPTY_ROOT))
      );
    }
    if (oldSize === newSize) return proof.length === 0 && equalBytes(oldRoot, newRoot);
    if (proof.length === 0) return false;
    const chain = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
    let fn = oldSize - 1;
    let sn = newSize - 1;
    while (fn % 2 === 1) {
      fn = (fn - 1) / 2;
      sn = Math.floor(sn / 2);
    }
    let fr = chain[0] as Uint8Array;
    let sr = fr;
    for (const c of chain.slice(1)) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        fr = nodeHash(c, fr);
        sr = nodeHash(c, sr);
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      } else {
        sr = nodeHash(sr, c);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && equalBytes(fr, oldRoot) && equalBytes(sr, newRoot);
  } catch {
    return false;
  }
}

/** One level of complete-subtree hashes, packed into one growing buffer (no per-hash object overhead). */
class HashLevel {
  private buf = new Uint8Array(MERKLE_HASH_LENGTH * 16);
  length = 0;

  push(h: Uint8Array): void {
    if ((this.length + 1) * MERKLE_HASH_LENGTH > this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf.set(h, this.length * MERKLE_HASH_LENGTH);
    this.length++;
  }

  /** A view into the buffer: callers must copy before handing it out. */
  at(i: number): Uint8Array {
    return this.buf.subarray(i * MERKLE_HASH_LENGTH, (i + 1) * MERKLE_HASH_LENGTH);
  }
}

/**
 * Append-only Merkle tree for an audit log. Level h holds the hash of every complete subtree of 2^h leaves, so
 * an append costs amortised O(1) hashes, and the root or a proof for any size up to the current one costs
 * O(log n): a subtree that ends at that size and is not complete is one of the O(log n) right-edge nodes, which
 * are computed once per call. Returned hashes are copies.
 */
export class MerkleTree {
  private readonly levels: HashLevel[] = [new HashLevel()];

  /** A tree holding `hashes` as its leaf hashes, in order. */
  static fromLeafHashes(hashes: readonly Uint8Array[]): MerkleTree {
    checkLeafHashes(hashes);
    const tree = new MerkleTree();
    for (const h of hashes) tree.appendLeafHash(h);
    return tree;
  }

  /** Number of leaves. */
  get size(): number {
    return (this.levels[0] as HashLevel).length;
  }

  /** Appends a leaf by its data (hashed as H(0x00 ‖ data)); returns its index. */
  append(leafData: Uint8Array): number {
    return this.appendLeafHash(leafHash(leafData));
  }

  /** Appends a leaf by its 32-byte leaf hash; returns its index. */
  appendLeafHash(hash: Uint8Array): number {
    assertHash(hash, 'leaf hash');
    const index = this.size;
    if (index >= Number.MAX_SAFE_INTEGER) throw bad('tree is full');
    let level = 0;
    let h = hash;
    for (;;) {
      const current = this.levels[level] as HashLevel;
      current.push(h);
      const i = current.length - 1;
      if (i % 2 === 0) break;
      h = nodeHash(current.at(i - 1), current.at(i));
      level++;
      if (this.levels.length === level) this.levels.push(new HashLevel());
    }
    return index;
  }

  /** The leaf hash at `index`. */
  leafHash(index: number): Uint8Array {
    if (!isSize(index) || index >= this.size) throw bad('leaf index out of range');
    return (this.levels[0] as HashLevel).at(index).slice();
  }

  /** The root of the tree formed by the first `size` leaves (default: all of them). */
  root(size: number = this.size): Uint8Array {
    this.checkSize(size);
    if (size === 0) return emptyRoot();
    return this.subtreeHasher(size)(0, size).slice();
  }

  /** Inclusion proof of leaf `index` in the tree of the first `size` leaves. */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    this.checkSize(size);
    if (!isSize(index) || index >= size) throw bad('leaf index out of range');
    const subtree = this.subtreeHasher(size);
    return path((s, c) => subtree(s, c).slice(), index, 0, size);
  }

  /** Consistency proof from the tree of the first `oldSize` leaves to the tree of the first `newSize`. */
  consistencyProof(oldSize: number, newSize: number = this.size): Uint8Array[] {
    this.checkSize(newSize);
    if (!isSize(oldSize) || oldSize > newSize) throw bad('old tree size out of range');
    if (oldSize === 0) return [];
    const subtree = this.subtreeHasher(newSize);
    return subproof((s, c) => subtree(s, c).slice(), oldSize, newSize);
  }

  private checkSize(size: number): void {
    if (!isSize(size) || size > this.size) throw bad('tree size out of range');
  }

  /**
   * Subtree hashes within the tree of the first `size` leaves. Every subtree the RFC recursion visits is either
   * complete (looked up) or a right-edge subtree [start, size) whose start is a boundary between the complete
   * "peaks" of `size`; those are folded right to left once, here.
   */
  private subtreeHasher(size: number): SubtreeHash {
    const peaks: { start: number; hash: Uint8Array }[] = [];
    let start = 0;
    for (let level = this.levels.length - 1; level >= 0; level--) {
      const width = 2 ** level;
      if (Math.floor(size / width) % 2 === 1) {
        peaks.push({ start, hash: (this.levels[level] as HashLevel).at(start / width) });
        start += width;
      }
    }
    const edge = new Map<number, Uint8Array>();
    let acc: Uint8Array | undefined;
    for (let i = peaks.length - 1; i >= 0; i--) {
      const peak = peaks[i] as { start: number; hash: Uint8Array };
      acc = acc === undefined ? peak.hash : nodeHash(peak.hash, acc);
      edge.set(peak.start, acc);
    }
    return (s, count) => {
      if (s + count === size) {
        const h = edge.get(s);
        if (h !== undefined) return h;
      }
      // Not on the right edge, so a complete subtree: count is a power of two and s a multiple of it.
      const level = Math.round(Math.log2(count));
      return (this.levels[level] as HashLevel).at(s / count);
    };
  }
}
