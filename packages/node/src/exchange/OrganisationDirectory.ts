/**
 * Other organisations as the exchange needs them, from the ConsortiumRegistry: the profile (status, node
 * endpoint, key bundle commitment and URI), the public key bundle — fetched from the profile's keyBundleUri and
 * accepted only if its SHA-256 commitment equals the one on the chain — and members' licence credential hashes.
 *
 * Bundles are cached per organisation under their commitment, so a key rotation on the chain (a new
 * commitment) makes the next lookup fetch the new bundle. Profiles are re-read from the chain after
 * PROFILE_TTL_MS; licences are always read live (a reissued licence must invalidate requests citing the old).
 *
 * Limits: the bundle is fetched over whatever scheme the registry names (plain HTTP in a local consortium) —
 * safe, because the on-chain commitment authenticates it; a peer that serves a wrong bundle is simply unknown.
 */
import { consortiumRegistryAbi, OrganisationStatus } from '@medledger/contracts';
import {
  bytesToHex,
  decodePublicKeyBundle,
  type PublicKeyBundle,
  publicBundleCommitment,
} from '@medledger/crypto';
import type { LedgerClient } from '@medledger/ledger';
import { type Address, BaseError, ContractFunctionRevertedError, type Hex } from 'viem';

const PROFILE_TTL_MS = 5_000;
const BUNDLE_FETCH_TIMEOUT_MS = 10_000;
/** A public bundle is about 5.2 KiB; anything much larger is not one. */
const MAX_BUNDLE_BYTES = 16 * 1024;

export interface OrganisationProfile {
  id: number;
  kind: number;
  status: number;
  /** 0x + 64 hex, lower case. */
  keyBundleHash: Hex;
  /** The FHIR base URL of the organisation's node. */
  endpoint: string;
  keyBundleUri: string;
}

function reverted(error: unknown): boolean {
  return error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionRevertedError) !== null;
}

export class OrganisationDirectory {
  readonly #ledger: LedgerClient;
  readonly #profiles = new Map<number, { profile: OrganisationProfile | undefined; until: number }>();
  readonly #bundles = new Map<number, { commitment: Hex; bundle: PublicKeyBundle }>();
  readonly #inFlight = new Map<string, Promise<PublicKeyBundle | undefined>>();

  constructor(ledger: LedgerClient) {
    this.#ledger = ledger;
  }

  get #registry(): Address {
    return this.#ledger.deployment.contracts.ConsortiumRegistry.address;
  }

  /** The registry profile of an organisation; undefined if it was never admitted. */
  async profile(id: number): Promise<OrganisationProfile | undefined> {
    const cached = this.#profiles.get(id);
    if (cached && cached.until > Date.now()) return cached.profile;
    let profile: OrganisationProfile | undefined;
    try {
      const p = await this.#ledger.rpc('reading the registry', () =>
        this.#ledger.publicClient.readContract({
          address: this.#registry,
          abi: consortiumRegistryAbi,
          functionName: 'organisation',
          args: [id],
        }),
      );
      profile =
        p.status === OrganisationStatus.None
          ? undefined
          : {
              id,
              kind: p.kind,
              status: p.status,
              keyBundleHash: p.keyBundleHash.toLowerCase() as Hex,
              endpoint: p.endpoint.replace(/\/+$/, ''),
              keyBundleUri: p.keyBundleUri,
            };
    } catch (error) {
      // UnknownOrganisation reverts; anything else (the chain unreachable) is MDL_UNAVAILABLE.
      if (!reverted((error as { cause?: unknown }).cause)) throw error;
      profile = undefined;
    }
    this.#profiles.set(id, { profile, until: Date.now() + PROFILE_TTL_MS });
    return profile;
  }

  /**
   * The organisation's public key bundle, verified against its on-chain commitment; undefined if the
   * organisation is unknown or its published bundle cannot be fetched or does not match the commitment.
   */
  async bundle(id: number): Promise<PublicKeyBundle | undefined> {
    const profile = await this.profile(id);
    if (!profile) return undefined;
    const cached = this.#bundles.get(id);
    if (cached?.commitment === profile.keyBundleHash) return cached.bundle;
    const slot = `${id}/${profile.keyBundleHash}`;
    let pending = this.#inFlight.get(slot);
    if (!pending) {
      pending = this.#fetchBundle(profile).finally(() => this.#inFlight.delete(slot));
      this.#inFlight.set(slot, pending);
    }
    return pending;
  }

  async #fetchBundle(profile: OrganisationProfile): Promise<PublicKeyBundle | undefined> {
    let bytes: Uint8Array;
    try {
      const url = new URL(profile.keyBundleUri);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
      const res = await fetch(url, {
        signal: AbortSignal.timeout(BUNDLE_FETCH_TIMEOUT_MS),
        redirect: 'error',
      });
      if (!res.ok) return undefined;
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch {
      return undefined;
    }
    if (bytes.length > MAX_BUNDLE_BYTES) return undefined;
    let bundle: PublicKeyBundle;
    try {
      bundle = decodePublicKeyBundle(bytes);
    } catch {
      return undefined;
    }
    if (`0x${bytesToHex(publicBundleCommitment(bundle))}` !== profile.keyBundleHash) return undefined;
    this.#bundles.set(profile.id, { commitment: profile.keyBundleHash, bundle });
    return bundle;
  }

  /** The credentialHash of a member's licence on the ledger (zero when it has none), read live. */
  async licenceHash(member: Address): Promise<Hex> {
    return this.#ledger.rpc('reading the registry', async () => {
      const licence = await this.#ledger.publicClient.readContract({
        address: this.#registry,
        abi: consortiumRegistryAbi,
        functionName: 'licenceOf',
        args: [member],
      });
      return licence.credentialHash.toLowerCase() as Hex;
    });
  }
}
