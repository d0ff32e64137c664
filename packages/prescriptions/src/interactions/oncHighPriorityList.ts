/**
 * A drug-name interaction list in the shape of the ONC High-Priority DDI list (Phansalkar et al., JAMIA 2012):
 * rows of `onc_ddi_id, role (object|precipitant), drug_class, drug_name`, where every object × precipitant pair
 * within one id interacts. Its licence is unstated, so it is not shipped with the product: an operator loads
 * their licensed copy from a file and passes its text here. Parsing never throws; a list that yields no
 * interaction pair, or lacks the columns, is an error value.
 */
import { words } from './drugNameMatch.js';
import { parseCsv } from './parseCsv.js';

export interface NamedDrug {
  name: string;
  words: string[];
  drugClass?: string;
}

export interface NamedInteraction {
  id: string;
  objects: NamedDrug[];
  precipitants: NamedDrug[];
}

export interface NamedInteractionList {
  /** Shown as each card's source label. */
  label: string;
  url?: string;
  interactions: NamedInteraction[];
}

export type NamedListResult =
  | { ok: true; list: NamedInteractionList }
  | { ok: false; code: 'MDL_RX_INTERACTION_LIST_INVALID'; message: string };

export const ONC_LIST_LABEL = 'ONC High-Priority Drug-Drug Interactions (Phansalkar et al. 2012)';

export function parseOncHighPriorityList(
  csvText: string,
  options: { label?: string; url?: string } = {},
): NamedListResult {
  const invalid = (message: string): NamedListResult => ({
    ok: false,
    code: 'MDL_RX_INTERACTION_LIST_INVALID',
    message,
  });
  if (typeof csvText !== 'string') return invalid('the interaction list is not text');
  const rows = parseCsv(csvText);
  const first = rows[0];
  if (!first || !['onc_ddi_id', 'role', 'drug_name'].every((c) => c in first)) {
    return invalid('the interaction list needs the columns onc_ddi_id, role, drug_class, drug_name');
  }
  const byId = new Map<string, NamedInteraction>();
  for (const row of rows) {
    const id = row.onc_ddi_id!.trim();
    const name = row.drug_name!.trim();
    const role = row.role!.trim().toLowerCase();
    if (id === '' || name === '' || (role !== 'object' && role !== 'precipitant')) continue;
    const interaction = byId.get(id) ?? { id, objects: [], precipitants: [] };
    byId.set(id, interaction);
    const side = role === 'object' ? interaction.objects : interaction.precipitants;
    if (side.some((d) => d.name.toLowerCase() === name.toLowerCase())) continue;
    const drugClass = row.drug_class?.trim();
    side.push({ name, words: words(name), ...(drugClass ? { drugClass } : {}) });
  }
  const interactions = [...byId.values()].filter((i) => i.objects.length > 0 && i.precipitants.length > 0);
  if (interactions.length === 0) return invalid('the interaction list holds no object–precipitant pair');
  return {
    ok: true,
    list: {
      label: options.label ?? ONC_LIST_LABEL,
      ...(options.url ? { url: options.url } : {}),
      interactions,
    },
  };
}
