/** `medledger start`: runs a node in this process and says where everything is — and where it came from. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_OPTIONS, loadConfig, type NodeConfig } from '../config.js';
import type { RunningNode } from '../Node.js';
import { type Command, exitOnSignal, type OptionSpec } from './command.js';

/** start's options (also reindex's): the configuration, each with its variable (config.ts). */
export const START_OPTIONS: Record<string, OptionSpec> = Object.fromEntries(
  Object.entries(CONFIG_OPTIONS).map(([name, o]) => [
    name,
    { value: name.split('-').at(-1)!, env: o.env, help: o.help },
  ]),
);

/** The banner's account of the operator's token: which one works, and where it came from. */
export function adminCredentialLines(config: NodeConfig, node: Pick<RunningNode, 'adminTokenFile'>) {
  const file = join(config.dataDir, 'admin-token');
  if (config.adminToken) {
    const source = config.sources?.['admin-token'] ?? 'the configuration';
    return {
      credential: `the token given by ${source}${existsSync(file) ? ` (${file}, from an earlier start, holds another)` : ''}`,
      curlToken: source === 'MEDLEDGER_ADMIN_TOKEN' ? '$MEDLEDGER_ADMIN_TOKEN' : '<token>',
    };
  }
  return {
    credential: `${file} (${node.adminTokenFile ? 'written now' : 'kept from an earlier start'})`,
    curlToken: `$(cat ${file})`,
  };
}

/** The banner's account of the keystore passphrase's source (never the passphrase). */
export function passphraseSource(
  config: NodeConfig,
  source: RunningNode['keystorePassphraseSource'],
): string {
  if (source === 'environment') return 'MEDLEDGER_KEYSTORE_PASSPHRASE';
  if (source === 'file') {
    return `${config.keystorePassphraseFile} (${config.sources?.['keystore-passphrase-file'] ?? 'the configuration'})`;
  }
  return `${join(config.dataDir, 'keystore.passphrase')} (generated; keep it elsewhere for real data)`;
}

/** What `start` prints while no one can sign in: how to create the first administrator. */
function firstAdministratorHint(dataDir: string): string {
  // The client commands find the node through its data directory, whatever its port.
  const options = resolve(dataDir) === resolve('.medledger') ? '' : ` --data-dir ${dataDir}`;
  return `No one can sign in yet. Create the first administrator, in another terminal:
  npm run medledger -- admin create --username <name>${options}
It prints a one-time password and a TOTP secret; \`npm run medledger -- totp '<otpauth URI>'\` prints the current code.`;
}

export const startCommand: Command = {
  name: 'start',
  summary: 'run a node (embedded chain, database and blob store by default)',
  usage: ['start [options]'],
  description: `Each option is also read from the environment variable shown; a flag wins. Every invalid
value is one line and exit code 2. The keystore passphrase comes from MEDLEDGER_KEYSTORE_PASSPHRASE
(environment only), else --keystore-passphrase-file, else <data dir>/keystore.passphrase (generated on first
start). The node writes the URL it listens on to <data dir>/endpoint.json, where the client commands find it.`,
  options: START_OPTIONS,
  positionals: [0, 0],
  async run({ argv }) {
    const config = loadConfig(argv);
    // Loaded only to run a node: the client commands stay light (and free of its dependencies' warnings).
    const { startNode } = await import('../Node.js');
    const starting = exitOnSignal();
    const node = await startNode(config);
    starting();
    const appUrl = `${new URL(node.fhirUrl).origin}/`;
    const admin = adminCredentialLines(config, node);
    console.log(`medledger node ready

  ┌──────────────────────────────────────────────────────────────┐
  │  The web app:  ${appUrl.padEnd(46)}│
  └──────────────────────────────────────────────────────────────┘

  FHIR base URL      ${node.fhirUrl}
  admin credential   ${admin.credential}
  keystore           ${node.keystorePath}
  passphrase from    ${passphraseSource(config, node.keystorePassphraseSource)}
  data directory     ${config.dataDir}
  ledger             ${node.chain.mode} chain at ${node.chain.rpcUrl}, contracts ${node.chain.action}
  database           ${config.databaseUrl ? `PostgreSQL (${config.sources?.['database-url'] ?? 'DATABASE_URL'})` : `PGlite in ${join(config.dataDir, 'db')}`}
try: curl -H "Authorization: Bearer ${admin.curlToken}" ${node.fhirUrl}/Patient`);
    const people = (await node.accounts.listAccounts()).filter((a) => a.hasPassword);
    if (people.length === 0) {
      console.log(`\n${firstAdministratorHint(config.dataDir)}`);
    }
    const shutdown = async () => {
      await node.stop();
      process.exit(0);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  },
};
