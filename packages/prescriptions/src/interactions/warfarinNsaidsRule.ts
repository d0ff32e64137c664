/**
 * HL7 PDDI-CDS warfarin + NSAIDs (PlanDefinition warfarin-nsaids-cds-sign / -select): a draft order of either
 * drug while the patient takes (or is also being ordered) the other. Topical diclofenac gives an information
 * card ("no special precautions"). Otherwise the card is critical when a risk factor of the PlanDefinition's
 * modifier cards is present — age 65 or over, a history of upper GI bleeding, a systemic corticosteroid, an
 * aldosterone antagonist, or more than one NSAID — and no proton pump inhibitor protects the patient; a warning
 * otherwise. One card per interacting pair carries the modifier findings in its detail (the guide's separate
 * modifier cards folded into one, so a prescriber sees one card per interaction). Misoprostol has no value set
 * in the guide's data and is not recognised.
 */
import { type CdsCard, clampSummary, INTERACTION_OVERRIDE_REASONS } from './cdsHooksCard.js';
import { deterministicUuid } from './deterministicUuid.js';
import {
  allMedications,
  deleteDraft,
  interactionPairs,
  type RuleContext,
  RXNORM,
} from './interactionPairs.js';
import type { MedicationConcept } from './medicationConcept.js';
import { PDDI_CDS_KNOWLEDGE } from './pddiCdsKnowledge.generated.js';
import { ingredientName, inSet, matchingSet } from './pddiValueSets.js';

export const WARFARIN_NSAIDS_RULE = 'pddi-cds/warfarin-nsaids';
const K = PDDI_CDS_KNOWLEDGE.rules['warfarin-nsaids'];

const isWarfarin = (m: MedicationConcept) => inSet(m.codings, 'valueset-warfarin');
const isNsaid = (m: MedicationConcept) => inSet(m.codings, 'valueset-NSAIDS');
const yesNo = (v: boolean | undefined) => (v === undefined ? 'unknown' : v ? 'yes' : 'no');

/** Suggested orders: acetaminophen in place of the NSAID, omeprazole to protect the stomach. */
const ACETAMINOPHEN = { code: '198440', display: 'Acetaminophen 500 MG Oral Tablet' };
const OMEPRAZOLE = { code: '198051', display: 'Omeprazole 20 MG Delayed Release Oral Capsule' };

function medicationOrder(ctx: RuleContext, drug: { code: string; display: string }, dosage: string) {
  return {
    resourceType: 'MedicationRequest',
    status: 'draft',
    intent: 'proposal',
    medicationCodeableConcept: { coding: [{ system: RXNORM, ...drug }], text: drug.display },
    ...(ctx.subject ? { subject: ctx.subject } : {}),
    dosageInstruction: [{ text: dosage }],
  };
}

export function warfarinNsaidsCards(ctx: RuleContext): CdsCard[] {
  const cards: CdsCard[] = [];
  const meds = allMedications(ctx);
  for (const pair of interactionPairs(ctx)) {
    const [warfarin, nsaid] =
      isWarfarin(pair.draft) && isNsaid(pair.other)
        ? [pair.draft, pair.other]
        : isNsaid(pair.draft) && isWarfarin(pair.other)
          ? [pair.other, pair.draft]
          : [];
    if (!warfarin || !nsaid) continue;
    const uuid = deterministicUuid(WARFARIN_NSAIDS_RULE, pair.key);
    const source = { label: K.source.label, url: K.source.url };
    const nsaidName = ingredientName(nsaid.codings, 'valueset-NSAIDS', 'NSAID');

    if (inSet(nsaid.codings, 'valueset-topicaldiclofenac')) {
      cards.push({
        uuid,
        summary: clampSummary(
          `Potential interaction: warfarin + topical diclofenac — ${K.topical.action.toLowerCase()}`,
        ),
        detail: `${K.topical.description}\n\n${K.topical.action}.`,
        indicator: 'info',
        source,
      });
      continue;
    }

    const ppi = meds.find((m) => inSet(m.codings, 'valueset-PPIS'));
    const steroid = meds.find((m) => inSet(m.codings, 'valueset-SCS'));
    const aldosterone = meds.find((m) => inSet(m.codings, 'valueset-AAS'));
    const nsaids = meds.filter((m) => isNsaid(m) && !inSet(m.codings, 'valueset-topicaldiclofenac'));
    const ugib = ctx.facts.conditions.some((c) => inSet(c, 'valueset-Hx-UGIB-snomed'));
    const age = ctx.facts.age;
    const risks = [
      age !== undefined && age >= 65,
      ugib,
      steroid !== undefined,
      aldosterone !== undefined,
      nsaids.length > 1,
    ].some(Boolean);
    const indicator = risks && !ppi ? 'critical' : 'warning';
    const [headline, ...explanation] = K.systemic.description.split('\n');
    const named = (m: MedicationConcept | undefined, set: Parameters<typeof matchingSet>[1]) =>
      m ? `yes (${matchingSet(m.codings, set)?.ingredient ?? m.label})` : 'no';
    const detail = [
      `**${headline}** ${indicator === 'critical' ? 'Risk factors are present and no gastroprotection was found.' : ''}`.trim(),
      explanation.join('\n'),
      '',
      '| Modifier | Present |',
      '|---|---|',
      `| Proton pump inhibitor | ${named(ppi, 'valueset-PPIS')} |`,
      `| Age 65 or over | ${yesNo(age === undefined ? undefined : age >= 65)} |`,
      `| History of upper gastrointestinal bleeding | ${yesNo(ugib)} |`,
      `| Systemic corticosteroid | ${named(steroid, 'valueset-SCS')} |`,
      `| Aldosterone antagonist | ${named(aldosterone, 'valueset-AAS')} |`,
      `| More than one NSAID | ${yesNo(nsaids.length > 1)} |`,
      '',
      K.ppi.description,
      '',
      K.ageUgib.description,
      '',
      K.concomitant.description,
      '',
      K.systemic.remove.description,
    ].join('\n');

    const suggestions: CdsCard['suggestions'] = [];
    if (pair.draft === nsaid) {
      const remove = deleteDraft(nsaid, `Cancel the ${nsaidName} order`);
      if (remove.length > 0) {
        suggestions.push({
          label: `Substitute ${nsaidName} with acetaminophen`,
          uuid: deterministicUuid(uuid, 'substitute'),
          isRecommended: true,
          actions: [
            ...remove,
            {
              type: 'create',
              description: K.systemic.substitute.description,
              resource: medicationOrder(
                ctx,
                ACETAMINOPHEN,
                '500 mg every 4-6 hours as needed, less than 2 g per day',
              ),
            },
          ],
        });
        suggestions.push({
          label: `Cancel the ${nsaidName} order`,
          uuid: deterministicUuid(uuid, 'cancel'),
          actions: remove,
        });
      }
    } else {
      const remove = deleteDraft(warfarin, 'Cancel the warfarin order');
      if (remove.length > 0) {
        suggestions.push({
          label: 'Cancel the warfarin order',
          uuid: deterministicUuid(uuid, 'cancel'),
          actions: remove,
        });
      }
    }
    if (!ppi) {
      suggestions.push({
        label: 'Add a proton pump inhibitor (omeprazole 20 mg daily)',
        uuid: deterministicUuid(uuid, 'add-ppi'),
        actions: [
          {
            type: 'create',
            description: K.ppi.description,
            resource: medicationOrder(ctx, OMEPRAZOLE, '20 mg once daily while taking the NSAID'),
          },
        ],
      });
    }
    cards.push({
      uuid,
      summary: clampSummary(`Potential interaction: warfarin + ${nsaidName} — increased risk of bleeding`),
      detail,
      indicator,
      source,
      ...(suggestions.length > 0 ? { suggestions, selectionBehavior: 'at-most-one' as const } : {}),
      overrideReasons: INTERACTION_OVERRIDE_REASONS,
      links: [{ label: 'Warfarin–NSAIDs decision support algorithm', url: K.source.url, type: 'absolute' }],
    });
  }
  return cards;
}
