/**
 * `medledger consortium hand-over --to ADDRESS`: hands governance of a deployed consortium to a contract — the
 * consortium timelock (deploy-timelock) or a Safe multisig. On the registry and the consent manager it grants
 * the governance and admin roles to ADDRESS, then renounces the deploying key's, in that order, so governance
 * is never without a holder. Refuses an address without code (a person's key is what this replaces) and a
 * key that is not the admin. After it, the governance key can do nothing; keep it as evidence, not as a secret.
 */
import { consentManagerAbi, consortiumRegistryAbi } from '@medledger/contracts';
import { type Address, getAddress, isAddress } from 'viem';
import { type ActionContext, governanceOf, operands, stringOption } from './context.js';
import { DEFAULT_ADMIN_ROLE, GOVERNOR_ROLE, refuse } from './governanceChain.js';

export async function handOver(ctx: ActionContext): Promise<void> {
  operands(ctx, 0, 'hand-over --to <timelock or multisig address>');
  const raw = stringOption(ctx, 'to');
  if (!raw || !isAddress(raw, { strict: false }))
    refuse('hand-over needs --to <address> of a timelock or a multisig');
  const to: Address = getAddress(raw);
  const { chain, account } = await governanceOf(ctx);
  if (to === account.address) refuse(`${to} is the governance key itself`);
  const code = await chain.client.getCode({ address: to });
  if (!code || code === '0x') {
    refuse(
      `${to} holds no contract: hand governance to a timelock (deploy-timelock) or a Safe multisig, not to a key`,
    );
  }
  const targets = [
    {
      target: 'registry' as const,
      address: chain.registry,
      abi: consortiumRegistryAbi,
      name: 'ConsortiumRegistry',
    },
    {
      target: 'consentManager' as const,
      address: chain.consentManager,
      abi: consentManagerAbi,
      name: 'ConsentManager',
    },
  ];
  for (const t of targets) {
    const isAdmin = await chain.client.readContract({
      address: t.address,
      abi: t.abi,
      functionName: 'hasRole',
      args: [DEFAULT_ADMIN_ROLE, account.address],
    });
    if (!isAdmin) refuse(`${account.address} is not the admin of ${t.name} at ${t.address}`);
  }
  for (const t of targets) {
    for (const role of [GOVERNOR_ROLE, DEFAULT_ADMIN_ROLE]) {
      await chain.send(account, t.target, 'grantRole', [role, to]);
    }
  }
  for (const t of targets) {
    for (const role of [GOVERNOR_ROLE, DEFAULT_ADMIN_ROLE]) {
      await chain.send(account, t.target, 'renounceRole', [role, account.address]);
    }
  }
  ctx.out(`governance of the registry and the consent manager is now held by ${to}`);
  ctx.out(`${account.address} renounced its roles: governance actions are now proposed through ${to}`);
}
