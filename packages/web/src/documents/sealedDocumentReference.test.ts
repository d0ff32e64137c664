import { describe, expect, it } from 'vitest';
import {
  cleanTitle,
  fromDocumentReference,
  SEALED_CONTENT_TYPE,
  toDocumentReference,
} from './sealedDocumentReference';

describe('encrypted uploads as DocumentReferences', () => {
  it('carries ciphertext and what decrypting needs, and reads back the same', () => {
    const upload = {
      envelope: new Uint8Array(70_000).map((_, i) => i % 256),
      wrappedKey: new Uint8Array([1, 2, 3]),
      recordId: 'rec-1',
      mediaType: 'image/png',
      title: 'Knee X-ray',
      size: 69_000,
    };
    const resource = toDocumentReference(upload, 'p1', new Date('2026-01-02T03:04:05Z'));
    expect(resource.subject).toEqual({ reference: 'Patient/p1' });
    expect(resource.content[0]!.attachment.contentType).toBe(SEALED_CONTENT_TYPE);
    expect(fromDocumentReference(resource)).toEqual({ ...upload, date: '2026-01-02T03:04:05.000Z' });
  });

  it('ignores other documents and cleans titles', () => {
    expect(
      fromDocumentReference({
        resourceType: 'DocumentReference',
        status: 'current',
        content: [{ attachment: { contentType: 'text/plain', data: 'aGk=' } }],
      }),
    ).toBeUndefined();
    expect(cleanTitle('  a\u0000b ', 'x')).toBe('a b');
    expect(cleanTitle('', 'scan.pdf')).toBe('scan.pdf');
  });
});
