/**
 * Trends of a patient's results: for each test (same code) with at least two numeric values in the same unit,
 * the series of values over time with its reference range (the most recent result's range in that unit), the
 * geometry of a small line chart with the range as a band, and a one-sentence summary for screen readers.
 * Components (a blood pressure's systolic and diastolic) are series of their own.
 *
 * Limits: values in another unit than the series' most frequent one are left out (no unit conversion); results without a
 * date are left out.
 */
import type { CodeableConcept, Resource } from '../api/fhir';
import { conceptKey, conceptText, dayLabel, dayOf, formatNumber } from './displayText';
import {
  applicableRange,
  type Flag,
  type Quantity,
  type ReferenceRange,
  rangeFlag,
  unitOf,
} from './referenceRange';

export interface TrendPoint {
  /** The result it comes from (`Observation/<id>`, `#<n>` for a component). */
  id: string;
  date: string;
  value: number;
  flag?: Flag;
}

export interface TrendSeries {
  key: string;
  title: string;
  unit?: string;
  /** Oldest first. */
  points: TrendPoint[];
  low?: number;
  high?: number;
}

type Json = Record<string, unknown>;

interface Raw {
  id: string;
  key: string;
  title: string;
  date: string;
  quantity: Quantity;
  range?: ReferenceRange;
}

function observationDate(r: Json): string | undefined {
  const period = r.effectivePeriod as { start?: string } | undefined;
  const d = r.effectiveDateTime ?? r.effectiveInstant ?? period?.start ?? r.issued;
  return typeof d === 'string' ? d : undefined;
}

function numeric(q: unknown): Quantity | undefined {
  const quantity = q as Quantity | undefined;
  return typeof quantity?.value === 'number' && Number.isFinite(quantity.value) ? quantity : undefined;
}

/** Every numeric value of the Observations (own value and components), keyed by test. */
function rawValues(observations: readonly Resource[]): Raw[] {
  const out: Raw[] = [];
  for (const o of observations) {
    if (o.resourceType !== 'Observation') continue;
    const r = o as Json;
    if (r.status === 'entered-in-error' || r.status === 'cancelled') continue;
    const date = observationDate(r);
    if (!date) continue;
    const code = r.code as CodeableConcept | undefined;
    const key = conceptKey(code);
    const own = numeric(r.valueQuantity);
    if (key && own) {
      const range = applicableRange(r.referenceRange as ReferenceRange[] | undefined);
      out.push({
        id: `Observation/${o.id ?? ''}`,
        key,
        title: conceptText(code),
        date,
        quantity: own,
        ...(range ? { range } : {}),
      });
    }
    for (const [n, c] of ((r.component as Json[] | undefined) ?? []).entries()) {
      const cCode = c.code as CodeableConcept | undefined;
      const cKey = conceptKey(cCode);
      const value = numeric(c.valueQuantity);
      if (!cKey || !value) continue;
      const range = applicableRange(c.referenceRange as ReferenceRange[] | undefined);
      out.push({
        id: `Observation/${o.id ?? ''}#${n}`,
        key: cKey,
        title: conceptText(cCode),
        date,
        quantity: value,
        ...(range ? { range } : {}),
      });
    }
  }
  return out;
}

const unitKey = (q: Quantity | undefined) => q?.code ?? q?.unit ?? '';

/** The trend series of every test with ≥ 2 numeric values, sorted by title. */
export function trendSeries(observations: readonly Resource[]): TrendSeries[] {
  const byKey = new Map<string, Raw[]>();
  for (const raw of rawValues(observations)) {
    const list = byKey.get(raw.key);
    if (list) list.push(raw);
    else byKey.set(raw.key, [raw]);
  }
  const series: TrendSeries[] = [];
  for (const [key, values] of byKey) {
    values.sort((a, b) => Date.parse(a.date) - Date.parse(b.date));
    const units = new Map<string, number>();
    for (const v of values) units.set(unitKey(v.quantity), (units.get(unitKey(v.quantity)) ?? 0) + 1);
    // The most frequent unit (ties: the most recent result's).
    let unit = unitKey(values[values.length - 1]!.quantity);
    for (const [u, n] of units) if (n > units.get(unit)!) unit = u;
    const same = values.filter((v) => unitKey(v.quantity) === unit);
    if (same.length < 2) continue;
    const latest = same[same.length - 1]!;
    const rangeOf = [...same].reverse().find((v) => v.range && rangeFlag(v.quantity, v.range))?.range;
    const low = rangeOf?.low?.value;
    const high = rangeOf?.high?.value;
    const shownUnit = unitOf(latest.quantity);
    series.push({
      key,
      title: latest.title,
      ...(shownUnit ? { unit: shownUnit } : {}),
      points: same.map((v) => {
        const flag = rangeFlag(v.quantity, v.range ?? rangeOf);
        return { id: v.id, date: v.date, value: v.quantity.value!, ...(flag ? { flag } : {}) };
      }),
      ...(typeof low === 'number' ? { low } : {}),
      ...(typeof high === 'number' ? { high } : {}),
    });
  }
  return series.sort((a, b) => a.title.localeCompare(b.title));
}

export interface ChartGeometry {
  width: number;
  height: number;
  /** SVG path `d` of the line. */
  path: string;
  points: { x: number; y: number; point: TrendPoint }[];
  /** The reference range band (clipped to the plot), when the series has a range. */
  band?: { y: number; height: number };
  /** Value axis: the lowest and highest value shown, with their y. */
  yMin: { value: number; y: number };
  yMax: { value: number; y: number };
  plot: { left: number; right: number; top: number; bottom: number };
}

/** The geometry of a small line chart of `series` in a `width` × `height` box (padding for the axis labels). */
export function chartGeometry(series: TrendSeries, width = 320, height = 140): ChartGeometry {
  const plot = { left: 44, right: width - 10, top: 10, bottom: height - 24 };
  const values = series.points.map((p) => p.value);
  let min = Math.min(...values, ...(series.low !== undefined ? [series.low] : []));
  let max = Math.max(...values, ...(series.high !== undefined ? [series.high] : []));
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    min -= pad;
    max += pad;
  } else {
    const pad = (max - min) * 0.08;
    min -= pad;
    max += pad;
  }
  const times = series.points.map((p) => Date.parse(p.date));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const n = series.points.length;
  const x = (t: number, i: number) =>
    t1 === t0
      ? plot.left + ((plot.right - plot.left) * (i + 0.5)) / n
      : plot.left + ((t - t0) / (t1 - t0)) * (plot.right - plot.left);
  const y = (v: number) => plot.bottom - ((v - min) / (max - min)) * (plot.bottom - plot.top);
  const round = (v: number) => Math.round(v * 10) / 10;
  const pts = series.points.map((point, i) => ({
    x: round(x(times[i]!, i)),
    y: round(y(point.value)),
    point,
  }));
  const path = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x} ${p.y}`).join(' ');
  let band: ChartGeometry['band'];
  if (series.low !== undefined || series.high !== undefined) {
    const top = round(y(series.high ?? max));
    const bottom = round(y(series.low ?? min));
    band = { y: top, height: round(bottom - top) };
  }
  return {
    width,
    height,
    path,
    points: pts,
    ...(band ? { band } : {}),
    yMin: { value: min, y: plot.bottom },
    yMax: { value: max, y: plot.top },
    plot,
  };
}

/** One sentence for a screen reader: how many values, over which dates, from/to, latest and the range. */
export function trendSummary(series: TrendSeries): string {
  const u = series.unit ? ` ${series.unit}` : '';
  const first = series.points[0]!;
  const last = series.points[series.points.length - 1]!;
  const lowest = Math.min(...series.points.map((p) => p.value));
  const highest = Math.max(...series.points.map((p) => p.value));
  let range = '';
  if (series.low !== undefined && series.high !== undefined) {
    range = ` Normal range ${formatNumber(series.low)} to ${formatNumber(series.high)}${u}.`;
  } else if (series.low !== undefined) range = ` Normal range at least ${formatNumber(series.low)}${u}.`;
  else if (series.high !== undefined) range = ` Normal range at most ${formatNumber(series.high)}${u}.`;
  const latestFlag = last.flag ? ` (${last.flag})` : '';
  return (
    `${series.title}: ${series.points.length} results from ${dayLabel(dayOf(first.date))} to ` +
    `${dayLabel(dayOf(last.date))}, between ${formatNumber(lowest)} and ${formatNumber(highest)}${u}; ` +
    `latest ${formatNumber(last.value)}${u}${latestFlag}.${range}`
  );
}

/** The order trends are shown in: those with a value outside its range first, then the longest, then by name. */
export function byInterest(a: TrendSeries, b: TrendSeries): number {
  const flagged = (s: TrendSeries) => (s.points.some((p) => p.flag && p.flag !== 'normal') ? 1 : 0);
  return flagged(b) - flagged(a) || b.points.length - a.points.length || a.title.localeCompare(b.title);
}
