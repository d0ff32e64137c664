/**
 * The patient's own check of their access log, in the browser: each entry of `GET /audit/patients/:id/events`
 * is proven, without trusting the node that serves it, by
 *  1. the organisation's key: the public key bundle the node hands over must hash (SHA-256 of its signed part,
 *     `publicBundleCommitment`) to the hash the on-chain registry commits to, and its self-signature must verify;
 *  2. the checkpoint: its signature (composite ML-DSA-65 + Ed25519, context "medledger/audit-checkpoint/v1",
 *     over the RFC 8785 bytes of {logId, root, size, timestamp}) verifies under that key, and its log is that
 *     organisation's (`medledger:organisation:<id>`);
 *  3. the entry: SHA-256(salt ‖ RFC 8785 bytes of the event) is the entry's commitment, and the RFC 9162
 *     inclusion proof puts that leaf at its index under the checkpoint's root.
 * This is `verifyAuditInclusion` of @medledger/audit-log step for step (the unit test holds them to the same
 * answers), written on @medledger/crypto alone because the audit-log package's leaf module imports
 * `node:crypto`. Load it with `import()`: it pulls in the post-quantum verifier.
 *
 * What it cannot know: the registry hash arrives through the node too (a browser cannot reach the chain), so a
 * node that lied about both the bundle and the hash would pass step 1 — the hash is also public on the chain
 * for anyone to compare. And a node can leave entries out of the page; each entry shown is proven, the
 * absence of one is not (consistency between checkpoints is the auditors' check).
 * Never throws: malformed input is a failed check.
 */
import {
  base64urlToBytes,
  bytesToBase64url,
  bytesToHex,
  canonicalBytes,
  compositeVerify,
  concatBytes,
  decodePublicKeyBundle,
  equalBytes,
  leafHash,
  publicBundleCommitment,
  sha256,
  verifyInclusion,
} from '@medledger/crypto';

export const CHECKPOINT_CONTEXT = 'medledger/audit-checkpoint/v1';

/** The wire shapes (base64url bytes), as the node's API declares them. */
export interface CheckpointJson {
  logId: string;
  size: number;
  root: string;
  timestamp: number;
  signature: string;
}
export interface EntryJson {
  index: number;
  event: Readonly<Record<string, unknown>>;
  salt?: string;
  redacted?: true;
  commitment: string;
  proof: string[];
}
export interface CommittedKeyBundleJson {
  id: string;
  /** 0x + 64 hex: the registry's commitment. */
  keyBundleHash: string;
  /** The encoded public bundle, base64url. */
  keyBundle: string;
}

export type KeyCheck = 'ok' | 'not-committed' | 'malformed';

/** The organisation's signing key, if its bundle is the one the registry commits to. */
export function committedSigningKey(
  committed: CommittedKeyBundleJson,
  organisationId: string,
): { check: KeyCheck; key?: Uint8Array } {
  try {
    if (committed.id !== organisationId) return { check: 'not-committed' };
    const bundle = decodePublicKeyBundle(base64urlToBytes(committed.keyBundle)); // self-signature checked
    const hash = `0x${bytesToHex(publicBundleCommitment(bundle))}`;
    if (hash !== committed.keyBundleHash.toLowerCase()) return { check: 'not-committed' };
    return { check: 'ok', key: bundle.signingPublicKey };
  } catch {
    return { check: 'malformed' };
  }
}

/** The exact bytes a checkpoint signature covers (as @medledger/audit-log's checkpointBytes). */
export function checkpointBytes(cp: { logId: string; size: number; root: Uint8Array; timestamp: number }) {
  return canonicalBytes({
    logId: cp.logId,
    root: bytesToBase64url(cp.root),
    size: cp.size,
    timestamp: cp.timestamp,
  });
}

/** Whether the checkpoint is the organisation's log's and signed by `key`. */
export function checkpointSigned(cp: CheckpointJson, key: Uint8Array, organisationId: string): boolean {
  try {
    if (cp.logId !== `medledger:organisation:${organisationId}`) return false;
    if (!Number.isSafeInteger(cp.size) || cp.size < 0 || !Number.isSafeInteger(cp.timestamp)) return false;
    const root = base64urlToBytes(cp.root);
    if (root.length !== 32) return false;
    return compositeVerify(
      key,
      checkpointBytes({ logId: cp.logId, size: cp.size, root, timestamp: cp.timestamp }),
      base64urlToBytes(cp.signature),
      CHECKPOINT_CONTEXT,
    );
  } catch {
    return false;
  }
}

export type EntryCheck =
  /** The event is the committed leaf, included under the checkpoint's root. */
  | 'ok'
  /** Included under the root, but the event could not be tied to its leaf (recorded before addresses were withheld). */
  | 'included-only'
  | 'failed';

/** Whether one entry's event is its leaf and its leaf is in the tree of the (already checked) checkpoint. */
export function entryIncluded(entry: EntryJson, cp: CheckpointJson): EntryCheck {
  try {
    const commitment = base64urlToBytes(entry.commitment);
    if (commitment.length !== 32) return 'failed';
    const included = verifyInclusion(
      leafHash(commitment),
      entry.index,
      cp.size,
      entry.proof.map(base64urlToBytes),
      base64urlToBytes(cp.root),
    );
    if (!included) return 'failed';
    if (entry.redacted === true && entry.salt === undefined) return 'included-only';
    const salt = base64urlToBytes(entry.salt ?? '');
    if (salt.length !== 32) return 'failed';
    return equalBytes(sha256(concatBytes(salt, canonicalBytes(entry.event))), commitment) ? 'ok' : 'failed';
  } catch {
    return 'failed';
  }
}

export interface PageVerification {
  key: KeyCheck;
  checkpoint: boolean;
  /** Each entry's check, in the page's order (every entry fails when the key or the checkpoint does). */
  entries: EntryCheck[];
}

/**
 * Checks one page of the access log against the organisation's committed key bundle. `organisationId` is the
 * organisation whose log it is (the signed-in patient's: their account's organisation).
 */
export function verifyAccessLogPage(
  page: { checkpoint: CheckpointJson; entries: readonly EntryJson[] },
  committed: CommittedKeyBundleJson,
  organisationId: string,
): PageVerification {
  const { check, key } = committedSigningKey(committed, organisationId);
  const checkpoint = key ? checkpointSigned(page.checkpoint, key, organisationId) : false;
  const entries = page.entries.map((e) => (checkpoint ? entryIncluded(e, page.checkpoint) : 'failed'));
  return { key: check, checkpoint, entries };
}
