/**
 * The `medledger` command line. `start` runs a node in this process; `import`, `verify` and `status` talk to a
 * running node over HTTP (the embedded database is single-process, so they never open the data directory
 * behind the node's back). Every failure is one line on stderr and a non-zero exit code.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isMdlError } from '@medledger/core';
import { importBundles } from './cli/importBundles.js';
import { verifyCommand } from './cli/verifyCommand.js';
import { CONFIG_OPTIONS, loadConfig } from './config.js';
import { DEMO_MEMBERS, demoSyntheaPatient } from './consortium/demo.js';
import { formatDemoPeople, secretOfUri, writeDemoPeople } from './consortium/demoPeople.js';
import { runDemoScenario } from './consortium/demoScenario.js';
import { totpLine } from './totpCommand.js';

const USAGE = `usage: medledger <command> [options]

commands:
  start                 run a node (embedded chain, database and blob store by default)
  import <file|dir>     load FHIR transaction/batch bundles (JSON) into a running node
  verify                check every stored record against its blob and its on-chain anchor
  status                show a running node's readiness, record and anchor counts
  admin create --username U [--display-name N]
                        create an administrator account at a running node (with the operator's token): prints
                        its one-time initial password and TOTP enrolment, to sign in to the web app with
  totp <otpauth URI | base32 secret>
                        print the current one-time code of a TOTP secret and the seconds it stays valid
  reindex               rebuild every record's search tokens in a STOPPED node's data directory (start options),
                        then exit; a start does this by itself when the token scheme changed
  audit verify          recompute a running node's audit log and check every entry, checkpoint and on-chain anchor
  audit export [--format fhir|ocsf] [--cursor-file F]
                        write the audit events as NDJSON to stdout (FHIR AuditEvent or OCSF), from the cursor
                        saved in F (default: the start) to the end, and save the next cursor in F
  demo [--dir D] [--port P] [--no-scenario]
                        run a local consortium: one chain and a hospital, a lab, a pharmacy, an insurer and a
                        regulator node on 127.0.0.1 (ports P..P+4, default 8181), data under D (default
                        ./.medledger-demo, started afresh), and walk through consent, a lab result, exchange,
                        revocation, break-glass and its review; then print, for each person of the scenario
                        and an administrator per node, the web app URL and how to sign in (also written to
                        D/people.txt)

start options (each also read from the environment variable shown):
${Object.entries(CONFIG_OPTIONS)
  .map(([k, v]) => `  --${k.padEnd(26)} ${v.env.padEnd(36)} ${v.help}`)
  .join('\n')}
  (MEDLEDGER_KEYSTORE_PASSPHRASE: the keystore passphrase, environment only)

client options (import, verify, status, audit, admin):
  --url <fhir base URL>   default http://127.0.0.1:8080/fhir, or MEDLEDGER_URL
  --token <bearer token>  default MEDLEDGER_ADMIN_TOKEN, else <data dir>/admin-token
  --data-dir <dir>        where to look for admin-token (default ./.medledger)
`;

class CliError extends Error {}

function client(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'data-dir': { type: 'string' },
      format: { type: 'string' },
      'cursor-file': { type: 'string' },
      username: { type: 'string' },
      'display-name': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const url = (values.url ?? process.env.MEDLEDGER_URL ?? 'http://127.0.0.1:8080/fhir').replace(/\/+$/, '');
  let token = values.token ?? process.env.MEDLEDGER_ADMIN_TOKEN;
  if (!token) {
    const file = join(values['data-dir'] ?? process.env.MEDLEDGER_DATA_DIR ?? '.medledger', 'admin-token');
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch {
      throw new CliError(
        `no bearer token: pass --token, set MEDLEDGER_ADMIN_TOKEN, or run where ${file} exists`,
      );
    }
  }
  const call = async (method: string, path: string, body?: unknown) => {
    let res: Response;
    try {
      res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/fhir+json',
          ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    } catch {
      throw new CliError(`no medledger node answers at ${url} (is it running? see medledger start)`);
    }
    const text = await res.text();
    const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (!res.ok) {
      const issue = (json.issue as { diagnostics?: string }[] | undefined)?.[0]?.diagnostics;
      const where = new URL(`${url}${path}`).pathname;
      throw new CliError(`${method} ${where}: HTTP ${res.status}${issue ? ` — ${issue}` : ''}`);
    }
    return json;
  };
  return { call, positionals, values, url, token };
}

/** `medledger audit export`: pages of NDJSON to stdout until the end of the log, the cursor kept in a file. */
async function auditExport(o: {
  url: string;
  token: string;
  format: string;
  cursorFile?: string | undefined;
}) {
  if (o.format !== 'fhir' && o.format !== 'ocsf') throw new CliError('--format must be fhir or ocsf');
  let cursor = 0;
  if (o.cursorFile) {
    try {
      const saved = readFileSync(o.cursorFile, 'utf8').trim();
      if (!/^\d{1,15}$/.test(saved)) throw new CliError(`${o.cursorFile} does not hold a cursor`);
      cursor = Number(saved);
    } catch (error) {
      if (error instanceof CliError) throw error; // a missing file: start from the beginning
    }
  }
  const base = o.url.replace(/\/fhir$/, '');
  const PAGE = 1000;
  for (;;) {
    let res: Response;
    try {
      res = await fetch(`${base}/audit/export?format=${o.format}&_count=${PAGE}&cursor=${cursor}`, {
        headers: { authorization: `Bearer ${o.token}` },
      });
    } catch {
      throw new CliError(`no medledger node answers at ${o.url} (is it running? see medledger start)`);
    }
    const text = await res.text();
    if (!res.ok) throw new CliError(`audit export: HTTP ${res.status}`);
    process.stdout.write(text);
    cursor = Number(res.headers.get('x-medledger-next-cursor') ?? cursor);
    if (o.cursorFile) writeFileSync(o.cursorFile, `${cursor}\n`);
    // Each page read is itself audited: a page shorter than asked is the end for now.
    if (text.split('\n').filter(Boolean).length < PAGE) return;
  }
}

/** What `start` prints while no one can sign in: how to create the first administrator. */
function firstAdministratorHint(fhirUrl: string, dataDir: string): string {
  const options = [
    ...(fhirUrl === 'http://127.0.0.1:8080/fhir' ? [] : [`--url ${fhirUrl}`]),
    ...(resolve(dataDir) === resolve('.medledger') ? [] : [`--data-dir ${dataDir}`]),
  ].join(' ');
  return `No one can sign in yet. Create the first administrator, in another terminal:
  npm run medledger -- admin create --username <name>${options ? ` ${options}` : ''}
It prints a one-time password and a TOTP secret; \`npm run medledger -- totp '<otpauth URI>'\` prints the current code.`;
}

/** A first password the command generates (never sent anywhere but the node, which keeps only its hash). */
function initialPassword(): string {
  return `${randomBytes(15).toString('base64url')}-${randomBytes(6).toString('hex')}`;
}

/** `medledger admin create`: an administrator account with a one-time initial password and a TOTP enrolment. */
async function adminCreate(argv: string[]) {
  const { call, positionals, values, url } = client(argv);
  if (positionals[0] !== 'create' || positionals.length !== 1 || !values.username) {
    throw new CliError('usage: medledger admin create --username <name> [--display-name <name>]');
  }
  const username = values.username;
  const password = initialPassword();
  // The admin API sits beside the FHIR base (…/fhir → …/admin).
  const created = (await call('POST', '/../admin/accounts', {
    username,
    displayName: values['display-name'] ?? username,
    role: 'admin',
    password,
  })) as { account: { id: string } };
  const enrolment = (await call('POST', `/../admin/accounts/${created.account.id}/totp`)) as {
    otpauthUri: string;
  };
  const appUrl = `${new URL(url).origin}/`;
  console.log(`administrator account created
  open               ${appUrl}  → Sign in
  username           ${username}
  initial password   ${password}
                     (shown once: the node keeps only its hash — keep it safe)
  TOTP secret        ${secretOfUri(enrolment.otpauthUri)}
  otpauth URI        ${enrolment.otpauthUri}
add the secret (or the URI, as a QR code) to an authenticator app, or print the current code with:
  npm run medledger -- totp '${enrolment.otpauthUri}'
The first sign-in with a code completes the enrolment.`);
}

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      const config = loadConfig(rest);
      // Loaded only to run a node: the client commands stay light (and free of its dependencies' warnings).
      const { startNode } = await import('./Node.js');
      const node = await startNode(config);
      const appUrl = `${new URL(node.fhirUrl).origin}/`;
      console.log(`medledger node ready

  ┌──────────────────────────────────────────────────────────────┐
  │  The web app:  ${appUrl.padEnd(46)}│
  └──────────────────────────────────────────────────────────────┘

  FHIR base URL      ${node.fhirUrl}
  admin credential   ${node.adminTokenFile ?? 'the MEDLEDGER_ADMIN_TOKEN you configured'}
  keystore           ${node.keystorePath}
  data directory     ${config.dataDir}
  ledger             ${node.chain.mode} chain at ${node.chain.rpcUrl}, contracts ${node.chain.action}
  database           ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${join(config.dataDir, 'db')}`}
try: curl -H "Authorization: Bearer $(cat ${node.adminTokenFile ?? '<token>'})" ${node.fhirUrl}/Patient`);
      const people = (await node.accounts.listAccounts()).filter((a) => a.hasPassword);
      if (people.length === 0) {
        console.log(`\n${firstAdministratorHint(node.fhirUrl, config.dataDir)}`);
      }
      const shutdown = async () => {
        await node.stop();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
      return;
    }
    case 'reindex': {
      const config = loadConfig(rest);
      const { startNode } = await import('./Node.js');
      // The node's own start path (keystore, database, chain, record service) with a forced rebuild, and no
      // request served: it stops as soon as the rebuild is recorded.
      const node = await startNode(config, { rebuildSearchIndex: true, serve: false });
      const r = node.searchIndex;
      await node.stop();
      console.log(
        `search index rebuilt: ${r.resources} resources, ${r.tokens} tokens, ${r.unreadable} unreadable (token scheme ${r.from ?? 'unrecorded'} → ${r.to})`,
      );
      return;
    }
    case 'import': {
      const { positionals, url, token } = client(rest);
      if (positionals.length !== 1) throw new CliError('usage: medledger import <bundle.json|directory>');
      await importBundles({ target: positionals[0]!, url, token });
      return;
    }
    case 'verify':
      await verifyCommand(client(rest));
      return;
    case 'audit': {
      const { call, positionals, values, url, token } = client(rest);
      if (positionals[0] === 'export') {
        await auditExport({ url, token, format: values.format ?? 'fhir', cursorFile: values['cursor-file'] });
        return;
      }
      if (positionals[0] !== 'verify') throw new CliError('usage: medledger audit verify | audit export');
      // The audit endpoint sits beside the FHIR base (…/fhir → …/audit).
      const report = (await call('GET', '/../audit/$verify')) as {
        ok: boolean;
        size: number;
        checkpoints: number;
        unsignedEntries: number;
        anchors: number;
        divergence?: unknown;
      };
      if (!report.ok) console.log(`DIVERGENCE ${JSON.stringify(report.divergence)}`);
      console.log(
        `audit log: ${report.size} entries, ${report.checkpoints} checkpoints and ${report.anchors} on-chain anchors verified, ${report.unsignedEntries} not yet checkpointed — ${report.ok ? 'consistent' : 'NOT consistent'}`,
      );
      if (!report.ok) process.exitCode = 1;
      return;
    }
    case 'admin':
      await adminCreate(rest);
      return;
    case 'totp': {
      if (rest.length !== 1)
        throw new CliError("usage: medledger totp '<otpauth://totp/… URI | base32 secret>'");
      console.log(totpLine(rest[0]!, Date.now()));
      return;
    }
    case 'status': {
      const { call } = client(rest);
      console.log(JSON.stringify(await call('GET', '/$status'), null, 2));
      return;
    }
    case 'demo': {
      const { values } = parseArgs({
        args: rest,
        options: {
          dir: { type: 'string' },
          port: { type: 'string' },
          'no-scenario': { type: 'boolean' },
        },
        strict: true,
      });
      const port = Number(values.port ?? 8181);
      if (!Number.isInteger(port) || port < 1 || port > 65531) throw new CliError('--port must be 1..65531');
      const dir = resolve(values.dir ?? '.medledger-demo');
      // The walk-through creates its accounts afresh: a demo starts from an empty consortium.
      rmSync(dir, { recursive: true, force: true });
      console.log(`starting a local consortium in ${dir} …`);
      const { startLocalConsortium } = await import('./consortium/LocalConsortium.js');
      const consortium = await startLocalConsortium({
        dir,
        basePort: port,
        members: DEMO_MEMBERS,
        keystorePassphrase: process.env.MEDLEDGER_KEYSTORE_PASSPHRASE ?? 'medledger demo — not for real data',
      });
      console.log(`chain            ${consortium.rpcUrl}`);
      for (const n of consortium.nodes) {
        console.log(
          `${n.name.padEnd(16)} organisation ${n.node.organisationId}  ${n.node.fhirUrl}  token: ${n.node.adminTokenFile}`,
        );
      }
      if (!values['no-scenario']) {
        console.log('\nthe walk-through:');
        let people: Awaited<ReturnType<typeof runDemoScenario>>['people'];
        try {
          ({ people } = await runDemoScenario(consortium, {
            syntheaPatient: demoSyntheaPatient(),
            log: (line) => console.log(`  ${line}`),
          }));
        } catch (error) {
          await consortium.stop();
          throw new CliError(`demo step failed: ${(error as Error).message}`);
        }
        console.log(`\n${formatDemoPeople(people)}`);
        console.log(`(this list is also in ${writeDemoPeople(dir, people)})`);
      }
      console.log('\nThe nodes keep running for you to explore; Ctrl-C stops the consortium.');
      const shutdown = async () => {
        await consortium.stop();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new CliError(`unknown command "${command}" (medledger help lists them)`);
  }
}

export async function main(argv: string[]): Promise<void> {
  try {
    await run(argv);
  } catch (error) {
    const message =
      error instanceof CliError || isMdlError(error)
        ? error.message
        : error instanceof Error
          ? error.message.split('\n')[0]
          : String(error);
    console.error(`medledger: ${message}`);
    process.exitCode = 2;
  }
}
