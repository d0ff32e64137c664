/**
 * A software WebAuthn authenticator for tests (there is no browser here): a P-256 key from node:crypto, the
 * clientDataJSON a browser would build, authenticator data with flags and a signature counter, and a 'none'
 * attestation object in CBOR — built byte by byte per WebAuthn Level 3 §6.1 and §6.5 so that the server
 * library verifies real structures, not mocks of its own inputs.
 */

import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

// --- a minimal CBOR encoder (RFC 8949): unsigned/negative integers, byte and text strings, arrays, maps ----

type CborValue =
  | number
  | string
  | Uint8Array
  | CborValue[]
  | Map<number | string, CborValue>
  | { [k: string]: CborValue };

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.of((major << 5) | n);
  if (n < 0x100) return Buffer.of((major << 5) | 24, n);
  if (n < 0x10000) return Buffer.of((major << 5) | 25, n >> 8, n & 0xff);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

export function cbor(value: CborValue): Buffer {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error('integers only');
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

// --- the authenticator ---------------------------------------------------------------------------------

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;
export const FLAG_AT = 0x40;

export interface CeremonyOptions {
  origin: string;
  /** Overrides for negative tests. */
  rpId?: string;
  type?: string;
  challenge?: string;
  flags?: number;
  /** Sign-count to report; default: the authenticator's counter after incrementing. */
  counter?: number;
}

export class SoftAuthenticator {
  readonly credentialId: Uint8Array = randomBytes(32);
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  /** The signature counter; each assertion adds `counterStep` (0 models passkeys that never count). */
  counter = 0;
  readonly counterStep: number;

  constructor(options: { counterStep?: number } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
    this.counterStep = options.counterStep ?? 1;
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  #coseKey(): Buffer {
    const jwk = this.#publicKey.export({ format: 'jwk' });
    // COSE_Key EC2 (RFC 9053 §7.1): kty 2, alg -7 (ES256), crv 1 (P-256), x, y.
    return cbor(
      new Map<number, CborValue>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
  }

  #authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.of(flags), count, ...(attested ? [attested] : [])]);
  }

  #clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
  }

  /** navigator.credentials.create() with 'none' attestation. */
  register(
    options: PublicKeyCredentialCreationOptionsJSON,
    ceremony: CeremonyOptions,
  ): RegistrationResponseJSON {
    const rpId = ceremony.rpId ?? options.rp.id!;
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLength, this.credentialId, this.#coseKey()]);
    const authData = this.#authData(
      rpId,
      (ceremony.flags ?? FLAG_UP | FLAG_UV) | FLAG_AT,
      ceremony.counter ?? this.counter,
      attested,
    );
    const clientDataJSON = this.#clientData(
      ceremony.type ?? 'webauthn.create',
      ceremony.challenge ?? options.challenge,
      ceremony.origin,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(cbor({ fmt: 'none', attStmt: {}, authData })),
        transports: ['usb', 'nfc'],
      },
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get(): an assertion over authenticator data ‖ SHA-256(clientDataJSON). */
  authenticate(
    options: PublicKeyCredentialRequestOptionsJSON,
    ceremony: CeremonyOptions,
  ): AuthenticationResponseJSON {
    const rpId = ceremony.rpId ?? options.rpId!;
    if (ceremony.counter === undefined) this.counter += this.counterStep;
    const authData = this.#authData(
      rpId,
      ceremony.flags ?? FLAG_UP | FLAG_UV,
      ceremony.counter ?? this.counter,
    );
    const clientDataJSON = this.#clientData(
      ceremony.type ?? 'webauthn.get',
      ceremony.challenge ?? options.challenge,
      ceremony.origin,
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.#privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
      },
      clientExtensionResults: {},
    };
  }
}
