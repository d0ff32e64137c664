/**
 * The server-rendered pages of the sign-in flow: login, consent, logout and errors. Plain HTML forms, no
 * script at all; every interpolated value is HTML-escaped; one stylesheet whose hash the Content-Security-Policy
 * names, so nothing else can run or load. The look is deliberately minimal: the node's web UI can replace
 * these pages (see docs/oidc.md).
 */
import { createHash } from 'node:crypto';

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#222}' +
  'h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}' +
  'input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}' +
  'button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem}.error{color:#a00}ul{padding-left:1.2rem}';

/** Content-Security-Policy for every page: no scripts, no external loads, no framing. */
export const PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'`;

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>`;
}

/**
 * Where the node's web app runs the passkey (WebAuthn) sign-in for an interaction: navigator.credentials needs
 * script, which these pages never carry, so the login page links there.
 */
export const PASSKEY_SIGN_IN_PATH = '/app/signin/passkey';

export function loginPage(input: {
  action: string;
  clientName: string;
  username?: string;
  error?: string;
  /** The interaction, for the "Sign in with a passkey" link to the web app (none without it). */
  uid?: string;
}): string {
  const passkey = input.uid
    ? `\n<p><a href="${escapeHtml(`${PASSKEY_SIGN_IN_PATH}?uid=${encodeURIComponent(input.uid)}`)}">Sign in with a passkey</a></p>`
    : '';
  const error = input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : '';
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${error}
<form method="post" action="${escapeHtml(input.action)}" autocomplete="off">
<label for="username">Username</label>
<input id="username" name="username" required autofocus value="${escapeHtml(input.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<label for="otp">One-time code (if your account uses one)</label>
<input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code">
<button type="submit">Sign in</button>
</form>${passkey}`,
  );
}

export function consentPage(input: {
  action: string;
  abortAction: string;
  clientName: string;
  scopes: readonly string[];
  withheld: readonly string[];
}): string {
  const list = (scopes: readonly string[]) =>
    `<ul>${scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>`;
  const withheld = input.withheld.length
    ? `<p>Not available to your account, and not granted:</p>${list(input.withheld)}`
    : '';
  return layout(
    'Allow access',
    `<h1>Allow access</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> asks for:</p>
${list(input.scopes)}
${withheld}
<form method="post" action="${escapeHtml(input.action)}"><button type="submit">Allow</button></form>
<form method="post" action="${escapeHtml(input.abortAction)}"><button type="submit">Deny</button></form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}

/** oidc-provider's logout confirmation; `form` is its own markup (a form with a hidden xsrf field). */
export function logoutPage(form: string): string {
  return layout(
    'Sign out',
    `<h1>Sign out?</h1>
${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>
<button type="submit" form="op.logoutForm">Stay signed in</button>`,
  );
}
