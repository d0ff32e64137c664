/**
 * The `medledger` command line. `start` runs a node in this process; the client commands (status, import,
 * verify, admin, audit) talk to a running node over HTTP, found through its data directory as `start` was told
 * to run it (cli/client.ts) — the embedded database is single-process, so they never open the data directory's
 * database behind the node's back. Each command is a file of cli/ described once (cli/commands.ts): the
 * dispatcher, `medledger help` and `medledger <command> --help` read that description. Every refusal is one
 * line on stderr and exit code 2, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { isMdlError } from '@medledger/core';
import { CliError, helpText, parseCommand } from './cli/command.js';
import { COMMANDS, findCommand } from './cli/commands.js';

/** The CLI's version: its package's (packages/node/package.json; the same path from src/ and dist/). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `usage: medledger <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

medledger <command> --help   a command's usage and options
medledger --version          the version

The client commands (status, import, verify, admin, audit) find the node as start was told to run it: --url or
MEDLEDGER_URL; else --base-url, --host or --port; else the URL the node running on the data directory wrote to
<data dir>/endpoint.json (--data-dir or MEDLEDGER_DATA_DIR, default ./.medledger); else MEDLEDGER_BASE_URL,
MEDLEDGER_HOST, MEDLEDGER_PORT; else http://127.0.0.1:8080/fhir. The operator's token: --token, else
MEDLEDGER_ADMIN_TOKEN, else <data dir>/admin-token.`;
}

async function run(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const about = name === 'help' && rest[0] !== undefined ? findCommand(rest[0]) : undefined;
    if (name === 'help' && rest[0] !== undefined && !about) {
      throw new CliError(`unknown command "${rest[0]}" (medledger help lists them)`);
    }
    console.log(about ? helpText(about) : usage());
    return;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(`medledger ${version()}`);
    return;
  }
  const command = findCommand(name);
  if (!command) throw new CliError(`unknown command "${name}" (medledger help lists them)`);
  // --help anywhere before a `--` asks for the help, whatever else is (or is missing) on the line.
  const own = rest.indexOf('--') === -1 ? rest : rest.slice(0, rest.indexOf('--'));
  if (own.includes('--help') || own.includes('-h')) {
    console.log(helpText(command));
    return;
  }
  await command.run(parseCommand(command, rest));
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
