/**
 * `medledger consortium deploy-timelock --min-delay SECONDS --proposers A[,B…] [--executors A[,B…]|anyone]`:
 * deploys the consortium's timelock (OpenZeppelin TimelockController, self-administered) and prints its
 * address, for `hand-over --to` it. Proposers are typically a Safe multisig of the member organisations.
 */
import { consortiumTimelockAbi, consortiumTimelockBytecode } from '@medledger/contracts';
import { minedOnReturn } from '@medledger/ledger';
import { type Address, createWalletClient, getAddress, isAddress, zeroAddress } from 'viem';
import { type ActionContext, operands, stringOption } from './context.js';
import { chainAt, describeChainError, governanceAccount, refuse, rpcUrlOf } from './governanceChain.js';

function addresses(option: string, raw: string | undefined): Address[] {
  if (!raw) refuse(`deploy-timelock needs --${option} <address>[,<address>…]`);
  const list = raw.split(',').map((a) => a.trim());
  for (const a of list)
    if (!isAddress(a, { strict: false })) refuse(`--${option}: "${a.slice(0, 60)}" is not an address`);
  return list.map((a) => getAddress(a));
}

export async function deployTimelock(ctx: ActionContext): Promise<void> {
  operands(
    ctx,
    0,
    'deploy-timelock --min-delay <seconds> --proposers <addresses> [--executors <addresses>|anyone]',
  );
  const delayRaw = stringOption(ctx, 'min-delay');
  if (!delayRaw || !/^\d{1,10}$/.test(delayRaw))
    refuse('--min-delay must be seconds (e.g. 172800 for two days)');
  const proposers = addresses('proposers', stringOption(ctx, 'proposers'));
  const executorsRaw = stringOption(ctx, 'executors');
  const executors =
    executorsRaw === 'anyone'
      ? [zeroAddress]
      : executorsRaw
        ? addresses('executors', executorsRaw)
        : proposers;
  const account = governanceAccount(stringOption(ctx, 'governance-key-file'), ctx.env);
  const rpcUrl = rpcUrlOf(stringOption(ctx, 'rpc-url'), ctx.env);
  const { chain, client } = await chainAt(rpcUrl);
  const wallet = createWalletClient({ account, chain, transport: minedOnReturn(rpcUrl) });
  let address: Address | null | undefined;
  try {
    const hash = await wallet.deployContract({
      abi: consortiumTimelockAbi,
      bytecode: consortiumTimelockBytecode,
      args: [BigInt(delayRaw), proposers, executors],
    });
    address = (await client.waitForTransactionReceipt({ hash })).contractAddress;
  } catch (error) {
    refuse(`deploying the timelock: ${describeChainError(error)}`);
  }
  if (!address) refuse('the timelock deployment created no contract');
  address = getAddress(address);
  ctx.out(`deployed the consortium timelock at ${address}`);
  ctx.out(`  minimum delay   ${delayRaw} s`);
  ctx.out(`  proposers       ${proposers.join(', ')}`);
  ctx.out(`  executors       ${executors[0] === zeroAddress ? 'anyone' : executors.join(', ')}`);
  ctx.out(`hand governance to it with: medledger consortium hand-over --to ${address}`);
}
