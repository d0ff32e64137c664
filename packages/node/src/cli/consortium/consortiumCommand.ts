/**
 * `medledger consortium <action>`: forming and governing a consortium on an external EVM chain — deploying the
 * contracts, an organisation's join request, admission, node accounts, suspension, the member list, and
 * handing governance to a timelock or multisig. docs/consortium.md walks three organisations through it.
 * Every refusal is one line (an MdlError the CLI prints) and changes nothing.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { admit } from './admit.js';
import { type ActionContext, CHAIN_OPTIONS } from './context.js';
import { deploy } from './deploy.js';
import { governanceKey } from './governanceKey.js';
import { handOver } from './handOver.js';
import { listMembers } from './listMembers.js';
import { addNodeAccount, removeNodeAccount } from './nodeAccounts.js';
import { prepareJoinRequest } from './prepareJoinRequest.js';
import { reinstate, suspend } from './suspension.js';
import { deployTimelock } from './timelock.js';
import { CONSORTIUM_USAGE } from './usage.js';

type Options = NonNullable<ParseArgsConfig['options']>;

interface Action {
  options: Options;
  run(ctx: ActionContext): Promise<void>;
}

const fundOption = { fund: { type: 'string' } } as const;

const ACTIONS: Record<string, Action> = {
  'governance-key': { options: { out: { type: 'string' } }, run: governanceKey },
  deploy: {
    options: { ...CHAIN_OPTIONS, out: { type: 'string' }, 'break-glass-cap': { type: 'string' } },
    run: deploy,
  },
  admit: { options: { ...CHAIN_OPTIONS, ...fundOption }, run: admit },
  'add-node-account': { options: { ...CHAIN_OPTIONS, ...fundOption }, run: addNodeAccount },
  'remove-node-account': { options: CHAIN_OPTIONS, run: removeNodeAccount },
  suspend: { options: { ...CHAIN_OPTIONS, reason: { type: 'string' } }, run: suspend },
  reinstate: { options: CHAIN_OPTIONS, run: reinstate },
  members: { options: { ...CHAIN_OPTIONS, json: { type: 'boolean' } }, run: listMembers },
  'deploy-timelock': {
    options: {
      ...CHAIN_OPTIONS,
      'min-delay': { type: 'string' },
      proposers: { type: 'string' },
      executors: { type: 'string' },
    },
    run: deployTimelock,
  },
  'hand-over': { options: { ...CHAIN_OPTIONS, to: { type: 'string' } }, run: handOver },
};

export interface ConsortiumIo {
  env?: NodeJS.ProcessEnv;
  out?: (line: string) => void;
}

export async function consortiumCommand(argv: string[], io: ConsortiumIo = {}): Promise<void> {
  const env = io.env ?? process.env;
  const out = io.out ?? ((line: string) => console.log(line));
  const [name, ...rest] = argv;
  const help = (a: string) => a === '--help' || a === '-h';
  if (name === undefined || name === 'help' || help(name) || rest.some(help)) {
    out(CONSORTIUM_USAGE);
    return;
  }
  if (name === 'join-request') {
    await prepareJoinRequest(rest, env, out);
    return;
  }
  const action = ACTIONS[name];
  if (!action) {
    throw new MdlError(
      MdlErrorCode.BadInput,
      `unknown consortium action "${name.slice(0, 40)}" (medledger consortium help lists them)`,
    );
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: action.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new MdlError(
      MdlErrorCode.BadInput,
      `consortium ${name}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  await action.run({
    values: parsed.values as ActionContext['values'],
    positionals: parsed.positionals,
    env,
    out,
  });
}
