export { main } from './cli.js';
export { loadConfig, type NodeConfig } from './config.js';
export { type RunningNode, startNode } from './Node.js';
