/**
 * The consortium's directory (GET /directory/organisations): organisations by name, for choosing one by name
 * rather than by registry id, and for naming them wherever an id appears. Names are labels each node declares
 * for itself; the registry id is what a grant names.
 */
import { useQuery } from '@tanstack/react-query';
import { api } from './client';

export interface DirectoryOrganisation {
  /** The registry's organisation id (decimal). */
  id: string;
  name: string;
  kind: string;
  /** This node's own organisation. */
  self: boolean;
}

export const ORGANISATIONS_QUERY = ['directory', 'organisations'] as const;

export function useOrganisations() {
  return useQuery({
    queryKey: ORGANISATIONS_QUERY,
    queryFn: async () =>
      (await api<{ organisations: DirectoryOrganisation[] }>('/directory/organisations')).organisations,
    staleTime: 5 * 60_000,
  });
}

/** id → name, for wording. */
export function namesOf(organisations: readonly DirectoryOrganisation[] | undefined): Map<string, string> {
  return new Map((organisations ?? []).map((o) => [o.id, o.name]));
}

/** An organisation's public key bundle and the hash the on-chain registry commits to (both base64url / hex). */
export interface CommittedKeyBundle {
  id: string;
  keyBundleHash: string;
  keyBundle: string;
}

export function fetchKeyBundle(organisationId: string): Promise<CommittedKeyBundle> {
  return api<CommittedKeyBundle>(`/directory/organisations/${encodeURIComponent(organisationId)}/key-bundle`);
}
