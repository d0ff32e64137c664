/**
 * The rest-hook channel: POSTing a notification Bundle to the subscriber's endpoint.
 *
 * Which endpoints: only http(s) URLs whose host is on the node's allow-list (MEDLEDGER_REST_HOOK_HOSTS, entries
 * `host` or `host:port`, compared with the URL's host exactly; empty by default, which refuses every rest-hook).
 * Without it a client could make the node send requests to services on its internal network. Names on the list
 * are trusted as the operator resolved them; redirects are never followed (a 3xx is a failed delivery).
 *
 * How: `application/fhir+json`, the subscription's own `channel.header` lines, a timeout of the subscription's
 * `backport-timeout` (default 10 s), success on any 2xx. Failed deliveries are retried at most twice (after 1 s
 * and 4 s); then the subscription is in `error`.
 */

export function hookTargetAllowed(url: URL, allowList: readonly string[]): boolean {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowList.some((entry) => {
    const e = entry.toLowerCase();
    return e === host || e === `${host}:${port}` || e === `[${host}]` || e === `[${host}]:${port}`;
  });
}

export const RETRY_DELAYS_MS: readonly number[] = [1000, 4000];

/** One POST; true on a 2xx. Never throws. */
export async function postNotification(
  endpoint: string,
  bundle: unknown,
  headers: readonly string[],
  timeoutSeconds: number,
): Promise<boolean> {
  const h: Record<string, string> = { 'content-type': 'application/fhir+json' };
  for (const line of headers) {
    const i = line.indexOf(':');
    h[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: h,
      body: JSON.stringify(bundle),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.status >= 200 && res.status < 300;
  } catch {
    return false;
  }
}

/** POSTs with bounded retries; true once one attempt succeeded. */
export async function deliverWithRetries(
  send: () => Promise<boolean>,
  delays: readonly number[] = RETRY_DELAYS_MS,
): Promise<boolean> {
  if (await send()) return true;
  for (const ms of delays) {
    await new Promise((r) => setTimeout(r, ms).unref());
    if (await send()) return true;
  }
  return false;
}
