/** `medledger import`: FHIR transaction/batch bundles from files into a running node. */
import { client } from './client.js';
import { CLIENT_OPTIONS, type Command } from './command.js';
import { importBundles } from './importBundles.js';

export const importCommand: Command = {
  name: 'import',
  summary: 'load FHIR transaction/batch bundles (JSON) into a running node',
  usage: ['import <bundle.json|directory> [options]'],
  description:
    'A directory: every *.json file in it, in name order, one bundle per request. Every file is checked first; ' +
    'each POST entry becomes a conditional create on its identifier (else its fullUrl), so importing the same ' +
    'bundles again creates nothing. Progress on stderr, the summary on stdout; a refused bundle is named with ' +
    'its entry, in one line (exit code 2).',
  options: CLIENT_OPTIONS,
  positionals: [1, 1],
  async run({ values, positionals }) {
    const { url, token } = client(values);
    await importBundles({ target: positionals[0]!, url, token });
  },
};
