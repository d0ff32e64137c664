/**
 * The consortium's rule for controlled-substance monitoring, as both sides of a monitoring call apply it
 * (docs/prescriptions.md, *Controlled-substance monitoring across organisations*):
 * - the policy is on-chain (Prescriptions.monitoringPolicy, set by a regulator): enabled or not, and how many
 *   days of history a request may cover;
 * - who may monitor: a member whose on-chain organisation is the asking one and who is either a Practitioner
 *   with a valid licence and an unexpired, unrevoked controlled-substance registration, or a Pharmacist of an
 *   active Pharmacy. There is no per-patient consent: the policy stands for it, as state PDMP laws do.
 * Limits: the registration is read at the current block; one registration of any schedule (II–V) suffices.
 */
import { MemberRole, OrganisationKind, prescriptionsAbi } from '@medledger/contracts';
import type { Address } from 'viem';
import type { OrganisationDirectory } from '../exchange/OrganisationDirectory.js';
import type { NodeContext } from '../NodeContext.js';

export interface MonitoringPolicy {
  enabled: boolean;
  lookbackDays: number;
}

/** The on-chain policy; disabled on a deployment without Prescriptions. */
export async function readMonitoringPolicy(ctx: NodeContext): Promise<MonitoringPolicy> {
  const deployed = ctx.ledger.deployment.contracts.Prescriptions;
  if (!deployed) return { enabled: false, lookbackDays: 0 };
  const [enabled, lookbackDays] = await ctx.ledger.rpc('reading the monitoring policy', () =>
    ctx.ledger.publicClient.readContract({
      address: deployed.address,
      abi: prescriptionsAbi,
      functionName: 'monitoringPolicy',
    }),
  );
  return { enabled, lookbackDays: Number(lookbackDays) };
}

async function holdsControlledRegistration(ctx: NodeContext, member: Address, now: number): Promise<boolean> {
  const deployed = ctx.ledger.deployment.contracts.Prescriptions;
  if (!deployed) return false;
  const r = await ctx.ledger.rpc('reading a controlled-substance registration', () =>
    ctx.ledger.publicClient.readContract({
      address: deployed.address,
      abi: prescriptionsAbi,
      functionName: 'controlledRegistrationOf',
      args: [member],
    }),
  );
  if (Number(r.issuer) === 0 || r.schedules === 0) return false;
  if (now < Number(r.issuedAt) || now >= Number(r.expiresAt)) return false;
  return Number(r.revokedAt) === 0 || now < Number(r.revokedAt);
}

/**
 * Whether `member` may monitor on behalf of `organisation` under the consortium's rule (not whether the policy
 * is enabled: readMonitoringPolicy says that). The caller has brought the consent index up to date.
 */
export async function mayMonitor(
  ctx: NodeContext,
  directory: OrganisationDirectory,
  organisation: number,
  member: Address,
): Promise<boolean> {
  const consortium = ctx.consent.consortium;
  if (!consortium.organisationActive(organisation)) return false;
  if (consortium.memberOrganisation(member) !== organisation) return false;
  const role = consortium.memberRole(member);
  if (role === MemberRole.Pharmacist) {
    return (await directory.profile(organisation))?.kind === OrganisationKind.Pharmacy;
  }
  if (role !== MemberRole.Practitioner) return false;
  const now = ctx.consent.now();
  if (!consortium.hasValidLicence(member, now)) return false;
  return holdsControlledRegistration(ctx, member, now);
}
