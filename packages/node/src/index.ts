export { main } from './cli.js';
export { loadConfig, type NodeConfig } from './config.js';
export { type RunningNode, startNode } from './Node.js';
export {
  type ConsortiumMember,
  type ConsortiumNode,
  type LocalConsortium,
  startLocalConsortium,
} from './consortium/LocalConsortium.js';
export { mintOwnToken, signInAtNode, totpSecretOf } from './consortium/personSignIn.js';
