/**
 * OAuth clients of the node's OpenID provider (GET/POST /admin/clients, POST /admin/clients/:id/confirm,
 * DELETE /admin/clients/:id): SMART apps people sign in to and backend services (SMART Backend Services with
 * a JWK set). A registration that reads patient data without a person (system/ scopes) or skips people's
 * consent (first-party) is only proposed until another administrator confirms it; the page lists proposals
 * with who made them and offers to confirm those made by someone else.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError, api } from '../api/client';
import { ScrollRegion } from '../auditor/ScrollRegion';
import { useSignedIn } from '../auth/SessionProvider';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import {
  type ClientErrors,
  type ClientForm,
  type ClientRegistration,
  clientFromForm,
  clientKind,
  EMPTY_CLIENT,
  type PendingClient,
} from './clients';

const CLIENTS = ['admin-clients'] as const;

export function Clients() {
  const me = useSignedIn();
  const client = useQueryClient();
  const clients = useQuery({
    queryKey: CLIENTS,
    queryFn: ({ signal }) =>
      api<{ clients: ClientRegistration[]; pending: PendingClient[] }>('/admin/clients', { signal }),
  });
  const [notice, setNotice] = useState<string | undefined>();
  const act = useMutation({
    mutationFn: ({ id, what }: { id: string; what: 'confirm' | 'remove' }) =>
      what === 'confirm'
        ? api(`/admin/clients/${encodeURIComponent(id)}/confirm`, { method: 'POST' })
        : api(`/admin/clients/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: (_answer, { id, what }) => {
      setNotice(
        what === 'confirm'
          ? `${id} is confirmed: it can sign people in now.`
          : `${id} is removed; its tokens stop working.`,
      );
      void client.invalidateQueries({ queryKey: CLIENTS });
    },
  });
  return (
    <section className="page" aria-labelledby="clients-title">
      <h1 id="clients-title">Apps and services</h1>
      <p className="lead">
        The apps people sign in to through this node, and the systems that call its FHIR API on their own.
      </p>
      {clients.isPending ? <Progress label="Loading clients…" /> : null}
      {clients.isError ? <ErrorNotice error={clients.error} onRetry={() => void clients.refetch()} /> : null}
      <div aria-live="polite">{notice ? <p className="notice notice-ok">{notice}</p> : null}</div>
      {act.isError ? <ErrorNotice error={act.error} /> : null}
      {clients.data && clients.data.pending.length > 0 ? (
        <section className="card" aria-labelledby="pending-title">
          <h2 id="pending-title">Waiting for a second administrator</h2>
          <ul className="plain">
            {clients.data.pending.map((p) => (
              <li key={p.registration.clientId}>
                <strong>{p.registration.name}</strong> ({p.registration.clientId},{' '}
                {clientKind(p.registration)}) — proposed {new Date(p.proposedAt).toLocaleString()}{' '}
                {p.proposedBy === me.id ? (
                  <span className="hint">by you: another administrator confirms it.</span>
                ) : (
                  <button
                    type="button"
                    className="primary"
                    onClick={() => act.mutate({ id: p.registration.clientId, what: 'confirm' })}
                    disabled={act.isPending}
                    aria-label={`Confirm ${p.registration.clientId}`}
                  >
                    Confirm
                  </button>
                )}{' '}
                <ScopeList registration={p.registration} />
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {clients.data ? (
        <ScrollRegion label="Registered clients table">
          <table>
            <caption className="visually-hidden">Registered clients</caption>
            <thead>
              <tr>
                <th scope="col">Client</th>
                <th scope="col">Kind</th>
                <th scope="col">Scopes and redirect URIs</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {clients.data.clients.map((c) => (
                <tr key={c.clientId}>
                  <td>
                    {c.name}
                    <br />
                    <span className="hint mono">{c.clientId}</span>
                  </td>
                  <td>{clientKind(c)}</td>
                  <td>
                    <ScopeList registration={c} />
                  </td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      disabled={act.isPending}
                      onClick={() => {
                        if (
                          window.confirm(`Remove ${c.clientId}? Its refresh tokens stop working at once.`)
                        ) {
                          act.mutate({ id: c.clientId, what: 'remove' });
                        }
                      }}
                      aria-label={`Remove ${c.clientId}`}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      ) : null}
      <RegisterClient />
    </section>
  );
}

function ScopeList({ registration: r }: { registration: ClientRegistration }) {
  return (
    <span className="hint">
      <span className="mono">{r.scopes.join(' ')}</span>
      {r.redirectUris && r.redirectUris.length > 0 ? (
        <>
          <br />→ <span className="mono">{r.redirectUris.join(', ')}</span>
        </>
      ) : null}
      {r.jwks ? (
        <>
          <br />
          {r.jwks.keys.length} public key{r.jwks.keys.length === 1 ? '' : 's'}
        </>
      ) : null}
    </span>
  );
}

function RegisterClient() {
  const client = useQueryClient();
  const [form, setForm] = useState<ClientForm>(EMPTY_CLIENT);
  const [errors, setErrors] = useState<ClientErrors>({});
  const register = useMutation({
    mutationFn: (registration: ClientRegistration) =>
      api<{ pending?: boolean }>('/admin/clients', { method: 'POST', json: registration }),
    onSuccess: () => {
      setForm(EMPTY_CLIENT);
      void client.invalidateQueries({ queryKey: CLIENTS });
    },
  });
  const set = <K extends keyof ClientForm>(key: K, value: ClientForm[K]) =>
    setForm({ ...form, [key]: value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { registration, errors: found } = clientFromForm(form);
    setErrors(found);
    if (registration) register.mutate(registration);
  };
  const conflict = register.error instanceof ApiError && register.error.status === 409;
  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="register-title">
      <h2 id="register-title">Register a client</h2>
      <fieldset className="choices">
        <legend>Kind</legend>
        {(
          [
            ['app', 'SMART app people sign in to (redirect URIs, PKCE)'],
            ['service', 'Backend service (SMART Backend Services, private_key_jwt)'],
          ] as const
        ).map(([value, label]) => (
          <div className="check" key={value}>
            <input
              type="radio"
              id={`kind-${value}`}
              name="client-kind"
              checked={form.kind === value}
              onChange={() =>
                setForm({
                  ...form,
                  kind: value,
                  scopes: value === 'app' ? EMPTY_CLIENT.scopes : 'system/Patient.rs system/Observation.rs',
                })
              }
            />
            <label htmlFor={`kind-${value}`}>{label}</label>
          </div>
        ))}
      </fieldset>
      <Field label="Client id" error={errors.clientId}>
        <input value={form.clientId} onChange={(e) => set('clientId', e.target.value)} autoComplete="off" />
      </Field>
      <Field label="Name" hint="Shown to people on the consent page." error={errors.name}>
        <input value={form.name} onChange={(e) => set('name', e.target.value)} autoComplete="off" />
      </Field>
      {form.kind === 'app' ? (
        <Field
          label="Redirect URIs"
          hint="One per line; https (http only on 127.0.0.1 or localhost)."
          error={errors.redirectUris}
        >
          <textarea
            rows={2}
            value={form.redirectUris}
            onChange={(e) => set('redirectUris', e.target.value)}
          />
        </Field>
      ) : (
        <Field
          label="JWK set"
          hint="The service’s public keys as JSON: {&quot;keys&quot;: [ … ]}."
          error={errors.jwks}
        >
          <textarea
            rows={4}
            className="mono"
            value={form.jwks}
            onChange={(e) => set('jwks', e.target.value)}
          />
        </Field>
      )}
      <Field
        label="Scopes"
        hint="Separated by spaces, e.g. openid fhirUser patient/*.rs."
        error={errors.scopes}
      >
        <input value={form.scopes} onChange={(e) => set('scopes', e.target.value)} className="mono" />
      </Field>
      {form.kind === 'app' ? (
        <div className="check">
          <input
            id="first-party"
            type="checkbox"
            checked={form.firstParty}
            onChange={(e) => set('firstParty', e.target.checked)}
          />
          <label htmlFor="first-party">
            First-party (no consent page: needs a second administrator’s confirmation)
          </label>
        </div>
      ) : (
        <p className="hint">
          A service reading patient data alone needs a second administrator’s confirmation.
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={register.isPending}>
          Register
        </button>
      </div>
      {register.isPending ? <Progress label="Registering…" /> : null}
      {register.isError ? (
        conflict ? (
          <p className="notice notice-error" role="alert">
            A client with this id exists: choose another id, or remove the old one first.
          </p>
        ) : (
          <ErrorNotice error={register.error} />
        )
      ) : null}
      {register.data ? (
        <p className="notice notice-ok" role="status">
          {register.data.pending
            ? 'Proposed: another administrator confirms it before it can be used.'
            : 'Registered: it can be used now.'}
        </p>
      ) : null}
    </form>
  );
}
