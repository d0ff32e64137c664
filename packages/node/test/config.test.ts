/**
 * Configuration: every problem is one MDL_CONFIG line naming the setting; flags win over the environment.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMdlError } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'medledger-config-'));
const file = (name: string, mode: number) => {
  const path = join(dir, name);
  writeFileSync(path, 'x'.repeat(64));
  chmodSync(path, mode);
  return path;
};
const privateFile = file('private', 0o600);
const sharedFile = file('shared', 0o644);

function refused(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    loadConfig(argv, env, dir);
  } catch (error) {
    if (!isMdlError(error, 'MDL_CONFIG')) throw error;
    expect(error.message).not.toContain('\n');
    return error.message;
  }
  throw new Error('configuration was accepted');
}

describe('loadConfig', () => {
  it('reads the CORS allow-list: none by default, exact origins only', () => {
    expect(loadConfig([], {}, dir).corsOrigins).toEqual([]);
    expect(
      loadConfig(
        [],
        { MEDLEDGER_CORS_ORIGINS: 'https://apps.example, http://127.0.0.1:5173,https://apps.example' },
        dir,
      ).corsOrigins,
    ).toEqual(['https://apps.example', 'http://127.0.0.1:5173']);
    expect(
      loadConfig(
        ['--cors-origins', 'https://b.example'],
        { MEDLEDGER_CORS_ORIGINS: 'https://a.example' },
        dir,
      ).corsOrigins,
    ).toEqual(['https://b.example']);
    for (const bad of [
      '*',
      'https://apps.example/',
      'https://apps.example/app',
      'apps.example',
      'ftp://x.example',
      'https://user@x.example',
    ]) {
      expect(refused([], { MEDLEDGER_CORS_ORIGINS: bad })).toContain('MEDLEDGER_CORS_ORIGINS');
    }
  });

  it('reads the organisation’s name: none by default (the directory derives one), printable text only', () => {
    expect(loadConfig([], {}, dir).organisationName).toBeUndefined();
    expect(loadConfig([], { MEDLEDGER_ORGANISATION_NAME: ' Riverside Lab ' }, dir).organisationName).toBe(
      'Riverside Lab',
    );
    expect(loadConfig(['--organisation-name', 'St Mary’s'], {}, dir).organisationName).toBe('St Mary’s');
    expect(refused([], { MEDLEDGER_ORGANISATION_NAME: 'Bad\u0007Name' })).toContain(
      'MEDLEDGER_ORGANISATION_NAME',
    );
    expect(refused([], { MEDLEDGER_ORGANISATION_NAME: 'x'.repeat(101) })).toContain(
      'MEDLEDGER_ORGANISATION_NAME',
    );
  });

  it('has embedded defaults and lets flags win over the environment', () => {
    const c = loadConfig([], {}, dir);
    expect(c).toMatchObject({
      dataDir: join(dir, '.medledger'),
      host: '127.0.0.1',
      port: 8080,
      baseUrl: 'http://127.0.0.1:8080/fhir',
      databaseUrl: undefined,
      ledgerRpcUrl: undefined,
      organisationKind: 'hospital',
      pgliteThread: 'worker',
    });
    expect(loadConfig(['--port', '9000'], { MEDLEDGER_PORT: '7000' }, dir).port).toBe(9000);
    expect(loadConfig([], { MEDLEDGER_ORGANISATION_KIND: 'lab' }, dir).organisationKind).toBe('lab');
  });

  it.each([
    [['--port', '70000'], {}, /MEDLEDGER_PORT must be between/],
    [['--port', 'eighty'], {}, /MEDLEDGER_PORT must be an integer/],
    [['--unknown', 'x'], {}, /unknown/i],
    [[], { DATABASE_URL: 'mysql://x' }, /DATABASE_URL must use postgres/],
    [[], { LEDGER_RPC_URL: 'http://127.0.0.1:8545' }, /needs MEDLEDGER_DEPLOYMENT_FILE/],
    [[], { MEDLEDGER_DEPLOYMENT_FILE: 'd.json' }, /only used with LEDGER_RPC_URL/],
    [[], { MEDLEDGER_GOVERNOR_KEY_FILE: privateFile }, /GOVERNOR_KEY_FILE is only used with LEDGER_RPC_URL/],
    [
      [],
      {
        LEDGER_RPC_URL: 'http://127.0.0.1:8545',
        MEDLEDGER_DEPLOYMENT_FILE: 'd.json',
        MEDLEDGER_GOVERNOR_KEY_FILE: sharedFile,
      },
      /GOVERNOR_KEY_FILE must not be readable by group or others/,
    ],
    [[], { MEDLEDGER_ORGANISATION_KIND: 'bank' }, /MEDLEDGER_ORGANISATION_KIND must be one of/],
    [[], { MEDLEDGER_KEYSTORE_PASSPHRASE_FILE: sharedFile }, /chmod 600/],
    [[], { MEDLEDGER_KEYSTORE_PASSPHRASE_FILE: join(dir, 'missing') }, /does not exist/],
    [[], { MEDLEDGER_KEYSTORE_PASSPHRASE: 'p', MEDLEDGER_KEYSTORE_PASSPHRASE_FILE: privateFile }, /not both/],
    [[], { MEDLEDGER_ADMIN_TOKEN: 'short' }, /at least 32 printable characters/],
    [[], { MEDLEDGER_LOG_LEVEL: 'loud' }, /MEDLEDGER_LOG_LEVEL must be one of/],
    [['--pglite-thread', 'both'], {}, /MEDLEDGER_PGLITE_THREAD must be worker or main/],
    [['--chain-port', '70000'], {}, /MEDLEDGER_CHAIN_PORT must be between 0 and 65535/],
    [['--chain-port', '8080'], {}, /MEDLEDGER_CHAIN_PORT must differ from MEDLEDGER_PORT/],
    [
      ['--chain-port', '8545'],
      { LEDGER_RPC_URL: 'http://127.0.0.1:8545', MEDLEDGER_DEPLOYMENT_FILE: 'd.json' },
      /MEDLEDGER_CHAIN_PORT is the embedded chain’s/,
    ],
  ] as const)('refuses %j %j with one line', (argv, env, message) => {
    expect(refused([...argv], { ...env })).toMatch(message);
  });

  it('reads the embedded chain’s port (default 0: any free port) and the access log (default none)', () => {
    expect(loadConfig([], {}, dir)).toMatchObject({ chainPort: 0, accessLog: undefined });
    expect(loadConfig([], { MEDLEDGER_CHAIN_PORT: '8545' }, dir).chainPort).toBe(8545);
    expect(loadConfig(['--chain-port', '9545'], { MEDLEDGER_CHAIN_PORT: '8545' }, dir).chainPort).toBe(9545);
    expect(loadConfig([], { MEDLEDGER_ACCESS_LOG: 'logs/access.log' }, dir).accessLog).toBe(
      join(dir, 'logs', 'access.log'),
    );
  });

  it('accepts a shared development chain with its governance key file', () => {
    const c = loadConfig(
      [
        '--ledger-rpc-url',
        'http://127.0.0.1:8545',
        '--deployment-file',
        'd.json',
        '--governor-key-file',
        privateFile,
      ],
      {},
      dir,
    );
    expect(c.governorKeyFile).toBe(privateFile);
  });

  it('records where each setting given came from, the flag or the variable, for the start banner', () => {
    const c = loadConfig(
      ['--admin-token', 'a'.repeat(32), '--host', '127.0.0.2'],
      { MEDLEDGER_PORT: '9000', MEDLEDGER_HOST: '127.0.0.3', MEDLEDGER_LOG_LEVEL: '' },
      dir,
    );
    expect(c.sources).toEqual({ 'admin-token': '--admin-token', host: '--host', port: 'MEDLEDGER_PORT' });
  });
});
