/**
 * Measures the revocation latency, "revoke transaction mined → first denied decision" (freshness.int.test.ts). The revocation
 * is sent without waiting (so nothing tells the index about its block early); a watcher polls the receipt every
 * few milliseconds on its own to time when the block became visible, while decisions run back to back through
 * `index.permits` — the node's read path, fed by `follow()` — until the first one is refused.
 *
 * The result is an upper bound of the true latency plus the watcher's poll period; the decision loop yields to
 * the event loop between decisions so it does not starve the index it measures.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { Hash } from 'viem';
import type { ConsentIndex } from '../src/ConsentIndex.js';
import type { ConsentQuery } from '../src/permittingGrant.js';

export interface RevocationLatency {
  /** Block the revocation was mined in. */
  blockNumber: number;
  /** Date.now() when the watcher first saw the receipt. */
  minedSeenAt: number;
  /** Date.now() when a decision was first refused. */
  deniedAt: number;
  /** deniedAt − minedSeenAt (can be slightly negative when the index saw the block before the watcher). */
  latencyMs: number;
  /** Decisions made from sending the revocation to the first refusal. */
  decisions: number;
  /**
   * Decisions that still permitted although the index had already seen the revocation's block when they were
   * asked: the freshness rule says none, on any machine.
   */
  permittedAfterSeen: number;
}

export interface MeasureRevocationOptions {
  index: ConsentIndex;
  /** A query the grant being revoked permits now. */
  query: ConsentQuery;
  /** Sends the revocation and returns its hash without waiting for the receipt (ConsentRelayer.submitRevoke). */
  submit: () => Promise<Hash>;
  /** Receipt poll period of the watcher (default 5 ms). */
  pollMs?: number;
  /** Give up after this long (default 30 s): MDL_UNAVAILABLE. */
  timeoutMs?: number;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function measureRevocationLatency(
  options: MeasureRevocationOptions,
): Promise<RevocationLatency> {
  const { index, query } = options;
  if ((await index.permits(query)) === undefined) {
    throw new MdlError(MdlErrorCode.BadInput, 'revocation latency: the query is not permitted to begin with');
  }
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const hash = await options.submit();
  let mined: { at: number; block: number } | undefined;
  const watcher = (async () => {
    while (!mined && Date.now() < deadline) {
      const receipt = await index.ledger.receipt(hash);
      if (receipt) mined = { at: Date.now(), block: Number(receipt.blockNumber) };
      else await new Promise((r) => setTimeout(r, options.pollMs ?? 5));
    }
  })();
  let decisions = 0;
  let deniedAt: number | undefined;
  /** The newest block the index had seen before each permitting decision was asked. */
  const permittedHavingSeen: number[] = [];
  while (Date.now() < deadline) {
    decisions++;
    const seen = index.knownHead;
    if ((await index.permits(query)) === undefined) {
      deniedAt = Date.now();
      break;
    }
    permittedHavingSeen.push(seen);
    await yieldToLoop();
  }
  await watcher;
  if (deniedAt === undefined || !mined) {
    throw new MdlError(MdlErrorCode.Unavailable, 'revocation latency: no refusal within the timeout');
  }
  const block = mined.block;
  return {
    blockNumber: block,
    minedSeenAt: mined.at,
    deniedAt,
    latencyMs: deniedAt - mined.at,
    decisions,
    permittedAfterSeen: permittedHavingSeen.filter((seen) => seen >= block).length,
  };
}
