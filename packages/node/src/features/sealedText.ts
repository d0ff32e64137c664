/**
 * Free text that the ledger must commit to without revealing it — a break-glass reason, an auditor's finding:
 * the chain gets a salted hash, the node keeps the text sealed under its sealing key.
 *
 * commitment = SHA-256( "medledger/care/v1/<label>" ‖ 0x00 ‖ salt (32 random bytes) ‖ UTF-8 text )
 *
 * The salt stops anyone from confirming a guessed reason ("chest pain") against the public hash. The sealed
 * form (key-committing AES-256-GCM) holds text and salt, bound by its associated data to the label and the
 * commitment, so a sealed reason cannot be moved to another session. Opening re-computes the commitment.
 */
import { randomBytes } from 'node:crypto';
import {
  aeadOpen,
  aeadSeal,
  bytesToHex,
  bytesToUtf8,
  concatBytes,
  hexToBytes,
  sha256,
  utf8ToBytes,
} from '@medledger/crypto';
import type { Hex } from 'viem';

export type SealedTextLabel = 'break-glass-reason' | 'break-glass-finding';

function commitment(label: SealedTextLabel, salt: Uint8Array, text: string): Hex {
  const prefix = utf8ToBytes(`medledger/care/v1/${label}`);
  return `0x${bytesToHex(sha256(concatBytes(prefix, new Uint8Array([0]), salt, utf8ToBytes(text))))}`;
}

const aad = (label: SealedTextLabel, hash: Hex) => utf8ToBytes(`medledger/care/v1/${label}|${hash}`);

/** A fresh commitment to `text` and the text sealed under `key`. */
export function commitText(
  key: Uint8Array,
  label: SealedTextLabel,
  text: string,
): { hash: Hex; sealed: Uint8Array } {
  const salt = new Uint8Array(randomBytes(32));
  const hash = commitment(label, salt, text);
  const plain = utf8ToBytes(JSON.stringify({ t: text, s: bytesToHex(salt) }));
  return { hash, sealed: aeadSeal(key, plain, aad(label, hash)) };
}

/** The text, if `sealed` opens under `key` for this label and commitment and re-computes to it. */
export function openText(
  key: Uint8Array,
  label: SealedTextLabel,
  hash: Hex,
  sealed: Uint8Array,
): string | undefined {
  const plain = aeadOpen(key, sealed, aad(label, hash.toLowerCase() as Hex));
  if (!plain) return undefined;
  try {
    const { t, s } = JSON.parse(bytesToUtf8(plain)) as { t: unknown; s: unknown };
    if (typeof t !== 'string' || typeof s !== 'string' || !/^[0-9a-f]{64}$/.test(s)) return undefined;
    return commitment(label, hexToBytes(s), t) === hash.toLowerCase() ? t : undefined;
  } catch {
    return undefined;
  }
}
