/**
 * Interactions from a drug-name list (the ONC High-Priority list, loaded by the operator): a draft order and
 * another medication whose texts name an object and a precipitant drug of the same interaction. Every such pair
 * is high priority by the list's definition, so the card is critical. The detail says how the names were found,
 * including a tolerated misspelling, so a prescriber can judge a name-based match.
 */
import { type CdsCard, clampSummary, INTERACTION_OVERRIDE_REASONS } from './cdsHooksCard.js';
import { deterministicUuid } from './deterministicUuid.js';
import { indexTexts, matchNameIn, type NameMatch } from './drugNameMatch.js';
import { deleteDraft, interactionPairs, type RuleContext } from './interactionPairs.js';
import type { MedicationConcept } from './medicationConcept.js';
import type { NamedDrug, NamedInteractionList } from './oncHighPriorityList.js';

export const NAMED_LIST_RULE = 'named-list';

/** For each medication, the list drugs its texts name — computed once per medication, not per pair. */
function drugsNamedBy(m: MedicationConcept, list: NamedInteractionList): Map<NamedDrug, NameMatch> {
  const text = indexTexts(m.texts);
  const found = new Map<NamedDrug, NameMatch>();
  for (const interaction of list.interactions) {
    for (const drug of [...interaction.objects, ...interaction.precipitants]) {
      if (found.has(drug)) continue;
      const match = matchNameIn(drug.words, text);
      if (match) found.set(drug, match);
    }
  }
  return found;
}

function find(drugs: readonly NamedDrug[], named: ReadonlyMap<NamedDrug, NameMatch>) {
  for (const drug of drugs) {
    const match = named.get(drug);
    if (match) return { drug, match };
  }
  return undefined;
}

const how = (m: MedicationConcept, drug: NamedDrug, match: NameMatch) =>
  match.fuzzy ? `"${m.label}" (read "${match.found}" as ${drug.name.toLowerCase()})` : `"${m.label}"`;

export function namedListCards(ctx: RuleContext, list: NamedInteractionList): CdsCard[] {
  const cards: CdsCard[] = [];
  const namedBy = new Map<MedicationConcept, Map<NamedDrug, NameMatch>>();
  const named = (m: MedicationConcept) => {
    let found = namedBy.get(m);
    if (!found) {
      found = drugsNamedBy(m, list);
      namedBy.set(m, found);
    }
    return found;
  };
  for (const pair of interactionPairs(ctx)) {
    for (const interaction of list.interactions) {
      const a = named(pair.draft);
      const b = named(pair.other);
      if (a.size === 0 || b.size === 0) continue;
      let object = find(interaction.objects, a);
      let precipitant = object ? find(interaction.precipitants, b) : undefined;
      let [objectMed, precipitantMed] = [pair.draft, pair.other];
      if (!object || !precipitant) {
        object = find(interaction.objects, b);
        precipitant = object ? find(interaction.precipitants, a) : undefined;
        [objectMed, precipitantMed] = [pair.other, pair.draft];
      }
      if (!object || !precipitant) continue;
      const uuid = deterministicUuid(NAMED_LIST_RULE, list.label, interaction.id, pair.key);
      const objectName = object.drug.name.toLowerCase();
      const precipitantName = precipitant.drug.name.toLowerCase();
      const classes = [
        object.drug.drugClass ?? object.drug.name,
        precipitant.drug.drugClass ?? precipitant.drug.name,
      ];
      const remove = deleteDraft(pair.draft, 'Cancel the draft order');
      cards.push({
        uuid,
        summary: clampSummary(
          `High-priority interaction: ${objectName} + ${precipitantName} (#${interaction.id})`,
        ),
        detail: [
          `**${classes[0]}** (object drug) with **${classes[1]}** (precipitant drug): interaction #${interaction.id} of the ${list.label}.`,
          '',
          `Found by name: ${objectName} in ${how(objectMed, object.drug, object.match)}, ${precipitantName} in ${how(precipitantMed, precipitant.drug, precipitant.match)}.`,
          '',
          'Drugs on this list are expected to interrupt prescribing: consider an alternative or document why the combination is needed and how it is monitored.',
        ].join('\n'),
        indicator: 'critical',
        source: {
          label: list.label,
          ...(list.url ? { url: list.url } : {}),
          topic: { code: interaction.id, display: `${classes[0]} + ${classes[1]}` },
        },
        ...(remove.length > 0
          ? {
              suggestions: [
                { label: 'Cancel the draft order', uuid: deterministicUuid(uuid, 'cancel'), actions: remove },
              ],
              selectionBehavior: 'at-most-one' as const,
            }
          : {}),
        overrideReasons: INTERACTION_OVERRIDE_REASONS,
      });
    }
  }
  return cards;
}
