/**
 * A patient's record as a timeline, shared by the patient portal and the clinician's chart: encounters,
 * results (value, unit, reference range, high/low/normal), conditions, medications, allergies, immunisations
 * and documents, grouped by day (newest first), filtered by kind, in words where a display text exists, with
 * trend charts for tests measured more than once. Live: a new result appears without reload (the
 * `patient-results` topic over the Subscriptions WebSocket re-reads results and reports).
 *
 * Reads: one FHIR search per resource type (`patient=<id>`, pages of 1,000 — the node's largest — at most
 * 10 pages per type), in parallel, under the caller's access (what they may not see is simply absent).
 * Rendering is incremental: the newest 30 days of entries first, older ones on request; the six most telling
 * trends first (a value out of range, then the longest series), all on request. The container carries
 * `data-state` (`loading`, `ready`, `error`) for tests and benchmarks.
 */
import { useQueries, useQueryClient } from '@tanstack/react-query';
import { useId, useMemo, useState } from 'react';
import { type Resource, search } from '../api/fhir';
import { useTopic } from '../live/useTopic';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Progress } from '../ui/Progress';
import {
  groupByDay,
  KINDS,
  type Kind,
  ofKinds,
  TIMELINE_TYPES,
  type TimelineEntry,
  toEntry,
} from './entries';
import { TrendChart } from './TrendChart';
import { byInterest, trendSeries } from './trends';

export interface TimelineProps {
  /** The FHIR Patient id. */
  patientId: string;
  /** Headers every read carries (a clinician's purpose of use, e.g. `X-Purpose-Of-Use: ETREAT`). */
  headers?: Record<string, string>;
}

const PAGE_SIZE = '1000';
const MAX_PAGES = 10;
/** Day groups rendered at first, and added by each "Show older". */
const DAYS_PER_STEP = 30;
/** Trend charts shown before "Show all trends". */
const TRENDS_AT_FIRST = 6;
/** The types a new result touches. */
const LIVE_TYPES = new Set(['Observation', 'DiagnosticReport']);

export function recordQueryKey(patientId: string, type: string, headers: Record<string, string> = {}) {
  return ['record', patientId, type, JSON.stringify(headers)] as const;
}

export function Timeline({ patientId, headers }: TimelineProps) {
  const client = useQueryClient();
  const queries = useQueries({
    queries: TIMELINE_TYPES.map((type) => ({
      queryKey: recordQueryKey(patientId, type, headers),
      queryFn: ({ signal }: { signal: AbortSignal }) =>
        search(
          type,
          { patient: patientId, _count: PAGE_SIZE },
          { signal, maxPages: MAX_PAGES, ...(headers ? { headers } : {}) },
        ),
    })),
  });
  const firstLoadDone = queries.every((q) => !q.isPending);
  // Live updates start once the record has loaded, so the subscription does not compete with the first reads
  // (the handshake re-reads results, which covers anything written in between).
  const live = useTopic(
    'patient-results',
    firstLoadDone ? patientId : undefined,
    () => {
      for (const type of LIVE_TYPES) {
        void client.invalidateQueries(
          { queryKey: recordQueryKey(patientId, type, headers) },
          { cancelRefetch: false },
        );
      }
    },
    headers,
  );

  const done = queries.filter((q) => q.isSuccess).length;
  const failed = queries.filter((q) => q.isError);
  const loading = queries.some((q) => q.isPending);
  const dataStamp = queries.map((q) => q.dataUpdatedAt).join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: recomputed when any type's data changes (its stamp)
  const { entries, observations } = useMemo(() => {
    const all: TimelineEntry[] = [];
    const obs: Resource[] = [];
    for (const q of queries) {
      for (const r of q.data ?? []) {
        const e = toEntry(r);
        if (e) all.push(e);
        if (r.resourceType === 'Observation') obs.push(r);
      }
    }
    return { entries: all, observations: obs };
  }, [dataStamp]);

  const [kinds, setKinds] = useState<ReadonlySet<Kind>>(new Set());
  const [daysShown, setDaysShown] = useState(DAYS_PER_STEP);
  const groups = useMemo(() => groupByDay(ofKinds(entries, kinds)), [entries, kinds]);
  const series = useMemo(() => trendSeries(observations).sort(byInterest), [observations]);
  const [allTrends, setAllTrends] = useState(false);
  const showTrends = kinds.size === 0 || kinds.has('results');

  const toggle = (kind: Kind | 'all') => {
    setDaysShown(DAYS_PER_STEP);
    if (kind === 'all') return setKinds(new Set());
    const next = new Set(kinds);
    if (next.has(kind)) next.delete(kind);
    else next.add(kind);
    setKinds(next);
  };

  const state = loading ? 'loading' : failed.length ? 'error' : 'ready';
  const trendsId = useId();
  const timelineId = useId();
  return (
    <div className="timeline" data-state={state}>
      <LiveStatus state={live} />
      {loading ? (
        <Progress
          label={`Loading the record (${done} of ${queries.length} parts)…`}
          value={done / queries.length}
        />
      ) : null}
      {failed.length ? (
        <ErrorNotice error={failed[0]!.error} onRetry={() => failed.forEach((q) => void q.refetch())} />
      ) : null}
      {loading ? null : (
        <>
          <fieldset className="chips">
            <legend className="visually-hidden">Show in the record</legend>
            <button
              type="button"
              className="chip"
              aria-pressed={kinds.size === 0}
              onClick={() => toggle('all')}
            >
              Everything
            </button>
            {KINDS.map((k) => (
              <button
                key={k.kind}
                type="button"
                className="chip"
                aria-pressed={kinds.has(k.kind)}
                onClick={() => toggle(k.kind)}
              >
                {k.label}
              </button>
            ))}
          </fieldset>
          {showTrends && series.length ? (
            <section aria-labelledby={trendsId} className="trends">
              <h2 id={trendsId}>Trends</h2>
              <div className="trend-grid">
                {(allTrends ? series : series.slice(0, TRENDS_AT_FIRST)).map((s) => (
                  <TrendChart key={s.key} series={s} />
                ))}
              </div>
              {series.length > TRENDS_AT_FIRST ? (
                <button type="button" className="trend-more" onClick={() => setAllTrends((v) => !v)}>
                  {allTrends ? 'Show fewer trends' : `Show all ${series.length} trends`}
                </button>
              ) : null}
            </section>
          ) : null}
          <section aria-labelledby={timelineId}>
            <h2 id={timelineId}>Timeline</h2>
            {groups.length === 0 ? (
              <p>Nothing to show{kinds.size ? ' of these kinds' : ' yet'}.</p>
            ) : (
              <ol className="days">
                {groups.slice(0, daysShown).map((g) => (
                  <li key={g.day} className="day">
                    <h3>{g.day === 'undated' ? g.label : <time dateTime={g.day}>{g.label}</time>}</h3>
                    <ul className="entries">
                      {g.entries.map((e) => (
                        <Entry key={e.key} entry={e} />
                      ))}
                    </ul>
                  </li>
                ))}
              </ol>
            )}
            {groups.length > daysShown ? (
              <button type="button" onClick={() => setDaysShown((n) => n + DAYS_PER_STEP)}>
                Show older entries ({Math.min(DAYS_PER_STEP, groups.length - daysShown)} more days)
              </button>
            ) : null}
          </section>
        </>
      )}
    </div>
  );
}

const SINGULAR = new Map(KINDS.map((k) => [k.kind, k.singular]));

function Entry({ entry }: { entry: TimelineEntry }) {
  const r = entry.result;
  return (
    <li className={`entry entry-${entry.kind}`}>
      <span className="entry-kind">{SINGULAR.get(entry.kind)}</span>
      <span className="entry-title">{entry.title}</span>
      {r ? (
        <span className="entry-value">
          {' '}
          <strong>{r.text}</strong>
          {r.flag ? (
            <span className={r.flag === 'normal' ? 'tag tag-normal' : 'tag tag-alert'}>{r.flag}</span>
          ) : null}
          {r.range ? <span className="entry-range">normal range {r.range}</span> : null}
        </span>
      ) : null}
      {entry.details.length ? <span className="entry-details">{entry.details.join(' · ')}</span> : null}
    </li>
  );
}

const LIVE_WORDS = {
  live: ['Live', 'new results appear here as they arrive.'],
  offline: ['Offline', 'new results will appear once the connection is back.'],
  connecting: ['Connecting', 'live updates are starting.'],
} as const;

function LiveStatus({ state }: { state: keyof typeof LIVE_WORDS }) {
  const [word, text] = LIVE_WORDS[state];
  return (
    <p role="status" className={`live-status live-${state}`}>
      <span className="live-dot" aria-hidden="true" />
      <span>
        <strong className="live-word">{word}</strong>: {text}
      </span>
    </p>
  );
}
