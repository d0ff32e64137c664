/**
 * Node implementation of the primitives: node:crypto (OpenSSL) for hashes, HMAC, AES-GCM, X25519, Ed25519 and
 * scrypt. Raw 32-byte keys are wrapped into DER (PKCS#8 / SPKI) because node:crypto has no raw-key import for
 * the Montgomery and Edwards curves.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  randomBytes as nodeRandomBytes,
  scryptSync,
  sign,
  verify,
} from 'node:crypto';
import { isSupportedGcmIv, type Platform } from './Platform.js';

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

const AES_GCM: Record<number, 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm'> = {
  16: 'aes-128-gcm',
  24: 'aes-192-gcm',
  32: 'aes-256-gcm',
};

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

function privateKey(prefix: Buffer, raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError('expected a 32-byte secret key');
  const der = Buffer.concat([prefix, raw]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

function publicKey(prefix: Buffer, raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError('expected a 32-byte public key');
  return createPublicKey({ key: Buffer.concat([prefix, raw]), format: 'der', type: 'spki' });
}

function rawPublic(key: KeyObject): Uint8Array {
  // SPKI for both curves is a 12-byte prefix followed by the 32-byte key.
  return u8(createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12));
}

function cipherName(key: Uint8Array) {
  const name = AES_GCM[key.length];
  if (!name) throw new RangeError('AES-GCM key must be 16, 24 or 32 bytes');
  return name;
}

export const platform: Platform = {
  name: 'node',
  randomBytes: (length) => u8(nodeRandomBytes(length)),

  sha256: (data) => u8(createHash('sha256').update(data).digest()),
  sha512: (data) => u8(createHash('sha512').update(data).digest()),
  sha3_256: (data) => u8(createHash('sha3-256').update(data).digest()),
  shake256: (data, outputLength) => u8(createHash('shake256', { outputLength }).update(data).digest()),
  hmacSha256: (key, data) => u8(createHmac('sha256', key).update(data).digest()),
  hmacSha512: (key, data) => u8(createHmac('sha512', key).update(data).digest()),
  hmacSha3_256: (key, data) => u8(createHmac('sha3-256', key).update(data).digest()),

  aesGcmEncrypt(key, iv, plaintext, aad) {
    if (!isSupportedGcmIv(iv)) throw new RangeError('AES-GCM IV must be 8 to 128 bytes');
    const cipher = createCipheriv(cipherName(key), key, iv, { authTagLength: 16 });
    cipher.setAAD(aad);
    // GCM is a stream mode: update() returns all the ciphertext and final() nothing, so one copy suffices.
    const body = cipher.update(plaintext);
    cipher.final();
    const out = new Uint8Array(body.length + 16);
    out.set(body);
    out.set(cipher.getAuthTag(), body.length);
    return out;
  },

  aesGcmDecrypt(key, iv, ciphertextAndTag, aad) {
    if (!isSupportedGcmIv(iv) || ciphertextAndTag.length < 16) return undefined;
    const tagAt = ciphertextAndTag.length - 16;
    try {
      const decipher = createDecipheriv(cipherName(key), key, iv, { authTagLength: 16 });
      decipher.setAAD(aad);
      decipher.setAuthTag(ciphertextAndTag.subarray(tagAt));
      const body = decipher.update(ciphertextAndTag.subarray(0, tagAt));
      decipher.final(); // throws if the tag does not verify; GCM's final() yields no further bytes
      return u8(body);
    } catch {
      return undefined;
    }
  },

  x25519PublicKey: (secretKey) => rawPublic(privateKey(PKCS8_X25519, secretKey)),
  x25519(secretKey, peerPublicKey) {
    // OpenSSL refuses an all-zero result (low-order peer point) with an error, which we let propagate.
    return u8(
      diffieHellman({
        privateKey: privateKey(PKCS8_X25519, secretKey),
        publicKey: publicKey(SPKI_X25519, peerPublicKey),
      }),
    );
  },

  ed25519PublicKey: (seed) => rawPublic(privateKey(PKCS8_ED25519, seed)),
  ed25519Sign: (seed, message) => u8(sign(null, message, privateKey(PKCS8_ED25519, seed))),
  ed25519Verify(signature, message, pub) {
    if (signature.length !== 64 || pub.length !== 32) return false;
    try {
      return verify(null, message, publicKey(SPKI_ED25519, pub), signature);
    } catch {
      return false;
    }
  },

  scrypt(password, salt, { N, r, p, dkLen }) {
    // maxmem must cover 128·N·r·p bytes plus slack, or OpenSSL refuses the parameters.
    const maxmem = 128 * N * r * p + 64 * 1024 * 1024;
    return u8(scryptSync(password, salt, dkLen, { N, r, p, maxmem }));
  },
};
