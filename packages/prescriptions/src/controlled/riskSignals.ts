/**
 * The usual prescription-drug-monitoring (PDMP) risk signals for one patient, computed from the supply episodes
 * of their controlled-substance prescriptions and dispenses across all organisations:
 * - total daily opioid MME across concurrent episodes ≥ 50 (caution) or ≥ 90 (high) on any day (CDC 2022);
 * - overlapping opioid episodes from different prescribers;
 * - an opioid episode overlapping a benzodiazepine episode;
 * - many prescribers, or many pharmacies, within a sliding window (default ≥ 4 in 90 days);
 * - an early refill: a dispense before the given fraction (default 75 %) of the previous dispense of the same
 *   ingredients' days supply has elapsed.
 * Episodes are [startDay, startDay + days) in calendar days; an episode of unknown length takes part in no
 * overlap, and one of unknown MME makes the MME total a lower bound (reported as its own signal). Each signal
 * has a stable code, a severity, a summary that names no patient, drug or date, and the evidence references.
 * Limits: early refill compares with the previous fill only (no stockpiling over several fills); the windows
 * count all controlled substances, not opioids only.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  isoDay,
  type ProviderEvent,
  type Skipped,
  type SupplyEpisode,
  supplyHistory,
  type TaggedDispense,
  type TaggedPrescription,
} from './supplyHistory.js';

export const RiskSignalCode = {
  /** Total daily MME reached the high threshold (default 90). */
  MmeHigh: 'RX_OPIOID_MME_HIGH',
  /** Total daily MME reached the caution threshold (default 50) but not the high one. */
  MmeCaution: 'RX_OPIOID_MME_CAUTION',
  /** Some opioid supply has an MME that could not be computed: the total is a lower bound. */
  MmeUnknown: 'RX_OPIOID_MME_UNKNOWN',
  /** Opioid supplies from different prescribers overlap in time. */
  OpioidOverlapPrescribers: 'RX_OPIOID_OVERLAP_PRESCRIBERS',
  /** An opioid and a benzodiazepine supply overlap in time. */
  OpioidBenzodiazepine: 'RX_OPIOID_BENZODIAZEPINE_OVERLAP',
  /** Controlled substances from many prescribers within the window. */
  MultiplePrescribers: 'RX_MULTIPLE_PRESCRIBERS',
  /** Controlled substances from many pharmacies within the window. */
  MultiplePharmacies: 'RX_MULTIPLE_PHARMACIES',
  /** A fill before the allowed fraction of the previous supply was used. */
  EarlyRefill: 'RX_EARLY_REFILL',
} as const;
export type RiskSignalCode = (typeof RiskSignalCode)[keyof typeof RiskSignalCode];

/** The DetectedIssue.severity vocabulary. */
export type RiskSeverity = 'high' | 'moderate' | 'low';

export interface RiskSignal {
  readonly code: RiskSignalCode;
  readonly severity: RiskSeverity;
  /** Plain language, free of PHI: no names, drugs, dates or identifiers. */
  readonly summary: string;
  /** References of the records behind the signal (`MedicationRequest/<id>`, `MedicationDispense/<id>`). */
  readonly evidence: readonly string[];
  /** The measured value (MME, prescribers, pharmacies, days elapsed) where there is one. */
  readonly value?: number;
  readonly threshold?: number;
  /** Calendar days the signal concerns (ISO dates, end inclusive). */
  readonly period?: { readonly start: string; readonly end: string };
}

export interface RiskOptions {
  /** Daily MME at or above which a caution signal is raised. Default 50. */
  readonly mmeCaution?: number;
  /** Daily MME at or above which a high signal is raised. Default 90. */
  readonly mmeHigh?: number;
  /** Distinct prescribers within the window that raise a signal. Default 4. */
  readonly prescriberThreshold?: number;
  /** Distinct pharmacies within the window that raise a signal. Default 4. */
  readonly pharmacyThreshold?: number;
  /** Length of the sliding window in days: events on days d … d + windowDays − 1. Default 90. */
  readonly windowDays?: number;
  /** Fraction of the previous days supply that must elapse before a refill is not early. Default 0.75. */
  readonly earlyRefillFraction?: number;
}

export const DEFAULT_RISK_OPTIONS: Required<RiskOptions> = {
  mmeCaution: 50,
  mmeHigh: 90,
  prescriberThreshold: 4,
  pharmacyThreshold: 4,
  windowDays: 90,
  earlyRefillFraction: 0.75,
};

export interface RiskAssessment {
  readonly signals: readonly RiskSignal[];
  readonly episodes: readonly SupplyEpisode[];
  /** Input records that were not used, by position and reason. */
  readonly skipped: readonly Skipped[];
}

function checkedOptions(options: RiskOptions): Required<RiskOptions> {
  const o = { ...DEFAULT_RISK_OPTIONS, ...options };
  const positive = (v: number) => Number.isFinite(v) && v > 0;
  const count = (v: number) => Number.isInteger(v) && v >= 2;
  if (
    !positive(o.mmeCaution) ||
    !positive(o.mmeHigh) ||
    o.mmeCaution > o.mmeHigh ||
    !count(o.prescriberThreshold) ||
    !count(o.pharmacyThreshold) ||
    !Number.isInteger(o.windowDays) ||
    o.windowDays < 1 ||
    !(o.earlyRefillFraction > 0 && o.earlyRefillFraction <= 1)
  ) {
    throw new MdlError(MdlErrorCode.BadInput, 'Risk signal options are out of range');
  }
  return o;
}

const isOpioid = (e: SupplyEpisode) => e.classes.includes('opioid');
const isBenzo = (e: SupplyEpisode) => e.classes.includes('benzodiazepine');
const dated = (e: SupplyEpisode): e is SupplyEpisode & { days: number } => e.days !== undefined;
const end = (e: SupplyEpisode & { days: number }) => e.startDay + e.days;
const overlaps = (a: SupplyEpisode & { days: number }, b: SupplyEpisode & { days: number }) =>
  a.startDay < end(b) && b.startDay < end(a);
const sorted = (refs: Iterable<string>) => [...new Set(refs)].sort();
const period = (start: number, endInclusive: number) => ({ start: isoDay(start), end: isoDay(endInclusive) });

/** Computes every risk signal for one patient's controlled-substance history. Throws only on bad options. */
export function assessControlledSubstanceRisk(
  prescriptions: readonly TaggedPrescription[],
  dispenses: readonly TaggedDispense[],
  options: RiskOptions = {},
): RiskAssessment {
  const o = checkedOptions(options);
  const history = supplyHistory(prescriptions, dispenses);
  const episodes = history.episodes;
  const signals: RiskSignal[] = [
    ...mmeSignals(episodes, o),
    ...overlapPrescriberSignals(episodes),
    ...opioidBenzoSignals(episodes),
    ...windowSignals(history.events, o),
    ...earlyRefillSignals(episodes, o),
  ];
  return { signals, episodes, skipped: history.skipped };
}

function mmeSignals(episodes: readonly SupplyEpisode[], o: Required<RiskOptions>): RiskSignal[] {
  const opioids = episodes.filter(isOpioid);
  const out: RiskSignal[] = [];
  const counted = opioids.filter(dated).filter((e) => e.dailyMme.status === 'known');
  // The total only rises where an episode starts, so its maximum is at one of those days.
  let peak = 0;
  let peakDay = 0;
  let peakEvidence: string[] = [];
  for (const day of new Set(counted.map((e) => e.startDay))) {
    const active = counted.filter((e) => e.startDay <= day && day < end(e));
    const total =
      Math.round(active.reduce((s, e) => s + (e.dailyMme.status === 'known' ? e.dailyMme.mme : 0), 0) * 1e6) /
      1e6;
    if (total > peak || (total === peak && day < peakDay)) {
      peak = total;
      peakDay = day;
      peakEvidence = active.map((e) => e.source);
    }
  }
  const level =
    peak >= o.mmeHigh
      ? { code: RiskSignalCode.MmeHigh, severity: 'high' as const, threshold: o.mmeHigh }
      : peak >= o.mmeCaution
        ? { code: RiskSignalCode.MmeCaution, severity: 'moderate' as const, threshold: o.mmeCaution }
        : undefined;
  if (level !== undefined) {
    out.push({
      ...level,
      summary: `Concurrent opioid supplies reach ${formatNumber(peak)} morphine milligram equivalents a day, at or above the ${level.threshold} MME threshold.`,
      evidence: sorted(peakEvidence),
      value: peak,
      period: period(peakDay, peakDay),
    });
  }
  const unknown = opioids.filter((e) => e.dailyMme.status === 'unknown' || !dated(e));
  if (unknown.length > 0) {
    out.push({
      code: RiskSignalCode.MmeUnknown,
      severity: 'low',
      summary: `The daily dose or supply length of ${unknown.length} opioid supply record(s) could not be determined; the daily MME total is a lower bound.`,
      evidence: sorted(unknown.map((e) => e.source)),
      value: unknown.length,
    });
  }
  return out;
}

function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function overlapPrescriberSignals(episodes: readonly SupplyEpisode[]): RiskSignal[] {
  const opioids = episodes.filter(isOpioid).filter(dated);
  const evidence: string[] = [];
  const prescribers = new Set<string>();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < opioids.length; i++) {
    for (let j = i + 1; j < opioids.length; j++) {
      const a = opioids[i]!;
      const b = opioids[j]!;
      if (a.prescriber === undefined || b.prescriber === undefined || a.prescriber === b.prescriber) continue;
      if (!overlaps(a, b)) continue;
      evidence.push(a.source, b.source);
      prescribers.add(a.prescriber).add(b.prescriber);
      first = Math.min(first, Math.max(a.startDay, b.startDay));
      last = Math.max(last, Math.min(end(a), end(b)) - 1);
    }
  }
  if (evidence.length === 0) return [];
  return [
    {
      code: RiskSignalCode.OpioidOverlapPrescribers,
      severity: 'moderate',
      summary: `Opioid supplies from ${prescribers.size} different prescribers overlap in time.`,
      evidence: sorted(evidence),
      value: prescribers.size,
      period: period(first, last),
    },
  ];
}

function opioidBenzoSignals(episodes: readonly SupplyEpisode[]): RiskSignal[] {
  const withDays = episodes.filter(dated);
  const evidence: string[] = [];
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const a of withDays.filter(isOpioid)) {
    for (const b of withDays.filter(isBenzo)) {
      if (a === b || !overlaps(a, b)) continue;
      evidence.push(a.source, b.source);
      first = Math.min(first, Math.max(a.startDay, b.startDay));
      last = Math.max(last, Math.min(end(a), end(b)) - 1);
    }
  }
  if (evidence.length === 0) return [];
  return [
    {
      code: RiskSignalCode.OpioidBenzodiazepine,
      severity: 'high',
      summary: 'An opioid and a benzodiazepine were supplied for overlapping days.',
      evidence: sorted(evidence),
      period: period(first, last),
    },
  ];
}

function windowSignals(events: readonly ProviderEvent[], o: Required<RiskOptions>): RiskSignal[] {
  const out: RiskSignal[] = [];
  const rules = [
    {
      key: 'prescriber' as const,
      threshold: o.prescriberThreshold,
      code: RiskSignalCode.MultiplePrescribers,
      noun: 'prescribers',
    },
    {
      key: 'pharmacy' as const,
      threshold: o.pharmacyThreshold,
      code: RiskSignalCode.MultiplePharmacies,
      noun: 'pharmacies',
    },
  ];
  for (const rule of rules) {
    const relevant = events.filter((e) => e[rule.key] !== undefined);
    let best: { count: number; start: number; last: number; evidence: string[] } | undefined;
    for (const startEvent of relevant) {
      const inWindow = relevant.filter(
        (e) => e.day >= startEvent.day && e.day < startEvent.day + o.windowDays,
      );
      const distinct = new Set(inWindow.map((e) => e[rule.key]));
      if (best === undefined || distinct.size > best.count) {
        best = {
          count: distinct.size,
          start: startEvent.day,
          last: Math.max(...inWindow.map((e) => e.day)),
          evidence: inWindow.map((e) => e.source),
        };
      }
    }
    if (best === undefined || best.count < rule.threshold) continue;
    out.push({
      code: rule.code,
      severity: 'moderate',
      summary: `Controlled substances came from ${best.count} different ${rule.noun} within ${o.windowDays} days (threshold ${rule.threshold}).`,
      evidence: sorted(best.evidence),
      value: best.count,
      threshold: rule.threshold,
      period: period(best.start, best.last),
    });
  }
  return out;
}

function earlyRefillSignals(episodes: readonly SupplyEpisode[], o: Required<RiskOptions>): RiskSignal[] {
  const fills = episodes.filter((e) => e.source.startsWith('MedicationDispense/'));
  const byIngredients = new Map<string, SupplyEpisode[]>();
  for (const f of fills) {
    const key = [...f.ingredients].sort().join('+');
    byIngredients.set(key, [...(byIngredients.get(key) ?? []), f]);
  }
  const out: RiskSignal[] = [];
  for (const group of byIngredients.values()) {
    for (let i = 1; i < group.length; i++) {
      const previous = group[i - 1]!;
      const next = group[i]!;
      if (previous.days === undefined) continue;
      const elapsed = next.startDay - previous.startDay;
      if (elapsed >= o.earlyRefillFraction * previous.days) continue;
      out.push({
        code: RiskSignalCode.EarlyRefill,
        severity: 'moderate',
        summary: `A controlled substance was filled again after ${elapsed} of ${previous.days} days supplied (${Math.round((elapsed / previous.days) * 100)} %, below ${Math.round(o.earlyRefillFraction * 100)} %).`,
        evidence: [previous.source, next.source],
        value: elapsed,
        threshold: o.earlyRefillFraction * previous.days,
        period: period(previous.startDay, next.startDay),
      });
    }
  }
  return out;
}
