/**
 * Just enough of a browser to walk the sign-in flow over real HTTP: fetch with manual redirects, a cookie jar
 * honouring Path and Max-Age, and helpers to read the forms of the login and consent pages. Plus PKCE.
 */
import { createHash, randomBytes } from 'node:crypto';

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expires?: number;
}

export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();

  store(response: Response, requestUrl: string): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      let path = new URL(requestUrl).pathname.replace(/\/[^/]*$/, '') || '/';
      let expires: number | undefined;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k!.toLowerCase();
        if (key === 'path') path = v;
        if (key === 'max-age') expires = Date.now() + Number(v) * 1000;
        if (key === 'expires' && expires === undefined) expires = Date.parse(v);
      }
      const id = `${name};${path}`;
      if (value === '' || (expires !== undefined && expires <= Date.now())) this.#cookies.delete(id);
      else this.#cookies.set(id, { name, value, path, ...(expires === undefined ? {} : { expires }) });
    }
  }

  header(url: string): string | undefined {
    const path = new URL(url).pathname;
    const now = Date.now();
    const matching = [...this.#cookies.values()]
      .filter(
        (c) =>
          (c.expires === undefined || c.expires > now) &&
          (path === c.path || path.startsWith(`${c.path.replace(/\/$/, '')}/`) || c.path === '/'),
      )
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  clear(): void {
    this.#cookies.clear();
  }
}

export class Browser {
  readonly jar = new CookieJar();

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    const cookie = this.jar.header(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    this.jar.store(response, url);
    return response;
  }

  get(url: string): Promise<Response> {
    return this.request(url);
  }

  post(url: string, form: Record<string, string>): Promise<Response> {
    return this.request(url, { method: 'POST', form });
  }
}

/** The location a redirect points to, resolved against the request URL. */
export function location(response: Response, from: string): string {
  const to = response.headers.get('location');
  if (!to) throw new Error(`expected a redirect, got ${response.status}`);
  return new URL(to, from).href;
}

/** Action URLs of the forms on a page. */
export function formActions(html: string): string[] {
  return [...html.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}
