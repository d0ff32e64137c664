/**
 * The patient's Documents: upload a document or photo encrypted in this browser before it leaves the device
 * (AES-256-GCM under a category key wrapped to the patient's own key bundle: keys/documentSeal.ts), stored as
 * a FHIR DocumentReference (sealedDocumentReference.ts); list them and decrypt one here.
 *
 * Both need the patient's keys unlocked in the browser: the key file kept in this browser (self-held), one
 * loaded from a saved copy, or — for patients whose clinic keeps their keys — the sealed file fetched from
 * GET /admin/patients/:id/keys and unlocked here with their password (the clinic never sees the unlocked
 * keys either way). Unlocked keys live in this page's memory only and are wiped when it closes.
 *
 * APIs: GET /account/keys (who holds the keys), GET /fhir/DocumentReference?patient=…,
 * POST /fhir/DocumentReference, GET /admin/patients/:id/keys.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { ApiError, api } from '../api/client';
import { create, search } from '../api/fhir';
import { useSignedIn } from '../auth/SessionProvider';
import type { PatientKeyFile } from '../keys/patientKeys';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import {
  cleanTitle,
  type DocumentReferenceJson,
  fromDocumentReference,
  type SealedUpload,
  toDocumentReference,
} from './sealedDocumentReference';

const MAX_BYTES = 8 * 1024 * 1024;

const sizeText = (n: number) =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`;

type Source = 'browser' | 'clinic' | 'file';

function Unlock({
  accountId,
  patientId,
  onUnlocked,
}: {
  accountId: string;
  patientId: string;
  onUnlocked(keys: PatientKeyFile): void;
}) {
  const stored = useQuery({
    queryKey: ['keys', accountId],
    queryFn: async () => (await (await import('../keys/keyStorage')).loadKeyFile(accountId)) ?? null,
  });
  const custody = useQuery({
    queryKey: ['account', 'keys'],
    queryFn: () => api<{ custody: 'custodial' | 'self' }>('/account/keys'),
  });
  const [source, setSource] = useState<Source>('browser');
  const [file, setFile] = useState<File>();
  const [passphrase, setPassphrase] = useState('');
  const [share, setShare] = useState<number>();
  const [error, setError] = useState<unknown>();
  const name = useId();
  useEffect(() => {
    if (stored.isSuccess && !stored.data)
      setSource(custody.data?.custody === 'custodial' ? 'clinic' : 'file');
  }, [stored.isSuccess, stored.data, custody.data]);

  const unlock = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    if (!passphrase) {
      setError(new Error('Type the passphrase that locks your keys.'));
      return;
    }
    try {
      setShare(0);
      let sealed: string;
      if (source === 'browser' && stored.data) sealed = stored.data.sealed;
      else if (source === 'file') {
        if (!file) throw new Error('Choose your saved key file first.');
        sealed = await file.text();
      } else {
        try {
          const response = await api<unknown>(`/admin/patients/${encodeURIComponent(patientId)}/keys`);
          sealed = JSON.stringify(response);
        } catch (e) {
          if (e instanceof ApiError && e.status === 404) {
            throw new Error(
              'Your clinic does not keep your keys: you hold them. Load your saved key file instead.',
            );
          }
          throw e;
        }
      }
      const { PatientKeyFile } = await import('../keys/patientKeys');
      const keys = await PatientKeyFile.unlock(sealed, passphrase, { onProgress: setShare });
      setPassphrase('');
      onUnlocked(keys);
    } catch (e) {
      setError(e);
      setShare(undefined);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void unlock(e)} aria-labelledby="unlock-heading" noValidate>
      <h2 id="unlock-heading">Unlock your keys</h2>
      <p>
        Your documents are encrypted with your own keys. Unlock them here — they stay in this browser and are
        forgotten when you leave this page.
      </p>
      {stored.isPending ? <Progress label="Looking for your keys in this browser…" /> : null}
      <fieldset className="choices">
        <legend>Where are your keys?</legend>
        {stored.data ? (
          <label className="choice">
            <input
              type="radio"
              name={name}
              checked={source === 'browser'}
              onChange={() => setSource('browser')}
            />
            <span>Kept in this browser</span>
          </label>
        ) : null}
        <label className="choice">
          <input
            type="radio"
            name={name}
            checked={source === 'clinic'}
            onChange={() => setSource('clinic')}
          />
          <span>My clinic keeps them (locked with my password)</span>
        </label>
        <label className="choice">
          <input type="radio" name={name} checked={source === 'file'} onChange={() => setSource('file')} />
          <span>A key file I saved</span>
        </label>
      </fieldset>
      {source === 'file' ? (
        <Field label="Your key file" hint="medledger-patient-keys.json">
          <input type="file" accept="application/json,.json" onChange={(e) => setFile(e.target.files?.[0])} />
        </Field>
      ) : null}
      <Field
        label="Passphrase"
        hint={
          source === 'clinic'
            ? 'Your password.'
            : 'The passphrase you chose for your keys (your password unless you chose another).'
        }
      >
        <input
          type="password"
          autoComplete="current-password"
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
        />
      </Field>
      {error ? <ErrorNotice error={error} /> : null}
      {share !== undefined ? (
        <Progress label={`Unlocking your keys… ${Math.floor(share * 10) * 10}%`} value={share} />
      ) : null}
      <button type="submit" className="primary" disabled={share !== undefined}>
        Unlock
      </button>
    </form>
  );
}

function Upload({
  keys,
  patientId,
  onUploaded,
}: {
  keys: PatientKeyFile;
  patientId: string;
  onUploaded(): void;
}) {
  const [file, setFile] = useState<File>();
  const [title, setTitle] = useState('');
  const [stage, setStage] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const input = useRef<HTMLInputElement>(null);
  const fileError =
    file && file.size > MAX_BYTES ? 'This file is larger than 8 MB: choose a smaller one.' : undefined;

  const upload = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setDone(undefined);
    if (!file) {
      setError(new Error('Choose a document or photo first.'));
      return;
    }
    if (fileError) return;
    try {
      setStage('Encrypting in your browser…');
      const bytes = new Uint8Array(await file.arrayBuffer());
      const { sealDocument } = await import('../keys/documentSeal');
      const bundle = keys.keyBundle().publicBundle;
      const sealed = sealDocument(bytes, { pseudonym: keys.pseudonym, publicBundle: bundle });
      bytes.fill(0);
      const upload: SealedUpload = {
        ...sealed,
        mediaType: file.type || 'application/octet-stream',
        title: cleanTitle(title, file.name),
        size: file.size,
      };
      setStage('Uploading the encrypted file…');
      await create(
        toDocumentReference(upload, patientId) as unknown as DocumentReferenceJson & { resourceType: string },
      );
      setDone(upload.title);
      setFile(undefined);
      setTitle('');
      if (input.current) input.current.value = '';
      onUploaded();
    } catch (e) {
      setError(e);
    } finally {
      setStage(undefined);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void upload(e)} aria-labelledby="upload-heading" noValidate>
      <h2 id="upload-heading">Add a document or photo</h2>
      <p>It is encrypted on this device before it is sent: the clinic stores only the encrypted file.</p>
      <Field label="Document or photo" hint="Up to 8 MB." error={fileError}>
        <input ref={input} type="file" onChange={(e) => setFile(e.target.files?.[0])} />
      </Field>
      <Field
        label="Title (optional)"
        hint="Shown in your list, not encrypted. The file name is used if empty."
      >
        <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} />
      </Field>
      {error ? <ErrorNotice error={error} /> : null}
      {stage ? <Progress label={stage} /> : null}
      {done ? (
        <div className="notice notice-ok" role="status">
          <p>“{done}” was encrypted and uploaded.</p>
        </div>
      ) : null}
      <button type="submit" className="primary" disabled={stage !== undefined}>
        Encrypt and upload
      </button>
    </form>
  );
}

interface Opened {
  url: string;
  mediaType: string;
  title: string;
}

function DocumentList({ patientId, keys }: { patientId: string; keys: PatientKeyFile | undefined }) {
  const docs = useQuery({
    queryKey: ['documents', patientId],
    queryFn: async () => {
      const found = await search<DocumentReferenceJson & { id: string }>('DocumentReference', {
        patient: patientId,
        _sort: '-date',
      });
      return found.flatMap((r) => {
        const upload = fromDocumentReference(r);
        return upload ? [{ id: r.id, ...upload }] : [];
      });
    },
  });
  const [opened, setOpened] = useState<Record<string, Opened>>({});
  const [error, setError] = useState<unknown>();
  useEffect(
    () => () => {
      for (const o of Object.values(opened)) URL.revokeObjectURL(o.url);
    },
    [opened],
  );

  const decrypt = async (doc: SealedUpload & { id: string }) => {
    setError(undefined);
    if (!keys) return;
    try {
      const { openDocument } = await import('../keys/documentSeal');
      let bytes: Uint8Array;
      try {
        bytes = openDocument(doc, keys.keyBundle());
      } catch {
        throw new Error(
          'This document does not open with these keys: it was encrypted for other keys, or changed since. Nothing was shown.',
        );
      }
      const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: doc.mediaType }));
      setOpened((o) => ({ ...o, [doc.id]: { url, mediaType: doc.mediaType, title: doc.title } }));
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section className="card" aria-labelledby="list-heading">
      <h2 id="list-heading">My uploads</h2>
      {docs.isPending ? <Progress label="Loading your documents…" /> : null}
      {docs.isError ? <ErrorNotice error={docs.error} onRetry={() => void docs.refetch()} /> : null}
      {error ? <ErrorNotice error={error} /> : null}
      {docs.isSuccess && docs.data.length === 0 ? <p>You have not uploaded anything yet.</p> : null}
      {docs.data && docs.data.length > 0 ? (
        <ul className="documents">
          {docs.data.map((d) => {
            const o = opened[d.id];
            return (
              <li key={d.id}>
                <div>
                  <strong>{d.title}</strong>{' '}
                  <span className="hint">
                    {d.date ? new Date(d.date).toLocaleDateString(undefined, { dateStyle: 'medium' }) : ''} ·{' '}
                    {sizeText(d.size)} · encrypted
                  </span>
                </div>
                {o ? (
                  <div className="opened">
                    {o.mediaType.startsWith('image/') ? <img src={o.url} alt={o.title} /> : null}
                    <a href={o.url} download={o.title}>
                      Save the decrypted copy of {o.title}
                    </a>
                  </div>
                ) : (
                  <button type="button" onClick={() => void decrypt(d)} disabled={!keys}>
                    Decrypt {d.title}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      ) : null}
      {!keys && docs.data && docs.data.length > 0 ? (
        <p className="hint">Unlock your keys to open them.</p>
      ) : null}
    </section>
  );
}

export default function DocumentsPage() {
  const account = useSignedIn();
  const client = useQueryClient();
  const [keys, setKeys] = useState<PatientKeyFile>();
  useEffect(() => {
    document.title = 'Documents — medledger';
  }, []);
  useEffect(() => () => keys?.destroy(), [keys]);
  // GET /account answers the patient link as {fhirId, pseudonym}; older shapes gave the id alone.
  const link = account.patient as unknown as string | { fhirId?: string } | undefined;
  const patientId = typeof link === 'string' ? link : link?.fhirId;
  if (account.role !== 'patient' || !patientId) {
    return (
      <section className="page">
        <h1>Documents</h1>
        <p>Documents are for patients’ own records.</p>
      </section>
    );
  }
  return (
    <section className="page documents-page">
      <h1>Documents</h1>
      {keys ? (
        <div className="notice notice-ok" role="status">
          <p>Your keys are unlocked on this page.</p>
        </div>
      ) : (
        <Unlock accountId={account.id} patientId={patientId} onUnlocked={setKeys} />
      )}
      {keys ? (
        <Upload
          keys={keys}
          patientId={patientId}
          onUploaded={() => void client.invalidateQueries({ queryKey: ['documents', patientId] })}
        />
      ) : null}
      <DocumentList patientId={patientId} keys={keys} />
    </section>
  );
}
