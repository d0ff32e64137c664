/**
 * How an upload encrypted in the browser is stored at the node: a FHIR DocumentReference about the patient
 * whose one attachment is the sealed record envelope (contentType SEALED_CONTENT_TYPE, base64 data), with what
 * decrypting needs beside it as extensions — the category key wrapped to the patient, the record id bound
 * into the envelope, the original media type — and the title and date in the clear, so the list can be shown
 * before anything is unlocked. The node stores and serves it like any record (sealed again at rest).
 *
 * Limits: the title, size and date are readable by whoever may read the patient's Documents (the
 * organisation, grantees); the content is not.
 */

export const SEALED_CONTENT_TYPE = 'application/vnd.medledger.sealed-record';
export const WRAPPED_KEY_EXTENSION = 'urn:medledger:sealed-document:wrapped-key';
export const RECORD_ID_EXTENSION = 'urn:medledger:sealed-document:record-id';
export const MEDIA_TYPE_EXTENSION = 'urn:medledger:sealed-document:media-type';

export interface SealedUpload {
  envelope: Uint8Array;
  wrappedKey: Uint8Array;
  recordId: string;
  mediaType: string;
  title: string;
  /** The original file's size in bytes. */
  size: number;
}

export interface DocumentReferenceJson {
  [key: string]: unknown;
  resourceType: 'DocumentReference';
  id?: string;
  status: string;
  date?: string;
  description?: string;
  subject?: { reference?: string };
  type?: { text?: string };
  extension?: { url: string; valueString?: string; valueBase64Binary?: string }[];
  content: {
    attachment: { contentType?: string; data?: string; title?: string; size?: number; creation?: string };
  }[];
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** A title a person typed, or the file's name: printable, at most 200 characters. */
export function cleanTitle(title: string, fallback: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const t = title.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return (t || fallback || 'Document').slice(0, 200);
}

/** The DocumentReference that stores an upload for `patientId`. */
export function toDocumentReference(
  upload: SealedUpload,
  patientId: string,
  now = new Date(),
): DocumentReferenceJson {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    date: now.toISOString(),
    description: upload.title,
    subject: { reference: `Patient/${patientId}` },
    type: { text: 'Uploaded by the patient (encrypted)' },
    extension: [
      { url: WRAPPED_KEY_EXTENSION, valueBase64Binary: bytesToBase64(upload.wrappedKey) },
      { url: RECORD_ID_EXTENSION, valueString: upload.recordId },
      { url: MEDIA_TYPE_EXTENSION, valueString: upload.mediaType || 'application/octet-stream' },
    ],
    content: [
      {
        attachment: {
          contentType: SEALED_CONTENT_TYPE,
          data: bytesToBase64(upload.envelope),
          title: upload.title,
          size: upload.size,
          creation: now.toISOString(),
        },
      },
    ],
  };
}

/** An encrypted upload read back from its DocumentReference; undefined for any other document. */
export function fromDocumentReference(
  resource: DocumentReferenceJson,
): (SealedUpload & { date?: string }) | undefined {
  const attachment = resource.content?.[0]?.attachment;
  if (attachment?.contentType !== SEALED_CONTENT_TYPE || typeof attachment.data !== 'string')
    return undefined;
  const ext = (url: string) => resource.extension?.find((e) => e.url === url);
  const wrapped = ext(WRAPPED_KEY_EXTENSION)?.valueBase64Binary;
  const recordId = ext(RECORD_ID_EXTENSION)?.valueString;
  if (!wrapped || !recordId) return undefined;
  return {
    envelope: base64ToBytes(attachment.data),
    wrappedKey: base64ToBytes(wrapped),
    recordId,
    mediaType: ext(MEDIA_TYPE_EXTENSION)?.valueString ?? 'application/octet-stream',
    title: attachment.title ?? resource.description ?? 'Document',
    size: attachment.size ?? 0,
    ...(resource.date ? { date: resource.date } : {}),
  };
}
