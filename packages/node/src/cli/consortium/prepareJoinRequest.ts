/**
 * `medledger consortium join-request --out FILE [start options]`: an organisation's join request, made from its
 * node's data directory with the same options (or environment) it will start with. The keystore is created
 * here if the node never started, so the request names the keys the node will serve with: its node account,
 * its public key bundle (and hash), the endpoint and key-bundle URI its base URL gives, and the name it will
 * declare in the directory. Nothing secret goes into the file; the node account signs it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { bytesToHex } from '@medledger/crypto';
import { privateKeyToAccount } from 'viem/accounts';
import { loadConfig } from '../../config.js';
import { secureDataDirectory } from '../../dataDirectory.js';
import { NODE_SECRETS, openKeystoreFile, saveKeystore } from '../../keystoreFile.js';
import { refuse } from './governanceChain.js';
import { signJoinRequest } from './joinRequest.js';

/** argv holds `--out FILE` and the node's start options. */
export async function prepareJoinRequest(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
) {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--out') file = argv[++i];
    else if (arg.startsWith('--out=')) file = arg.slice('--out='.length);
    else rest.push(arg);
  }
  if (!file) refuse('usage: medledger consortium join-request --out <file> [start options]');
  if (existsSync(file)) refuse(`${file} exists: remove it to make a new join request`);
  const config = loadConfig(rest, env);
  if (!config.organisationName) {
    refuse(
      'a join request needs the organisation’s name: --organisation-name or MEDLEDGER_ORGANISATION_NAME (start the node with the same)',
    );
  }
  if (new URL(config.baseUrl).port === '0') {
    refuse('a join request needs the node’s real address: give --port (not 0) or --base-url');
  }
  secureDataDirectory(config.dataDir);
  const opened = openKeystoreFile(config);
  const missing = NODE_SECRETS.filter((n) => !opened.keystore.secretNames().includes(n));
  const ledgerKey = opened.keystore.secret('ledger-account');
  if (!opened.created && missing.length > 0) saveKeystore(opened);
  const account = privateKeyToAccount(`0x${bytesToHex(ledgerKey)}`);
  // What the node registers about itself when it admits itself on a development chain (Node.ts).
  const keyBundleUri = `${config.baseUrl}/.well-known/medledger-key-bundle`;
  const request = await signJoinRequest({
    name: config.organisationName,
    kind: config.organisationKind,
    endpoint: config.baseUrl,
    keyBundleUri,
    bundle: opened.keystore.active().publicBundle,
    account,
  });
  writeFileSync(file, `${JSON.stringify(request, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
  out(`join request for ${request.name} (${request.kind}) written to ${file}`);
  out(`  endpoint        ${request.endpoint}`);
  out(`  node account    ${request.nodeAccount}`);
  out(`  key bundle      ${request.keyBundleHash}`);
  out(`  keystore        ${opened.path}${opened.created ? ' (created now)' : ''}`);
  out(
    'send the file to the consortium’s governance; start the node with the same options once it is admitted',
  );
}
