/**
 * Reads an `application/x-www-form-urlencoded` request body from a raw node request, with a size limit.
 * The interaction pages post small forms; anything else is refused rather than buffered.
 */
import type { IncomingMessage } from 'node:http';

export const FORM_LIMIT_BYTES = 16 * 1024;

/** The parsed form, or undefined when the body is not a form or is too large. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' || !req.readable) return undefined;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > FORM_LIMIT_BYTES) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  // Stopping early must not destroy the socket: the refusal still has to be answered on it.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > FORM_LIMIT_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
