/**
 * A built-in starting table of controlled ingredients: US DEA schedule (II–V) and, for opioids, the oral
 * morphine milligram equivalent (MME) conversion factor. It is NOT authoritative: in the product the schedule
 * of a prescription comes from the prescriber's declaration and the regulator's on-chain schedule table; this
 * table only recognises common products so that risk signals can be computed from FHIR data that carries none.
 *
 * Sources:
 * - MME factors: CDC Clinical Practice Guideline for Prescribing Opioids for Pain — United States, 2022
 *   (MMWR Recomm Rep 2022;71(No. RR-3)), Table "Morphine milligram equivalent doses for commonly prescribed
 *   opioids". Meperidine (0.1) is from the CMS opioid oral MME conversion file, which the 2022 table does not
 *   list. Fentanyl: only the transdermal factor (2.4 per mcg/h) is used; buccal, sublingual, film, nasal and
 *   lozenge forms have form-specific factors and are left without one (their MME is reported as unknown).
 *   Buprenorphine has no factor: the 2022 guideline says it should not be counted in total MME.
 * - Schedules: 21 CFR 1308.12–1308.15 as commonly applied to these ingredients. Codeine is listed as II
 *   (single-entity); its combination products are III or V — the stricter value is kept, because a signal
 *   should over- rather than under-report, and the declared schedule overrides it in the product.
 * - RxNorm ingredient codes (RxCUI, term type IN) are given only where known with certainty; matching is by
 *   name otherwise. Product codes (SCD/SBD) are listed only when observed paired with their display in the
 *   Synthea sample data this package is tested against.
 */

export type DeaSchedule = 'II' | 'III' | 'IV' | 'V';

export type ControlledClass =
  | 'opioid'
  | 'benzodiazepine'
  | 'stimulant'
  | 'sedative-hypnotic'
  | 'muscle-relaxant'
  | 'gabapentinoid';

export interface ControlledIngredient {
  /** Lower-case ingredient name as RxNorm spells it; the key of the table. */
  readonly name: string;
  readonly schedule: DeaSchedule;
  readonly class: ControlledClass;
  /**
   * MME per mg (per mcg/h for transdermal fentanyl) for opioids counted in total MME; undefined when the
   * ingredient has none (non-opioids, buprenorphine) or only form-specific ones.
   */
  readonly mmeFactor?: number;
  /** Factor for transdermal systems (strength in mcg/h), where it differs from the oral factor. */
  readonly transdermalMmeFactor?: number;
  /** Other names that identify the ingredient in a display or text: brand names, other spellings. */
  readonly aliases?: readonly string[];
  /** RxNorm ingredient (IN) codes known with certainty. */
  readonly rxnormIngredient?: readonly string[];
}

export const CONTROLLED_INGREDIENTS: readonly ControlledIngredient[] = [
  // Opioids (schedule II unless noted).
  { name: 'codeine', schedule: 'II', class: 'opioid', mmeFactor: 0.15, rxnormIngredient: ['2670'] },
  {
    name: 'fentanyl',
    schedule: 'II',
    class: 'opioid',
    transdermalMmeFactor: 2.4,
    aliases: ['duragesic'],
    rxnormIngredient: ['4337'],
  },
  {
    name: 'hydrocodone',
    schedule: 'II',
    class: 'opioid',
    mmeFactor: 1,
    aliases: ['vicodin', 'norco', 'lortab'],
    rxnormIngredient: ['5489'],
  },
  {
    name: 'hydromorphone',
    schedule: 'II',
    class: 'opioid',
    mmeFactor: 5,
    aliases: ['dilaudid'],
    rxnormIngredient: ['3423'],
  },
  { name: 'meperidine', schedule: 'II', class: 'opioid', mmeFactor: 0.1, aliases: ['demerol'] },
  { name: 'methadone', schedule: 'II', class: 'opioid', mmeFactor: 4.7, rxnormIngredient: ['6813'] },
  { name: 'morphine', schedule: 'II', class: 'opioid', mmeFactor: 1, rxnormIngredient: ['7052'] },
  {
    name: 'oxycodone',
    schedule: 'II',
    class: 'opioid',
    mmeFactor: 1.5,
    aliases: ['percocet', 'oxycontin'],
    rxnormIngredient: ['7804'],
  },
  { name: 'oxymorphone', schedule: 'II', class: 'opioid', mmeFactor: 3 },
  { name: 'tapentadol', schedule: 'II', class: 'opioid', mmeFactor: 0.4, rxnormIngredient: ['787390'] },
  { name: 'pentazocine', schedule: 'IV', class: 'opioid', mmeFactor: 0.37 },
  { name: 'tramadol', schedule: 'IV', class: 'opioid', mmeFactor: 0.2, rxnormIngredient: ['10689'] },
  // Partial agonist: an opioid for overlap signals, excluded from total MME (CDC 2022).
  { name: 'buprenorphine', schedule: 'III', class: 'opioid', rxnormIngredient: ['1819'] },
  // Benzodiazepines (IV).
  {
    name: 'alprazolam',
    schedule: 'IV',
    class: 'benzodiazepine',
    aliases: ['xanax'],
    rxnormIngredient: ['596'],
  },
  { name: 'chlordiazepoxide', schedule: 'IV', class: 'benzodiazepine' },
  { name: 'clobazam', schedule: 'IV', class: 'benzodiazepine' },
  {
    name: 'clonazepam',
    schedule: 'IV',
    class: 'benzodiazepine',
    aliases: ['klonopin'],
    rxnormIngredient: ['2598'],
  },
  { name: 'clorazepate', schedule: 'IV', class: 'benzodiazepine' },
  {
    name: 'diazepam',
    schedule: 'IV',
    class: 'benzodiazepine',
    aliases: ['valium'],
    rxnormIngredient: ['3322'],
  },
  { name: 'estazolam', schedule: 'IV', class: 'benzodiazepine' },
  {
    name: 'lorazepam',
    schedule: 'IV',
    class: 'benzodiazepine',
    aliases: ['ativan'],
    rxnormIngredient: ['6470'],
  },
  { name: 'midazolam', schedule: 'IV', class: 'benzodiazepine' },
  { name: 'oxazepam', schedule: 'IV', class: 'benzodiazepine' },
  { name: 'temazepam', schedule: 'IV', class: 'benzodiazepine' },
  { name: 'triazolam', schedule: 'IV', class: 'benzodiazepine' },
  // Stimulants (II).
  {
    name: 'amphetamine',
    schedule: 'II',
    class: 'stimulant',
    aliases: ['adderall'],
    rxnormIngredient: ['725'],
  },
  { name: 'dexmethylphenidate', schedule: 'II', class: 'stimulant' },
  { name: 'dextroamphetamine', schedule: 'II', class: 'stimulant' },
  { name: 'lisdexamfetamine', schedule: 'II', class: 'stimulant', aliases: ['vyvanse'] },
  { name: 'methamphetamine', schedule: 'II', class: 'stimulant' },
  {
    name: 'methylphenidate',
    schedule: 'II',
    class: 'stimulant',
    aliases: ['ritalin', 'concerta'],
    rxnormIngredient: ['6901'],
  },
  // Sedative-hypnotics, muscle relaxant, gabapentinoid.
  { name: 'eszopiclone', schedule: 'IV', class: 'sedative-hypnotic' },
  { name: 'zaleplon', schedule: 'IV', class: 'sedative-hypnotic' },
  {
    name: 'zolpidem',
    schedule: 'IV',
    class: 'sedative-hypnotic',
    aliases: ['ambien'],
    rxnormIngredient: ['39993'],
  },
  {
    name: 'carisoprodol',
    schedule: 'IV',
    class: 'muscle-relaxant',
    aliases: ['soma'],
    rxnormIngredient: ['2101'],
  },
  { name: 'pregabalin', schedule: 'V', class: 'gabapentinoid', aliases: ['lyrica'] },
];

/**
 * RxNorm product codes observed in the test data with their displays, each mapped to its controlled
 * ingredients. A code match needs no name match (a coding may carry no display).
 */
export const KNOWN_PRODUCT_CODES: Readonly<Record<string, readonly string[]>> = {
  '1049221': ['oxycodone'], // Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet
  '861467': ['meperidine'], // Meperidine Hydrochloride 50 MG Oral Tablet
  '1153378': ['clonazepam'], // Clonazepam [Klonopin]
  '563026': ['diazepam'], // Diazepam [Valium]
  '197591': ['diazepam'], // Diazepam 5 MG Oral Tablet
};

const BY_NAME = new Map(CONTROLLED_INGREDIENTS.map((i) => [i.name, i]));

export function controlledIngredient(name: string): ControlledIngredient | undefined {
  return BY_NAME.get(name);
}
