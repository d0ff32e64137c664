/**
 * `medledger consortium deploy --rpc-url URL --out deployment.json`: deploys the contract suite to an external
 * chain with the governance key, which receives the admin and governance roles, and writes the deployment
 * file every node of the consortium starts with. An existing file is never overwritten (it is a consortium).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_BREAK_GLASS_DURATION_CAP, deploySuite } from '@medledger/contracts';
import { minedOnReturn } from '@medledger/ledger';
import { formatEther } from 'viem';
import { type ActionContext, operands, stringOption } from './context.js';
import { chainAt, describeChainError, governanceAccount, refuse, rpcUrlOf } from './governanceChain.js';

export async function deploy(ctx: ActionContext): Promise<void> {
  operands(ctx, 0, 'deploy --rpc-url <url> --out <deployment.json> [--break-glass-cap <seconds>]');
  const out = stringOption(ctx, 'out') ?? (ctx.env.MEDLEDGER_DEPLOYMENT_FILE || undefined);
  if (!out) refuse('deploy needs --out <deployment.json> (or MEDLEDGER_DEPLOYMENT_FILE)');
  const outFile = resolve(out);
  if (existsSync(outFile)) refuse(`${outFile} exists: a consortium's deployment file is never overwritten`);
  const capRaw = stringOption(ctx, 'break-glass-cap') ?? String(DEFAULT_BREAK_GLASS_DURATION_CAP);
  const cap = /^\d{1,10}$/.test(capRaw) ? Number(capRaw) : Number.NaN;
  if (!Number.isInteger(cap) || cap <= 0 || cap > 0xffffffff)
    refuse('--break-glass-cap must be seconds (1 or more)');
  const account = governanceAccount(stringOption(ctx, 'governance-key-file'), ctx.env);
  const rpcUrl = rpcUrlOf(stringOption(ctx, 'rpc-url'), ctx.env);
  const { client } = await chainAt(rpcUrl);
  const balance = await client.getBalance({ address: account.address });
  const gasPrice = await client.getGasPrice();
  if (balance === 0n && gasPrice > 0n) {
    refuse(`the governance account ${account.address} holds no ether on this chain: fund it first`);
  }
  const deployment = await deploySuite({
    rpcUrl,
    account,
    outFile,
    breakGlassDurationCap: cap,
    transport: minedOnReturn(rpcUrl),
  }).catch((e: unknown) => refuse(`deploying the contracts: ${describeChainError(e)}`));
  ctx.out(
    `deployed the medledger contracts to chain ${deployment.chainId} at block ${deployment.blockNumber}`,
  );
  ctx.out(`  ConsortiumRegistry  ${deployment.contracts.ConsortiumRegistry.address}`);
  ctx.out(`  ConsentManager      ${deployment.contracts.ConsentManager.address}`);
  ctx.out(`  RecordRegistry      ${deployment.contracts.RecordRegistry.address}`);
  ctx.out(`  AuditAnchor         ${deployment.contracts.AuditAnchor.address}`);
  ctx.out(
    `governance: ${account.address} (balance ${formatEther(await client.getBalance({ address: account.address }))})`,
  );
  ctx.out(`wrote ${outFile}: give it to every organisation (their nodes start with --deployment-file)`);
}
