/**
 * An organisation's join request: what governance needs to admit it, and nothing secret. Made by
 * `medledger consortium join-request` from the node's keystore; read by `medledger consortium admit`.
 *
 * The registry profile (kind, endpoint, key-bundle hash and URI) goes on-chain as is; the name as people read
 * it stays off-chain (the registry holds no names) and is what governance and the CLI call the organisation.
 * The public key bundle travels with the request so governance can recompute its hash, and the node account
 * signs the whole request (EIP-191 over its RFC 8785 canonical JSON): whoever admits it knows that the
 * requester holds the account's key and that nothing was changed on the way.
 *
 * Pure: parsing and checking never touch the chain or the file system.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  base64urlToBytes,
  bytesToBase64url,
  bytesToHex,
  canonicalize,
  decodePublicKeyBundle,
  type PublicKeyBundle,
  publicBundleCommitment,
} from '@medledger/crypto';
import { type Address, getAddress, type Hex, isAddress, verifyMessage } from 'viem';
import type { LocalAccount } from 'viem/accounts';
import { ORGANISATION_KINDS, type OrganisationKindName } from '../../config.js';

export const JOIN_REQUEST_FORMAT = 'medledger.consortium.join-request/1';

/** A name as people read it: 1 to 100 printable characters (the directory's own rule). */
export const ORGANISATION_NAME = /^\P{Cc}{1,100}$/u;

export interface JoinRequestFields {
  format: typeof JOIN_REQUEST_FORMAT;
  name: string;
  kind: OrganisationKindName;
  /** The node's FHIR base URL, as the registry will list it. */
  endpoint: string;
  /** The registry's commitment to the public key bundle (publicBundleCommitment), 0x + 64 hex. */
  keyBundleHash: Hex;
  keyBundleUri: string;
  /** The encoded public key bundle, base64url. */
  keyBundle: string;
  /** The account the node transacts with. */
  nodeAccount: Address;
}

export interface JoinRequest extends JoinRequestFields {
  /** The node account's EIP-191 signature over the canonical JSON of the other fields. */
  signature: Hex;
}

function bad(message: string): never {
  throw new MdlError(MdlErrorCode.BadInput, message);
}

/** The bytes the node account signs: every field but the signature, canonical (RFC 8785). */
export function joinRequestMessage(fields: JoinRequestFields): string {
  const { format, name, kind, endpoint, keyBundleHash, keyBundleUri, keyBundle, nodeAccount } = fields;
  return canonicalize({ format, name, kind, endpoint, keyBundleHash, keyBundleUri, keyBundle, nodeAccount });
}

/** Builds and signs a join request with the node's account. */
export async function signJoinRequest(o: {
  name: string;
  kind: OrganisationKindName;
  endpoint: string;
  keyBundleUri: string;
  bundle: PublicKeyBundle;
  account: LocalAccount;
}): Promise<JoinRequest> {
  const fields: JoinRequestFields = {
    format: JOIN_REQUEST_FORMAT,
    name: o.name,
    kind: o.kind,
    endpoint: o.endpoint,
    keyBundleHash: `0x${bytesToHex(publicBundleCommitment(o.bundle))}`,
    keyBundleUri: o.keyBundleUri,
    keyBundle: bytesToBase64url(o.bundle.encoded),
    nodeAccount: o.account.address,
  };
  checkFields({ ...fields });
  const signature = await o.account.signMessage({ message: joinRequestMessage(fields) });
  return { ...fields, signature };
}

function httpUrl(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length > 500) bad(`${field} must be an http(s) URL`);
  const u = URL.parse(value);
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || u.hash) {
    bad(`${field} must be an http(s) URL without credentials or fragment`);
  }
  return value;
}

/** Checks the shape of every field (not the signature); throws MDL_BAD_INPUT naming the first bad one. */
function checkFields(f: Record<string, unknown>): asserts f is Record<string, unknown> & JoinRequestFields {
  if (f.format !== JOIN_REQUEST_FORMAT) bad(`not a medledger join request (format ${String(f.format)})`);
  if (typeof f.name !== 'string' || !ORGANISATION_NAME.test(f.name) || f.name.trim() !== f.name) {
    bad('name must be 1 to 100 printable characters, without leading or trailing spaces');
  }
  if (/^\d+$/.test(f.name)) bad('name must not be a number (numbers are registry ids)');
  if (!ORGANISATION_KINDS.includes(f.kind as OrganisationKindName)) {
    bad(`kind must be one of ${ORGANISATION_KINDS.join(', ')}`);
  }
  httpUrl('endpoint', f.endpoint);
  httpUrl('keyBundleUri', f.keyBundleUri);
  if (typeof f.keyBundleHash !== 'string' || !/^0x[0-9a-f]{64}$/.test(f.keyBundleHash)) {
    bad('keyBundleHash must be 0x and 64 lower-case hex digits');
  }
  if (typeof f.nodeAccount !== 'string' || !isAddress(f.nodeAccount, { strict: true })) {
    bad('nodeAccount must be a checksummed address');
  }
  if (typeof f.keyBundle !== 'string' || !/^[A-Za-z0-9_-]{1,20000}$/.test(f.keyBundle)) {
    bad('keyBundle must be the base64url public key bundle');
  }
}

/**
 * Parses and checks a join request: its fields, that the key bundle decodes, is self-signed and hashes to
 * keyBundleHash, and that the node account signed the request. Throws MDL_BAD_INPUT in one line otherwise.
 */
export async function parseJoinRequest(text: string): Promise<JoinRequest> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    bad('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('not a JSON object');
  const f = value as Record<string, unknown>;
  const known = new Set([
    'format',
    'name',
    'kind',
    'endpoint',
    'keyBundleHash',
    'keyBundleUri',
    'keyBundle',
    'nodeAccount',
    'signature',
  ]);
  const unknown = Object.keys(f).find((k) => !known.has(k));
  if (unknown !== undefined) bad(`unknown field "${unknown.slice(0, 40)}"`);
  checkFields(f);
  if (getAddress(f.nodeAccount) !== f.nodeAccount) bad('nodeAccount must be a checksummed address');
  let bundle: PublicKeyBundle;
  try {
    bundle = decodePublicKeyBundle(base64urlToBytes(f.keyBundle));
  } catch {
    bad('keyBundle is not a valid self-signed public key bundle');
  }
  if (`0x${bytesToHex(publicBundleCommitment(bundle))}` !== f.keyBundleHash) {
    bad('keyBundleHash is not the hash of keyBundle');
  }
  if (typeof f.signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(f.signature)) {
    bad('signature must be a 65-byte hex signature');
  }
  const fields: JoinRequestFields = {
    format: JOIN_REQUEST_FORMAT,
    name: f.name,
    kind: f.kind,
    endpoint: f.endpoint,
    keyBundleHash: f.keyBundleHash,
    keyBundleUri: f.keyBundleUri,
    keyBundle: f.keyBundle,
    nodeAccount: f.nodeAccount,
  };
  const signed = await verifyMessage({
    address: fields.nodeAccount,
    message: joinRequestMessage(fields),
    signature: f.signature as Hex,
  }).catch(() => false);
  if (!signed) bad(`the signature is not the node account ${fields.nodeAccount}'s over this request`);
  return { ...fields, signature: f.signature as Hex };
}
