/** A Patient resource in words: their name as people write it, with no codes. */
import type { Resource } from '../api/fhir';

interface HumanName {
  use?: string;
  text?: string;
  family?: string;
  given?: string[];
  prefix?: string[];
}

export function patientName(patient: Resource | undefined): string {
  const names = (patient?.name as HumanName[] | undefined) ?? [];
  const name = names.find((n) => n.use === 'official') ?? names[0];
  if (!name) return 'Unnamed patient';
  if (name.text?.trim()) return name.text.trim();
  const words = [...(name.given ?? []), name.family ?? ''].map((w) => w.trim()).filter(Boolean);
  return words.length ? words.join(' ') : 'Unnamed patient';
}

/** The patient's ledger pseudonym (the identifier exchange requests name them by), if the record has one. */
export function pseudonymOf(patient: Resource | undefined): string | undefined {
  const ids = (patient?.identifier as { system?: string; value?: string }[] | undefined) ?? [];
  return ids.find((i) => i.system === 'urn:medledger:patient-pseudonym')?.value;
}
