/**
 * The consortium's organisations for people choosing one by name: `GET /directory/organisations` lists every
 * organisation the ConsortiumRegistry admitted (id, kind, status, endpoint) with a name. The registry holds
 * no names, so the name is the one this node's FHIR directory gives it — an `Organization` carrying the
 * identifier `urn:medledger:organisation|<registry id>`, read through the caller's own access (directory
 * records are readable by everyone) — or, without one, the kind and id ("Lab 2").
 *
 * Limits: names are this organisation's directory's, not consortium-wide facts; the list is read from the
 * chain on each call (a handful of organisations; profiles cached by OrganisationDirectory for 5 s).
 */
import { consortiumRegistryAbi, OrganisationStatus } from '@medledger/contracts';
import type { FastifyInstance } from 'fastify';
import { ORGANISATION_KINDS } from '../config.js';
import type { OrganisationDirectory } from '../exchange/OrganisationDirectory.js';
import type { NodeContext } from '../NodeContext.js';
import { organisationsSchema } from '../openapi/routeSchemas.js';
import { ORGANISATION_SYSTEM } from './consentFeature.js';

export const ORGANISATIONS_PATH = '/directory/organisations';

export interface ListedOrganisation {
  id: number;
  name: string;
  named: boolean;
  kind: string;
  status: 'active' | 'suspended';
  endpoint: string;
  self: boolean;
}

const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function registerDirectoryRoutes(
  app: FastifyInstance,
  ctx: NodeContext,
  directory: OrganisationDirectory,
) {
  app.get(ORGANISATIONS_PATH, { schema: organisationsSchema }, async (request) => {
    const count = await ctx.ledger.rpc('reading the registry', () =>
      ctx.ledger.publicClient.readContract({
        address: ctx.ledger.deployment.contracts.ConsortiumRegistry.address,
        abi: consortiumRegistryAbi,
        functionName: 'organisationCount',
      }),
    );
    const ids = Array.from({ length: Number(count) }, (_, i) => i + 1);
    const profiles = (await Promise.all(ids.map((id) => directory.profile(id)))).filter(
      (p) => p !== undefined,
    );
    const names = new Map<number, string>();
    if (profiles.length > 0 && request.records) {
      const params = new URLSearchParams({
        identifier: profiles.map((p) => `${ORGANISATION_SYSTEM}|${p.id}`).join(','),
        _count: '100',
      });
      const bundle = (await request.records.search('Organization', params)) as {
        entry?: { resource?: { name?: unknown; identifier?: { system?: string; value?: string }[] } }[];
      };
      for (const e of bundle.entry ?? []) {
        const r = e.resource;
        if (typeof r?.name !== 'string' || !r.name.trim()) continue;
        for (const i of r.identifier ?? []) {
          const id = Number(i.value);
          if (i.system === ORGANISATION_SYSTEM && !names.has(id)) names.set(id, r.name.trim());
        }
      }
    }
    const organisations: ListedOrganisation[] = profiles.map((p) => {
      const kind = ORGANISATION_KINDS[p.kind] ?? 'hospital';
      const name = names.get(p.id);
      return {
        id: p.id,
        name: name ?? `${capitalised(kind)} ${p.id}`,
        named: name !== undefined,
        kind,
        status: p.status === OrganisationStatus.Active ? 'active' : 'suspended',
        endpoint: p.endpoint,
        self: p.id === ctx.organisationId,
      };
    });
    return { organisations };
  });
}
