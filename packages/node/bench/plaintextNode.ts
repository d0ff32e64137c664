/**
 * BENCHMARK ONLY: a node that stores records unencrypted and anchors nothing — the baseline bench/run.ts
 * measures medledger's guarantees against. It takes the same arguments and environment as `medledger start`
 * and prints the same "FHIR base URL" line; the plaintext mode itself is reachable only from code like this,
 * never from a node's configuration.
 */
import { loadConfig } from '../src/config.js';
import { startNode } from '../src/Node.js';

process.env.UV_THREADPOOL_SIZE ??= '16';
const [command, ...rest] = process.argv.slice(2);
if (command !== 'start') throw new Error('usage: plaintextNode.ts start [medledger start options]');
const node = await startNode(loadConfig(rest), { benchmarkPlaintextBaseline: true });
console.log(`medledger node ready\n  FHIR base URL      ${node.fhirUrl}`);
const shutdown = async () => {
  await node.stop();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
