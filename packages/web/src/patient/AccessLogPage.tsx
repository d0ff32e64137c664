/**
 * Who saw my data: every access to the patient's record at their organisation (`GET /audit/patients/:id/events`,
 * read page by page with its cursor), in plain words — who (names the node resolved), what, why, when —
 * with emergency access highlighted by a tag and words, and each entry's proof checked here, in the browser:
 * the entry's leaf is in the log under a checkpoint signed by the organisation's key as committed in the
 * on-chain registry (verify/accessProof.ts, loaded on demand; the committed key bundle from
 * `GET /directory/organisations/:id/key-bundle`). A ✓ or ✗ with words per entry, and a summary.
 *
 * Live: the `patient-access-log` topic announces new entries; the page reads from the last index it has.
 * Reading the log is itself an access (audited, announced): each read's own announcement is recognised and
 * not followed by another read, or the page would read forever.
 * Limits: entries are listed newest first, at most MAX_PAGES pages of PAGE entries are read in one go.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { patientIdOf } from '../api/account';
import { api } from '../api/client';
import { fetchKeyBundle, useOrganisations } from '../api/directory';
import { useSignedIn } from '../auth/SessionProvider';
import { useTopic } from '../live/useTopic';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Progress } from '../ui/Progress';
import type {
  CheckpointJson,
  CommittedKeyBundleJson,
  EntryCheck,
  EntryJson,
  KeyCheck,
} from '../verify/accessProof';
import { type AgentName, describeAccess } from './accessWording';
import { BreakGlassNotices } from './BreakGlassNotices';

const PAGE = 100;
const MAX_PAGES = 20;
const SHOWN_STEP = 50;

type Entry = EntryJson & { agents?: AgentName[]; breakGlass: boolean };
interface LogPage {
  checkpoint: CheckpointJson & { anchor?: unknown };
  entries: Entry[];
  next?: number;
}
interface Row {
  entry: Entry;
  check: EntryCheck | 'checking';
}

function useAccessLog(patientId: string | undefined, organisationId: string | undefined) {
  const [rows, setRows] = useState<Row[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const [keyCheck, setKeyCheck] = useState<KeyCheck>();
  const [keyHash, setKeyHash] = useState<string>();
  const queue = useRef<Promise<void>>(Promise.resolve());
  const nextIndex = useRef(0);
  const echoes = useRef(0);
  const liveState = useRef<string>('connecting');
  const committed = useRef<Promise<CommittedKeyBundleJson> | undefined>(undefined);

  const load = useCallback(() => {
    if (!patientId || !organisationId) return;
    queue.current = queue.current.then(async () => {
      try {
        const verifier = import('../verify/accessProof');
        committed.current ??= fetchKeyBundle(organisationId);
        for (let n = 0; n < MAX_PAGES; n++) {
          // While the socket is bound, this read will come back announced as a new entry of the log.
          if (liveState.current === 'live') echoes.current += 1;
          const page = await api<LogPage>(
            `/audit/patients/${encodeURIComponent(patientId)}/events?_count=${PAGE}&cursor=${nextIndex.current}`,
          );
          const fresh = page.entries.filter((e) => e.index >= nextIndex.current);
          if (fresh.length > 0) nextIndex.current = fresh.at(-1)!.index + 1;
          setRows((current) => [
            ...current,
            ...fresh.map((entry) => ({ entry, check: 'checking' as const })),
          ]);
          const [{ verifyAccessLogPage }, bundle] = await Promise.all([verifier, committed.current]);
          const result = verifyAccessLogPage(
            { checkpoint: page.checkpoint, entries: fresh },
            bundle,
            organisationId,
          );
          setKeyCheck((k) => (k === undefined || k === 'ok' ? result.key : k));
          setKeyHash(bundle.keyBundleHash);
          const checks = new Map(fresh.map((e, i) => [e.index, result.entries[i]!]));
          setRows((current) =>
            current.map((r) => (checks.has(r.entry.index) ? { ...r, check: checks.get(r.entry.index)! } : r)),
          );
          if (page.next === undefined) break;
        }
        setError(undefined);
      } catch (e) {
        committed.current = undefined;
        setError(e);
      } finally {
        setLoading(false);
      }
    });
  }, [patientId, organisationId]);

  useEffect(() => {
    load();
  }, [load]);

  const live = useTopic('patient-access-log', patientId, () => {
    if (liveState.current !== 'live') {
      // The handshake (the state turns live after this call): catch up; earlier reads were not announced.
      echoes.current = 0;
      liveState.current = 'live';
    } else if (echoes.current > 0) {
      echoes.current -= 1; // our own read, announced
      return;
    }
    load();
  });
  useEffect(() => {
    liveState.current = live;
  }, [live]);
  return { rows, loading, error, keyCheck, keyHash, live, reload: load };
}

export default function AccessLogPage() {
  const account = useSignedIn();
  const patientId = patientIdOf(account);
  const organisationId = account.organisation === undefined ? undefined : String(account.organisation);
  const organisations = useOrganisations();
  const log = useAccessLog(patientId, organisationId);
  const [shown, setShown] = useState(SHOWN_STEP);
  const organisationName =
    organisations.data?.find((o) => o.id === organisationId)?.name ?? 'your organisation';

  if (!patientId) {
    return (
      <section className="page">
        <h1>Who saw my data</h1>
        <p>This account has no patient record.</p>
      </section>
    );
  }
  const newestFirst = [...log.rows].reverse();
  const checked = log.rows.filter((r) => r.check !== 'checking');
  const failed = checked.filter((r) => r.check === 'failed').length;
  const checking = log.rows.length - checked.length;

  return (
    <section className="page trust-access-log" aria-labelledby="access-log-title">
      <h1 id="access-log-title">Who saw my data</h1>
      <p className="lead">
        Every access to your record at {organisationName}, and its proof, checked here in your browser against
        the organisation’s key as recorded on the consortium’s ledger.
      </p>
      <BreakGlassNotices patientId={patientId} />

      <div role="status" aria-live="polite" className="proof-summary-wrap">
        {log.keyCheck && log.keyCheck !== 'ok' ? (
          <div className="notice notice-error proof-summary">
            <p>
              <span className="unverified" aria-hidden="true">
                ✗
              </span>{' '}
              <strong>Proofs FAILED:</strong> the key this node gave for {organisationName} is not the one the
              consortium’s registry records. Do not rely on this log; tell the organisation’s data protection
              officer.
            </p>
          </div>
        ) : failed > 0 ? (
          <div className="notice notice-error proof-summary">
            <p>
              <span className="unverified" aria-hidden="true">
                ✗
              </span>{' '}
              <strong>
                {failed} of {checked.length} entries FAILED their proof.
              </strong>{' '}
              They may have been altered after they were logged. The entries marked “Proof FAILED” cannot be
              trusted; tell the organisation’s data protection officer.
            </p>
          </div>
        ) : checked.length > 0 && checking === 0 ? (
          <div className="notice notice-ok proof-summary">
            <p>
              <span className="verified" aria-hidden="true">
                ✓
              </span>{' '}
              <strong>All {checked.length} entries checked.</strong> Each is in {organisationName}’s signed
              log, under the key the registry records
              {log.keyHash ? (
                <>
                  {' '}
                  (
                  <span className="key-hash">
                    {log.keyHash.slice(0, 10)}…{log.keyHash.slice(-8)}
                  </span>
                  )
                </>
              ) : null}
              .
            </p>
          </div>
        ) : null}
        {checking > 0 ? (
          <Progress
            label={`Checking proofs: ${checked.length} of ${log.rows.length}`}
            value={checked.length / log.rows.length}
          />
        ) : null}
      </div>
      <p className="hint">
        {log.live === 'live'
          ? 'New accesses appear here as they happen.'
          : log.live === 'offline'
            ? 'Live updates paused; reconnecting…'
            : ''}
      </p>

      {log.loading ? <Progress label="Loading your access log…" /> : null}
      {log.error ? <ErrorNotice error={log.error} onRetry={log.reload} /> : null}
      {!log.loading && log.rows.length === 0 && !log.error ? <p>No accesses are logged yet.</p> : null}

      {log.rows.length > 0 ? (
        <div className="table-wrap">
          <table className="access-table">
            <caption className="visually-hidden">Accesses to your record, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Why</th>
                <th scope="col">Proof</th>
              </tr>
            </thead>
            <tbody>
              {newestFirst.slice(0, shown).map((r) => {
                const w = describeAccess(r.entry.event, r.entry.agents, r.entry.breakGlass, account);
                return (
                  <tr
                    key={r.entry.index}
                    className={w.breakGlass ? 'access-break-glass' : undefined}
                    data-entry={r.entry.index}
                  >
                    <td data-label="When">
                      <time dateTime={w.at}>{w.when}</time>
                    </td>
                    <td data-label="Who">{w.who}</td>
                    <td data-label="What">
                      {w.what}
                      {w.refused ? <span className="tag access-refused"> Refused</span> : null}
                    </td>
                    <td data-label="Why">
                      {w.breakGlass ? <span className="tag tag-alert">Emergency access</span> : null} {w.why}
                    </td>
                    <td data-label="Proof" className="proof-cell">
                      <ProofMark check={r.check} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {newestFirst.length > shown ? (
        <button type="button" onClick={() => setShown((s) => s + SHOWN_STEP)}>
          Show older accesses ({newestFirst.length - shown} more)
        </button>
      ) : null}
    </section>
  );
}

function ProofMark({ check }: { check: Row['check'] }) {
  if (check === 'checking') return <span className="hint">Checking…</span>;
  if (check === 'failed') {
    return (
      <span className="unverified">
        <span aria-hidden="true">✗</span> <span>Proof FAILED</span>
      </span>
    );
  }
  return (
    <span className="verified">
      <span aria-hidden="true">✓</span>{' '}
      <span>{check === 'ok' ? 'Proof checked' : 'In the log (details not checkable)'}</span>
    </span>
  );
}
