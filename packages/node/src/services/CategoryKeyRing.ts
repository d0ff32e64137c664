/**
 * The category keys this node holds as custodian: one per (patient pseudonym, data category, epoch), stored
 * only HPKE-wrapped to the node's own X-Wing key in the index database, and kept unwrapped in a bounded
 * in-memory cache (an unwrap costs an X-Wing decapsulation, ~milliseconds; a record seal costs microseconds).
 *
 * Epochs: `current` — the key new versions are sealed with — starts a new epoch when a grant that covered the
 * category has ended since the current epoch began (keyEpochs.ts decides which; given no GrantEndings, the first
 * epoch is kept for ever). The new epoch's wrapped key and the rows accounting for the ended grants are written
 * in one transaction, so a crash loses neither half and a repeated check rotates no further. Old epochs stay
 * readable through `resolve`.
 *
 * Creation race: two requests may create the same epoch of a (patient, category) at once. Within the process
 * they share one creation; across processes the wrap is inserted with ON CONFLICT DO NOTHING — a plain first
 * key is read back and used by both, a rotation that lost the race starts over from the newest epoch.
 */
import type { RecordCategory } from '@medledger/core';
import {
  bytesToHex,
  CategoryKey,
  type CategoryKeyRef,
  equalBytes,
  type KeyId,
  unwrapCategoryKey,
  wrapCategoryKey,
  type XWingDecapsulationKey,
} from '@medledger/crypto';
import type { Db, Queryable, RecordIndex } from '@medledger/storage';
import { accountedGrants, type GrantEndings, recordRotation } from './keyEpochs.js';

export interface CustodianKeys {
  keyId: KeyId;
  kemPublicKey: Uint8Array;
  decapsulationKey: XWingDecapsulationKey;
}

const CACHE_LIMIT = 20_000;

/** Where the key ring learns which grants have ended, and the database its rotations commit to. */
export interface EpochRotation {
  db: Db;
  endings: GrantEndings;
}

interface SlotState {
  epoch: number;
  /** Ended grants the epochs up to `epoch` account for. */
  accounted: Set<string>;
}

/** A concurrent rotation of the same epoch committed first: start over from the newest epoch. */
class LostRace extends Error {}

export class CategoryKeyRing {
  readonly #index: RecordIndex;
  readonly #custodian: CustodianKeys;
  readonly #rotation: EpochRotation | undefined;
  readonly #cache = new Map<string, CategoryKey>();
  readonly #current = new Map<string, SlotState>();
  /** Concurrent uses of the same (patient, category) that need the database share one lookup or rotation. */
  readonly #inFlight = new Map<string, Promise<CategoryKey>>();

  constructor(index: RecordIndex, custodian: CustodianKeys, rotation?: EpochRotation) {
    this.#index = index;
    this.#custodian = custodian;
    this.#rotation = rotation;
  }

  static #slot(pseudonym: Uint8Array, category: number): string {
    return `${bytesToHex(pseudonym)}/${category}`;
  }

  #remember(key: CategoryKey): CategoryKey {
    const id = `${CategoryKeyRing.#slot(key.ref.pseudonym, key.ref.category)}/${key.ref.epoch}`;
    if (this.#cache.size >= CACHE_LIMIT) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.get(oldest)?.destroy();
      this.#cache.delete(oldest);
    }
    this.#cache.set(id, key);
    return key;
  }

  /**
   * The key new records of this patient and category are sealed with: created on first use, and a new epoch
   * when a grant that could have received the current one has ended since.
   */
  async current(q: Queryable, pseudonym: Uint8Array, category: RecordCategory): Promise<CategoryKey> {
    const slot = CategoryKeyRing.#slot(pseudonym, category);
    const ended = this.#rotation ? await this.#rotation.endings(q, pseudonym, category) : [];
    for (;;) {
      const state = this.#current.get(slot);
      if (state && ended.every((id) => state.accounted.has(id))) {
        const cached = this.#cache.get(`${slot}/${state.epoch}`);
        if (cached) return cached;
      }
      const pending = this.#inFlight.get(slot);
      if (pending) {
        // Another caller is settling this slot, perhaps on an older view of the ended grants: check again after.
        await pending.catch(() => undefined);
        continue;
      }
      const own = this.#settle(q, slot, pseudonym, category, ended).finally(() =>
        this.#inFlight.delete(slot),
      );
      this.#inFlight.set(slot, own);
      return own;
    }
  }

  /** The newest epoch if it accounts for every ended grant; otherwise a new one that does. */
  async #settle(
    q: Queryable,
    slot: string,
    pseudonym: Uint8Array,
    category: RecordCategory,
    ended: readonly string[],
  ): Promise<CategoryKey> {
    for (let attempt = 0; ; attempt++) {
      const latest = await this.#index.latestEpoch(q, pseudonym, category);
      const accounted = this.#rotation ? await accountedGrants(q, pseudonym, category) : new Set<string>();
      const missing = ended.filter((id) => !accounted.has(id));
      if (latest !== undefined && missing.length === 0) {
        const key = await this.resolve(q, { pseudonym, category, epoch: latest });
        if (!key) throw new Error('category key wrap for this node is missing');
        this.#current.set(slot, { epoch: latest, accounted });
        return key;
      }
      try {
        return await this.#start(
          slot,
          q,
          pseudonym,
          category,
          latest === undefined ? 0 : latest + 1,
          missing,
          accounted,
        );
      } catch (error) {
        if (!(error instanceof LostRace) || attempt >= 4) throw error;
      }
    }
  }

  /** Starts `epoch`: its wrapped key and the ended grants it accounts for, in one transaction. */
  async #start(
    slot: string,
    q: Queryable,
    pseudonym: Uint8Array,
    category: RecordCategory,
    epoch: number,
    missing: readonly string[],
    accounted: Set<string>,
  ): Promise<CategoryKey> {
    const fresh = CategoryKey.generate({ pseudonym, category, epoch });
    const envelope = wrapCategoryKey(fresh, this.#custodian);
    const write = async (tx: Queryable): Promise<Uint8Array> => {
      const recorded = await recordRotation(tx, pseudonym, category, epoch, missing);
      if (recorded.length < missing.length) throw new LostRace();
      const key = { pseudonym, category, epoch, holderKeyId: this.#custodian.keyId, envelope };
      if (await this.#index.putWrappedKey(tx, key)) return envelope;
      // The epoch exists already: a first key created concurrently is shared, a rotation starts over.
      const stored = await this.#index.wrappedKey(tx, pseudonym, category, epoch, this.#custodian.keyId);
      if (missing.length > 0 || !stored) throw new LostRace();
      return stored;
    };
    let stored: Uint8Array;
    try {
      stored = this.#rotation ? await this.#rotation.db.transaction(write) : await write(q);
    } catch (error) {
      fresh.destroy();
      throw error;
    }
    for (const id of missing) accounted.add(id);
    this.#current.set(slot, { epoch, accounted });
    if (!equalBytes(stored, envelope)) {
      fresh.destroy();
      return this.#remember(unwrapCategoryKey(stored, this.#custodian));
    }
    return this.#remember(fresh);
  }

  /** The key of a given epoch, for reading; undefined if this node holds no wrap of it. */
  async resolve(q: Queryable, ref: Readonly<CategoryKeyRef>): Promise<CategoryKey | undefined> {
    const id = `${CategoryKeyRing.#slot(ref.pseudonym, ref.category)}/${ref.epoch}`;
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const envelope = await this.#index.wrappedKey(
      q,
      ref.pseudonym,
      ref.category,
      ref.epoch,
      this.#custodian.keyId,
    );
    return envelope ? this.#remember(unwrapCategoryKey(envelope, this.#custodian)) : undefined;
  }

  /** Forgets cached keys (crypto-shredding and tests). */
  clear(): void {
    for (const k of this.#cache.values()) k.destroy();
    this.#cache.clear();
    this.#current.clear();
  }
}
