/**
 * The patient's key handling, loaded on demand (`await import('../keys')`): it carries the post-quantum and
 * secp256k1 code, which the first load must not.
 */

export { openDocument, type SealedDocumentParts, sealDocument } from './documentSeal';
export { downloadBlob, downloadKeyFile, loadKeyFile, removeKeyFile, saveKeyFile } from './keyStorage';
export {
  type ConsentManagerDomain,
  type ConsentSignature,
  type ConsentSigner,
  KeyFileError,
  PatientKeyFile,
  type SignedConsent,
  selfHeldSigner,
  signConsentTerms,
} from './patientKeys';
