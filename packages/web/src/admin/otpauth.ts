/**
 * An otpauth:// URI (Key Uri Format, as authenticator apps read it from a QR code) taken apart for the person
 * enrolling: the secret in groups of four to type by hand, and the account label, issuer and parameters.
 */
export interface OtpAuth {
  label: string;
  issuer?: string;
  secret: string;
  /** The secret in groups of four, for typing. */
  grouped: string;
  algorithm: string;
  digits: number;
  period: number;
}

export function parseOtpAuth(uri: string): OtpAuth | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'otpauth:' || url.host !== 'totp') return undefined;
  const secret = (url.searchParams.get('secret') ?? '').toUpperCase();
  if (!/^[A-Z2-7]+=*$/.test(secret)) return undefined;
  const issuer = url.searchParams.get('issuer') ?? undefined;
  return {
    label: decodeURIComponent(url.pathname.replace(/^\//, '')),
    ...(issuer ? { issuer } : {}),
    secret,
    grouped: secret.replace(/=+$/, '').replace(/(.{4})(?=.)/g, '$1 '),
    algorithm: url.searchParams.get('algorithm') ?? 'SHA1',
    digits: Number(url.searchParams.get('digits') ?? 6),
    period: Number(url.searchParams.get('period') ?? 30),
  };
}
