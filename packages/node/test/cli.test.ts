/**
 * The medledger command line without a node: every command's --help, --version, how a client command finds
 * the node and its token (and says where it looked), and every refusal one line on stderr with exit code 2.
 * A few cases run the built CLI (bin/medledger.js) as a user would; the rest call main() in this process.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { locateNode, locateToken } from '../src/cli/client.js';
import { CLIENT_OPTIONS } from '../src/cli/command.js';
import { COMMANDS } from '../src/cli/commands.js';
import { ENDPOINT_FILE } from '../src/endpointFile.js';
import { refusedByCli, runCli } from './cliRun.js';

const BIN = fileURLToPath(new URL('../bin/medledger.js', import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const dir = mkdtempSync(join(tmpdir(), 'medledger-cli-'));
const TOKEN = 't'.repeat(40);

const cli = (argv: string[], env: Record<string, string> = {}) => runCli(argv, env, dir);
const refused = (argv: string[], env: Record<string, string> = {}) => refusedByCli(argv, env, dir);

/** A port nothing listens on right now. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('medledger help and version', () => {
  it('prints its package version', async () => {
    for (const flag of ['--version', '-v']) {
      expect(await cli([flag])).toEqual({ stdout: `medledger ${VERSION}`, stderr: '', code: 0 });
    }
  });

  it('lists every command, and each one’s --help shows its usage and every option it accepts', async () => {
    const list = await cli(['help']);
    expect(list.code).toBe(0);
    for (const command of COMMANDS) {
      expect(list.stdout.split('\n')).toContainEqual(
        expect.stringMatching(new RegExp(`^  ${command.name} +`)),
      );
      expect(list.stdout).toContain(command.summary);
      const help = await cli([command.name, '--help']);
      expect(help.code).toBe(0);
      expect(help.stderr).toBe('');
      expect(help.stdout.startsWith(`usage: medledger ${command.name}`)).toBe(true);
      for (const option of Object.keys(command.options)) expect(help.stdout).toContain(`--${option}`);
      // The same help by `medledger help <command>`, and -h, whatever else is (or is missing) on the line.
      expect((await cli(['help', command.name])).stdout).toBe(help.stdout);
      expect((await cli([command.name, '--bogus', '-h'])).stdout).toBe(help.stdout);
    }
    expect((await cli(['import', '--help'])).stdout).toContain('MEDLEDGER_DATA_DIR');
    expect((await cli(['start', '--help'])).stdout).toContain('MEDLEDGER_PORT');
  });
});

describe('medledger refusals', () => {
  it('refuses unknown commands and options, missing and extra arguments, bad values: one line, exit code 2', async () => {
    expect(await refused(['frobnicate'])).toContain('unknown command "frobnicate"');
    expect(await refused(['help', 'frobnicate'])).toContain('unknown command "frobnicate"');
    expect(await refused(['status', '--bogus'])).toBe(
      'medledger: status: unknown option --bogus (medledger status --help)',
    );
    expect(await refused(['status', '-x'])).toContain('unknown option -x');
    expect(await refused(['verify', '--url'])).toContain('option --url needs a value');
    expect(await refused(['demo', '--no-scenario=yes'])).toContain('option --no-scenario takes no value');
    expect(await refused(['import'])).toContain('import: missing argument; usage: medledger import <');
    expect(await refused(['status', 'extra'])).toContain('unexpected argument "extra"');
    expect(await refused(['totp'])).toContain('totp: missing argument');
    expect(await refused(['totp', 'not base32!'])).not.toContain('\n');
    expect(await refused(['admin', 'delete', '--username', 'x'])).toContain('usage: medledger admin create');
    expect(await refused(['admin', 'create'])).toContain('usage: medledger admin create');
    expect(await refused(['audit', 'export', '--format', 'csv'], { MEDLEDGER_ADMIN_TOKEN: TOKEN })).toContain(
      '--format must be fhir or ocsf',
    );
    expect(await refused(['audit', 'purge'])).toContain('usage: medledger audit verify | audit export');
    expect(await refused(['demo', '--port', '0x1F'])).toContain('--port must be 1..65531');
    expect(await refused(['start', '--port', 'eighty'])).toContain('MEDLEDGER_PORT must be an integer');
    expect(await refused(['start', '--nope'])).toContain('start: unknown option --nope');
    expect(await refused(['reindex', 'now'])).toContain('unexpected argument "now"');
  });

  it('refuses bad node addresses, naming the setting', async () => {
    const env = { MEDLEDGER_ADMIN_TOKEN: TOKEN };
    expect(await refused(['status', '--port', 'abc'], env)).toBe(
      'medledger: --port must be a port number, got "abc"',
    );
    expect(await refused(['status'], { ...env, MEDLEDGER_PORT: '0' })).toContain(
      'MEDLEDGER_PORT is 0 (any free port): find the node by its data directory (--data-dir) or give --url',
    );
    expect(await refused(['status', '--url', 'ftp://x'], env)).toContain('--url is not an http(s) URL');
    expect(await refused(['status'], { ...env, MEDLEDGER_URL: 'nonsense' })).toContain(
      'MEDLEDGER_URL is not an http(s) URL',
    );
  });

  it('says where it looked for the token when it finds none', async () => {
    expect(await refused(['status', '--data-dir', join(dir, 'nowhere')])).toBe(
      `medledger: no bearer token: no --token, no MEDLEDGER_ADMIN_TOKEN, and no ${join(dir, 'nowhere', 'admin-token')} (give --data-dir the node’s data directory)`,
    );
  });

  it('says where it looked when no node answers', async () => {
    const port = await closedPort();
    const env = { MEDLEDGER_ADMIN_TOKEN: TOKEN };
    expect(await refused(['status', '--port', String(port)], env)).toBe(
      `medledger: no medledger node answers at http://127.0.0.1:${port}/fhir (from --port); is it running? (medledger start)`,
    );
    expect(await refused(['verify'], { ...env, MEDLEDGER_PORT: String(port) })).toContain(
      `at http://127.0.0.1:${port}/fhir (from MEDLEDGER_PORT; no .medledger/endpoint.json)`,
    );
    expect(await refused(['audit', 'verify', '--url', `http://127.0.0.1:${port}/fhir`], env)).toContain(
      '(from --url)',
    );
    // The endpoint file of a node that has stopped without removing it (killed): said so.
    const dataDir = mkdtempSync(join(tmpdir(), 'medledger-cli-stale-'));
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.once('exit', r));
    writeFileSync(
      join(dataDir, ENDPOINT_FILE),
      JSON.stringify({ url: `http://127.0.0.1:${port}/fhir`, pid: gone.pid, startedAt: '' }),
    );
    expect(await refused(['status', '--data-dir', dataDir], env)).toBe(
      `medledger: no medledger node answers at http://127.0.0.1:${port}/fhir (from ${join(dataDir, ENDPOINT_FILE)}, written by process ${gone.pid}, which is no longer running); is it running? (medledger start)`,
    );
  });

  describe('something else on the port', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      server = createServer((req, res) => {
        res.writeHead(req.headers.authorization === `Bearer ${TOKEN}` ? 404 : 401, {
          'content-type': 'text/html',
        });
        res.end('<html>not here</html>');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    });
    afterAll(() => new Promise((r) => server.close(r)));

    it('answers that are not a node’s are refused in one line naming the URL and its source', async () => {
      expect(await refused(['status', '--url', url, '--token', TOKEN])).toBe(
        `medledger: GET /fhir/$status: HTTP 404 and not a JSON answer — is ${url} (from --url) a medledger node?`,
      );
      expect(await refused(['audit', 'export', '--token', 'other'], { MEDLEDGER_URL: url })).toBe(
        'medledger: GET /audit/export: HTTP 401 (the token from --token)',
      );
    });
  });
});

describe('where the client commands look', () => {
  const none = {};
  it('--url, then MEDLEDGER_URL; then --base-url or --host/--port; then the data directory; then start’s variables', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'medledger-cli-endpoint-'));
    writeFileSync(
      join(dataDir, ENDPOINT_FILE),
      JSON.stringify({
        url: 'http://127.0.0.1:41234/fhir',
        baseUrl: 'http://127.0.0.1:5173/fhir',
        pid: process.pid,
        startedAt: '',
      }),
    );
    const env = {
      MEDLEDGER_DATA_DIR: dataDir,
      MEDLEDGER_PORT: '9000',
      MEDLEDGER_BASE_URL: 'https://node.example/fhir',
    };
    expect(locateNode({ url: 'http://a:1/fhir/' }, { MEDLEDGER_URL: 'http://b:2/fhir' })).toEqual({
      value: 'http://a:1/fhir',
      source: '--url',
    });
    expect(locateNode({}, { ...env, MEDLEDGER_URL: 'http://b:2/fhir' }).source).toBe('MEDLEDGER_URL');
    expect(locateNode({ port: '9100' }, env)).toEqual({
      value: 'http://127.0.0.1:9100/fhir',
      source: '--port',
    });
    expect(locateNode({ host: '0.0.0.0', port: '9100' }, env).value).toBe('http://127.0.0.1:9100/fhir');
    expect(locateNode({ host: '::' }, env).value).toBe('http://[::1]:8080/fhir');
    expect(locateNode({ 'base-url': 'https://x.example/fhir' }, env).value).toBe('https://x.example/fhir');
    expect(locateNode({}, env)).toEqual({
      value: 'http://127.0.0.1:41234/fhir',
      source: `${join(dataDir, ENDPOINT_FILE)}, written by process ${process.pid}`,
      publicUrl: 'http://127.0.0.1:5173/fhir', // what admin create's "open" line shows
    });
    expect(locateNode({ 'data-dir': dir }, env)).toEqual({
      value: 'https://node.example/fhir',
      source: `MEDLEDGER_BASE_URL; no ${join(dir, ENDPOINT_FILE)}`,
    });
    expect(locateNode({ 'data-dir': dir }, { MEDLEDGER_HOST: '127.0.0.2', MEDLEDGER_PORT: '9000' })).toEqual({
      value: 'http://127.0.0.2:9000/fhir',
      source: `MEDLEDGER_HOST and MEDLEDGER_PORT; no ${join(dir, ENDPOINT_FILE)}`,
    });
    expect(locateNode({ 'data-dir': dir }, none).value).toBe('http://127.0.0.1:8080/fhir');
  });

  it('the token: --token, then MEDLEDGER_ADMIN_TOKEN, then <data dir>/admin-token', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'medledger-cli-token-'));
    writeFileSync(join(dataDir, 'admin-token'), 'from-the-file\n');
    const env = { MEDLEDGER_DATA_DIR: dataDir, MEDLEDGER_ADMIN_TOKEN: 'from-env' };
    expect(locateToken({ token: 'from-flag' }, env)).toEqual({ value: 'from-flag', source: '--token' });
    expect(locateToken({}, env)).toEqual({ value: 'from-env', source: 'MEDLEDGER_ADMIN_TOKEN' });
    expect(locateToken({}, { MEDLEDGER_DATA_DIR: dataDir })).toEqual({
      value: 'from-the-file',
      source: join(dataDir, 'admin-token'),
    });
    expect(Object.keys(CLIENT_OPTIONS)).toEqual(['url', 'data-dir', 'host', 'port', 'base-url', 'token']);
  });
});

describe('the built CLI (bin/medledger.js)', () => {
  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, [BIN, ...args], { cwd: dir }).then(
      (r) => ({ ...r, code: 0 }),
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('prints its version and a command’s help, and refuses in one line with exit code 2', async () => {
    const [version, help, refusal] = await Promise.all([
      run('--version'),
      run('status', '--help'),
      run('status', '--bogus'),
    ]);
    expect(version).toMatchObject({ stdout: `medledger ${VERSION}\n`, stderr: '', code: 0 });
    expect(help.stdout).toMatch(/^usage: medledger status/);
    expect(refusal).toMatchObject({
      stdout: '',
      stderr: 'medledger: status: unknown option --bogus (medledger status --help)\n',
      code: 2,
    });
  });
});
