/**
 * The audit log's export as a file: GET /audit/export (FHIR AuditEvents or OCSF 1.1, NDJSON) page after page
 * of 1,000 from the start, following X-Medledger-Next-Cursor, with progress against the log's size when the
 * export started; the pages are joined into one file the browser downloads. The export's own requests are
 * audited, so the log ends a few entries later than the file. Limit: the file is built in memory.
 */
import { useRef, useState } from 'react';
import { api, request } from '../api/client';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Progress } from '../ui/Progress';
import type { Checkpoint } from './auditLog';

const EXPORT_PAGE = 1000;
type Format = 'fhir' | 'ocsf';

export function ExportLog() {
  const [format, setFormat] = useState<Format>('fhir');
  const [progress, setProgress] = useState<{ done: number; total: number } | undefined>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string | undefined>();
  const abort = useRef<AbortController | undefined>(undefined);

  const run = async () => {
    setError(undefined);
    setSaved(undefined);
    const controller = new AbortController();
    abort.current = controller;
    try {
      const total = (await api<Checkpoint>('/audit/checkpoint', { signal: controller.signal })).size;
      setProgress({ done: 0, total });
      const parts: string[] = [];
      let cursor = 0;
      let lines = 0;
      for (;;) {
        const res = await request(`/audit/export?cursor=${cursor}&_count=${EXPORT_PAGE}&format=${format}`, {
          signal: controller.signal,
          headers: { Accept: 'application/fhir+ndjson, application/x-ndjson' },
        });
        const text = await res.text();
        const count = text.split('\n').filter(Boolean).length;
        parts.push(text);
        lines += count;
        const next = Number(res.headers.get('x-medledger-next-cursor') ?? cursor);
        setProgress({ done: Math.min(next, total), total });
        // The log never stands still (this export is audited too): stop at the size it had when we started.
        if (count < EXPORT_PAGE || next <= cursor || next >= total) break;
        cursor = next;
      }
      const type = format === 'fhir' ? 'application/fhir+ndjson' : 'application/x-ndjson';
      const name = `audit-log-${format}-${new Date().toISOString().slice(0, 10)}.ndjson`;
      const url = URL.createObjectURL(new Blob(parts, { type }));
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setSaved(`${name}: ${lines.toLocaleString('en')} entries.`);
    } catch (e) {
      if ((e as Error).name !== 'AbortError') setError(e);
    } finally {
      setProgress(undefined);
      abort.current = undefined;
    }
  };

  return (
    <section className="card" aria-labelledby="export-title">
      <h2 id="export-title">Export</h2>
      <p className="hint">
        The whole log as a file for your SIEM or archive: FHIR AuditEvents (network addresses disclosed, each
        event’s id is its position in the log) or OCSF 1.1 events (a lossy mapping).
      </p>
      <fieldset className="choices">
        <legend>Format</legend>
        {(
          [
            ['fhir', 'FHIR AuditEvent (NDJSON)'],
            ['ocsf', 'OCSF 1.1 (NDJSON)'],
          ] as const
        ).map(([value, label]) => (
          <div className="check" key={value}>
            <input
              type="radio"
              id={`export-${value}`}
              name="export-format"
              value={value}
              checked={format === value}
              onChange={() => setFormat(value)}
            />
            <label htmlFor={`export-${value}`}>{label}</label>
          </div>
        ))}
      </fieldset>
      <div className="actions">
        <button
          type="button"
          className="primary"
          onClick={() => void run()}
          disabled={progress !== undefined}
        >
          Download the log
        </button>
        {progress ? (
          <button type="button" onClick={() => abort.current?.abort()}>
            Stop
          </button>
        ) : null}
      </div>
      {progress ? (
        <Progress
          label={`Exporting: ${progress.done.toLocaleString('en')} of ${progress.total.toLocaleString('en')} entries`}
          value={progress.total > 0 ? progress.done / progress.total : 0}
        />
      ) : null}
      {saved ? (
        <p className="notice notice-ok" role="status">
          Saved {saved}
        </p>
      ) : null}
      {error ? <ErrorNotice error={error} /> : null}
    </section>
  );
}
