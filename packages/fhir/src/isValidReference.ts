/**
 * The reference forms medledger accepts in Reference.reference. Deliberately narrower than FHIR's "any URL":
 * relative `Type/id` (optionally `/_history/vid`), absolute http(s) URLs, `urn:uuid:` and `urn:oid:`
 * (bundle-local identities), `#id` / `#` (contained resources), and — only when the caller allows it, as
 * in transaction bundles — conditional references `Type?query`.
 */
import { isResourceType } from './resourceTypes.js';

const ID = '[A-Za-z0-9\\-.]{1,64}';
const RELATIVE = new RegExp(`^([A-Za-z]+)/${ID}(/_history/${ID})?$`);
const URN_UUID = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const URN_OID = /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/;
const LOCAL = new RegExp(`^#(${ID})?$`);
const CONDITIONAL = /^([A-Za-z]+)\?[^\s#]+$/;
const HTTP = /^https?:\/\/[^\s]+$/;

export interface ReferenceOptions {
  /** Accept `Type?query` (conditional references; FHIR allows them only inside transactions). */
  allowConditionalReferences?: boolean;
}

export function isValidReference(reference: string, options: ReferenceOptions = {}): boolean {
  const relative = RELATIVE.exec(reference);
  if (relative !== null) return isResourceType(relative[1]);
  if (URN_UUID.test(reference) || URN_OID.test(reference) || LOCAL.test(reference)) return true;
  if (HTTP.test(reference)) return URL.canParse(reference);
  if (options.allowConditionalReferences === true) {
    const conditional = CONDITIONAL.exec(reference);
    if (conditional !== null) return isResourceType(conditional[1]);
  }
  return false;
}
