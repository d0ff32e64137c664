/**
 * The category keys this node holds as custodian: one per (patient pseudonym, data category, epoch), stored
 * only HPKE-wrapped to the node's own X-Wing key in the index database, and kept unwrapped in a bounded
 * in-memory cache (an unwrap costs an X-Wing decapsulation, ~milliseconds; a record seal costs microseconds).
 *
 * Creation race: two requests may create the first key of a (patient, category) at once. The wrap is inserted
 * with ON CONFLICT DO NOTHING and read back, so both requests end up using the key that was stored.
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
import type { Queryable, RecordIndex } from '@medledger/storage';

export interface CustodianKeys {
  keyId: KeyId;
  kemPublicKey: Uint8Array;
  decapsulationKey: XWingDecapsulationKey;
}

const CACHE_LIMIT = 20_000;

export class CategoryKeyRing {
  readonly #index: RecordIndex;
  readonly #custodian: CustodianKeys;
  readonly #cache = new Map<string, CategoryKey>();
  readonly #currentEpoch = new Map<string, number>();
  /** Concurrent first uses of the same (patient, category) share one lookup or creation. */
  readonly #inFlight = new Map<string, Promise<CategoryKey>>();

  constructor(index: RecordIndex, custodian: CustodianKeys) {
    this.#index = index;
    this.#custodian = custodian;
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

  /** The key new records of this patient and category are sealed with (created on first use). */
  async current(q: Queryable, pseudonym: Uint8Array, category: RecordCategory): Promise<CategoryKey> {
    const slot = CategoryKeyRing.#slot(pseudonym, category);
    const known = this.#currentEpoch.get(slot);
    if (known !== undefined) {
      const cached = this.#cache.get(`${slot}/${known}`);
      if (cached) return cached;
    }
    let pending = this.#inFlight.get(slot);
    if (!pending) {
      pending = this.#loadOrCreate(q, slot, pseudonym, category).finally(() => this.#inFlight.delete(slot));
      this.#inFlight.set(slot, pending);
    }
    return pending;
  }

  async #loadOrCreate(
    q: Queryable,
    slot: string,
    pseudonym: Uint8Array,
    category: RecordCategory,
  ): Promise<CategoryKey> {
    const epoch = await this.#index.latestEpoch(q, pseudonym, category);
    if (epoch !== undefined) {
      const key = await this.resolve(q, { pseudonym, category, epoch });
      if (!key) throw new Error('category key wrap for this node is missing');
      this.#currentEpoch.set(slot, epoch);
      return key;
    }
    const fresh = CategoryKey.generate({ pseudonym, category, epoch: 0 });
    const envelope = wrapCategoryKey(fresh, this.#custodian);
    await this.#index.putWrappedKey(q, {
      pseudonym,
      category,
      epoch: 0,
      holderKeyId: this.#custodian.keyId,
      envelope,
    });
    const stored = await this.#index.wrappedKey(q, pseudonym, category, 0, this.#custodian.keyId);
    this.#currentEpoch.set(slot, 0);
    if (stored && !equalBytes(stored, envelope)) {
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
    this.#currentEpoch.clear();
  }
}
