/**
 * The medledger client commands against a real node started on port 0: found through its data directory alone
 * (the endpoint file it writes), refusals naming the token's source, and the start banner telling where the
 * admin token and the keystore passphrase came from — at a first start and after a restart.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCredentialLines, passphraseSource } from '../src/cli/start.js';
import { ENDPOINT_FILE } from '../src/endpointFile.js';
import { loadConfig, type RunningNode, startNode } from '../src/index.js';
import { refusedByCli, runCli } from './cliRun.js';

const PASSPHRASE = 'cli test keystore passphrase';
const ENV = { MEDLEDGER_LOG_LEVEL: 'silent', MEDLEDGER_ANCHOR_INTERVAL_MS: '100' };

describe('medledger client commands find a node started on port 0 through its data directory', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'medledger-cli-node-'));
  const cwd = mkdtempSync(join(tmpdir(), 'medledger-cli-cwd-'));
  let node: RunningNode | undefined;
  let config: ReturnType<typeof loadConfig>;

  beforeAll(async () => {
    config = loadConfig(['--data-dir', dataDir, '--port', '0'], {
      ...ENV,
      MEDLEDGER_KEYSTORE_PASSPHRASE: PASSPHRASE,
    });
    node = await startNode(config);
  });
  afterAll(async () => {
    await node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the node writes the URL it listens on; status finds it by --data-dir or MEDLEDGER_DATA_DIR alone', async () => {
    const endpoint = JSON.parse(readFileSync(join(dataDir, ENDPOINT_FILE), 'utf8'));
    expect(endpoint).toMatchObject({ url: node!.fhirUrl, pid: process.pid });
    expect(node!.fhirUrl).not.toContain(':0/');
    for (const [argv, env] of [
      [['status', '--data-dir', dataDir], {}],
      [['status'], { MEDLEDGER_DATA_DIR: dataDir, MEDLEDGER_PORT: '0' }],
    ] as const) {
      const r = await runCli([...argv], env, cwd);
      expect(r).toMatchObject({ stderr: '', code: 0 });
      expect(JSON.parse(r.stdout)).toHaveProperty('records');
    }
    const audit = await runCli(['audit', 'verify', '--data-dir', dataDir], {}, cwd);
    expect(audit).toMatchObject({ stderr: '', code: 0 });
    expect(audit.stdout).toMatch(/^audit log: \d+ entries, .* consistent$/);
  });

  it('a refused token is said in one line with where the token came from', async () => {
    expect(await refusedByCli(['status', '--data-dir', dataDir, '--token', 'x'.repeat(40)], {}, cwd)).toBe(
      'medledger: GET /fhir/$status: HTTP 401 — a valid bearer token is required (the token from --token)',
    );
    expect(
      await refusedByCli(['status', '--data-dir', dataDir], { MEDLEDGER_ADMIN_TOKEN: 'y'.repeat(40) }, cwd),
    ).toContain('(the token from MEDLEDGER_ADMIN_TOKEN)');
  });

  it('the start banner says where the credentials came from, at the first start and after a restart', async () => {
    const tokenFile = join(dataDir, 'admin-token');
    expect(adminCredentialLines(config, node!).credential).toBe(`${tokenFile} (written now)`);
    expect(passphraseSource(config, node!.keystorePassphraseSource)).toBe('MEDLEDGER_KEYSTORE_PASSPHRASE');

    await node!.stop();
    node = undefined;
    expect(existsSync(join(dataDir, ENDPOINT_FILE))).toBe(false);
    expect(await refusedByCli(['status', '--data-dir', dataDir], {}, cwd)).toContain(
      `(from start’s default; no ${join(dataDir, ENDPOINT_FILE)}, no --url or MEDLEDGER_URL)`,
    );

    // The restart: the token file kept, the passphrase from a file this time.
    const passphraseFile = join(cwd, 'passphrase');
    writeFileSync(passphraseFile, PASSPHRASE);
    chmodSync(passphraseFile, 0o600);
    const again = loadConfig(
      ['--data-dir', dataDir, '--port', '0', '--keystore-passphrase-file', passphraseFile],
      ENV,
    );
    node = await startNode(again);
    expect(adminCredentialLines(again, node).credential).toBe(`${tokenFile} (kept from an earlier start)`);
    expect(passphraseSource(again, node.keystorePassphraseSource)).toBe(
      `${passphraseFile} (--keystore-passphrase-file)`,
    );
    const status = await runCli(['status', '--data-dir', dataDir], {}, cwd);
    expect(status.code).toBe(0);

    // A token given in the environment is named as such, and the file from the earlier start too.
    const fromEnv = loadConfig(['--data-dir', dataDir], { MEDLEDGER_ADMIN_TOKEN: 'z'.repeat(40) });
    expect(adminCredentialLines(fromEnv, { adminTokenFile: undefined })).toEqual({
      credential: `the token given by MEDLEDGER_ADMIN_TOKEN (${tokenFile}, from an earlier start, holds another)`,
      curlToken: '$MEDLEDGER_ADMIN_TOKEN',
    });
  });
});
