/**
 * `medledger consortium <action>`: forming and governing a consortium on an external chain (cli/consortium/,
 * docs/consortium.md). Its actions take different options: the dispatcher checks the line against all of them,
 * and the action against its own when it runs.
 */
import type { Command, OptionSpec } from './command.js';
import { CONSORTIUM_USAGE } from './consortium/usage.js';
import { START_OPTIONS } from './start.js';

const option = (value: string, help: string, env?: string): OptionSpec => ({
  value,
  help,
  ...(env ? { env } : {}),
});

export const consortiumCommand: Command = {
  name: 'consortium',
  summary: 'form and govern a consortium on an external chain: deploy, join requests, admission, members',
  usage: ['consortium <action> [arguments] [options]   (medledger consortium help: every action)'],
  description: CONSORTIUM_USAGE.replace(/^usage: [^\n]*\n\n/, ''),
  options: {
    'rpc-url': option('url', 'the chain’s JSON-RPC URL', 'LEDGER_RPC_URL'),
    'deployment-file': option('file', 'the contracts’ deployment file', 'MEDLEDGER_DEPLOYMENT_FILE'),
    'governance-key-file': option('file', 'the governance key (0600 file)', 'MEDLEDGER_GOVERNANCE_KEY_FILE'),
    'names-file': option('file', 'organisation names (default: beside the deployment file)'),
    out: option('file', 'where governance-key, deploy and join-request write'),
    'break-glass-cap': option('seconds', 'deploy: the longest break-glass session'),
    fund: option('eth', 'admit, add-node-account: ether sent to the node account'),
    reason: option('text', 'suspend: the governance decision (its hash goes on-chain)'),
    json: { help: 'members: as JSON' },
    'min-delay': option('seconds', 'deploy-timelock: the delay before a proposal may run'),
    proposers: option('addresses', 'deploy-timelock: who may propose, comma-separated'),
    executors: option('addresses', 'deploy-timelock: who may execute, comma-separated, or anyone'),
    to: option('address', 'hand-over: the timelock or multisig that governs next'),
    // join-request takes the options its node will start with.
    ...START_OPTIONS,
  },
  positionals: [1, 3],
  async run({ argv }) {
    const { consortiumCommand: run } = await import('./consortium/consortiumCommand.js');
    await run(argv);
  },
};
