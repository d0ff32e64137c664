/**
 * Export of the patient's whole record, as they are entitled to it (data portability):
 * - one JSON file: every page of `GET /fhir/Patient/<id>/$everything`, saved as a FHIR collection Bundle;
 * - FHIR Bulk Data: `GET /fhir/Patient/$export` (`Prefer: respond-async`; for a patient, their own
 *   compartment), its status polled with a progress indicator, then one NDJSON file per resource type,
 *   downloaded with the person's token. The node records the export in the patient's access log.
 *
 * Files are assembled in the browser and saved as Blob downloads; nothing is kept after the page is left
 * (a bulk job is deleted from the node once its files are saved, or when the person cancels).
 */
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { patientIdOf } from '../api/account';
import { api, request } from '../api/client';
import type { Bundle, Resource } from '../api/fhir';
import { useSignedIn } from '../auth/SessionProvider';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Progress } from '../ui/Progress';
import {
  type BulkManifest,
  type ExportFile,
  manifestFiles,
  nextPage,
  parseProgress,
  pollDelayMs,
  recordBundle,
  recordFileName,
  sameOriginPath,
} from './exportFormat';

const EVERYTHING_PAGE = 500;
const EVERYTHING_MAX_PAGES = 200;

function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new DOMException('stopped', 'AbortError'));
    });
  });

type Step =
  | { kind: 'idle' }
  | { kind: 'running'; text: string; value?: number }
  | { kind: 'done'; text: string }
  | { kind: 'error'; error: unknown };

function OneFile({ patientId }: { patientId: string }) {
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const abort = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => abort.current?.abort(), []);

  const run = async () => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    const resources: Resource[] = [];
    setStep({ kind: 'running', text: 'Reading your record…' });
    try {
      let path: string | undefined =
        `/fhir/Patient/${encodeURIComponent(patientId)}/$everything?_count=${EVERYTHING_PAGE}`;
      for (let page = 0; path && page < EVERYTHING_MAX_PAGES; page++) {
        const bundle: Bundle = await api<Bundle>(path, { signal: controller.signal });
        for (const e of bundle.entry ?? []) if (e.resource) resources.push(e.resource);
        setStep({ kind: 'running', text: `Reading your record: ${resources.length} entries so far…` });
        path = nextPage(bundle, window.location.origin);
      }
      const now = new Date();
      const file = recordBundle(resources, now);
      saveBlob(
        new Blob([JSON.stringify(file, null, 2)], { type: 'application/fhir+json' }),
        recordFileName(now),
      );
      setStep({ kind: 'done', text: `Saved ${recordFileName(now)} (${file.entry?.length ?? 0} entries).` });
    } catch (error) {
      if ((error as Error).name !== 'AbortError') setStep({ kind: 'error', error });
    }
  };

  return (
    <section className="card" aria-labelledby="export-one-file">
      <h2 id="export-one-file">One file (JSON)</h2>
      <p>
        Everything in your record at this organisation, in one FHIR file you can keep or give to another
        provider.
      </p>
      <button type="button" className="primary" onClick={run} disabled={step.kind === 'running'}>
        Download my record (JSON)
      </button>
      <StepView step={step} onRetry={run} />
    </section>
  );
}

function Bulk() {
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const [files, setFiles] = useState<ExportFile[]>([]);
  const status = useRef<string | undefined>(undefined);
  const abort = useRef<AbortController | undefined>(undefined);
  useEffect(
    () => () => {
      abort.current?.abort();
      if (status.current) void request(status.current, { method: 'DELETE' }).catch(() => {});
    },
    [],
  );

  const start = async () => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setFiles([]);
    setStep({ kind: 'running', text: 'Asking the node to prepare your files…' });
    try {
      const kickOff = await request('/fhir/Patient/$export', {
        headers: { Accept: 'application/fhir+json', Prefer: 'respond-async' },
        signal: controller.signal,
      });
      const path = sameOriginPath(kickOff.headers.get('Content-Location'), window.location.origin);
      if (!path) throw new Error('The node did not say where to follow the export. Try again.');
      status.current = path;
      for (;;) {
        const res = await request(path, { signal: controller.signal });
        if (res.status === 200) {
          const manifest = (await res.json()) as BulkManifest;
          const list = manifestFiles(manifest, window.location.origin, new Date());
          setFiles(list);
          const total = list.reduce((n, f) => n + (f.count ?? 0), 0);
          setStep({
            kind: 'done',
            text: `Ready: ${list.length} file${list.length === 1 ? '' : 's'}, ${total} entries. Save them below.`,
          });
          return;
        }
        setStep({ kind: 'running', text: parseProgress(res.headers.get('X-Progress')).text });
        await wait(pollDelayMs(res.headers.get('Retry-After')), controller.signal);
      }
    } catch (error) {
      if ((error as Error).name !== 'AbortError') setStep({ kind: 'error', error });
    }
  };

  const cancel = async () => {
    abort.current?.abort();
    const path = status.current;
    status.current = undefined;
    setFiles([]);
    setStep({ kind: 'idle' });
    if (path) await request(path, { method: 'DELETE' }).catch(() => {});
  };

  const save = async (file: ExportFile) => {
    try {
      const res = await request(file.path, { headers: { Accept: 'application/fhir+ndjson' } });
      saveBlob(new Blob([await res.blob()], { type: 'application/fhir+ndjson' }), file.name);
    } catch (error) {
      setStep({ kind: 'error', error });
    }
  };
  const saveAll = async () => {
    for (const f of files) await save(f);
  };

  return (
    <section className="card" aria-labelledby="export-bulk">
      <h2 id="export-bulk">Bulk export (NDJSON)</h2>
      <p>
        The standard FHIR Bulk Data format: one file per kind of entry, one entry per line — what health apps
        and other providers import.
      </p>
      <div className="button-row">
        <button type="button" className="primary" onClick={start} disabled={step.kind === 'running'}>
          Prepare bulk export
        </button>
        {step.kind === 'running' ? (
          <button type="button" onClick={cancel}>
            Cancel
          </button>
        ) : null}
      </div>
      <StepView step={step} onRetry={start} />
      {files.length ? (
        <>
          <ul className="export-files">
            {files.map((f) => (
              <li key={f.path}>
                <button type="button" onClick={() => void save(f)}>
                  Save {f.name}
                </button>{' '}
                <span className="hint">
                  {f.type}
                  {f.count !== undefined ? `, ${f.count} entries` : ''}
                </span>
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => void saveAll()}>
            Save all files
          </button>
        </>
      ) : null}
    </section>
  );
}

function StepView({ step, onRetry }: { step: Step; onRetry: () => void }) {
  switch (step.kind) {
    case 'idle':
      return null;
    case 'running':
      return <Progress label={step.text} {...(step.value !== undefined ? { value: step.value } : {})} />;
    case 'done':
      return (
        <div className="notice notice-ok" role="status">
          <p>{step.text}</p>
        </div>
      );
    case 'error':
      return <ErrorNotice error={step.error} onRetry={onRetry} />;
  }
}

export function ExportPage() {
  const patientId = patientIdOf(useSignedIn());
  return (
    <section className="page">
      <h1>Export my record</h1>
      <p>
        <Link to="/app/patient">Back to my record</Link>
      </p>
      <p>
        Your record is yours: save a copy at any time. The export is noted in your access log, as every access
        is.
      </p>
      {patientId ? (
        <>
          <OneFile patientId={patientId} />
          <Bulk />
        </>
      ) : (
        <div className="notice notice-warn">
          <p>Your account is not linked to a patient record yet. Ask the organisation that registered you.</p>
        </div>
      )}
    </section>
  );
}
