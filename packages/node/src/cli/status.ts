/** `medledger status`: a running node's readiness, record and anchor counts. */

import { client } from './client.js';
import { CLIENT_OPTIONS, type Command } from './command.js';

export const statusCommand: Command = {
  name: 'status',
  summary: 'show a running node’s readiness, record and anchor counts',
  usage: ['status [options]'],
  description: 'Prints the node’s $status answer as JSON.',
  options: CLIENT_OPTIONS,
  positionals: [0, 0],
  async run({ values }) {
    const { call } = client(values);
    console.log(JSON.stringify(await call('GET', '/$status'), null, 2));
  },
};
