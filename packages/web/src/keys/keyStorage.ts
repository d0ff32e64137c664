/**
 * Where this browser keeps a patient's sealed key file: IndexedDB (this origin only; it survives closing the
 * tab, unlike the session), one entry per account. Only the sealed file is stored — it opens with the
 * passphrase alone — with the consent address to show which keys these are. And the file as a download,
 * the patient's own copy.
 *
 * Limits: clearing the browser's site data deletes the stored copy (the downloaded copy is the backup);
 * private windows may not keep it at all.
 */

const DB_NAME = 'medledger-keys';
const STORE = 'key-files';

export interface StoredKeyFile {
  accountId: string;
  sealed: string;
  address: string;
  savedAt: string;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: 'accountId' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('This browser cannot store your keys.'));
  });
}

async function withStore<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>) {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = act(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? new Error('This browser could not store your keys.'));
    });
  } finally {
    db.close();
  }
}

/** Keeps the sealed key file of `accountId` in this browser (replacing any earlier one). */
export async function saveKeyFile(accountId: string, sealed: string, address: string): Promise<void> {
  const entry: StoredKeyFile = { accountId, sealed, address, savedAt: new Date().toISOString() };
  await withStore('readwrite', (s) => s.put(entry));
}

/** The sealed key file this browser keeps for `accountId`, if any. */
export async function loadKeyFile(accountId: string): Promise<StoredKeyFile | undefined> {
  const found = await withStore<StoredKeyFile | undefined>('readonly', (s) => s.get(accountId));
  return found ?? undefined;
}

/** Forgets the copy kept in this browser. */
export async function removeKeyFile(accountId: string): Promise<void> {
  await withStore('readwrite', (s) => s.delete(accountId));
}

/** Offers the sealed key file as a download ("Save a copy of your keys"). */
export function downloadKeyFile(sealed: string, fileName = 'medledger-patient-keys.json'): void {
  downloadBlob(new Blob([sealed], { type: 'application/json' }), fileName);
}

/** Offers bytes as a file download. */
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
