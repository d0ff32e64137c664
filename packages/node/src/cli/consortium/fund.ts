/** `--fund <ether>`: gas money for a node account on a chain that charges for gas (not needed on a zero-gas Besu). */
import type { Address } from 'viem';
import { parseEther } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { type ActionContext, stringOption } from './context.js';
import { type GovernanceChain, refuse } from './governanceChain.js';

export function fundAmount(ctx: ActionContext): bigint {
  const raw = stringOption(ctx, 'fund');
  if (raw === undefined) return 0n;
  if (!/^\d{1,9}(\.\d{1,18})?$/.test(raw))
    refuse(`--fund must be an amount of ether such as 1 or 0.5, got "${raw.slice(0, 40)}"`);
  return parseEther(raw);
}

export async function fund(
  ctx: ActionContext,
  chain: GovernanceChain,
  from: PrivateKeyAccount,
  to: Address,
  amount: bigint,
): Promise<void> {
  if (amount === 0n) return;
  await chain.pay(from, to, amount);
  ctx.out(`sent ${stringOption(ctx, 'fund')} ether to ${to} for gas`);
}
