/**
 * HL7 PDDI-CDS digoxin + cyclosporine (PlanDefinition digoxin-cyclosporine-cds-sign / -select): a draft order
 * of either drug while the patient takes (or is also being ordered) the other. The card is critical when the
 * PlanDefinition's modifiers find something that potentiates digoxin toxicity — a digoxin level within 30 days
 * at or above 0.9 ng/mL (1.2 nmol/L), a loop or potassium-sparing (aldosterone antagonist) diuretic, or within
 * 100 days a low potassium, low magnesium or high calcium — and a warning otherwise. Missing recent levels are
 * said in the detail and offered as orders. Electrolytes are judged by their interpretation code, else their
 * reference range, else fixed adult limits in mmol/L, mEq/L or mg/dL; other units are not judged.
 */
import { type CdsCard, clampSummary, INTERACTION_OVERRIDE_REASONS } from './cdsHooksCard.js';
import { deterministicUuid } from './deterministicUuid.js';
import {
  allMedications,
  deleteDraft,
  interactionPairs,
  LOINC,
  type RuleContext,
} from './interactionPairs.js';
import type { MedicationConcept } from './medicationConcept.js';
import type { LabResult } from './patientFacts.js';
import { PDDI_CDS_KNOWLEDGE } from './pddiCdsKnowledge.generated.js';
import { inSet, type PddiSetId } from './pddiValueSets.js';

export const DIGOXIN_CYCLOSPORINE_RULE = 'pddi-cds/digoxin-cyclosporine';
const K = PDDI_CDS_KNOWLEDGE.rules['digoxin-cyclosporine'];
const DAY = 86_400_000;

const isDigoxin = (m: MedicationConcept) => inSet(m.codings, 'valueset-digoxin');
const isCyclosporine = (m: MedicationConcept) => inSet(m.codings, 'valueset-cyclosporine');

function latest(labs: readonly LabResult[], set: PddiSetId, now: Date, days: number): LabResult | undefined {
  return labs
    .filter(
      (l) =>
        inSet(l.codings, set) &&
        l.at.getTime() <= now.getTime() + DAY &&
        now.getTime() - l.at.getTime() <= days * DAY,
    )
    .sort((a, b) => b.at.getTime() - a.at.getTime())[0];
}

type Limit = { low?: number; high?: number };
/** Adult limits by unit, used only when the result carries neither an interpretation nor a range. */
const LIMITS: Record<string, Record<string, Limit>> = {
  potassium: { 'mmol/l': { low: 3.5 }, 'meq/l': { low: 3.5 } },
  magnesium: { 'mmol/l': { low: 0.7 }, 'meq/l': { low: 1.4 }, 'mg/dl': { low: 1.7 } },
  calcium: { 'mmol/l': { high: 2.6 }, 'mg/dl': { high: 10.5 } },
};

/** 'low' | 'high' | 'normal' | undefined (cannot tell). */
function judge(lab: LabResult, analyte: keyof typeof LIMITS): 'low' | 'high' | 'normal' | undefined {
  const i = lab.interpretation?.toUpperCase();
  if (i) return i.startsWith('L') ? 'low' : i.startsWith('H') ? 'high' : i === 'N' ? 'normal' : undefined;
  const limit: Limit | undefined =
    lab.low !== undefined || lab.high !== undefined
      ? {
          ...(lab.low !== undefined ? { low: lab.low } : {}),
          ...(lab.high !== undefined ? { high: lab.high } : {}),
        }
      : LIMITS[analyte]![lab.unit?.toLowerCase() ?? ''];
  if (!limit) return undefined;
  if (limit.low !== undefined && lab.value < limit.low) return 'low';
  if (limit.high !== undefined && lab.value > limit.high) return 'high';
  return 'normal';
}

const shown = (l: LabResult | undefined) =>
  l ? `${l.value}${l.unit ? ` ${l.unit}` : ''} on ${l.at.toISOString().slice(0, 10)}` : 'none';

function labOrder(ctx: RuleContext, code: { text: string; coding?: { system: string; code: string }[] }) {
  return {
    resourceType: 'ServiceRequest',
    status: 'draft',
    intent: 'proposal',
    code,
    ...(ctx.subject ? { subject: ctx.subject } : {}),
  };
}

export function digoxinCyclosporineCards(ctx: RuleContext): CdsCard[] {
  const cards: CdsCard[] = [];
  const meds = allMedications(ctx);
  for (const pair of interactionPairs(ctx)) {
    const draftIsDigoxin = isDigoxin(pair.draft) && isCyclosporine(pair.other);
    if (!draftIsDigoxin && !(isCyclosporine(pair.draft) && isDigoxin(pair.other))) continue;
    const uuid = deterministicUuid(DIGOXIN_CYCLOSPORINE_RULE, pair.key);
    const { labs } = ctx.facts;
    const level = latest(labs, 'valueset-digoxin-LOINC', ctx.now, 30);
    const levelHigh = level
      ? level.unit?.toLowerCase() === 'nmol/l'
        ? level.value >= 1.2
        : level.value >= 0.9
      : false;
    const potassium = latest(labs, 'valueset-potassium-LOINC', ctx.now, 100);
    const magnesium = latest(labs, 'valueset-magnesium-LOINC', ctx.now, 100);
    const calcium = latest(labs, 'valueset-calcium-LOINC', ctx.now, 100);
    const renal = latest(labs, 'valueset-renal-LOINC', ctx.now, 100);
    const lowK = potassium ? judge(potassium, 'potassium') === 'low' : false;
    const lowMg = magnesium ? judge(magnesium, 'magnesium') === 'low' : false;
    const highCa = calcium ? judge(calcium, 'calcium') === 'high' : false;
    const diuretic = meds.find(
      (m) => inSet(m.codings, 'valueset-LOOPDIURETIC') || inSet(m.codings, 'valueset-AAS'),
    );
    const indicator = levelHigh || diuretic || lowK || lowMg || highCa ? 'critical' : 'warning';
    const detail = [
      K.description,
      '',
      '| Finding | Value |',
      '|---|---|',
      `| Digoxin level within 30 days | ${shown(level)}${levelHigh ? ' — at or above 0.9 ng/mL' : ''} |`,
      `| Potassium within 100 days | ${shown(potassium)}${lowK ? ' — low' : ''} |`,
      `| Magnesium within 100 days | ${shown(magnesium)}${lowMg ? ' — low' : ''} |`,
      `| Calcium within 100 days | ${shown(calcium)}${highCa ? ' — high' : ''} |`,
      `| Renal function within 100 days | ${shown(renal)} |`,
      `| Loop or potassium-sparing diuretic | ${diuretic ? `yes (${diuretic.label})` : 'no'} |`,
      '',
      K.level.description.replace(/^\(Digoxin: level and date\)\.\n/, ''),
      '',
      K.labs.description.replace(/^(\([A-Za-z ]+: level and date\)\n)+/, ''),
    ].join('\n');

    const draftName = draftIsDigoxin ? 'digoxin' : 'cyclosporine';
    const cancel = draftIsDigoxin ? K.cancelDigoxin : K.cancelCyclosporine;
    const suggestions: NonNullable<CdsCard['suggestions']> = [];
    const remove = deleteDraft(pair.draft, cancel.description);
    if (remove.length > 0) {
      suggestions.push({
        label: `Cancel the ${draftName} order`,
        uuid: deterministicUuid(uuid, 'cancel'),
        actions: remove,
      });
    }
    if (!level) {
      suggestions.push({
        label: `Order a digoxin level (${K.levelOrder.description.toLowerCase()})`.slice(0, 120),
        uuid: deterministicUuid(uuid, 'digoxin-level'),
        actions: [
          {
            type: 'create',
            description: K.levelOrder.description,
            resource: labOrder(ctx, { text: 'Digoxin level', coding: [{ system: LOINC, code: '10535-3' }] }),
          },
        ],
      });
    }
    if (!renal) {
      suggestions.push({
        label: K.creatinineOrder.description,
        uuid: deterministicUuid(uuid, 'creatinine'),
        actions: [
          {
            type: 'create',
            description: K.creatinineOrder.description,
            resource: labOrder(ctx, {
              text: 'Serum creatinine',
              coding: [{ system: LOINC, code: '2160-0' }],
            }),
          },
        ],
      });
    }
    if (!potassium || !magnesium || !calcium) {
      suggestions.push({
        label: K.electrolyteOrder.description,
        uuid: deterministicUuid(uuid, 'electrolytes'),
        actions: [
          {
            type: 'create',
            description: K.electrolyteOrder.description,
            resource: labOrder(ctx, { text: 'Electrolyte panel (potassium, magnesium, calcium)' }),
          },
        ],
      });
    }
    cards.push({
      uuid,
      summary: clampSummary(
        'Potential interaction: digoxin + cyclosporine — increased risk of digoxin toxicity',
      ),
      detail,
      indicator,
      source: { label: K.source.label, url: K.source.url },
      ...(suggestions.length > 0 ? { suggestions, selectionBehavior: 'any' as const } : {}),
      overrideReasons: INTERACTION_OVERRIDE_REASONS,
    });
  }
  return cards;
}
