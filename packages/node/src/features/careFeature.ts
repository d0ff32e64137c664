/** Administration, members and break-glass (issue 5 items 1, 2, 5): placeholder, filled in next. */
import type { Feature, NodeContext } from '../NodeContext.js';

export function careFeature(_ctx: NodeContext): Feature {
  return { register() {} };
}
