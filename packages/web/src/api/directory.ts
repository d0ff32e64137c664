/**
 * The consortium's organisations (GET /directory/organisations): registry id, kind, status and endpoint, with
 * the name this node's directory gives each — for choosing an organisation by name (exchange requests,
 * consent grants) and for naming one the app only knows by id (access-log entries).
 */
import { useQuery } from '@tanstack/react-query';
import { api } from './client';

export interface Organisation {
  id: number;
  name: string;
  /** False when the directory has no name for it (the name is then its kind and id, e.g. "Lab 2"). */
  named: boolean;
  kind: 'hospital' | 'clinic' | 'lab' | 'pharmacy' | 'insurer' | 'research' | 'regulator';
  status: 'active' | 'suspended';
  endpoint: string;
  /** This node's own organisation. */
  self: boolean;
}

export const ORGANISATIONS_QUERY = ['directory', 'organisations'] as const;

export function fetchOrganisations(): Promise<Organisation[]> {
  return api<{ organisations: Organisation[] }>('/directory/organisations').then((r) => r.organisations);
}

export function useOrganisations() {
  return useQuery({ queryKey: ORGANISATIONS_QUERY, queryFn: fetchOrganisations, staleTime: 5 * 60_000 });
}

/** The name of an organisation by registry id, from a loaded list (undefined while unknown). */
export function organisationName(list: readonly Organisation[] | undefined, id: number): string | undefined {
  return list?.find((o) => o.id === id)?.name;
}
