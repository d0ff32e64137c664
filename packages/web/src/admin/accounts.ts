/**
 * The administrator's account rules, as the node applies them (POST /admin/accounts and friends): the roles an
 * organisation creates, what each form field must hold, the body sent for a patient with a one-time
 * activation code (the patient sets their own password) or — on a node without activation codes — with an
 * initial password, and the node's answers turned into messages next to the field they concern.
 */
import { ApiError, type OperationOutcomeIssue } from '../api/client';

export const ROLE_LABELS = {
  doctor: 'Doctor',
  nurse: 'Nurse',
  lab: 'Lab technician',
  pharmacist: 'Pharmacist',
  insurer: 'Insurer agent',
  researcher: 'Researcher',
  auditor: 'Auditor',
  admin: 'Administrator',
  patient: 'Patient',
} as const;

export type AccountRole = keyof typeof ROLE_LABELS;

export interface AdminAccount {
  id: string;
  username: string;
  displayName: string;
  role: AccountRole;
  organisation?: number | string;
  memberAddress?: string;
  custodialMemberKey?: boolean;
  patient?: string;
  disabled: boolean;
  hasPassword?: boolean;
  secondFactors: { totp: boolean; webauthn: number };
  createdAt?: string;
}

/** The second factors an account has, in words ("none" while a TOTP enrolment awaits its first sign-in). */
export function secondFactorText(f: AdminAccount['secondFactors'] | undefined): string {
  const parts = [
    ...(f?.totp ? ['authenticator app'] : []),
    ...(f && f.webauthn > 0 ? [`${f.webauthn} passkey${f.webauthn === 1 ? '' : 's'}`] : []),
  ];
  return parts.length > 0 ? parts.join(', ') : 'none';
}

export interface NewAccountForm {
  role: AccountRole;
  username: string;
  displayName: string;
  /** Staff always; patients only on a node without activation codes. */
  password: string;
  given: string;
  family: string;
  birthDate: string;
  gender: '' | 'female' | 'male' | 'other' | 'unknown';
}

export const EMPTY_ACCOUNT: NewAccountForm = {
  role: 'doctor',
  username: '',
  displayName: '',
  password: '',
  given: '',
  family: '',
  birthDate: '',
  gender: '',
};

export const PASSWORD_MIN_LENGTH = 12;
const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/;

export type FormErrors = Partial<Record<keyof NewAccountForm, string>>;

/** What to correct before sending; `passwordNeeded` when the node will not issue an activation code. */
export function accountFormErrors(f: NewAccountForm, passwordNeeded: boolean): FormErrors {
  const e: FormErrors = {};
  if (!USERNAME.test(f.username.trim())) {
    e.username = 'Use 1–64 letters, digits or . _ @ - (no spaces), e.g. dr.grey.';
  }
  if (f.displayName.trim().length === 0)
    e.displayName = 'Enter the name people will see, e.g. Dr Meredith Grey.';
  else if (f.displayName.trim().length > 200) e.displayName = 'Keep the name under 200 characters.';
  const needsPassword = f.role !== 'patient' || passwordNeeded;
  if (needsPassword) {
    if (f.password.length < PASSWORD_MIN_LENGTH) {
      e.password = `Use at least ${PASSWORD_MIN_LENGTH} characters: a passphrase of a few words is best.`;
    } else if (f.username && f.password.toLowerCase().includes(f.username.trim().toLowerCase())) {
      e.password = 'The password must not contain the username.';
    }
  }
  if (f.role === 'patient') {
    if (f.family.trim().length === 0) e.family = 'Enter the family name as on the identity document.';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(f.birthDate)) e.birthDate = 'Enter the date of birth, e.g. 1970-01-31.';
    else if (f.birthDate > new Date().toISOString().slice(0, 10))
      e.birthDate = 'The date of birth is in the future.';
  }
  return e;
}

/** The body of POST /admin/accounts. */
export function accountBody(f: NewAccountForm, mode: 'activation' | 'password'): Record<string, unknown> {
  const base = { role: f.role, username: f.username.trim(), displayName: f.displayName.trim() };
  if (f.role !== 'patient') return { ...base, password: f.password };
  const demographics = {
    name: [{ family: f.family.trim(), ...(f.given.trim() ? { given: f.given.trim().split(/\s+/) } : {}) }],
    birthDate: f.birthDate,
    ...(f.gender ? { gender: f.gender } : {}),
  };
  return mode === 'activation'
    ? { ...base, activation: true, demographics }
    : { ...base, password: f.password, demographics };
}

/**
 * Whether the node refused a patient without a password because it issues no activation codes (its answer
 * names the `password` field): then the form asks for an initial password instead.
 */
export function activationUnsupported(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    error.status === 400 &&
    error.issues.some((i) => i.expression?.includes('password') || /password/.test(i.diagnostics ?? ''))
  );
}

const FIELD_OF: Record<string, keyof NewAccountForm> = {
  username: 'username',
  displayName: 'displayName',
  password: 'password',
  role: 'role',
  'demographics.birthDate': 'birthDate',
  'demographics.name': 'family',
};

/** A 400 naming a field becomes that field's message; anything else stays a general error. */
export function fieldErrorsOf(error: unknown): FormErrors | undefined {
  if (!(error instanceof ApiError) || (error.status !== 400 && error.status !== 409)) return undefined;
  const out: FormErrors = {};
  for (const issue of error.issues as OperationOutcomeIssue[]) {
    const field = FIELD_OF[issue.expression?.[0] ?? ''];
    if (field && issue.diagnostics) out[field] = sentence(issue.diagnostics.replace(/^[\w.]+: /, ''));
  }
  if (error.status === 409 && /username/.test(error.issues[0]?.diagnostics ?? '')) {
    out.username = 'This username is taken: choose another.';
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const sentence = (s: string) => `${s.charAt(0).toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}`;

/** The node's refusal to disable the last administrator, said plainly. */
export function disableRefusal(error: unknown): string | undefined {
  if (
    error instanceof ApiError &&
    error.status === 409 &&
    /last enabled administrator/.test(error.issues[0]?.diagnostics ?? '')
  ) {
    return 'This is the last administrator who can run this node: it cannot be disabled. Create or enable another administrator first.';
  }
  if (
    error instanceof ApiError &&
    error.status === 403 &&
    /re-enabled by another/.test(error.issues[0]?.diagnostics ?? '')
  ) {
    return 'You cannot re-enable your own account: another administrator does it.';
  }
  return undefined;
}

/** What the node answers for a patient created with an activation code (the activation branch's shape). */
export interface Activation {
  code: string;
  link?: string;
  expiresAt?: string;
}

export function activationOf(answer: unknown): Activation | undefined {
  const a = (answer as { activation?: Partial<Activation> } | undefined)?.activation;
  return a && typeof a.code === 'string'
    ? {
        code: a.code,
        ...(a.link ? { link: a.link } : {}),
        ...(a.expiresAt ? { expiresAt: a.expiresAt } : {}),
      }
    : undefined;
}
