/**
 * `medledger consortium suspend <organisation> --reason TEXT` and `reinstate <organisation>`. A suspension
 * stops the organisation's node accounts and members being accepted by every contract at once; the registry
 * keeps only the hash of the reason (keccak256 of its UTF-8 text), so governance keeps the text in its minutes.
 */
import { keccak256, toHex } from 'viem';
import { type ActionContext, governanceOf, operands, stringOption } from './context.js';
import { refuse } from './governanceChain.js';
import { readMembers, resolveOrganisation } from './members.js';

export async function suspend(ctx: ActionContext): Promise<void> {
  const [name] = operands(ctx, 1, 'suspend <organisation> --reason <text>');
  const reason = stringOption(ctx, 'reason')?.trim();
  if (!reason) refuse('a suspension needs --reason <text> (its hash goes on-chain)');
  if (reason.length > 1000) refuse('--reason must be at most 1000 characters');
  const g = await governanceOf(ctx);
  const org = resolveOrganisation(await readMembers(g.chain, g.namesFile), name!);
  if (org.status === 'suspended') refuse(`${org.name} (organisation ${org.id}) is already suspended`);
  const reasonHash = keccak256(toHex(reason));
  await g.chain.send(g.account, 'registry', 'suspendOrganisation', [org.id, reasonHash]);
  ctx.out(`suspended ${org.name} (organisation ${org.id}); reason hash ${reasonHash}`);
}

export async function reinstate(ctx: ActionContext): Promise<void> {
  const [name] = operands(ctx, 1, 'reinstate <organisation>');
  const g = await governanceOf(ctx);
  const org = resolveOrganisation(await readMembers(g.chain, g.namesFile), name!);
  if (org.status !== 'suspended') refuse(`${org.name} (organisation ${org.id}) is not suspended`);
  await g.chain.send(g.account, 'registry', 'reinstateOrganisation', [org.id]);
  ctx.out(`reinstated ${org.name} (organisation ${org.id})`);
}
