/** `medledger verify`: every stored record against its blob and its on-chain anchor. */

import { client } from './client.js';
import { CLIENT_OPTIONS, type Command } from './command.js';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check every stored record against its blob and its on-chain anchor',
  usage: ['verify [options]'],
  description: 'Prints each problem on a line of its own; exit code 1 when there is one.',
  options: CLIENT_OPTIONS,
  positionals: [0, 0],
  async run({ values }) {
    const { call } = client(values);
    const report = (await call('GET', '/$verify')) as {
      checked: number;
      anchored: number;
      pending: number;
      problems: string[];
    };
    for (const p of report.problems) console.log(`PROBLEM ${p}`);
    console.log(
      `verified ${report.checked} record versions: ${report.anchored} anchored, ${report.pending} not yet anchored, ${report.problems.length} problems`,
    );
    if (report.problems.length > 0) process.exitCode = 1;
  },
};
