/**
 * What every `medledger consortium` action receives: its parsed options and operands, the environment, where
 * to print, and the shared ways to reach the chain as governance (deployment file, governance key, register of
 * names). Options win over environment variables: the chain's use the node's names (LEDGER_RPC_URL,
 * MEDLEDGER_DEPLOYMENT_FILE); the governance key's (MEDLEDGER_GOVERNANCE_KEY_FILE, MEDLEDGER_GOVERNANCE_KEY) are
 * deliberately not the node's MEDLEDGER_GOVERNOR_KEY_FILE, with which a development node admits itself: a
 * governance shell must never make the nodes started from it skip admission.
 */
import { resolve } from 'node:path';
import type { PrivateKeyAccount } from 'viem/accounts';
import {
  connectGovernance,
  type GovernanceChain,
  governanceAccount,
  refuse,
  rpcUrlOf,
} from './governanceChain.js';
import { namesFileOf } from './members.js';

export interface ActionContext {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  env: NodeJS.ProcessEnv;
  out(line: string): void;
}

export function stringOption(ctx: ActionContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function deploymentFileOf(ctx: ActionContext): string {
  const file = stringOption(ctx, 'deployment-file') ?? (ctx.env.MEDLEDGER_DEPLOYMENT_FILE || undefined);
  if (!file) refuse('no deployment file: pass --deployment-file or set MEDLEDGER_DEPLOYMENT_FILE');
  return resolve(file);
}

export interface Governance {
  chain: GovernanceChain;
  namesFile: string;
}

/** The deployed consortium (read-only). */
export async function consortiumOf(ctx: ActionContext): Promise<Governance> {
  const deploymentFile = deploymentFileOf(ctx);
  const chain = await connectGovernance(rpcUrlOf(stringOption(ctx, 'rpc-url'), ctx.env), deploymentFile);
  return { chain, namesFile: resolve(stringOption(ctx, 'names-file') ?? namesFileOf(deploymentFile)) };
}

/** The deployed consortium and the governance account, which must hold the governance role now. */
export async function governanceOf(ctx: ActionContext): Promise<Governance & { account: PrivateKeyAccount }> {
  const account = governanceAccount(stringOption(ctx, 'governance-key-file'), ctx.env);
  const g = await consortiumOf(ctx);
  await g.chain.requireGovernor(account.address);
  return { ...g, account };
}

/** Operands exactly as many as the usage says, else the usage line. */
export function operands(ctx: ActionContext, count: number, usage: string): string[] {
  if (ctx.positionals.length !== count) refuse(`usage: medledger consortium ${usage}`);
  return ctx.positionals;
}

/** The chain options every governance action takes. */
export const CHAIN_OPTIONS = {
  'rpc-url': { type: 'string' },
  'deployment-file': { type: 'string' },
  'governance-key-file': { type: 'string' },
  'names-file': { type: 'string' },
} as const;
