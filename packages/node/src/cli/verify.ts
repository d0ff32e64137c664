/** `medledger verify`: every stored record against its blob and its on-chain anchor. */

import { client } from './client.js';
import { CLIENT_OPTIONS, type Command } from './command.js';
import { verifyRecords } from './verifyRecords.js';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check every stored record against its blob and its on-chain anchor',
  usage: ['verify [options]'],
  description:
    'A page at a time, with progress on stderr; each problem on a line of its own on stdout, then a summary; ' +
    'exit code 1 when there is one.',
  options: CLIENT_OPTIONS,
  positionals: [0, 0],
  async run({ values }) {
    await verifyRecords({ call: client(values).call });
  },
};
