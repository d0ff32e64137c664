/** The signed-in person's own account (GET /account): what the app decides its screens by. */
import { useQuery } from '@tanstack/react-query';
import { api } from './client';

export type Role =
  | 'patient'
  | 'doctor'
  | 'nurse'
  | 'lab'
  | 'pharmacist'
  | 'insurer'
  | 'researcher'
  | 'auditor'
  | 'admin';

export interface Account {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  /** The registry id of the person's organisation. */
  organisation?: number;
  /** For patients: their FHIR Patient at this node and their on-chain pseudonym (absent until activation). */
  patient?: { fhirId: string; pseudonym?: string };
  practitionerId?: string;
  memberAddress?: string;
  secondFactors: { totp: boolean; webauthn: number };
  disabled: boolean;
}

export const ACCOUNT_QUERY = ['account'] as const;

export function useAccount(enabled: boolean) {
  return useQuery({
    queryKey: ACCOUNT_QUERY,
    queryFn: async () => (await api<{ account: Account }>('/account')).account,
    enabled,
    staleTime: 5 * 60_000,
  });
}

/** The FHIR Patient id of a signed-in patient (undefined for everyone else). */
export function patientIdOf(account: Pick<Account, 'patient'>): string | undefined {
  return account.patient?.fhirId || undefined;
}
