/**
 * `medledger consortium members [--json]`: every organisation admitted, with its id, name, kind, status,
 * endpoint and node accounts. Needs no key: the registry is public to the consortium.
 */
import { type ActionContext, consortiumOf, operands } from './context.js';
import { readMembers } from './members.js';

export async function listMembers(ctx: ActionContext): Promise<void> {
  operands(ctx, 0, 'members [--json]');
  const { chain, namesFile } = await consortiumOf(ctx);
  const members = await readMembers(chain, namesFile);
  if (ctx.values.json === true) {
    ctx.out(
      JSON.stringify({ registry: chain.registry, chainId: chain.deployment.chainId, members }, null, 2),
    );
    return;
  }
  if (members.length === 0) {
    ctx.out(`no organisations in the registry at ${chain.registry} yet`);
    return;
  }
  const rows = members.map((m) => [
    String(m.id),
    m.name,
    m.kind,
    m.status,
    m.endpoint,
    m.nodeAccounts.join(' ') || '(none)',
  ]);
  const header = ['id', 'name', 'kind', 'status', 'endpoint', 'node accounts'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) {
    ctx.out(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  }
}
