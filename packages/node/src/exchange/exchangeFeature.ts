/** Node-to-node exchange (issue 5 item 6): placeholder, filled in by the exchange work. */
import type { Feature, NodeContext } from '../NodeContext.js';

export function exchangeFeature(_ctx: NodeContext): Feature {
  return { register() {} };
}
