/**
 * HPKE (RFC 9180), base mode, single-shot and multi-message, with X-Wing as the KEM
 * (draft-connolly-cfrg-xwing-kem §5.6: KEM id 0x647a, Nenc 1120, Npk 1216, Nsk 32), HKDF-SHA256 and
 * AES-256-GCM. This is how a category key reaches a holder: one X-Wing encapsulation per grant.
 *
 * The key schedule is written once over a suite description so the RFC's own test vectors (whose KEM is
 * DHKEM(X25519) and AEAD AES-128-GCM) check it. PSK and Auth modes are deliberately absent: X-Wing is not an
 * authenticated KEM, and medledger authenticates senders with composite signatures instead.
 */

import { MdlError, MdlErrorCode } from '@medledger/core';
import { platform } from '#platform';
import { concatBytes, i2osp, utf8ToBytes, wipe } from './bytes.js';
import { hkdfExpand, hkdfExtract } from './hash.js';
import { XWING, type XWingDecapsulationKey, xwingEncapsulate } from './x-wing.js';

export interface HpkeSuite {
  readonly kemId: number;
  readonly kdfId: number;
  readonly aeadId: number;
  /** AEAD key length in bytes. */
  readonly Nk: number;
}

/** medledger's suite: X-Wing, HKDF-SHA256, AES-256-GCM. */
export const HPKE_XWING_SUITE: HpkeSuite = Object.freeze({
  kemId: 0x647a,
  kdfId: 0x0001,
  aeadId: 0x0002,
  Nk: 32,
});

const MODE_BASE = 0x00;
const Nn = 12;
const Nh = 32;
const VERSION_LABEL = utf8ToBytes('HPKE-v1');
const EMPTY = new Uint8Array(0);

function suiteId(s: HpkeSuite): Uint8Array {
  return concatBytes(utf8ToBytes('HPKE'), i2osp(s.kemId, 2), i2osp(s.kdfId, 2), i2osp(s.aeadId, 2));
}

function labeledExtract(sid: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return hkdfExtract(salt, concatBytes(VERSION_LABEL, sid, utf8ToBytes(label), ikm));
}

function labeledExpand(sid: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, L: number) {
  return hkdfExpand(prk, concatBytes(i2osp(L, 2), VERSION_LABEL, sid, utf8ToBytes(label), info), L);
}

export interface HpkeKeySchedule {
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
}

/** RFC 9180 §5.1 KeySchedule for mode_base (empty psk and psk_id). */
export function hpkeKeySchedule(
  suite: HpkeSuite,
  sharedSecret: Uint8Array,
  info: Uint8Array,
): HpkeKeySchedule {
  const sid = suiteId(suite);
  const pskIdHash = labeledExtract(sid, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(sid, EMPTY, 'info_hash', info);
  const context = concatBytes(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(sid, sharedSecret, 'secret', EMPTY);
  try {
    return {
      key: labeledExpand(sid, secret, 'key', context, suite.Nk),
      baseNonce: labeledExpand(sid, secret, 'base_nonce', context, Nn),
      exporterSecret: labeledExpand(sid, secret, 'exp', context, Nh),
    };
  } finally {
    wipe(secret);
  }
}

/** An HPKE encryption context (RFC 9180 §5.2): sequence-numbered nonces, one direction. */
export class HpkeContext {
  readonly #suite: HpkeSuite;
  readonly #key: Uint8Array;
  readonly #baseNonce: Uint8Array;
  readonly #exporterSecret: Uint8Array;
  #seq = 0;

  constructor(suite: HpkeSuite, schedule: HpkeKeySchedule) {
    this.#suite = suite;
    this.#key = schedule.key;
    this.#baseNonce = schedule.baseNonce;
    this.#exporterSecret = schedule.exporterSecret;
  }

  #nextNonce(): Uint8Array {
    if (this.#seq >= Number.MAX_SAFE_INTEGER)
      throw new MdlError(MdlErrorCode.BadInput, 'HPKE sequence overflow');
    const nonce = i2osp(this.#seq, Nn);
    for (let i = 0; i < Nn; i++) nonce[i]! ^= this.#baseNonce[i]!;
    return nonce;
  }

  seal(plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
    const ct = platform.aesGcmEncrypt(this.#key, this.#nextNonce(), plaintext, aad);
    this.#seq++;
    return ct;
  }

  /** `undefined` if authentication fails; the sequence number then does not advance (RFC 9180 §5.2). */
  open(ciphertext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array | undefined {
    const pt = platform.aesGcmDecrypt(this.#key, this.#nextNonce(), ciphertext, aad);
    if (pt) this.#seq++;
    return pt;
  }

  /** RFC 9180 §5.3 secret export. */
  export(exporterContext: Uint8Array, length: number): Uint8Array {
    return labeledExpand(suiteId(this.#suite), this.#exporterSecret, 'sec', exporterContext, length);
  }

  destroy(): void {
    wipe(this.#key, this.#baseNonce, this.#exporterSecret);
  }
}

/** SetupBaseS with X-Wing. `eseed` (64 bytes) makes encapsulation deterministic, for test vectors only. */
export function hpkeSetupSender(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  eseed?: Uint8Array,
): { enc: Uint8Array; context: HpkeContext } {
  const { cipherText, sharedSecret } = xwingEncapsulate(recipientPublicKey, eseed);
  try {
    return {
      enc: cipherText,
      context: new HpkeContext(HPKE_XWING_SUITE, hpkeKeySchedule(HPKE_XWING_SUITE, sharedSecret, info)),
    };
  } finally {
    wipe(sharedSecret);
  }
}

/** SetupBaseR with X-Wing; throws MDL_BAD_INPUT if `enc` is malformed. */
export function hpkeSetupRecipient(
  recipient: XWingDecapsulationKey,
  enc: Uint8Array,
  info: Uint8Array,
): HpkeContext {
  const sharedSecret = recipient.decapsulate(enc);
  try {
    return new HpkeContext(HPKE_XWING_SUITE, hpkeKeySchedule(HPKE_XWING_SUITE, sharedSecret, info));
  } finally {
    wipe(sharedSecret);
  }
}

/** Single-shot HPKE seal (RFC 9180 §6.1) to an X-Wing public key. */
export function hpkeSeal(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): { enc: Uint8Array; ciphertext: Uint8Array } {
  const { enc, context } = hpkeSetupSender(recipientPublicKey, info);
  try {
    return { enc, ciphertext: context.seal(plaintext, aad) };
  } finally {
    context.destroy();
  }
}

/** Single-shot HPKE open; `undefined` on any failure, never an exception for bad ciphertext input. */
export function hpkeOpen(
  recipient: XWingDecapsulationKey,
  enc: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  if (!(enc instanceof Uint8Array) || enc.length !== XWING.cipherTextLength) return undefined;
  let context: HpkeContext;
  try {
    context = hpkeSetupRecipient(recipient, enc, info);
  } catch {
    return undefined;
  }
  try {
    return context.open(ciphertext, aad);
  } finally {
    context.destroy();
  }
}
