/**
 * The node's consent index: an event-fed, persisted cache of ConsentManager (grants, revocations, break-glass
 * sessions and reviews) and of the registry state decisions read (organisation status, membership, licences),
 * kept in the node's index database and answered from memory.
 *
 * Sync: `sync()` reads logs from the cursor to the chain head in chunks of `chunkBlocks`, one DB transaction per
 * chunk, idempotently. Before each round it checks that the cursor's block is still on the chain; if not (a reorg,
 * or an embedded chain restored from an older state) it rolls back to the newest checkpoint the chain still has,
 * or re-indexes from the deployment when none is left. Another deployment (chain id, addresses or deployment
 * block) also re-indexes.
 *
 * Freshness: `follow()` polls the head every `pollMs` and syncs. `ensureFresh()` — awaited by every decision —
 * syncs first whenever a block newer than the cursor has been seen (by the poll, by `observeHead` from a relayed
 * receipt, or by its own head read when the last one is older than `maxStalenessMs`), for as long as the
 * cursor advances (no wall-clock bound: a slow machine waits, it does not refuse), and fails closed
 * (MDL_UNAVAILABLE) when it cannot read the chain at all. So a revocation mined in block N is refused by every
 * decision made after the node saw block N; docs/consent.md gives the measured worst case.
 *
 * Decisions (`permits`) replay ConsentManager.isPermitted over the patient's grants, cached per patient in an
 * LRU map that each committed chunk invalidates for the patients it touched; a cached decision costs
 * microseconds. A live decision (no `at`) is taken at max(wall clock, timestamp of the newest indexed block), so
 * an indexed revocation refuses even when the chain's clock runs ahead of the node's.
 *
 * Limits: one index per database (a second writer's chunk is refused by the cursor check and re-read); the
 * checkpoints kept bound how deep a reorg can be rolled back before a full re-index.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import type { LedgerClient } from '@medledger/ledger';
import { type Db, migrate } from '@medledger/storage';
import type { Address, Hash, Hex } from 'viem';
import { ConsortiumState } from './ConsortiumState.js';
import { consentIndexMigrations } from './consentIndexMigrations.js';
import { consentIndexAbi, decodeConsentLogs } from './consentLogs.js';
import {
  addCheckpoints,
  applyEvents,
  type BreakGlassFilter,
  type BreakGlassSession,
  breakGlassOf,
  type Checkpoint,
  type Cursor,
  listBreakGlass,
  loadBreakGlass,
  loadGrant,
  loadGrants,
  loadGrantsTo,
  loadRegistryEvents,
  lockCursor,
  readCursor,
  recentCheckpoints,
  rollbackAbove,
  runningAt,
  wipe,
  writeCursor,
} from './consentStore.js';
import { type ConsentQuery, checkQuery, type IndexedGrant, permittingGrant } from './permittingGrant.js';

/** Consecutive sync rounds that end where they started before a decision gives up (see ensureFresh). */
const MAX_STALLED_ROUNDS = 4;

export interface ConsentIndexOptions {
  db: Db;
  ledger: LedgerClient;
  /** Blocks per getLogs call and DB transaction (default 2000). */
  chunkBlocks?: number;
  /** follow(): head poll interval (default 100 ms — a tenth of the embedded chain's block time). */
  pollMs?: number;
  /** ensureFresh(): read the head itself when the last read is older than this (default 1000 ms). */
  maxStalenessMs?: number;
  /** Patients whose grants stay in memory (default 10 000). */
  cachedPatients?: number;
  onEvent?: (event: ConsentIndexEvent) => void;
}

export type ConsentIndexEvent =
  | { type: 'synced'; fromBlock: number; toBlock: number; events: number }
  | { type: 'reorg'; fromBlock: number; toBlock: number }
  | { type: 'reindex'; why: string }
  | { type: 'granted'; id: Hex; patient: Hex; grantee: number; blockNumber: number }
  | { type: 'revoked'; id: Hex; blockNumber: number }
  | { type: 'breakGlassOpened'; session: BreakGlassSession }
  | { type: 'breakGlassEnded'; id: number; blockNumber: number }
  | { type: 'breakGlassReviewed'; id: number; justified: boolean; blockNumber: number }
  | { type: 'error'; message: string };

export interface SyncResult {
  /** The block the index now reflects (-1 when nothing is indexed yet). */
  blockNumber: number;
  /** Events applied by this call. */
  events: number;
  /** True when a reorg or a changed deployment made this call roll back or start over. */
  rolledBack: boolean;
}

interface Deployed {
  chainId: number;
  consentManager: Address;
  registry: Address;
  startBlock: number;
}

function deployedOf(ledger: LedgerClient): Deployed {
  const { contracts } = ledger.deployment;
  return {
    chainId: ledger.chainId,
    consentManager: contracts.ConsentManager.address.toLowerCase() as Address,
    registry: contracts.ConsortiumRegistry.address.toLowerCase() as Address,
    // The registry is deployed first; its admissions are the first events the index needs.
    startBlock: Math.min(
      Number(contracts.ConsortiumRegistry.blockNumber),
      Number(contracts.ConsentManager.blockNumber),
    ),
  };
}

export class ConsentIndex {
  readonly db: Db;
  #ledger: LedgerClient;
  #deployed: Deployed;
  readonly #chunkBlocks: number;
  readonly #pollMs: number;
  readonly #maxStalenessMs: number;
  readonly #cacheLimit: number;
  readonly #onEvent: (event: ConsentIndexEvent) => void;

  #cursor: Cursor | undefined;
  #consortium = new ConsortiumState();
  readonly #grants = new Map<string, IndexedGrant[]>();
  /**
   * Members' break-glass sessions by `patient|member`, as of the indexed head: a refused read checks for a
   * session, and from memory it costs what a granted one costs. Cleared whenever a chunk commits.
   */
  readonly #sessions = new Map<string, BreakGlassSession[]>();
  /** Bumped by every commit; a grant load that straddles one is repeated. */
  #epoch = 0;
  #knownHead = -1;
  #headCheckedAt = 0;
  #syncing: Promise<SyncResult> | undefined;
  #headRead: Promise<number> | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;

  private constructor(options: ConsentIndexOptions) {
    this.db = options.db;
    this.#ledger = options.ledger;
    this.#deployed = deployedOf(options.ledger);
    this.#chunkBlocks = options.chunkBlocks ?? 2000;
    this.#pollMs = options.pollMs ?? 100;
    this.#maxStalenessMs = options.maxStalenessMs ?? 1000;
    this.#cacheLimit = options.cachedPatients ?? 10_000;
    this.#onEvent = options.onEvent ?? (() => undefined);
    if (!Number.isInteger(this.#chunkBlocks) || this.#chunkBlocks < 1) {
      throw new MdlError(MdlErrorCode.Config, 'consent index: chunkBlocks must be a positive integer');
    }
  }

  /** Applies the migrations, loads the persisted cursor and registry state (no chain access). */
  static async open(options: ConsentIndexOptions): Promise<ConsentIndex> {
    const index = new ConsentIndex(options);
    await migrate(options.db, consentIndexMigrations);
    await index.#load();
    return index;
  }

  async #load(): Promise<void> {
    const cursor = await readCursor(this.db);
    if (cursor && !this.#sameDeployment(cursor)) {
      await this.db.transaction(wipe);
      this.#emit({ type: 'reindex', why: 'the deployment changed' });
      this.#cursor = undefined;
    } else {
      this.#cursor = cursor;
    }
    this.#consortium = ConsortiumState.replay(await loadRegistryEvents(this.db));
    this.#grants.clear();
    this.#sessions.clear();
    this.#epoch++;
  }

  #sameDeployment(c: Cursor): boolean {
    const d = this.#deployed;
    return (
      c.chainId === d.chainId &&
      c.consentManager.toLowerCase() === d.consentManager &&
      c.registry.toLowerCase() === d.registry &&
      c.startBlock === d.startBlock
    );
  }

  get ledger(): LedgerClient {
    return this.#ledger;
  }

  /** The newest indexed block (undefined before the first sync). */
  get cursor(): Readonly<Cursor> | undefined {
    return this.#cursor;
  }

  /** The newest block number seen on the chain. */
  get knownHead(): number {
    return this.#knownHead;
  }

  /** The registry state decisions read, as of the cursor. */
  get consortium(): ConsortiumState {
    return this.#consortium;
  }

  /** Switches to another client (e.g. after the embedded chain was redeployed); re-indexes if the deployment
   * differs. */
  async setLedger(ledger: LedgerClient): Promise<void> {
    const following = this.#loop !== undefined;
    await this.stop();
    await this.#syncing?.catch(() => undefined);
    this.#ledger = ledger;
    this.#deployed = deployedOf(ledger);
    this.#knownHead = -1;
    this.#headCheckedAt = 0;
    await this.#load();
    if (following) this.follow();
  }

  // ------------------------------------------------------------------------------------------ freshness

  /** Records that the chain has reached `blockNumber` (e.g. from a receipt): the next decision syncs first. */
  observeHead(blockNumber: bigint | number): void {
    const n = Number(blockNumber);
    if (n > this.#knownHead) this.#knownHead = n;
  }

  /** Reads the head once (shared by concurrent callers). */
  /**
   * Reads the chain head now and indexes up to it: for a decision that must see a block mined a moment ago
   * elsewhere (a grant relayed by another node), which follow() would only notice at its next poll.
   */
  async catchUp(): Promise<void> {
    await this.refreshHead();
    await this.ensureFresh();
  }

  async refreshHead(): Promise<number> {
    this.#headRead ??= (async () => {
      const sent = Date.now();
      try {
        const head = Number(await this.#ledger.blockNumber());
        this.observeHead(head);
        this.#headCheckedAt = Math.max(this.#headCheckedAt, sent);
        return head;
      } finally {
        this.#headRead = undefined;
      }
    })();
    return this.#headRead;
  }

  #indexedTo(): number {
    return this.#cursor?.blockNumber ?? this.#deployed.startBlock - 1;
  }

  /**
   * Returns once the index reflects every block seen before the call. Reads the head itself when the last read
   * is older than maxStalenessMs; MDL_UNAVAILABLE when the chain cannot be read (decisions then fail closed).
   *
   * The wait is bounded by progress, not by time: blocks mined while it catches up were not seen when the
   * decision was asked, so they are not waited for (a busy machine that indexes slower than the chain mines
   * still gets there), and it keeps syncing as long as each round moves the cursor. Only a chain that does not
   * answer (an RPC error or timeout) or rounds that keep ending where they started (the chain changing under
   * every chunk) fail.
   */
  async ensureFresh(): Promise<void> {
    if (Date.now() - this.#headCheckedAt > this.#maxStalenessMs) await this.refreshHead();
    let target = this.#knownHead;
    for (let stalled = 0; this.#indexedTo() < target; ) {
      const before = this.#indexedTo();
      await this.sync();
      // A sync that found the chain shorter than the head seen (blocks lost) lowers the known head: the blocks
      // above it no longer exist to be reflected.
      target = Math.min(target, this.#knownHead);
      stalled = this.#indexedTo() > before ? 0 : stalled + 1;
      if (stalled === MAX_STALLED_ROUNDS) {
        throw new MdlError(
          MdlErrorCode.Unavailable,
          'consent index: the chain changed under every sync round',
        );
      }
    }
  }

  /** Resolves when the index has reached `blockNumber` (syncing if needed). */
  async waitForBlock(blockNumber: bigint | number): Promise<void> {
    this.observeHead(blockNumber);
    await this.ensureFresh();
  }

  /** Starts the background loop: poll the head every pollMs, sync when it moved. Errors back off and retry. */
  follow(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#loop = this.#run();
  }

  /** Stops the loop (an in-flight sync finishes; its chunk is one transaction either way). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  get following(): boolean {
    return this.#loop !== undefined;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      try {
        await this.refreshHead();
        if (this.#knownHead > this.#indexedTo()) await this.sync();
        failures = 0;
      } catch (error) {
        failures++;
        this.#emit({ type: 'error', message: (error as Error).message.split('\n')[0] ?? 'error' });
      }
      if (this.#stopping) break;
      const pause = failures > 0 ? Math.min(10_000, this.#pollMs * 2 ** Math.min(failures, 7)) : this.#pollMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  // ------------------------------------------------------------------------------------------ sync

  /** Indexes up to the current head (one run at a time; concurrent callers share it). */
  sync(): Promise<SyncResult> {
    this.#syncing ??= this.#sync()
      .catch((error: unknown) => {
        if (error instanceof MdlError) throw error;
        // A database failure: one line, no SQL or parameters.
        throw new MdlError(MdlErrorCode.Unavailable, 'consent index: sync failed in the index database', {
          cause: error,
        });
      })
      .finally(() => {
        this.#syncing = undefined;
      });
    return this.#syncing;
  }

  async #sync(): Promise<SyncResult> {
    const seenBefore = this.#knownHead;
    const head = await this.refreshHead();
    let rolledBack = false;
    if (this.#cursor) {
      const canonical =
        this.#cursor.blockNumber <= head
          ? await this.#ledger.blockHash(BigInt(this.#cursor.blockNumber))
          : null;
      if (canonical?.toLowerCase() !== this.#cursor.blockHash.toLowerCase()) {
        await this.#recover(head);
        rolledBack = true;
      }
    }
    // A head lower than one seen before this read means the chain lost blocks: forget the higher number, unless
    // something newer was observed meanwhile.
    if (head < seenBefore && this.#knownHead === seenBefore) this.#knownHead = head;
    let events = 0;
    for (let from = this.#indexedTo() + 1; from <= head; ) {
      const to = Math.min(from + this.#chunkBlocks - 1, head);
      const applied = await this.#applyChunk(from, to);
      if (applied === undefined) break; // the chain moved under the chunk: the next round re-checks
      events += applied;
      from = to + 1;
    }
    return { blockNumber: this.#indexedTo(), events, rolledBack };
  }

  async #block(number: number): Promise<{ hash: Hash; timestamp: number }> {
    const block = await this.#ledger.rpc('reading a block', () =>
      this.#ledger.publicClient.getBlock({ blockNumber: BigInt(number) }),
    );
    if (!block.hash) throw new MdlError(MdlErrorCode.Unavailable, 'consent index: block without a hash');
    return { hash: block.hash, timestamp: Number(block.timestamp) };
  }

  /** Reads and applies blocks from..to; the number of events applied, or undefined if the chain moved. */
  async #applyChunk(from: number, to: number): Promise<number | undefined> {
    const d = this.#deployed;
    const tip = await this.#block(to);
    const logs = await this.#ledger.rpc('reading consent events', () =>
      this.#ledger.publicClient.getLogs({
        address: [d.consentManager, d.registry],
        events: consentIndexAbi,
        fromBlock: BigInt(from),
        toBlock: BigInt(to),
        strict: true,
      }),
    );
    const decoded = decodeConsentLogs(logs, d);
    // Timestamps: from the log when the node includes them, otherwise from the block.
    const timestamps = new Map<number, number>([[to, tip.timestamp]]);
    const hashes = new Map<number, Hash>([[to, tip.hash]]);
    for (const e of decoded) {
      if (e.blockTimestamp !== undefined) timestamps.set(e.blockNumber, e.blockTimestamp);
      hashes.set(e.blockNumber, e.blockHash);
    }
    const missing = [...new Set(decoded.map((e) => e.blockNumber))].filter((n) => !timestamps.has(n));
    for (const n of missing) timestamps.set(n, (await this.#block(n)).timestamp);
    // The tip read before the logs must still be the tip after them, and logs of the tip must come from it.
    const after = await this.#ledger.blockHash(BigInt(to));
    if (
      after?.toLowerCase() !== tip.hash.toLowerCase() ||
      hashes.get(to)?.toLowerCase() !== tip.hash.toLowerCase()
    )
      return undefined;
    const events = decoded.map((e) => ({ ...e, blockTimestamp: timestamps.get(e.blockNumber)! }));
    const checkpoints: Checkpoint[] = [...hashes].map(([number, hash]) => ({
      number,
      hash,
      timestamp: timestamps.get(number)!,
    }));
    const cursor: Cursor = {
      chainId: d.chainId,
      consentManager: d.consentManager,
      registry: d.registry,
      startBlock: d.startBlock,
      blockNumber: to,
      blockHash: tip.hash,
      blockTimestamp: tip.timestamp,
    };
    const expected = this.#cursor;
    const outcome = await this.db.transaction(async (tx) => {
      const locked = await lockCursor(tx);
      if (
        locked?.blockNumber !== expected?.blockNumber ||
        locked?.blockHash.toLowerCase() !== expected?.blockHash.toLowerCase()
      ) {
        return undefined; // another writer moved the cursor: reload it below
      }
      const changes = await applyEvents(tx, events);
      await addCheckpoints(tx, checkpoints);
      await writeCursor(tx, cursor);
      const registry = changes.registry ? await loadRegistryEvents(tx) : undefined;
      return { changes, registry };
    });
    if (!outcome) {
      await this.#load();
      return undefined;
    }
    // Invalidate and advance in one synchronous step, so a decision never sees the new cursor with old caches.
    for (const patient of outcome.changes.patients) this.#grants.delete(patient);
    this.#sessions.clear();
    if (outcome.registry) this.#consortium = ConsortiumState.replay(outcome.registry);
    this.#epoch++;
    this.#cursor = cursor;
    this.#emit({ type: 'synced', fromBlock: from, toBlock: to, events: events.length });
    for (const e of events) this.#notify(e);
    return events.length;
  }

  #notify(e: Parameters<typeof applyEvents>[1][number]): void {
    switch (e.kind) {
      case 'granted':
        this.#emit({
          type: 'granted',
          id: e.id,
          patient: e.terms.patient,
          grantee: e.terms.grantee,
          blockNumber: e.blockNumber,
        });
        break;
      case 'revoked':
        this.#emit({ type: 'revoked', id: e.id, blockNumber: e.blockNumber });
        break;
      case 'breakGlassOpened':
        this.#emit({
          type: 'breakGlassOpened',
          session: {
            id: e.id,
            patient: e.patient,
            member: e.member,
            organisation: e.organisation,
            reasonHash: e.reasonHash,
            openedAt: e.blockTimestamp,
            expiresAt: e.expiresAt,
            openedBlock: e.blockNumber,
            openedTx: e.transactionHash,
          },
        });
        break;
      case 'breakGlassEnded':
        this.#emit({ type: 'breakGlassEnded', id: e.id, blockNumber: e.blockNumber });
        break;
      case 'breakGlassReviewed':
        this.#emit({
          type: 'breakGlassReviewed',
          id: e.id,
          justified: e.justified,
          blockNumber: e.blockNumber,
        });
        break;
    }
  }

  /**
   * The cursor's block is gone. Checkpoints are probed newest first at growing distances (0, 1, 2, 4, … back)
   * for one the chain still has; everything above it is rolled back. None left: start over from the deployment.
   */
  async #recover(head: number): Promise<void> {
    const from = this.#cursor?.blockNumber ?? -1;
    const checkpoints = (await recentCheckpoints(this.db)).filter((c) => c.number <= head);
    let target: Checkpoint | undefined;
    for (let step = 0, i = 0; i < checkpoints.length; step++, i = step < 2 ? step : 2 ** (step - 1)) {
      const c = checkpoints[i]!;
      const canonical = await this.#ledger.blockHash(BigInt(c.number));
      if (canonical?.toLowerCase() === c.hash.toLowerCase()) {
        target = c;
        break;
      }
    }
    const d = this.#deployed;
    await this.db.transaction(async (tx) => {
      if (target) {
        await rollbackAbove(tx, target.number);
        await writeCursor(tx, {
          chainId: d.chainId,
          consentManager: d.consentManager,
          registry: d.registry,
          startBlock: d.startBlock,
          blockNumber: target.number,
          blockHash: target.hash,
          blockTimestamp: target.timestamp,
        });
      } else {
        await wipe(tx);
      }
    });
    if (target) this.#emit({ type: 'reorg', fromBlock: from, toBlock: target.number });
    else this.#emit({ type: 'reindex', why: 'no indexed block is on the chain any more' });
    await this.#load();
    this.#knownHead = head;
  }

  #emit(event: ConsentIndexEvent): void {
    try {
      this.#onEvent(event);
    } catch {
      // a listener's failure must not stop indexing
    }
  }

  // ------------------------------------------------------------------------------------------ decisions

  /** Seconds "now" for a live decision: never before the newest indexed block's timestamp. */
  now(): number {
    return Math.max(Math.floor(Date.now() / 1000), this.#cursor?.blockTimestamp ?? 0);
  }

  async #grantsFor(patient: Hex): Promise<IndexedGrant[]> {
    const key = patient.toLowerCase();
    const hit = this.#grants.get(key);
    if (hit) {
      this.#grants.delete(key); // most recently used last
      this.#grants.set(key, hit);
      return hit;
    }
    for (;;) {
      const epoch = this.#epoch;
      const grants = await loadGrants(this.db, patient);
      if (epoch !== this.#epoch) continue; // a chunk committed meanwhile: read again
      if (this.#grants.size >= this.#cacheLimit)
        this.#grants.delete(this.#grants.keys().next().value as string);
      this.#grants.set(key, grants);
      return grants;
    }
  }

  /**
   * The id of a grant that permits the query, or undefined (deny) — ConsentManager.isPermitted's answer for
   * the patient's grants. Awaits ensureFresh() unless `fresh: false`. Without `at`, decides for now().
   */
  async permits(query: ConsentQuery, options: { fresh?: boolean } = {}): Promise<Hex | undefined> {
    checkQuery(query);
    if (options.fresh !== false) await this.ensureFresh();
    const grants = await this.#grantsFor(query.patient);
    const at = query.at ?? this.now();
    return permittingGrant(grants, { ...query, at }, this.#consortium);
  }

  /** Every grant of the patient (revoked ones included), as indexed after ensureFresh() unless `fresh: false`. */
  async grantsOf(patient: Hex, options: { fresh?: boolean } = {}): Promise<IndexedGrant[]> {
    checkQuery({ patient, organisation: 0, action: 0, resourceClass: 0, purpose: 0 });
    if (options.fresh !== false) await this.ensureFresh();
    return [...(await this.#grantsFor(patient))];
  }

  /**
   * The grants to an organisation not revoked as of the indexed head, after ensureFresh(): what a member's
   * search may draw on. Whether each still permits a given query is grantPermits' decision at that moment.
   */
  async grantsTo(organisation: number): Promise<IndexedGrant[]> {
    checkQuery({ patient: `0x${'0'.repeat(64)}`, organisation, action: 0, resourceClass: 0, purpose: 0 });
    await this.ensureFresh();
    return loadGrantsTo(this.db, organisation);
  }

  async grant(id: Hex): Promise<IndexedGrant | undefined> {
    await this.ensureFresh();
    return loadGrant(this.db, id);
  }

  /**
   * The break-glass session that gives `member` access to the patient's data at `at` (default now()), as
   * ConsentManager.isBreakGlassActive decides it: open, not expired or ended, and the member's licence valid.
   */
  async activeBreakGlass(patient: Hex, member: Address, at?: number): Promise<BreakGlassSession | undefined> {
    checkQuery({ patient, organisation: 0, member, action: 0, resourceClass: 0, purpose: 0 });
    await this.ensureFresh();
    const when = at ?? this.now();
    if (!this.#consortium.hasValidLicence(member, when)) return undefined;
    const key = `${patient.toLowerCase()}|${member.toLowerCase()}`;
    let sessions = this.#sessions.get(key);
    for (; sessions === undefined; ) {
      const epoch = this.#epoch;
      const loaded = await breakGlassOf(this.db, patient, member);
      if (epoch !== this.#epoch) continue; // a chunk committed meanwhile: read again
      if (this.#sessions.size >= this.#cacheLimit)
        this.#sessions.delete(this.#sessions.keys().next().value as string);
      this.#sessions.set(key, loaded);
      sessions = loaded;
    }
    return runningAt(sessions, when);
  }

  async breakGlassSession(id: number): Promise<BreakGlassSession | undefined> {
    await this.ensureFresh();
    return loadBreakGlass(this.db, id);
  }

  /** Sessions by id; `unreviewed: true` is the auditors' review queue. */
  async breakGlassSessions(filter: BreakGlassFilter = {}): Promise<BreakGlassSession[]> {
    await this.ensureFresh();
    return listBreakGlass(this.db, filter);
  }
}
