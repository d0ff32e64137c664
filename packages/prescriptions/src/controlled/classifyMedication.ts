/**
 * Recognises the controlled ingredients of a medication given as a FHIR CodeableConcept (or a Medication
 * resource's `code`), by ingredient or brand name in the coding displays and text, and by RxNorm code where
 * the built-in table knows one. Names are matched as whole words, case-insensitively, so RxNorm's tall-man
 * lettering ("oxyCODONE") and combination products ("Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG")
 * are handled while "dextromethorphan" does not match "morphine" and "dihydrocodeine" does not match "codeine".
 * Each ingredient's strength is read from the " / "-separated segment of the display that names it.
 * Limits: free text that misspells an ingredient is not recognised; a brand name gives no strength.
 */
import {
  CONTROLLED_INGREDIENTS,
  type ControlledIngredient,
  KNOWN_PRODUCT_CODES,
} from './controlledSubstances.js';
import { parseStrength, type Strength } from './parseStrength.js';

export const RXNORM_SYSTEM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

export interface ClassifiedIngredient {
  readonly ingredient: ControlledIngredient;
  /** Undefined when no display names the ingredient with a mass strength. */
  readonly strength?: Strength;
}

export interface ClassifiedMedication {
  /** Controlled ingredients found, in table order; empty when the medication is not controlled. */
  readonly ingredients: readonly ClassifiedIngredient[];
  /** True when a display or text says the product is a transdermal system (MME of fentanyl patches). */
  readonly transdermal: boolean;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const wholeWords = (words: readonly string[]) =>
  new RegExp(`(?<![A-Za-z])(?:${words.map(escapeRegExp).join('|')})(?![A-Za-z])`, 'i');

/**
 * Whole-word patterns per ingredient: its name, and its aliases apart. A strength is read only beside the
 * name: "… / Acetaminophen 325 MG Oral Tablet [Vicodin]" must not give hydrocodone 325 mg.
 */
const PATTERNS: readonly { ingredient: ControlledIngredient; name: RegExp; alias?: RegExp }[] =
  CONTROLLED_INGREDIENTS.map((ingredient) => ({
    ingredient,
    name: wholeWords([ingredient.name]),
    ...(ingredient.aliases === undefined ? {} : { alias: wholeWords(ingredient.aliases) }),
  }));

const INGREDIENT_CODES = new Map<string, string>(
  CONTROLLED_INGREDIENTS.flatMap((i) => (i.rxnormIngredient ?? []).map((code) => [code, i.name] as const)),
);

interface CodingLike {
  system?: unknown;
  code?: unknown;
  display?: unknown;
}

/** Classifies a CodeableConcept-shaped value; anything else classifies as not controlled. */
export function classifyMedication(concept: unknown): ClassifiedMedication {
  if (typeof concept !== 'object' || concept === null) return { ingredients: [], transdermal: false };
  const c = concept as { coding?: unknown; text?: unknown };
  const codings: CodingLike[] = Array.isArray(c.coding)
    ? c.coding.filter((x): x is CodingLike => typeof x === 'object' && x !== null)
    : [];
  const texts: string[] = [];
  for (const coding of codings) if (typeof coding.display === 'string') texts.push(coding.display);
  if (typeof c.text === 'string') texts.push(c.text);

  const names = new Set<string>();
  for (const coding of codings) {
    if (coding.system !== RXNORM_SYSTEM || typeof coding.code !== 'string') continue;
    const byIngredient = INGREDIENT_CODES.get(coding.code);
    if (byIngredient !== undefined) names.add(byIngredient);
    for (const name of KNOWN_PRODUCT_CODES[coding.code] ?? []) names.add(name);
  }
  const strengths = new Map<string, Strength>();
  for (const text of texts) {
    for (const segment of text.split(/\s\/\s/)) {
      for (const { ingredient, name, alias } of PATTERNS) {
        if (alias?.test(segment)) names.add(ingredient.name);
        if (!name.test(segment)) continue;
        names.add(ingredient.name);
        const strength = parseStrength(segment);
        if (strength !== undefined && !strengths.has(ingredient.name))
          strengths.set(ingredient.name, strength);
      }
    }
  }
  const ingredients: ClassifiedIngredient[] = [];
  for (const { ingredient } of PATTERNS) {
    if (!names.has(ingredient.name)) continue;
    const strength = strengths.get(ingredient.name);
    ingredients.push(strength === undefined ? { ingredient } : { ingredient, strength });
  }
  return { ingredients, transdermal: texts.some((t) => /transdermal|\bpatch\b/i.test(t)) };
}

/** Names of the controlled ingredients of `concept`, for callers that need no strengths. */
export function controlledIngredientNames(concept: unknown): string[] {
  return classifyMedication(concept).ingredients.map((i) => i.ingredient.name);
}
