/**
 * The authorisation kernel from the attacker's side, on a real chain: paths that used to reach patient data
 * around the access policy — a SMART client with a directory-only scope reading every patient through
 * system history and `$everything`, a clinician with a Documents write grant rewriting the patient's consent
 * record or a break-glass notice through a batch Bundle, the organisation deleting a consent record, denied
 * records that could be told from missing ones by status, body or headers — each tried as an attacker would,
 * each answered as a record that does not exist (or refused before anything is looked up).
 */
import { randomUUID } from 'node:crypto';
import { Action, Purpose } from '@medledger/contracts';
import { DataCategory } from '@medledger/core';
import { parseScopes } from '@medledger/identity';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials, type Harness } from '../../oidc/test/harness.js';
import { type ConsentView, decide, type Subject } from '../src/access/decide.js';
import { type CareSetting, PATIENT_PASSPHRASE, startCareSetting } from './careSetting.js';

/** Headers that differ between any two responses (time, connection). */
const VOLATILE = new Set(['date', 'connection', 'keep-alive']);

describe('the authorisation kernel, attacked', () => {
  let setting: CareSetting;
  let call: CareSetting['call'];
  let ids: Record<string, string>;

  const raw = async (who: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${setting.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${setting.tokens[who]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      if (!VOLATILE.has(name)) headers[name] = value;
    });
    return { status: res.status, headers, body: await res.text() };
  };

  beforeAll(async () => {
    setting = await startCareSetting();
    ({ call, ids } = setting);
  }, 600_000);

  afterAll(async () => {
    await setting?.close();
  });

  /**
   * Every caller × record × purpose of use over HTTP, against the pure decision on the view the consent index
   * gives right now: the HTTP answer is 200 exactly when `decide` allows, 404 otherwise.
   */
  const httpEqualsDecision = async () => {
    const { hospital, members, patientKeys } = setting;
    const people = {
      doctor: { role: 'doctor', member: members.doctor },
      unlicensed: { role: 'doctor', member: members.unlicensed },
      insurer: { role: 'insurer', member: members.insurer },
      patient: { role: 'patient', member: undefined, patientId: ids.patient },
    } as const;
    const records = [
      {
        path: `/Observation/${ids.observation}`,
        type: 'Observation',
        patient: ids.patient,
        category: DataCategory.Observations,
      },
      {
        path: `/Condition/${ids.condition}`,
        type: 'Condition',
        patient: ids.patient,
        category: DataCategory.Conditions,
      },
      {
        path: `/Observation/${ids.otherObservation}`,
        type: 'Observation',
        patient: ids.other,
        category: DataCategory.Observations,
      },
      {
        path: `/Organization/${ids.organization}`,
        type: 'Organization',
        patient: undefined,
        category: DataCategory.Demographics,
      },
    ];
    const purposes = {
      TREAT: Purpose.Treatment,
      HPAYMT: Purpose.Payment,
      ETREAT: Purpose.Emergency,
    } as const;
    let compared = 0;
    for (const [who, p] of Object.entries(people)) {
      for (const record of records) {
        for (const [code, purpose] of Object.entries(purposes)) {
          const subject: Subject = {
            kind: 'person',
            role: p.role,
            member: p.member,
            scopes: parseScopes(p.role === 'patient' ? 'patient/*.cruds' : 'user/*.cruds'),
            purpose,
            ...('patientId' in p ? { patientId: p.patientId } : {}),
          };
          const owner =
            record.patient === undefined
              ? 'shared'
              : record.patient === (p as { patientId?: string }).patientId
                ? 'own'
                : 'patient';
          const chain = record.patient === ids.patient ? patientKeys.pseudonym : undefined;
          await hospital.consent.catchUp();
          const at = hospital.consent.now();
          const view: ConsentView = {
            organisation: hospital.organisationId,
            at,
            consortium: hospital.consent.consortium,
            grants: chain ? await hospital.consent.grantsOf(chain) : [],
            breakGlass: Boolean(
              chain && p.member && (await hospital.consent.activeBreakGlass(chain, p.member, at)),
            ),
            licenceValid: p.member !== undefined && hospital.consent.consortium.hasValidLicence(p.member, at),
          };
          const expected = decide(
            subject,
            'read',
            { type: record.type, owner, category: record.category },
            view,
          );
          const got = await call(who, 'GET', record.path, undefined, { 'x-purpose-of-use': code });
          expect({ who, path: record.path, code, status: got.status }).toEqual({
            who,
            path: record.path,
            code,
            status: expected.allow ? 200 : 404,
          });
          compared++;
        }
      }
    }
    return compared;
  };

  it('answers over HTTP exactly what the decision says, before any grant', async () => {
    expect(await httpEqualsDecision()).toBe(48);
  });

  it('a denied record answers exactly as a missing one: read, vread, update, delete, history', async () => {
    const observation = (id: string) => ({
      resourceType: 'Observation',
      id,
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${ids.patient}` },
    });
    const hidden = ids.observation!;
    const missing = randomUUID();
    const pairs: [string, string, unknown?][] = [
      ['GET', '/Observation/ID'],
      ['GET', '/Observation/ID/_history/1'],
      ['GET', '/Observation/ID/_history'],
      ['PUT', '/Observation/ID', 'body'],
      ['DELETE', '/Observation/ID'],
    ];
    for (const [method, path, body] of pairs) {
      const denied = await raw('doctor', method, path.replace('ID', hidden), body && observation(hidden));
      const absent = await raw('doctor', method, path.replace('ID', missing), body && observation(missing));
      expect({ method, path, ...denied }).toEqual({ method, path, ...absent });
      expect(denied.status).toBe(404);
    }
    // And nothing changed: the organisation still reads version 1.
    const still = await call('admin', 'GET', `/Observation/${hidden}`);
    expect(still.body.meta.versionId).toBe('1');
  });

  it('a client with a directory-only scope reads the directory and nothing of any patient', async () => {
    const origin = new URL(setting.url).origin;
    const h = { origin, issuer: `${origin}/oauth`, audience: setting.url } as Harness;
    const pair = await generateKeyPair('ES256', { extractable: true });
    const registered = await fetch(`${origin}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${setting.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        clientId: 'directory-sync',
        name: 'Directory sync',
        jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'd-1', alg: 'ES256' }] },
        scopes: ['system/Organization.rs'],
        firstParty: false,
      }),
    });
    expect(registered.status).toBe(201);
    const res = await clientCredentials(h, {
      clientId: 'directory-sync',
      kid: 'd-1',
      privateKey: pair.privateKey,
      scope: 'system/Organization.rs',
      resource: setting.url,
    });
    expect(res.status).toBe(200);
    setting.tokens.client = ((await res.json()) as { access_token: string }).access_token;

    const history = await call('client', 'GET', '/_history?_count=100');
    expect(history.status).toBe(200);
    const types = new Set((history.body.entry ?? []).map((e: any) => e.fullUrl.split('/').at(-2)));
    expect([...types]).toEqual(['Organization']);
    expect((await call('client', 'GET', `/Organization/${ids.organization}`)).status).toBe(200);
    expect((await call('client', 'GET', `/Patient/${ids.patient}/$everything`)).status).toBe(403);
    expect((await call('client', 'GET', '/Observation')).status).toBe(403);
    expect((await call('client', 'GET', '/Observation/_history')).status).toBe(403);
    const conditional = await call('client', 'POST', '/Observation', { resourceType: 'Observation' });
    expect(conditional.status).toBe(403);
  });

  it('consent records and break-glass notices change only through their own routes', async () => {
    // The doctor may write the patient's documents (where consent records and notices are filed)…
    await setting.grant({ categories: [DataCategory.Documents], actions: [Action.Read, Action.Write] });
    const consent = setting.observationConsent();
    const posted = await call('patient', 'POST', '/Consent', consent, {
      'x-medledger-key-passphrase': PATIENT_PASSPHRASE,
    });
    expect(posted.status).toBe(201);
    const id = posted.body.id as string;
    expect((await call('doctor', 'GET', `/Consent/${id}`)).status).toBe(200);

    // …but not the consent record: not by PUT or DELETE, not through a batch or a transaction.
    const tampered = { ...posted.body, status: 'rejected' };
    const batch = await call('doctor', 'POST', '/', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'PUT', url: `Consent/${id}` }, resource: tampered },
        { request: { method: 'DELETE', url: `Consent/${id}` } },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.entry.map((e: any) => e.response.status)).toEqual(['404', '404']);
    const transaction = await call('doctor', 'POST', '/', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ request: { method: 'DELETE', url: `Consent/${id}` } }],
    });
    expect(transaction.status).toBe(404);
    expect(transaction.body.issue[0].expression).toEqual(['Bundle.entry[0]']);
    // The organisation cannot either: the record is the patient's.
    const byOrganisation = await call('admin', 'POST', '/', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'DELETE', url: `Consent/${id}` } }],
    });
    expect(byOrganisation.body.entry[0].response.status).toBe('404');
    // A forged break-glass notice is refused as well.
    const forged = await call('doctor', 'POST', '/Communication', {
      resourceType: 'Communication',
      status: 'completed',
      identifier: [{ system: 'urn:medledger:break-glass-session', value: '1' }],
      subject: { reference: `Patient/${ids.patient}` },
    });
    expect(forged.status).toBe(403);

    // The patient still holds their consent: they can withdraw it.
    const withdrawn = await call('patient', 'DELETE', `/Consent/${id}`, undefined, {
      'x-medledger-key-passphrase': PATIENT_PASSPHRASE,
    });
    expect(withdrawn.status).toBe(204);
  });

  it('patient data of types no category covers is the patient’s alone, and its reads name the patient', async () => {
    // The doctor holds a grant for every category — still nothing opens data no consent category covers.
    await setting.grant({ categories: Object.values(DataCategory) });
    const subject = { reference: `Patient/${ids.patient}` };
    const written: Record<string, string> = {};
    for (const resource of [
      { resourceType: 'Basic', code: { text: 'note' }, subject },
      { resourceType: 'SupplyDelivery', status: 'completed', patient: subject },
      { resourceType: 'Binary', contentType: 'text/plain', securityContext: subject, data: 'aGVsbG8=' },
    ]) {
      const r = await call('admin', 'POST', `/${resource.resourceType}`, resource);
      expect(r.status).toBe(201);
      written[resource.resourceType] = r.body.id;
    }
    for (const [type, id] of Object.entries(written)) {
      const denied = await raw('doctor', 'GET', `/${type}/${id}`);
      const absent = await raw('doctor', 'GET', `/${type}/${randomUUID()}`);
      expect(denied).toEqual(absent);
      expect((await call('doctor', 'GET', `/${type}`)).body.entry ?? []).toEqual([]);
      expect((await call('patient', 'GET', `/${type}/${id}`)).status).toBe(200);
    }
    // The refused read is in the patient's access log, denied.
    const log = await fetch(
      `${new URL(setting.url).origin}/audit/patients/${ids.patient}/events?_count=1000`,
      {
        headers: { authorization: `Bearer ${setting.tokens.patient}` },
      },
    );
    const entries = ((await log.json()) as { entries: { event: any }[] }).entries;
    const refusal = entries.find((e) =>
      (e.event.entity ?? []).some((x: any) => x.what?.reference === `Basic/${written.Basic}`),
    );
    expect(refusal?.event.outcomeDesc).toBe('denied by the access policy');
  });

  it('answers over HTTP exactly what the decision says, with grants in place', async () => {
    expect(await httpEqualsDecision()).toBe(48);
  });
});
