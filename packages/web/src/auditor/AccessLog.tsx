/**
 * The organisation's access log for its auditors: newest first, a page at a time ("Load older entries"),
 * with filters. The patient filter asks the node for that patient's log (/audit/patients/:id/events); the
 * others (dates, person, action, outcome, break-glass) apply to the entries loaded so far — the node's
 * /audit/events has no filters — and the screen says so. Export is below the table.
 */
import { useInfiniteQuery } from '@tanstack/react-query';
import { type FormEvent, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { ApiError, api } from '../api/client';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import {
  ACTIONS,
  type Checkpoint,
  describeEntry,
  type EntryView,
  filterErrors,
  formatWhen,
  isFiltered,
  type LogFilter,
  type LogPage,
  matchesFilter,
  NO_FILTER,
  newestWindow,
  OUTCOMES,
  olderWindow,
  PAGE_SIZE,
  type WindowParam,
} from './auditLog';
import { ExportLog } from './ExportLog';
import { ScrollRegion } from './ScrollRegion';

interface LoadedPage {
  entries: LogPage['entries'];
  /** Whole log: the window this page covers (older pages follow). */
  window?: WindowParam;
  /** A patient's log: the cursor of the next page. */
  next?: number;
}

async function latestCheckpoint(): Promise<Checkpoint | undefined> {
  try {
    return await api<Checkpoint>('/audit/checkpoint');
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined; // a log without a checkpoint yet
    throw error;
  }
}

function useLogPages(patient: string) {
  return useInfiniteQuery({
    queryKey: ['audit-log', patient || '*'],
    initialPageParam: undefined as WindowParam | number | undefined,
    queryFn: async ({ pageParam, signal }): Promise<LoadedPage> => {
      if (patient) {
        const cursor = typeof pageParam === 'number' ? pageParam : 0;
        const page = await api<LogPage>(
          `/audit/patients/${encodeURIComponent(patient)}/events?cursor=${cursor}&_count=${PAGE_SIZE}`,
          { signal },
        );
        return { entries: page.entries, ...(page.next === undefined ? {} : { next: page.next }) };
      }
      let window = pageParam as WindowParam | undefined;
      if (window === undefined) {
        const checkpoint = await latestCheckpoint();
        window = checkpoint ? newestWindow(checkpoint.size) : undefined;
        if (!window) return { entries: [] };
      }
      const page = await api<LogPage>(`/audit/events?cursor=${window.cursor}&_count=${window.count}`, {
        signal,
      });
      return { entries: [...page.entries].reverse(), window };
    },
    getNextPageParam: (last) => (patient ? last.next : last.window ? olderWindow(last.window) : undefined),
    staleTime: 10_000,
  });
}

export function AccessLog() {
  const [params] = useSearchParams();
  const initial = { ...NO_FILTER, patient: params.get('patient') ?? '' };
  const [draft, setDraft] = useState<LogFilter>(initial);
  const [applied, setApplied] = useState<LogFilter>(initial);
  const [errors, setErrors] = useState<Partial<Record<keyof LogFilter, string>>>({});
  const pages = useLogPages(applied.patient.trim());

  const loaded = useMemo(
    () => (pages.data?.pages ?? []).flatMap((p) => p.entries).map(describeEntry),
    [pages.data],
  );
  const shown = useMemo(() => loaded.filter((v) => matchesFilter(v, applied)), [loaded, applied]);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const found = filterErrors(draft);
    setErrors(found);
    if (Object.keys(found).length === 0) setApplied({ ...draft, patient: draft.patient.trim() });
  };
  const clear = () => {
    setDraft(NO_FILTER);
    setApplied(NO_FILTER);
    setErrors({});
  };
  const set = <K extends keyof LogFilter>(key: K, value: LogFilter[K]) =>
    setDraft({ ...draft, [key]: value });

  return (
    <section className="page" aria-labelledby="access-log-title">
      <h1 id="access-log-title">Access log</h1>
      <p className="lead">
        Every request to this node, newest first: who, when, what, for which patient (a pseudonym: the log
        names nobody in clear), why and with what outcome.
      </p>
      <form className="card audit-filters" onSubmit={apply} aria-labelledby="filter-title" noValidate>
        <h2 id="filter-title">Filter</h2>
        <div className="filter-grid">
          <Field label="From" error={errors.from}>
            <input type="date" value={draft.from} onChange={(e) => set('from', e.target.value)} />
          </Field>
          <Field label="To" error={errors.to}>
            <input type="date" value={draft.to} onChange={(e) => set('to', e.target.value)} />
          </Field>
          <Field label="Person" hint="Part of an account id, a member address or a role.">
            <input type="search" value={draft.person} onChange={(e) => set('person', e.target.value)} />
          </Field>
          <Field
            label="Patient id"
            hint="A FHIR Patient id: the node answers that patient’s log."
            error={errors.patient}
          >
            <input
              value={draft.patient}
              onChange={(e) => set('patient', e.target.value)}
              autoComplete="off"
            />
          </Field>
          <Field label="Action">
            <select value={draft.action} onChange={(e) => set('action', e.target.value)}>
              <option value="">Any</option>
              {Object.entries(ACTIONS).map(([code, label]) => (
                <option key={code} value={code}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Outcome">
            <select value={draft.outcome} onChange={(e) => set('outcome', e.target.value)}>
              <option value="">Any</option>
              {Object.entries(OUTCOMES).map(([code, label]) => (
                <option key={code} value={code}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <div className="check">
          <input
            id="break-glass-only"
            type="checkbox"
            checked={draft.breakGlassOnly}
            onChange={(e) => set('breakGlassOnly', e.target.checked)}
          />
          <label htmlFor="break-glass-only">Break-glass access only</label>
        </div>
        <p className="hint">
          Dates, person, action, outcome and break-glass filter the entries loaded so far; load older entries
          to search further back.
        </p>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button type="button" onClick={clear}>
            Clear
          </button>
        </div>
      </form>

      {pages.isPending ? <Progress label="Loading the access log…" /> : null}
      {pages.isError ? <ErrorNotice error={pages.error} onRetry={() => void pages.refetch()} /> : null}
      {pages.isSuccess ? (
        <>
          <p role="status" aria-live="polite">
            {isFiltered(applied)
              ? `${shown.length} of ${loaded.length} loaded entries match.`
              : `${loaded.length} entries loaded.`}
            {applied.patient ? ` Patient ${applied.patient}’s log, oldest first.` : ''}
          </p>
          {shown.length > 0 ? <LogTable rows={shown} /> : <p>No entries match on the loaded pages.</p>}
          {pages.hasNextPage ? (
            <div className="actions">
              <button
                type="button"
                onClick={() => void pages.fetchNextPage()}
                disabled={pages.isFetchingNextPage}
              >
                {applied.patient ? 'Load more entries' : 'Load older entries'}
              </button>
            </div>
          ) : (
            <p className="hint">This is the whole log.</p>
          )}
          {pages.isFetchingNextPage ? <Progress label="Loading more entries…" /> : null}
        </>
      ) : null}
      <ExportLog />
    </section>
  );
}

function LogTable({ rows }: { rows: EntryView[] }) {
  return (
    <ScrollRegion label="Access log entries (scrolls sideways)">
      <table className="audit-table">
        <caption className="visually-hidden">Access log entries</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Patient</th>
            <th scope="col">Why</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((v) => (
            <tr key={v.index} className={v.breakGlass ? 'row-alert' : undefined}>
              <td>
                {formatWhen(v.recorded)}
                <br />
                <span className="hint">#{v.index}</span>
              </td>
              <td>
                {v.who}
                {v.member ? (
                  <>
                    <br />
                    <span className="hint mono" title={v.member}>
                      member {v.member.slice(0, 10)}…
                    </span>
                  </>
                ) : null}
                {v.address ? (
                  <>
                    <br />
                    <span className="hint">from {v.address}</span>
                  </>
                ) : null}
              </td>
              <td>
                {v.actionLabel}
                {v.resource ? ` ${v.resource}` : ''}
                {v.route ? (
                  <>
                    <br />
                    <span className="hint mono">{v.route}</span>
                  </>
                ) : null}
              </td>
              <td>
                {v.patient ? (
                  <span className="mono" title={v.patient}>
                    {v.patient.slice(0, 10)}…
                  </span>
                ) : (
                  '—'
                )}
              </td>
              <td>
                {v.breakGlass ? <span className="tag tag-alert">Break-glass</span> : null}{' '}
                {v.purpose ?? (v.breakGlass ? '' : '—')}
              </td>
              <td>
                <span className={v.outcome === '0' ? undefined : 'unverified'}>{v.outcomeLabel}</span>
                {v.outcomeDesc ? (
                  <>
                    <br />
                    <span className="hint">{v.outcomeDesc}</span>
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
