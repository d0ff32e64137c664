/**
 * The activation form's pure rules: the code from the link's fragment (`#code=…`, never sent to a server) or
 * as typed, the password checks the node will make (identity's policy: length, not repetitive or sequential,
 * not the username) said next to the field before anything is sent, and the setup key of an otpauth:// URI
 * for people who type it into their authenticator app. The node's checks stay the authority.
 */

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/** The activation code in a location fragment (`#code=ABCD-…`), if any. */
export function codeFromFragment(hash: string): string | undefined {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const code = params.get('code')?.trim();
  return code ? code : undefined;
}

/** Whether a typed code has the shape of one (26 base32 characters; case, spaces and dashes ignored). */
export function looksLikeCode(code: string): boolean {
  const folded = code.toUpperCase().replace(/[\s-]/g, '');
  return /^[0-9A-Z]{26}$/.test(folded);
}

/** What to change about a chosen password, or undefined when it meets the policy as far as the app can tell. */
export function passwordProblem(password: string, username?: string): string | undefined {
  const chars = [...password.normalize('NFKC')];
  if (chars.length < PASSWORD_MIN_LENGTH) {
    return `Use at least ${PASSWORD_MIN_LENGTH} characters (${chars.length} so far). A few unrelated words work well.`;
  }
  if (chars.length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (new Set(chars).size < 4) return 'Use more different characters: this one repeats too much.';
  const points = chars.map((c) => c.codePointAt(0)!);
  const step = points[1]! - points[0]!;
  if ((step === 1 || step === -1) && points.every((p, i) => i === 0 || p - points[i - 1]! === step)) {
    return 'Avoid runs like “abcdef” or “123456”.';
  }
  const folded = password.normalize('NFKC').toLowerCase();
  if (username && username.length >= 4 && folded.includes(username.toLowerCase())) {
    return 'Do not include your username.';
  }
  return undefined;
}

/** The second password must repeat the first. */
export function confirmationProblem(password: string, confirmation: string): string | undefined {
  return confirmation && confirmation !== password
    ? 'The two passwords differ: type the same one twice.'
    : undefined;
}

/** The base32 setup key of an otpauth:// URI, in groups of four for typing. */
export function setupKeyOf(otpauthUri: string): string | undefined {
  try {
    const secret = new URL(otpauthUri).searchParams.get('secret');
    return secret ? (secret.match(/.{1,4}/g) ?? []).join(' ') : undefined;
  } catch {
    return undefined;
  }
}
