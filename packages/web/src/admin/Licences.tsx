/**
 * Practitioner licences as an administrator sees them (GET /admin/licences): each member account of this
 * organisation with its licence as the ConsortiumRegistry holds it (issuer, expiry, revocation). At a
 * regulator node the page also lists the licences it issued and has the forms to issue
 * (POST /admin/licences) and revoke (POST /admin/licences/:member/revoke) — both on-chain.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api } from '../api/client';
import { ScrollRegion } from '../auditor/ScrollRegion';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';

interface LicenceRow {
  member: string;
  account: { id: string; displayName: string; role: string } | null;
  name: string | null;
  issuer: number | null;
  issuedHere: boolean;
  issuedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  status: 'valid' | 'expired' | 'revoked' | 'none';
}

const LICENCES = ['admin-licences'] as const;
/** Roles whose clinical access needs a licence (auditors, insurers and researchers hold member accounts too). */
const LICENSED_ROLES = new Set(['doctor', 'nurse', 'lab', 'pharmacist']);
const day = (iso: string | null) => (iso ? new Date(iso).toLocaleDateString() : '—');

export function Licences() {
  const licences = useQuery({
    queryKey: LICENCES,
    queryFn: ({ signal }) =>
      api<{ regulator: boolean; licences: LicenceRow[] }>('/admin/licences', { signal }),
  });
  return (
    <section className="page" aria-labelledby="licences-title">
      <h1 id="licences-title">Licences</h1>
      <p className="lead">
        A practitioner reads patient data and breaks the glass only with a valid licence, issued on the chain
        by a regulator. This is what the chain holds for your members.
      </p>
      {licences.isPending ? <Progress label="Reading licences from the registry…" /> : null}
      {licences.isError ? (
        <ErrorNotice error={licences.error} onRetry={() => void licences.refetch()} />
      ) : null}
      {licences.data ? (
        <>
          {licences.data.licences.length === 0 ? (
            <p>No member accounts yet.</p>
          ) : (
            <ScrollRegion label="Licences table">
              <table>
                <caption className="visually-hidden">Licences</caption>
                <thead>
                  <tr>
                    <th scope="col">Practitioner</th>
                    <th scope="col">Status</th>
                    <th scope="col">Issuer</th>
                    <th scope="col">Expires</th>
                    {licences.data.regulator ? <th scope="col">Actions</th> : null}
                  </tr>
                </thead>
                <tbody>
                  {licences.data.licences.map((l) => (
                    <tr key={l.member}>
                      <td>
                        {l.account
                          ? `${l.account.displayName} (${l.account.role})`
                          : (l.name ?? 'a member elsewhere')}
                        <br />
                        <span className="hint mono">{l.member}</span>
                      </td>
                      <td>
                        {l.status === 'none' && l.account && !LICENSED_ROLES.has(l.account.role) ? (
                          <span className="hint">not needed for this role</span>
                        ) : (
                          <span className={l.status === 'valid' ? 'verified' : 'unverified'}>{l.status}</span>
                        )}
                        {l.revokedAt ? <span className="hint"> since {day(l.revokedAt)}</span> : null}
                      </td>
                      <td>
                        {l.issuer === null
                          ? '—'
                          : l.issuedHere
                            ? 'this regulator'
                            : `organisation ${l.issuer}`}
                      </td>
                      <td>{day(l.expiresAt)}</td>
                      {licences.data.regulator ? (
                        <td>
                          {l.issuedHere && l.status === 'valid' ? <RevokeButton member={l.member} /> : null}
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </ScrollRegion>
          )}
          {licences.data.regulator ? (
            <IssueLicence />
          ) : (
            <p className="hint">
              Licences are issued and revoked by a regulator’s administrators, at the regulator’s node.
            </p>
          )}
        </>
      ) : null}
    </section>
  );
}

function RevokeButton({ member }: { member: string }) {
  const client = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => api(`/admin/licences/${member}/revoke`, { method: 'POST' }),
    onSuccess: () => client.invalidateQueries({ queryKey: LICENCES }),
  });
  return (
    <>
      <button
        type="button"
        className="danger"
        disabled={revoke.isPending}
        onClick={() => {
          if (
            window.confirm(
              'Revoke this licence? The practitioner loses clinical access at once, on every node.',
            )
          )
            revoke.mutate();
        }}
        aria-label={`Revoke the licence of ${member}`}
      >
        Revoke
      </button>
      {revoke.isPending ? <Progress label="Revoking on the chain…" /> : null}
      {revoke.isError ? <ErrorNotice error={revoke.error} /> : null}
    </>
  );
}

const QUALIFICATIONS = [
  ['MD', 'Doctor of medicine'],
  ['RN', 'Registered nurse'],
  ['MT', 'Medical technologist'],
  ['PharmD', 'Pharmacist'],
] as const;

function IssueLicence() {
  const client = useQueryClient();
  const [member, setMember] = useState('');
  const [name, setName] = useState('');
  const [code, setCode] = useState<string>('MD');
  const [expires, setExpires] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const issue = useMutation({
    mutationFn: () =>
      api('/admin/licences', {
        method: 'POST',
        json: {
          member: member.trim(),
          name: name.trim(),
          qualification: {
            system: 'http://terminology.hl7.org/CodeSystem/v2-0360',
            code,
            display: QUALIFICATIONS.find(([c]) => c === code)?.[1],
          },
          expiresAt: new Date(`${expires}T23:59:59`).toISOString(),
        },
      }),
    onSuccess: () => {
      setMember('');
      setName('');
      void client.invalidateQueries({ queryKey: LICENCES });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const e: Record<string, string> = {};
    if (!/^0x[0-9a-fA-F]{40}$/.test(member.trim()))
      e.member = 'Enter the member’s address: 0x and 40 hex digits.';
    if (!name.trim()) e.name = 'Enter the practitioner’s name as registered.';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(expires) || expires <= new Date().toISOString().slice(0, 10)) {
      e.expires = 'Choose an expiry date in the future.';
    }
    setErrors(e);
    if (Object.keys(e).length === 0) issue.mutate();
  };
  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="issue-title">
      <h2 id="issue-title">Issue a licence</h2>
      <Field
        label="Member address"
        hint="The practitioner’s on-chain member account (their organisation’s admin sees it)."
        error={errors.member}
      >
        <input
          value={member}
          onChange={(e) => setMember(e.target.value)}
          autoComplete="off"
          className="mono"
        />
      </Field>
      <Field label="Name" error={errors.name}>
        <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
      </Field>
      <Field label="Qualification">
        <select value={code} onChange={(e) => setCode(e.target.value)}>
          {QUALIFICATIONS.map(([c, label]) => (
            <option key={c} value={c}>
              {label} ({c})
            </option>
          ))}
        </select>
      </Field>
      <Field label="Expires on" error={errors.expires}>
        <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
      </Field>
      <div className="actions">
        <button type="submit" className="primary" disabled={issue.isPending}>
          Issue the licence
        </button>
      </div>
      {issue.isPending ? <Progress label="Signing the credential and committing it on the chain…" /> : null}
      {issue.isError ? <ErrorNotice error={issue.error} /> : null}
      {issue.isSuccess ? (
        <p className="notice notice-ok" role="status">
          Licence issued.
        </p>
      ) : null}
    </form>
  );
}
