/** `medledger reindex`: rebuilds a stopped node's search tokens, then exits. */
import { loadConfig } from '../config.js';
import { type Command, exitOnSignal } from './command.js';
import { START_OPTIONS } from './start.js';

export const reindexCommand: Command = {
  name: 'reindex',
  summary: 'rebuild every record’s search tokens in a STOPPED node’s data directory, then exit',
  usage: ['reindex [start options]'],
  description:
    'Takes the options of start (the same data directory, database and keystore). A start does this by itself when the token scheme changed.',
  options: START_OPTIONS,
  positionals: [0, 0],
  async run({ argv }) {
    const config = loadConfig(argv);
    const { startNode } = await import('../Node.js');
    // The node's own start path (keystore, database, chain, record service) with a forced rebuild, and no
    // request served: it stops as soon as the rebuild is recorded.
    exitOnSignal();
    const node = await startNode(config, { rebuildSearchIndex: true, serve: false });
    const r = node.searchIndex;
    await node.stop();
    console.log(
      `search index rebuilt: ${r.resources} resources, ${r.tokens} tokens, ${r.unreadable} unreadable (token scheme ${r.from ?? 'unrecorded'} → ${r.to})`,
    );
  },
};
