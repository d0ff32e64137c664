/** `medledger import`: FHIR transaction/batch bundles from files into a running node. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { client } from './client.js';
import { CLIENT_OPTIONS, CliError, type Command } from './command.js';

function bundleFiles(target: string): string[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(target);
  } catch {
    throw new CliError(`${target}: no such file or directory`);
  }
  if (!st.isDirectory()) return [target];
  return readdirSync(target)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(target, f));
}

export const importCommand: Command = {
  name: 'import',
  summary: 'load FHIR transaction/batch bundles (JSON) into a running node',
  usage: ['import <bundle.json|directory> [options]'],
  description: 'A directory: every *.json file in it, in name order, one bundle per request.',
  options: CLIENT_OPTIONS,
  positionals: [1, 1],
  async run({ values, positionals }) {
    const { call } = client(values);
    let resources = 0;
    const started = performance.now();
    for (const file of bundleFiles(positionals[0]!)) {
      const text = readFileSync(file, 'utf8');
      const result = await call('POST', '', text);
      const entries = (result.entry as unknown[] | undefined)?.length ?? 0;
      resources += entries;
      console.log(`${file}: ${entries} entries`);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `imported ${resources} resources in ${seconds.toFixed(1)} s (${Math.round(resources / seconds)}/s)`,
    );
  },
};
