/**
 * `medledger consortium add-node-account <organisation> <address>` and `remove-node-account <organisation>
 * <address>`: a second node (or a replaced key) for an admitted organisation, named by name or id. Refuses an
 * account that already acts for anyone, and removing an account from an organisation it does not act for.
 */
import { type Address, getAddress, isAddress } from 'viem';
import { type ActionContext, governanceOf, operands } from './context.js';
import { fund, fundAmount } from './fund.js';
import { refuse } from './governanceChain.js';
import { readMembers, resolveOrganisation } from './members.js';

function address(raw: string): Address {
  if (!isAddress(raw, { strict: false }))
    refuse(`"${raw.slice(0, 60)}" is not an account address (0x and 40 hex digits)`);
  return getAddress(raw);
}

export async function addNodeAccount(ctx: ActionContext): Promise<void> {
  const [name, raw] = operands(ctx, 2, 'add-node-account <organisation> <address> [--fund <ether>]');
  const account = address(raw!);
  const amount = fundAmount(ctx);
  const g = await governanceOf(ctx);
  const members = await readMembers(g.chain, g.namesFile);
  const org = resolveOrganisation(members, name!);
  const holder = members.find((m) => m.nodeAccounts.includes(account));
  if (holder) refuse(`node account ${account} already acts for ${holder.name} (organisation ${holder.id})`);
  await g.chain.send(g.account, 'registry', 'addNodeAccount', [org.id, account]);
  ctx.out(`${account} now acts for ${org.name} (organisation ${org.id})`);
  await fund(ctx, g.chain, g.account, account, amount);
}

export async function removeNodeAccount(ctx: ActionContext): Promise<void> {
  const [name, raw] = operands(ctx, 2, 'remove-node-account <organisation> <address>');
  const account = address(raw!);
  const g = await governanceOf(ctx);
  const members = await readMembers(g.chain, g.namesFile);
  const org = resolveOrganisation(members, name!);
  if (!org.nodeAccounts.includes(account)) {
    refuse(
      `${account} is not a node account of ${org.name} (its accounts: ${org.nodeAccounts.join(', ') || 'none'})`,
    );
  }
  await g.chain.send(g.account, 'registry', 'removeNodeAccount', [account]);
  ctx.out(`${account} no longer acts for ${org.name} (organisation ${org.id})`);
}
