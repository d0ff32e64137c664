/**
 * `medledger consortium admit <join-request.json>`: admits an organisation from its join request — the
 * registry profile, then its node account — records its name in governance's register, and prints the new
 * organisation's id. Refuses (changing nothing) a request that does not verify, a node account that already
 * acts for an organisation, and a name or endpoint another member already has. An admission interrupted
 * between its two transactions is completed by running the same command again.
 */
import { readFileSync } from 'node:fs';
import { consortiumRegistryAbi, type OrganisationKind } from '@medledger/contracts';
import { isMdlError } from '@medledger/core';
import { parseEventLogs } from 'viem';
import { ORGANISATION_KINDS } from '../../config.js';
import { type ActionContext, governanceOf, operands } from './context.js';
import { fund, fundAmount } from './fund.js';
import { refuse } from './governanceChain.js';
import { parseJoinRequest } from './joinRequest.js';
import { readMembers, writeName } from './members.js';

export async function admit(ctx: ActionContext): Promise<void> {
  const [file] = operands(ctx, 1, 'admit <join-request.json> [--fund <ether>]');
  let text: string;
  try {
    text = readFileSync(file!, 'utf8');
  } catch {
    refuse(`${file}: no such file`);
  }
  const request = await parseJoinRequest(text).catch((e: unknown) => {
    if (isMdlError(e)) refuse(`${file}: ${e.message}`);
    throw e;
  });
  const amount = fundAmount(ctx);
  const { chain, account, namesFile } = await governanceOf(ctx);
  const members = await readMembers(chain, namesFile);

  const holder = members.find((m) => m.nodeAccounts.includes(request.nodeAccount));
  if (holder) {
    refuse(`node account ${request.nodeAccount} already acts for ${holder.name} (organisation ${holder.id})`);
  }
  // Half an admission (profile without node account) from an interrupted run: the same request completes it.
  const unfinished = members.find(
    (m) =>
      m.endpoint === request.endpoint &&
      m.keyBundleHash.toLowerCase() === request.keyBundleHash &&
      m.nodeAccounts.length === 0,
  );
  const sameName = members.find(
    (m) => m !== unfinished && m.name.toLocaleLowerCase() === request.name.toLocaleLowerCase(),
  );
  if (sameName) refuse(`the name "${request.name}" is taken by organisation ${sameName.id}`);
  const sameEndpoint = members.find((m) => m !== unfinished && m.endpoint === request.endpoint);
  if (sameEndpoint) {
    refuse(`the endpoint ${request.endpoint} is ${sameEndpoint.name}'s (organisation ${sameEndpoint.id})`);
  }

  let id = unfinished?.id;
  if (id === undefined) {
    const receipt = await chain.send(account, 'registry', 'admitOrganisation', [
      ORGANISATION_KINDS.indexOf(request.kind) as OrganisationKind,
      request.endpoint,
      request.keyBundleHash,
      request.keyBundleUri,
    ]);
    const [event] = parseEventLogs({
      abi: consortiumRegistryAbi,
      eventName: 'OrganisationAdmitted',
      logs: receipt.logs,
    });
    if (!event) refuse('admitOrganisation emitted no OrganisationAdmitted');
    id = Number(event.args.organisation);
  }
  writeName(namesFile, chain.registry, id, request.name);
  await chain.send(account, 'registry', 'addNodeAccount', [id, request.nodeAccount]);
  ctx.out(`admitted ${request.name} (${request.kind}) as organisation ${id}`);
  ctx.out(`  endpoint        ${request.endpoint}`);
  ctx.out(`  node account    ${request.nodeAccount}`);
  await fund(ctx, chain, account, request.nodeAccount, amount);
}
