/**
 * The CDS Hooks 2.0 response shapes the interaction engine produces: cards with a summary (at most 140
 * characters), markdown detail, an indicator, a source, and suggestions made of create / update / delete
 * actions on FHIR resources. Only what the engine fills in is typed; clients ignore what they do not know.
 */

export type CardIndicator = 'info' | 'warning' | 'critical';

export interface Coding {
  system?: string;
  code: string;
  display?: string;
}

export interface CardSource {
  label: string;
  url?: string;
  topic?: Coding;
}

export interface CardAction {
  type: 'create' | 'update' | 'delete';
  description: string;
  /** The FHIR resource to create or the updated resource (create / update). */
  resource?: Record<string, unknown>;
  /** Relative references of the resources to delete (delete). */
  resourceId?: string[];
}

export interface CardSuggestion {
  label: string;
  uuid: string;
  isRecommended?: boolean;
  actions: CardAction[];
}

export interface CardLink {
  label: string;
  url: string;
  type: 'absolute' | 'smart';
}

export interface CdsCard {
  uuid: string;
  summary: string;
  detail?: string;
  indicator: CardIndicator;
  source: CardSource;
  suggestions?: CardSuggestion[];
  selectionBehavior?: 'at-most-one' | 'any';
  overrideReasons?: Coding[];
  links?: CardLink[];
}

/** CDS Hooks caps a card's summary at 140 characters. */
export const SUMMARY_MAX = 140;

export function clampSummary(summary: string): string {
  const chars = [...summary];
  return chars.length <= SUMMARY_MAX ? summary : `${chars.slice(0, SUMMARY_MAX - 1).join('')}…`;
}

/** The reasons a prescriber may give for overriding an interaction card (CDS Hooks feedback). */
export const INTERACTION_OVERRIDE_REASONS: Coding[] = [
  {
    system: 'urn:medledger:cds:override-reason',
    code: 'benefit-outweighs-risk',
    display: 'Benefit outweighs risk',
  },
  {
    system: 'urn:medledger:cds:override-reason',
    code: 'monitoring-in-place',
    display: 'Patient will be monitored',
  },
  {
    system: 'urn:medledger:cds:override-reason',
    code: 'not-taking',
    display: 'Patient is no longer taking the other medication',
  },
];
