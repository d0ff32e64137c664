/**
 * An organisation's private key bundle, prepared for the exchange protocol: its ledger id, its public bundle,
 * and the ML-DSA signing key and X-Wing decapsulation key expanded once (each expansion costs a key generation,
 * ~3 ms together here, a third of an ML-DSA signature). A node builds one at start-up and keeps it for its
 * lifetime; `destroy()` wipes the expanded secrets (best effort, see docs/crypto.md *Limits*).
 *
 * It signs only under the exchange protocol's own signature contexts, so holding this object is not a way to
 * sign arbitrary medledger objects (key bundles, batch roots) with the organisation's key.
 */
import {
  CompositeSigner,
  equalBytes,
  type KeyBundle,
  type KeyId,
  type PublicKeyBundle,
  XWingDecapsulationKey,
} from '@medledger/crypto';
import { badInput, checkOrganisationId, type OrganisationId } from './exchangeFields.js';

/** Composite-signature contexts of the exchange protocol (also listed in docs/spec/envelopes.md). */
export const EXCHANGE_SIGNATURE_CONTEXTS = Object.freeze({
  request: 'medledger/exchange-request/v1',
  response: 'medledger/exchange-response/v1',
  workflowRequest: 'medledger/exchange-workflow-request/v1',
  workflowResponse: 'medledger/exchange-workflow-response/v1',
  prescriptionRequest: 'medledger/prescription-request/v1',
  prescriptionRelease: 'medledger/prescription-release/v1',
});
export type ExchangeSignatureContext =
  (typeof EXCHANGE_SIGNATURE_CONTEXTS)[keyof typeof EXCHANGE_SIGNATURE_CONTEXTS];

const CONTEXTS = new Set<string>(Object.values(EXCHANGE_SIGNATURE_CONTEXTS));

export class OrganisationKeys {
  readonly organisation: OrganisationId;
  readonly keyId: KeyId;
  readonly publicBundle: PublicKeyBundle;
  readonly #signer: CompositeSigner;
  readonly #kem: XWingDecapsulationKey;

  private constructor(organisation: OrganisationId, bundle: KeyBundle) {
    this.organisation = checkOrganisationId(organisation, 'organisation');
    this.#signer = new CompositeSigner(bundle.signingSecretKey);
    this.#kem = new XWingDecapsulationKey(bundle.kemSecretKey);
    // A bundle whose secret and public halves disagree would make every message this node sends unverifiable
    // and every message to it undecryptable: refuse it at start-up rather than at the first exchange.
    if (
      !equalBytes(this.#signer.publicKey, bundle.publicBundle.signingPublicKey) ||
      !equalBytes(this.#kem.publicKey, bundle.publicBundle.kemPublicKey) ||
      bundle.keyId !== bundle.publicBundle.keyId
    ) {
      this.destroy();
      throw badInput('key bundle secrets do not match its public bundle');
    }
    this.keyId = bundle.keyId;
    this.publicBundle = bundle.publicBundle;
  }

  /** Prepares `bundle` (as loaded from the keystore) for organisation `organisation` (its ledger id). */
  static fromKeyBundle(organisation: OrganisationId, bundle: KeyBundle): OrganisationKeys {
    return new OrganisationKeys(organisation, bundle);
  }

  /** @internal Signs under one of the exchange contexts only. */
  sign(message: Uint8Array, context: ExchangeSignatureContext): Uint8Array {
    if (!CONTEXTS.has(context)) throw badInput('not an exchange signature context');
    return this.#signer.sign(message, context);
  }

  /** @internal The X-Wing key for HPKE opens and category-key unwraps addressed to this organisation. */
  get decapsulationKey(): XWingDecapsulationKey {
    return this.#kem;
  }

  destroy(): void {
    this.#signer.destroy();
    this.#kem.destroy();
  }
}

/** MDL_BAD_INPUT unless `keys` is an OrganisationKeys (a plain KeyBundle passed by mistake, say). */
export function checkOrganisationKeys(keys: unknown, what: string): OrganisationKeys {
  if (!(keys instanceof OrganisationKeys)) throw badInput(`${what} must be OrganisationKeys`);
  return keys;
}
