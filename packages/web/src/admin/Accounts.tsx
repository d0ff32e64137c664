/**
 * The administrator's accounts: the list (GET /admin/accounts), creating practitioners, staff and patients
 * (POST /admin/accounts), second-factor enrolment shown as a QR code and as text
 * (POST /admin/accounts/:id/totp), and disabling / enabling (the node refuses to disable the last
 * administrator; the message says so plainly).
 *
 * Patients: the node is asked for a one-time activation code (the patient sets their own password and second
 * factor at /app/activate); a node that issues none answers 400 naming the password, and the form then asks
 * for an initial password instead. "Reset" with today's API: a new TOTP enrolment (replaces the factor at the
 * person's next sign-in) and disable / enable; a password reset by the administrator does not exist (by
 * design the administrator never knows a person's password).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api } from '../api/client';
import { ScrollRegion } from '../auditor/ScrollRegion';
import { useSignedIn } from '../auth/SessionProvider';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import {
  type AccountRole,
  type Activation,
  type AdminAccount,
  accountBody,
  accountFormErrors,
  activationOf,
  activationUnsupported,
  disableRefusal,
  EMPTY_ACCOUNT,
  type FormErrors,
  fieldErrorsOf,
  type NewAccountForm,
  ROLE_LABELS,
  secondFactorText,
} from './accounts';
import { parseOtpAuth } from './otpauth';
import { QrCode } from './QrCode';

const ACCOUNTS = ['admin-accounts'] as const;

interface Enrolment {
  account: AdminAccount;
  otpauthUri: string;
}

export function Accounts() {
  const [includeDisabled, setIncludeDisabled] = useState(true);
  const [enrolment, setEnrolment] = useState<Enrolment | undefined>();
  const accounts = useQuery({
    queryKey: [...ACCOUNTS, includeDisabled],
    queryFn: ({ signal }) =>
      api<{ accounts: AdminAccount[] }>(`/admin/accounts?includeDisabled=${includeDisabled}`, { signal }),
  });
  return (
    <section className="page" aria-labelledby="accounts-title">
      <h1 id="accounts-title">Accounts</h1>
      {enrolment ? <TotpEnrolment enrolment={enrolment} onDone={() => setEnrolment(undefined)} /> : null}
      <CreateAccount onEnrol={setEnrolment} />
      <section className="card no-print" aria-labelledby="people-title">
        <h2 id="people-title">People at this organisation</h2>
        <div className="check">
          <input
            id="include-disabled"
            type="checkbox"
            checked={includeDisabled}
            onChange={(e) => setIncludeDisabled(e.target.checked)}
          />
          <label htmlFor="include-disabled">Show disabled accounts</label>
        </div>
        {accounts.isPending ? <Progress label="Loading accounts…" /> : null}
        {accounts.isError ? (
          <ErrorNotice error={accounts.error} onRetry={() => void accounts.refetch()} />
        ) : null}
        {accounts.data ? <AccountTable accounts={accounts.data.accounts} onEnrol={setEnrolment} /> : null}
      </section>
      <section className="card no-print" aria-labelledby="reset-title">
        <h2 id="reset-title">Resetting an account</h2>
        <ul>
          <li>
            <strong>Lost authenticator:</strong> “New second factor” starts a fresh TOTP enrolment; the person
            scans the new code and their next sign-in with it replaces the old one.
          </li>
          <li>
            <strong>Left, or compromised:</strong> “Disable” stops every sign-in and token at once; another
            administrator can enable the account again.
          </li>
          <li>
            <strong>Forgotten password:</strong> not possible from here — administrators never set or learn a
            person’s password. A patient gets a new activation code at the desk once the node issues them; for
            staff, the node has no password-reset route yet.
          </li>
        </ul>
      </section>
    </section>
  );
}

function AccountTable({ accounts, onEnrol }: { accounts: AdminAccount[]; onEnrol: (e: Enrolment) => void }) {
  const me = useSignedIn();
  const client = useQueryClient();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>();
  const [error, setError] = useState<unknown>();
  const act = useMutation({
    mutationFn: async ({ account, what }: { account: AdminAccount; what: 'disable' | 'enable' | 'totp' }) => {
      const answer = await api<{ otpauthUri?: string }>(`/admin/accounts/${account.id}/${what}`, {
        method: 'POST',
      });
      return { account, what, answer };
    },
    onMutate: () => {
      setMessage(undefined);
      setError(undefined);
    },
    onSuccess: ({ account, what, answer }) => {
      if (what === 'totp' && answer.otpauthUri) onEnrol({ account, otpauthUri: answer.otpauthUri });
      else
        setMessage({
          ok: true,
          text: `${account.displayName} is ${what === 'disable' ? 'disabled' : 'enabled'}.`,
        });
      void client.invalidateQueries({ queryKey: ACCOUNTS });
    },
    onError: (e) => {
      const refusal = disableRefusal(e);
      if (refusal) setMessage({ ok: false, text: refusal });
      else setError(e);
    },
  });
  return (
    <>
      <div aria-live="polite">
        {message ? (
          <p
            className={message.ok ? 'notice notice-ok' : 'notice notice-warn'}
            role={message.ok ? 'status' : 'alert'}
          >
            {message.text}
          </p>
        ) : null}
      </div>
      {error ? <ErrorNotice error={error} /> : null}
      {act.isPending ? <Progress label="Saving…" /> : null}
      <ScrollRegion label="Accounts table">
        <table>
          <caption className="visually-hidden">Accounts</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Second factor</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {accounts.map((a) => (
              <tr key={a.id}>
                <td>
                  {a.displayName}
                  <br />
                  <span className="hint">{a.username}</span>
                </td>
                <td>{ROLE_LABELS[a.role] ?? a.role}</td>
                <td>{secondFactorText(a.secondFactors)}</td>
                <td>{a.disabled ? <span className="tag tag-alert">disabled</span> : 'active'}</td>
                <td>
                  <div className="row-actions">
                    {!a.disabled && a.role !== 'patient' ? (
                      <button
                        type="button"
                        onClick={() => act.mutate({ account: a, what: 'totp' })}
                        disabled={act.isPending}
                        aria-label={`New second factor for ${a.displayName}`}
                      >
                        New second factor
                      </button>
                    ) : null}
                    {a.disabled ? (
                      <button
                        type="button"
                        onClick={() => act.mutate({ account: a, what: 'enable' })}
                        disabled={act.isPending || a.id === me.id}
                        aria-label={`Enable ${a.displayName}`}
                      >
                        Enable
                      </button>
                    ) : (
                      <button
                        type="button"
                        className="danger"
                        onClick={() => {
                          if (
                            window.confirm(
                              `Disable ${a.displayName}? Their sign-ins and tokens stop at once.`,
                            )
                          ) {
                            act.mutate({ account: a, what: 'disable' });
                          }
                        }}
                        disabled={act.isPending}
                        aria-label={`Disable ${a.displayName}`}
                      >
                        Disable
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
    </>
  );
}

type Created =
  | { kind: 'staff'; account: AdminAccount }
  | { kind: 'patient-activation'; account: AdminAccount; activation: Activation }
  | { kind: 'patient-password'; account: AdminAccount };

function CreateAccount({ onEnrol }: { onEnrol: (e: Enrolment) => void }) {
  const client = useQueryClient();
  const [form, setForm] = useState<NewAccountForm>(EMPTY_ACCOUNT);
  const [errors, setErrors] = useState<FormErrors>({});
  /** The node issues no activation codes: patients get an initial password. */
  const [passwordMode, setPasswordMode] = useState(false);
  const [created, setCreated] = useState<Created | undefined>();
  const create = useMutation({
    mutationFn: (mode: 'activation' | 'password') =>
      api<{ account: AdminAccount; activation?: unknown }>('/admin/accounts', {
        method: 'POST',
        json: accountBody(form, mode),
      }),
    onSuccess: (answer) => {
      const activation = activationOf(answer);
      setCreated(
        form.role !== 'patient'
          ? { kind: 'staff', account: answer.account }
          : activation
            ? { kind: 'patient-activation', account: answer.account, activation }
            : { kind: 'patient-password', account: answer.account },
      );
      setForm({ ...EMPTY_ACCOUNT, role: form.role });
      void client.invalidateQueries({ queryKey: ACCOUNTS });
    },
    onError: (e) => {
      if (form.role === 'patient' && !passwordMode && activationUnsupported(e)) {
        setPasswordMode(true);
        setErrors({
          password: 'This node does not issue activation codes yet: set an initial password for the patient.',
        });
        create.reset();
        return;
      }
      const fields = fieldErrorsOf(e);
      if (fields) {
        setErrors(fields);
        create.reset();
      }
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setCreated(undefined);
    const found = accountFormErrors(form, passwordMode);
    setErrors(found);
    if (Object.keys(found).length === 0)
      create.mutate(form.role === 'patient' && !passwordMode ? 'activation' : 'password');
  };
  const set = <K extends keyof NewAccountForm>(key: K, value: NewAccountForm[K]) =>
    setForm({ ...form, [key]: value });
  const patient = form.role === 'patient';
  const enrol = useMutation({
    mutationFn: (account: AdminAccount) =>
      api<{ otpauthUri: string }>(`/admin/accounts/${account.id}/totp`, { method: 'POST' }),
    onSuccess: (answer, account) => {
      onEnrol({ account, otpauthUri: answer.otpauthUri });
      setCreated(undefined);
    },
  });

  return (
    <section className="card" aria-labelledby="create-title">
      <h2 id="create-title" className="no-print">
        Create an account
      </h2>
      {created?.kind === 'patient-activation' ? (
        <ActivationSlip account={created.account} activation={created.activation} />
      ) : null}
      {created?.kind === 'staff' ? (
        <div className="notice notice-ok" role="status">
          <p>
            {created.account.displayName} ({ROLE_LABELS[created.account.role]}) can now be given their second
            factor: clinicians, auditors and administrators cannot sign in without one.
          </p>
          <button
            type="button"
            className="primary"
            onClick={() => enrol.mutate(created.account)}
            disabled={enrol.isPending}
          >
            Enrol their second factor
          </button>
          {enrol.isPending ? <Progress label="Starting the enrolment…" /> : null}
          {enrol.isError ? <ErrorNotice error={enrol.error} /> : null}
        </div>
      ) : null}
      {created?.kind === 'patient-password' ? (
        <p className="notice notice-ok" role="status">
          {created.account.displayName}’s account is ready. Hand the initial password over in person; the
          patient signs in with their username {created.account.username} and should change it.
        </p>
      ) : null}
      <form onSubmit={submit} noValidate className="no-print">
        <Field label="Role" hint="Practitioners get an on-chain member account held by this node.">
          <select value={form.role} onChange={(e) => set('role', e.target.value as AccountRole)}>
            {Object.entries(ROLE_LABELS).map(([role, label]) => (
              <option key={role} value={role}>
                {label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Username" hint="What they type to sign in." error={errors.username}>
          <input value={form.username} onChange={(e) => set('username', e.target.value)} autoComplete="off" />
        </Field>
        <Field label="Display name" error={errors.displayName}>
          <input
            value={form.displayName}
            onChange={(e) => set('displayName', e.target.value)}
            autoComplete="off"
          />
        </Field>
        {patient ? (
          <fieldset className="choices">
            <legend>Identity, as checked on the patient’s document</legend>
            <Field label="Given names" error={errors.given}>
              <input value={form.given} onChange={(e) => set('given', e.target.value)} autoComplete="off" />
            </Field>
            <Field label="Family name" error={errors.family}>
              <input value={form.family} onChange={(e) => set('family', e.target.value)} autoComplete="off" />
            </Field>
            <Field label="Date of birth" error={errors.birthDate}>
              <input type="date" value={form.birthDate} onChange={(e) => set('birthDate', e.target.value)} />
            </Field>
            <Field label="Gender" error={errors.gender}>
              <select
                value={form.gender}
                onChange={(e) => set('gender', e.target.value as NewAccountForm['gender'])}
              >
                <option value="">Not stated</option>
                <option value="female">Female</option>
                <option value="male">Male</option>
                <option value="other">Other</option>
                <option value="unknown">Unknown</option>
              </select>
            </Field>
          </fieldset>
        ) : null}
        {!patient || passwordMode ? (
          <Field
            label={patient ? 'Initial password' : 'Password'}
            hint={
              patient
                ? 'It also seals the patient’s keys. At least 12 characters; hand it over in person.'
                : 'At least 12 characters, not containing the username; hand it over in person.'
            }
            error={errors.password}
          >
            <input
              type="password"
              value={form.password}
              onChange={(e) => set('password', e.target.value)}
              autoComplete="new-password"
            />
          </Field>
        ) : (
          <p className="hint">
            The patient gets a one-time activation code to set their own password and second factor: nobody
            else ever knows them.
          </p>
        )}
        <div className="actions">
          <button type="submit" className="primary" disabled={create.isPending}>
            Create the account
          </button>
        </div>
        {create.isPending ? (
          <Progress
            label={
              patient
                ? 'Creating the account and the patient’s record…'
                : 'Creating the account and registering the member on the chain…'
            }
          />
        ) : null}
        {create.isError ? <ErrorNotice error={create.error} /> : null}
      </form>
    </section>
  );
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState<string | undefined>();
  return (
    <>
      <button
        type="button"
        onClick={() =>
          navigator.clipboard.writeText(text).then(
            () => setCopied('Copied.'),
            () => setCopied('Copying is not allowed here: select the text and copy it.'),
          )
        }
      >
        {label}
      </button>
      <span role="status" className="hint">
        {copied ?? ''}
      </span>
    </>
  );
}

function ActivationSlip({ account, activation }: { account: AdminAccount; activation: Activation }) {
  return (
    <div className="card printable activation-slip" role="status">
      <h3>Activation for {account.displayName}</h3>
      <p>
        Give this to the patient in person. It works once
        {activation.expiresAt ? ` until ${new Date(activation.expiresAt).toLocaleString()}` : ''}.
      </p>
      <dl className="facts">
        <dt>Username</dt>
        <dd className="mono">{account.username}</dd>
        <dt>Activation code</dt>
        <dd className="mono big">{activation.code}</dd>
        {activation.link ? (
          <>
            <dt>Or open</dt>
            <dd className="mono">{activation.link}</dd>
          </>
        ) : null}
      </dl>
      <p>
        The patient opens the link (or this app’s “Activate” page and types the code), then sets their own
        password and second factor.
      </p>
      <div className="actions no-print">
        <CopyButton text={activation.code} label="Copy the code" />
        {activation.link ? <CopyButton text={activation.link} label="Copy the link" /> : null}
        <button type="button" onClick={() => window.print()}>
          Print
        </button>
      </div>
    </div>
  );
}

function TotpEnrolment({ enrolment, onDone }: { enrolment: Enrolment; onDone: () => void }) {
  const otp = parseOtpAuth(enrolment.otpauthUri);
  return (
    <section className="card printable totp" aria-labelledby="totp-title">
      <h2 id="totp-title">Second factor for {enrolment.account.displayName}</h2>
      <p>
        Show this to {enrolment.account.displayName} only. They scan the code with an authenticator app; their
        next sign-in with a current code completes the enrolment.
      </p>
      <div className="totp-body">
        <QrCode
          value={enrolment.otpauthUri}
          label={`QR code of the authenticator set-up for ${enrolment.account.username}`}
        />
        <div>
          {otp ? (
            <dl className="facts">
              <dt>Cannot scan? Type this key</dt>
              <dd className="mono big" data-testid="totp-secret">
                {otp.grouped}
              </dd>
              <dt>Account</dt>
              <dd>{otp.label}</dd>
              <dt>Type</dt>
              <dd>
                Time-based, {otp.digits} digits, every {otp.period} seconds ({otp.algorithm})
              </dd>
            </dl>
          ) : (
            <p className="mono">{enrolment.otpauthUri}</p>
          )}
          <div className="actions no-print">
            {otp ? <CopyButton text={otp.secret} label="Copy the key" /> : null}
            <button type="button" className="primary" onClick={onDone}>
              Done
            </button>
          </div>
        </div>
      </div>
    </section>
  );
}
