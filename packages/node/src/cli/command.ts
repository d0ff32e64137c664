/**
 * What a `medledger` command is: its name, a one-line summary, its usage lines, the options it accepts and the
 * function that runs it. The dispatcher, the command list, each command's `--help` and the docs' command test
 * all read this one description, so an option is accepted exactly where it is documented.
 */
import { parseArgs } from 'node:util';

/** A refusal: printed as one line on stderr, exit code 2. */
export class CliError extends Error {}

/**
 * Until a node is up, Ctrl-C or SIGTERM ends the process at once, through `exit`: the data directory's lock
 * goes with it (dataDirectory.ts). Returns the function that hands the signals back.
 */
export function exitOnSignal(): () => void {
  const exit = (signal: NodeJS.Signals) => process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  process.once('SIGINT', exit);
  process.once('SIGTERM', exit);
  return () => {
    process.off('SIGINT', exit);
    process.off('SIGTERM', exit);
  };
}

export interface OptionSpec {
  /** The value's name in the help (`dir` → `--data-dir <dir>`); absent for a flag without a value. */
  value?: string;
  /** The environment variable read when the option is not given. */
  env?: string;
  help: string;
}

export interface CommandArgs {
  /** The command's own arguments as given (after its name). */
  argv: string[];
  positionals: string[];
  /** Options with a value, by name without the dashes. */
  values: Record<string, string | undefined>;
  /** Options without a value that were given. */
  flags: ReadonlySet<string>;
}

export interface Command {
  name: string;
  /** One line for `medledger help`. */
  summary: string;
  /** Usage lines, each after `medledger ` (`import <bundle.json|directory> [options]`). */
  usage: string[];
  /** More for `--help`: what it does, what it prints, its exit codes. */
  description?: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments it takes, at least and at most. */
  positionals: [min: number, max: number];
  run(args: CommandArgs): Promise<void>;
}

/** The options of every client command: how to find the node and the token (cli/client.ts). */
export const CLIENT_OPTIONS: Record<string, OptionSpec> = {
  url: {
    value: 'fhir base URL',
    env: 'MEDLEDGER_URL',
    help: 'the node’s FHIR base URL (default: found as below)',
  },
  'data-dir': {
    value: 'dir',
    env: 'MEDLEDGER_DATA_DIR',
    help: 'the node’s data directory, with its endpoint.json and admin-token (default ./.medledger)',
  },
  host: { value: 'host', env: 'MEDLEDGER_HOST', help: 'as given to start (default 127.0.0.1)' },
  port: { value: 'port', env: 'MEDLEDGER_PORT', help: 'as given to start (default 8080)' },
  'base-url': { value: 'url', env: 'MEDLEDGER_BASE_URL', help: 'as given to start' },
  token: {
    value: 'bearer token',
    env: 'MEDLEDGER_ADMIN_TOKEN',
    help: 'the operator’s token (default: <data dir>/admin-token)',
  },
};

const HELP_OPTION: OptionSpec = { help: 'this help' };

/** How a client command finds the node, under its options (cli/client.ts has the rule). */
export const CLIENT_DISCOVERY = `The node: --url; else --base-url, --host or --port given here; else the URL the node running on
the data directory wrote to <data dir>/endpoint.json; else MEDLEDGER_BASE_URL, MEDLEDGER_HOST and
MEDLEDGER_PORT as start reads them; else http://127.0.0.1:8080/fhir. A command that reaches no node says
where it looked.`;

function optionLabel(name: string, spec: OptionSpec): string {
  return `--${name}${spec.value ? ` <${spec.value}>` : ''}`;
}

/** `medledger <command> --help`. */
export function helpText(command: Command): string {
  const options = Object.entries({ ...command.options, help: HELP_OPTION });
  const width = Math.max(...options.map(([n, s]) => optionLabel(n, s).length)) + 2;
  const lines = [
    `usage: ${command.usage.map((u) => `medledger ${u}`).join('\n       ')}`,
    '',
    command.summary,
    ...(command.description ? ['', command.description] : []),
    '',
    'options:',
    ...options.map(([n, s]) => `  ${optionLabel(n, s).padEnd(width)}${s.env ? `${s.env}: ` : ''}${s.help}`),
    ...(command.options.url === CLIENT_OPTIONS.url ? ['', CLIENT_DISCOVERY] : []),
  ];
  return lines.join('\n');
}

/** The first line of a usage, as a refusal's hint. */
function usageHint(command: Command): string {
  return `usage: medledger ${command.usage[0]} (medledger ${command.name} --help)`;
}

/** Parses a command's arguments against its options: every mistake is one CliError line. */
export function parseCommand(command: Command, argv: string[]): CommandArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, spec] of Object.entries(command.options))
    options[name] = { type: spec.value ? 'string' : 'boolean' };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(`${command.name}: ${parseArgsMessage(error)} (medledger ${command.name} --help)`);
  }
  const values: Record<string, string | undefined> = {};
  const flags = new Set<string>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === 'string') values[name] = value;
    else if (value === true) flags.add(name);
  }
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min)
    throw new CliError(`${command.name}: missing argument; ${usageHint(command)}`);
  if (parsed.positionals.length > max) {
    throw new CliError(
      `${command.name}: unexpected argument "${parsed.positionals[max]}"; ${usageHint(command)}`,
    );
  }
  return { argv, positionals: parsed.positionals, values, flags };
}

/** node:util parseArgs' errors, said in one short line. */
function parseArgsMessage(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const option = /'(-[^' ]+)/.exec(e.message ?? '')?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(e.message ?? '')
        ? `option ${option} needs a value`
        : `option ${option} takes no value`;
    default:
      return (e.message ?? String(error)).split('\n')[0]!;
  }
}
