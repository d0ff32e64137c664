/**
 * Who signs a patient's consent, and how the signature travels to the node. The node accepts two ways
 * (packages/node/src/features/consentFeature.ts):
 * - custodial: the node holds the patient's key sealed under their passphrase; the request carries the
 *   passphrase as a step-up header (`X-Medledger-Key-Passphrase`), used for this one signature and dropped;
 * - self-held: the browser signs the grant's EIP-712 terms with a key the node never sees, and the Consent
 *   carries the signature, its deadline and the nonce as extensions (the URLs below).
 *
 * A `ConsentSigner` turns the Consent the patient chose into the request that grants (POST /fhir/Consent) or
 * withdraws it (PUT /fhir/Consent/:id, status inactive). The consent screens only talk to this interface, so
 * the self-held signer plugs in without changing them. `consentSigner(custody)` picks one from what
 * GET /account/keys says: custody `self` signs in this browser with the key file kept here, unlocked by its
 * passphrase (the keys module, loaded on demand: keys/consentSigning.ts); otherwise the custodial signer.
 * Limits: the passphrase lives in the form's state for the duration of one request only.
 */
import type { AccountKeys } from '../keys/consentSigning';
import type { ConsentResource } from './consentWording';

export const SIGNATURE_EXTENSION = 'urn:medledger:consent-signature';
export const DEADLINE_EXTENSION = 'urn:medledger:consent-signature-deadline';
export const NONCE_EXTENSION = 'urn:medledger:consent-nonce';
export const KEY_PASSPHRASE_HEADER = 'X-Medledger-Key-Passphrase';

/** What goes to the node: the Consent (possibly with signature extensions) and headers. */
export interface SignedConsentRequest {
  consent: ConsentResource;
  headers: Record<string, string>;
}

export interface ConsentSigner {
  readonly kind: 'custodial' | 'self-held';
  /** The label of what the patient types to sign (a passphrase), or undefined when nothing is typed. */
  readonly secretLabel: string | undefined;
  readonly secretHint: string | undefined;
  /** The request granting `consent` (a new Consent, status active); `onProgress`: unlocking the key (0…1). */
  signGrant(
    consent: ConsentResource,
    secret: string,
    onProgress?: (share: number) => void,
  ): Promise<SignedConsentRequest>;
  /** The request withdrawing `stored` (the stored grant with status inactive). */
  signRevocation(
    stored: ConsentResource & { id: string },
    secret: string,
    onProgress?: (share: number) => void,
  ): Promise<SignedConsentRequest>;
}

/** The node signs with the patient's key it holds sealed, opened by the passphrase of this request. */
export const custodialSigner: ConsentSigner = {
  kind: 'custodial',
  secretLabel: 'Your password',
  secretHint:
    'Your organisation keeps your signing key locked with your password; it opens it for this signature only.',
  async signGrant(consent, secret) {
    return { consent, headers: { [KEY_PASSPHRASE_HEADER]: secret } };
  },
  async signRevocation(stored, secret) {
    return { consent: stored, headers: { [KEY_PASSPHRASE_HEADER]: secret } };
  },
};

/** What a self-held key produces for one grant or revocation (EIP-712 over the on-chain terms). */
export interface SelfHeldSignature {
  /** 0x + 65 (or 64, ERC-2098) bytes in hex. */
  signature: string;
  /** Until when the chain accepts the signature. */
  deadline: Date;
  /** The grant's nonce (uint64); the node requires one on a revocation too, where it is not used. */
  nonce: bigint;
}

/**
 * A signer around a browser-held key: `sign` gets the Consent (a new grant, or the stored grant being
 * withdrawn, with its `urn:medledger:consent-id` identifier) and the secret that unlocks the key, and returns
 * the signature; the Consent goes to the node carrying it as extensions, without any header.
 */
export function selfHeldSigner(
  sign: (
    consent: ConsentResource,
    secret: string,
    kind: 'grant' | 'revocation',
    onProgress?: (share: number) => void,
  ) => Promise<SelfHeldSignature>,
  labels: { secretLabel?: string; secretHint?: string } = {},
): ConsentSigner {
  const withSignature = (consent: ConsentResource, s: SelfHeldSignature): ConsentResource => {
    const others = ((consent.extension as { url?: string }[] | undefined) ?? []).filter(
      (e) => e.url !== SIGNATURE_EXTENSION && e.url !== DEADLINE_EXTENSION && e.url !== NONCE_EXTENSION,
    );
    return {
      ...consent,
      extension: [
        ...others,
        { url: SIGNATURE_EXTENSION, valueString: s.signature },
        { url: DEADLINE_EXTENSION, valueDateTime: s.deadline.toISOString().replace(/\.\d{3}Z$/, 'Z') },
        { url: NONCE_EXTENSION, valueString: s.nonce.toString() },
      ],
    };
  };
  return {
    kind: 'self-held',
    secretLabel: labels.secretLabel,
    secretHint: labels.secretHint,
    async signGrant(consent, secret, onProgress) {
      return {
        consent: withSignature(consent, await sign(consent, secret, 'grant', onProgress)),
        headers: {},
      };
    },
    async signRevocation(stored, secret, onProgress) {
      return {
        consent: withSignature(stored, await sign(stored, secret, 'revocation', onProgress)),
        headers: {},
      };
    },
  };
}

export const SELF_HELD_LABEL = 'The passphrase of your keys on this device';
export const SELF_HELD_HINT =
  'Your keys are held by you, in this browser: they sign here, and the node only passes the signature on.';

/**
 * The signer for this account: with `custody` from GET /account/keys saying `self`, the key file this browser
 * keeps for `accountId` signs (unlocked by its passphrase); otherwise the node signs with the custodial key.
 */
export function consentSigner(custody?: AccountKeys, accountId?: string): ConsentSigner {
  if (custody?.custody !== 'self' || !accountId) return custodialSigner;
  return selfHeldSigner(
    async (consent, passphrase, kind, onProgress) => {
      const { signWithKeyFile } = await import('../keys/consentSigning');
      return signWithKeyFile({
        accountId,
        passphrase,
        consent,
        kind,
        account: custody,
        ...(onProgress ? { onProgress } : {}),
      });
    },
    { secretLabel: SELF_HELD_LABEL, secretHint: SELF_HELD_HINT },
  );
}
