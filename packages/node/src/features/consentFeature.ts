/** FHIR Consent → on-chain grants and revocations (issue 5 item 4): placeholder, filled in next. */
import type { Feature, NodeContext } from '../NodeContext.js';

export function consentFeature(_ctx: NodeContext): Feature {
  return { register() {} };
}
