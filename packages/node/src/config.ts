/**
 * Node configuration from command-line flags and environment variables (flags win). Every problem is one
 * MdlError(MDL_CONFIG) line, which the CLI prints before exiting non-zero. Documented in docs/node.md.
 */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MdlError, MdlErrorCode } from '@medledger/core';

/** Registry organisation kinds by their configuration names, in the order of OrganisationKind. */
export const ORGANISATION_KINDS = [
  'hospital',
  'clinic',
  'lab',
  'pharmacy',
  'insurer',
  'research',
  'regulator',
] as const;
export type OrganisationKindName = (typeof ORGANISATION_KINDS)[number];

export interface NodeConfig {
  dataDir: string;
  host: string;
  port: number;
  /** Public base URL of the FHIR API (for links); default http://<host>:<port>/fhir. */
  baseUrl: string;
  /** PostgreSQL server instead of the embedded PGlite. */
  databaseUrl: string | undefined;
  /** Embedded PGlite on its own worker thread (default) or on the main thread (docs/storage.md). */
  pgliteThread: 'worker' | 'main';
  /** External chain instead of the embedded anvil; requires `deploymentFile`. */
  ledgerRpcUrl: string | undefined;
  deploymentFile: string | undefined;
  /** The embedded chain's JSON-RPC port on 127.0.0.1 (0: any free port, picked at each start). */
  chainPort: number;
  /**
   * A shared development chain only (`medledger demo`, local consortia): the governance key, read from a 0600
   * file, with which the node deploys the suite if the deployment file is missing and admits and funds itself.
   * Never set for a real consortium, whose governance admits organisations by vote.
   */
  governorKeyFile: string | undefined;
  /** The organisation's kind in the registry (hospital, lab, …); used when the node admits itself. */
  organisationKind: OrganisationKindName;
  /**
   * The organisation's name as people read it ("Riverside Lab"), served in the directory; the registry holds
   * no names. Default: the kind and the registry id ("Lab 2").
   */
  organisationName?: string;
  keystorePassphrase: string | undefined;
  keystorePassphraseFile: string | undefined;
  adminToken: string | undefined;
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /**
   * Web origins (`https://app.example`) whose browser apps may call the FHIR API, the discovery documents and
   * the token endpoint (CORS). Empty by default: same-origin only.
   */
  corsOrigins: string[];
  /** Anchor batch interval, ms. */
  anchorIntervalMs: number;
  /** Seconds a finished bulk export and its files are kept (default 3600). */
  bulkExportExpirySeconds?: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
  /** A file that gets one Common Log Format line per request (requestLog.ts); none by default. */
  accessLog: string | undefined;
  /**
   * A drug-name interaction list (CSV in the ONC High-Priority list's shape) the CDS Hooks services load at
   * start; none by default (docs/cds-hooks.md).
   */
  interactionList?: string | undefined;
  /** Hosts (`host` or `host:port`) rest-hook subscriptions may notify; empty: no rest-hook subscriptions. */
  restHookHosts: string[];
  /** Where each setting given came from — its flag (`--admin-token`) or variable — for the start banner. */
  sources?: Partial<Record<ConfigKey, string>>;
}

export const CONFIG_OPTIONS = {
  'data-dir': { type: 'string', env: 'MEDLEDGER_DATA_DIR', help: 'data directory (default ./.medledger)' },
  host: { type: 'string', env: 'MEDLEDGER_HOST', help: 'listen address (default 127.0.0.1)' },
  port: { type: 'string', env: 'MEDLEDGER_PORT', help: 'listen port (default 8080; 0 = any free port)' },
  'base-url': { type: 'string', env: 'MEDLEDGER_BASE_URL', help: 'public FHIR base URL for links' },
  'database-url': { type: 'string', env: 'DATABASE_URL', help: 'PostgreSQL URL (default: embedded PGlite)' },
  'pglite-thread': {
    type: 'string',
    env: 'MEDLEDGER_PGLITE_THREAD',
    help: 'worker (default: faster bulk imports) | main (faster small concurrent writes)',
  },
  'chain-port': {
    type: 'string',
    env: 'MEDLEDGER_CHAIN_PORT',
    help: 'the embedded chain’s JSON-RPC port on 127.0.0.1 (default 0: any free port)',
  },
  'ledger-rpc-url': { type: 'string', env: 'LEDGER_RPC_URL', help: 'external chain JSON-RPC URL' },
  'deployment-file': { type: 'string', env: 'MEDLEDGER_DEPLOYMENT_FILE', help: 'contract deployment file' },
  'governor-key-file': {
    type: 'string',
    env: 'MEDLEDGER_GOVERNOR_KEY_FILE',
    help: 'development consortia only: 0600 file with the governance key that admits this node',
  },
  'organisation-kind': {
    type: 'string',
    env: 'MEDLEDGER_ORGANISATION_KIND',
    help: `${ORGANISATION_KINDS.join('|')} (default hospital)`,
  },
  'organisation-name': {
    type: 'string',
    env: 'MEDLEDGER_ORGANISATION_NAME',
    help: 'the organisation’s name as people read it (default: its kind and registry id)',
  },
  'keystore-passphrase-file': {
    type: 'string',
    env: 'MEDLEDGER_KEYSTORE_PASSPHRASE_FILE',
    help: 'file (mode 0600) holding the keystore passphrase',
  },
  'admin-token': { type: 'string', env: 'MEDLEDGER_ADMIN_TOKEN', help: 'bootstrap admin bearer token' },
  'body-limit': { type: 'string', env: 'MEDLEDGER_BODY_LIMIT', help: 'largest request body in bytes' },
  'cors-origins': {
    type: 'string',
    env: 'MEDLEDGER_CORS_ORIGINS',
    help: 'comma-separated web origins allowed to call the API from a browser (default: none)',
  },
  'anchor-interval': {
    type: 'string',
    env: 'MEDLEDGER_ANCHOR_INTERVAL_MS',
    help: 'anchor batch interval (ms)',
  },
  'bulk-export-expiry': {
    type: 'string',
    env: 'MEDLEDGER_BULK_EXPORT_EXPIRY_SECONDS',
    help: 'seconds a finished bulk export and its files are kept (default 3600)',
  },
  'log-level': {
    type: 'string',
    env: 'MEDLEDGER_LOG_LEVEL',
    help: 'fatal|error|warn|info|debug|silent (debug: one line per request)',
  },
  'access-log': {
    type: 'string',
    env: 'MEDLEDGER_ACCESS_LOG',
    help: 'file to append one line per request to (Common Log Format, routes not URLs; default none)',
  },
  'interaction-list': {
    type: 'string',
    env: 'MEDLEDGER_INTERACTION_LIST',
    help: 'CSV file of a licensed drug-name interaction list (ONC High-Priority shape) for CDS Hooks (default none)',
  },
  'rest-hook-hosts': {
    type: 'string',
    env: 'MEDLEDGER_REST_HOOK_HOSTS',
    help: 'comma-separated hosts (host or host:port) rest-hook subscriptions may notify (default none)',
  },
} as const;

export type ConfigKey = keyof typeof CONFIG_OPTIONS;
type Key = ConfigKey;

function fail(message: string): never {
  throw new MdlError(MdlErrorCode.Config, message);
}

function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) fail(`${name} must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) fail(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function url(name: string, raw: string, protocols: string[]): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    fail(`${name} is not a valid URL`);
  }
  if (!protocols.includes(u.protocol)) fail(`${name} must use ${protocols.join(' or ')}`);
  return raw;
}

/** A comma-separated list of web origins, each exactly `scheme://host[:port]`. */
function origins(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const list = raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o.length > 0);
  for (const origin of list) {
    const u = URL.parse(origin);
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.origin !== origin) {
      fail(
        `MEDLEDGER_CORS_ORIGINS: each origin must be scheme://host[:port] (no path, no "*"), got "${origin.slice(0, 100)}"`,
      );
    }
  }
  return [...new Set(list)];
}

/** A file holding a secret must exist and be readable by its owner only. */
function privateFile(name: string, file: string): void {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    fail(`${name} does not exist or cannot be read`);
  }
  if ((mode & 0o077) !== 0) fail(`${name} must not be readable by group or others (chmod 600)`);
}

/** Parses argv (without the subcommand) and the environment into a validated configuration. */
export function loadConfig(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): NodeConfig {
  let values: Partial<Record<Key, string>>;
  try {
    const options = Object.fromEntries(
      Object.keys(CONFIG_OPTIONS).map((k) => [k, { type: 'string' as const }]),
    );
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false })
      .values as typeof values;
  } catch (error) {
    fail(error instanceof Error ? error.message.split('\n')[0]! : String(error));
  }
  const sources: Partial<Record<Key, string>> = {};
  const get = (k: Key): string | undefined => {
    const v = values[k] ?? env[CONFIG_OPTIONS[k].env];
    if (v === undefined || v === '') return undefined;
    sources[k] = values[k] !== undefined ? `--${k}` : CONFIG_OPTIONS[k].env;
    return v;
  };

  const dataDirRaw = get('data-dir') ?? '.medledger';
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);
  const host = get('host') ?? '127.0.0.1';
  const port = integer('MEDLEDGER_PORT', get('port') ?? '8080', 0, 65535);
  const databaseUrl = get('database-url');
  if (databaseUrl) url('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:']);
  const pgliteThread = (get('pglite-thread') ?? 'worker') as NodeConfig['pgliteThread'];
  if (pgliteThread !== 'worker' && pgliteThread !== 'main')
    fail('MEDLEDGER_PGLITE_THREAD must be worker or main');
  const ledgerRpcUrl = get('ledger-rpc-url');
  if (ledgerRpcUrl) url('LEDGER_RPC_URL', ledgerRpcUrl, ['http:', 'https:']);
  const deploymentFile = get('deployment-file');
  if (ledgerRpcUrl && !deploymentFile)
    fail('LEDGER_RPC_URL needs MEDLEDGER_DEPLOYMENT_FILE (the contract addresses)');
  if (deploymentFile && !ledgerRpcUrl) fail('MEDLEDGER_DEPLOYMENT_FILE is only used with LEDGER_RPC_URL');
  const chainPortRaw = get('chain-port');
  const chainPort = integer('MEDLEDGER_CHAIN_PORT', chainPortRaw ?? '0', 0, 65535);
  if (chainPortRaw !== undefined && ledgerRpcUrl) {
    fail('MEDLEDGER_CHAIN_PORT is the embedded chain’s; an external chain is set by LEDGER_RPC_URL');
  }
  if (chainPort !== 0 && chainPort === port) fail('MEDLEDGER_CHAIN_PORT must differ from MEDLEDGER_PORT');

  const governorKeyFile = get('governor-key-file');
  if (governorKeyFile && !ledgerRpcUrl) fail('MEDLEDGER_GOVERNOR_KEY_FILE is only used with LEDGER_RPC_URL');
  if (governorKeyFile) privateFile('MEDLEDGER_GOVERNOR_KEY_FILE', governorKeyFile);
  const organisationKind = (get('organisation-kind') ?? 'hospital') as OrganisationKindName;
  if (!ORGANISATION_KINDS.includes(organisationKind)) {
    fail(`MEDLEDGER_ORGANISATION_KIND must be one of ${ORGANISATION_KINDS.join(', ')}`);
  }

  const organisationName = get('organisation-name')?.trim() || undefined;
  if (organisationName !== undefined && !/^\P{Cc}{1,100}$/u.test(organisationName)) {
    fail('MEDLEDGER_ORGANISATION_NAME must be 1 to 100 printable characters');
  }

  const keystorePassphrase = env.MEDLEDGER_KEYSTORE_PASSPHRASE || undefined;
  const keystorePassphraseFile = get('keystore-passphrase-file');
  if (keystorePassphrase && keystorePassphraseFile) {
    fail('set MEDLEDGER_KEYSTORE_PASSPHRASE or MEDLEDGER_KEYSTORE_PASSPHRASE_FILE, not both');
  }
  if (keystorePassphraseFile) privateFile('MEDLEDGER_KEYSTORE_PASSPHRASE_FILE', keystorePassphraseFile);
  const adminToken = get('admin-token');
  if (adminToken !== undefined && (adminToken.length < 32 || !/^[\x21-\x7e]+$/.test(adminToken))) {
    fail('MEDLEDGER_ADMIN_TOKEN must be at least 32 printable characters without spaces');
  }
  const logLevel = (get('log-level') ?? 'info') as NodeConfig['logLevel'];
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'silent'].includes(logLevel)) {
    fail('MEDLEDGER_LOG_LEVEL must be one of fatal, error, warn, info, debug, silent');
  }
  const accessLogRaw = get('access-log');
  const interactionListRaw = get('interaction-list');
  const baseUrlRaw = get('base-url');
  const baseUrl = baseUrlRaw
    ? url('MEDLEDGER_BASE_URL', baseUrlRaw, ['http:', 'https:']).replace(/\/+$/, '')
    : `http://${host.includes(':') ? `[${host}]` : host}:${port}/fhir`;
  return {
    dataDir,
    host,
    port,
    baseUrl,
    databaseUrl,
    pgliteThread,
    ledgerRpcUrl,
    deploymentFile,
    chainPort,
    governorKeyFile,
    organisationKind,
    ...(organisationName ? { organisationName } : {}),
    keystorePassphrase,
    keystorePassphraseFile,
    adminToken,
    bodyLimit: integer(
      'MEDLEDGER_BODY_LIMIT',
      get('body-limit') ?? String(16 * 1024 * 1024),
      1024,
      512 * 1024 * 1024,
    ),
    corsOrigins: origins(get('cors-origins')),
    anchorIntervalMs: integer('MEDLEDGER_ANCHOR_INTERVAL_MS', get('anchor-interval') ?? '250', 10, 60_000),
    bulkExportExpirySeconds: integer(
      'MEDLEDGER_BULK_EXPORT_EXPIRY_SECONDS',
      get('bulk-export-expiry') ?? '3600',
      60,
      30 * 24 * 3600,
    ),
    logLevel,
    accessLog: accessLogRaw === undefined ? undefined : resolve(cwd, accessLogRaw),
    interactionList: interactionListRaw === undefined ? undefined : resolve(cwd, interactionListRaw),
    restHookHosts: restHookHosts(get('rest-hook-hosts')),
    sources,
  };
}

function restHookHosts(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const hosts = raw.split(',').map((h) => h.trim().toLowerCase());
  for (const h of hosts) {
    if (!/^(?:[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?$/.test(h)) {
      fail('MEDLEDGER_REST_HOOK_HOSTS: each entry is a host name or address, optionally with :port');
    }
  }
  return hosts;
}
