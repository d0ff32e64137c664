/**
 * FHIR Subscriptions (R5 Backport IG on R4) end to end on the care setting's real chain and node: a patient
 * following their own results, consent changes and access log over a real WebSocket; a clinician following a
 * patient's results under the patient's consent until the patient revokes it; a rest-hook to a local receiver;
 * what is refused at creation and at binding. "Nothing was delivered" is shown without waiting on the clock: a
 * handshake is queued behind every event committed before it, so once it arrives every earlier event has been
 * decided for that socket.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type CareSetting, PATIENT_PASSPHRASE, startCareSetting } from './careSetting.js';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
type Json = Record<string, any>;

/** A parameter of a notification's (or $status's) SubscriptionStatus. */
function statusOf(bundle: Json): Json {
  const parameters = bundle.entry?.[0]?.resource as Json;
  const get = (name: string) => parameters.parameter.find((p: Json) => p.name === name);
  return {
    subscription: get('subscription')?.valueReference?.reference as string,
    type: get('type')?.valueCode as string,
    status: get('status')?.valueCode as string,
    events: Number(get('events-since-subscription-start')?.valueString),
    focus: parameters.parameter
      .filter((p: Json) => p.name === 'notification-event')
      .flatMap((p: Json) =>
        p.part.filter((x: Json) => x.name === 'focus').map((x: Json) => x.valueReference.reference),
      ),
  };
}

/** A WebSocket client that keeps every message and resolves waits when a matching one arrives. */
class Client {
  readonly messages: Json[] = [];
  readonly #waiters: { match: (m: Json) => boolean; resolve: (m: Json) => void }[] = [];
  closed: Promise<number>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Json;
      this.messages.push(m);
      for (const w of [...this.#waiters]) {
        if (w.match(m)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    this.closed = once(ws, 'close').then(([code]) => code as number);
  }
  static async open(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    await once(ws, 'open');
    return new Client(ws);
  }
  /** The first message (already received or still to come) that matches. */
  waitFor(match: (m: Json) => boolean): Promise<Json> {
    const found = this.messages.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
  /** A message received after this call that matches. */
  next(match: (m: Json) => boolean): Promise<Json> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
  close() {
    this.ws.close();
  }
}

const notificationFor = (subscriptionId: string, focus?: string) => (m: Json) => {
  if (m.resourceType !== 'Bundle' || m.type !== 'history') return false;
  const s = statusOf(m);
  return (
    s.subscription.endsWith(`/Subscription/${subscriptionId}`) &&
    s.type === 'event-notification' &&
    (focus === undefined || s.focus.some((f: string) => f.endsWith(`/${focus}`)))
  );
};
const handshakeFor = (subscriptionId: string) => (m: Json) =>
  m.resourceType === 'Bundle' &&
  statusOf(m).type === 'handshake' &&
  statusOf(m).subscription.endsWith(`/Subscription/${subscriptionId}`);

describe('FHIR Subscriptions', () => {
  let setting: CareSetting;
  let call: CareSetting['call'];
  let ids: Record<string, string>;
  let base: string;
  let hook: Server;
  const hooked: { body: Json; headers: IncomingMessage['headers'] }[] = [];
  const hookWaiters: { match: (b: Json) => boolean; resolve: (b: Json) => void }[] = [];
  const clients: Client[] = [];

  const subscription = (
    topic: string,
    patient: string | undefined,
    options: { payload?: string; channel?: Json } = {},
  ): Json => ({
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'follow the patient',
    criteria: `${base}/SubscriptionTopic/${topic}`,
    _criteria: {
      extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: `patient=Patient/${patient}` }],
    },
    channel: {
      type: 'websocket',
      payload: 'application/fhir+json',
      _payload: {
        extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: options.payload ?? 'id-only' }],
      },
      ...options.channel,
    },
  });

  const observation = async () => {
    const r = await call('admin', 'POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${ids.patient}` },
      valueQuantity: { value: 72, unit: '/min' },
    });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  /** Creates a websocket subscription for `who`, binds a new socket (or `client`) to it, waits for the handshake. */
  const follow = async (who: string, body: Json, client?: Client) => {
    const created = await call(who, 'POST', '/Subscription', body);
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('active');
    const id = created.body.id as string;
    const c = client ?? (await bindSocket(who, id));
    if (client) await rebind(who, id, c);
    return { id, client: c };
  };
  const tokenFor = async (who: string, id: string) => {
    const r = await call(who, 'GET', `/Subscription/${id}/$get-ws-binding-token`);
    expect(r.status).toBe(200);
    const p = (name: string) => r.body.parameter.find((x: Json) => x.name === name);
    return { token: p('token').valueString as string, url: p('websocket-url').valueUrl as string };
  };
  const bindSocket = async (who: string, id: string) => {
    const { url } = await tokenFor(who, id);
    const c = await Client.open(url);
    clients.push(c);
    await rebind(who, id, c);
    return c;
  };
  /** Binds (again): the handshake comes after every event committed before this call. */
  const rebind = async (who: string, id: string, c: Client) => {
    const { token } = await tokenFor(who, id);
    const handshake = c.next(handshakeFor(id));
    c.ws.send(`bind-with-token ${token}`);
    return handshake;
  };

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let text = '';
      req.on('data', (d) => {
        text += d;
      });
      req.on('end', () => {
        const body = JSON.parse(text) as Json;
        hooked.push({ body, headers: req.headers });
        for (const w of [...hookWaiters]) {
          if (w.match(body)) {
            hookWaiters.splice(hookWaiters.indexOf(w), 1);
            w.resolve(body);
          }
        }
        res.writeHead(200).end();
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    setting = await startCareSetting({ restHookHosts: '127.0.0.1' });
    ({ call, ids } = setting);
    base = setting.url;
  }, 600_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    hook?.close();
    await setting?.close();
  });

  it('declares the topics and refuses malformed Subscriptions with a 400 OperationOutcome, creating nothing', async () => {
    const metadata = await call('admin', 'GET', '/metadata');
    const entry = metadata.body.rest[0].resource.find((r: Json) => r.type === 'Subscription');
    expect(entry.extension.map((e: Json) => e.valueCanonical)).toContain(
      `${base}/SubscriptionTopic/patient-results`,
    );
    const topics = await call('patient', 'GET', '/SubscriptionTopic');
    expect(topics.body.entry).toHaveLength(4);

    const good = subscription('patient-results', ids.patient);
    const malformed: Json[] = [
      { ...good, criteria: undefined },
      { ...good, criteria: `${base}/SubscriptionTopic/everything` },
      { ...good, _criteria: undefined },
      {
        ...good,
        _criteria: {
          extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: 'code=1234-5' }],
        },
      },
      { ...good, status: 'off' },
      { ...good, reason: undefined },
      { ...good, channel: { ...good.channel, type: 'email' } },
      {
        ...good,
        channel: {
          ...good.channel,
          _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'everything' }] },
        },
      },
      {
        ...good,
        channel: {
          ...good.channel,
          extension: [{ url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: 0 }],
        },
      },
      {
        ...good,
        channel: {
          type: 'rest-hook',
          endpoint: 'http://internal.example/hook',
          payload: 'application/fhir+json',
        },
      },
      {
        ...good,
        channel: { type: 'rest-hook', endpoint: 'ftp://127.0.0.1/hook', payload: 'application/fhir+json' },
      },
      { ...good, end: '2001-01-01T00:00:00Z' },
      { ...good, id: 'mine' },
      { resourceType: 'Subscription', status: 'requested' },
    ];
    for (const body of malformed) {
      const r = await call('patient', 'POST', '/Subscription', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.resourceType).toBe('OperationOutcome');
    }
    const inBundle = await call('admin', 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: good, request: { method: 'POST', url: 'Subscription' } }],
    });
    expect(inBundle.status).toBe(400);
    expect((await call('patient', 'GET', '/Subscription')).body.entry).toEqual([]);
  });

  let patientResults: string;
  let patientConsents: string;
  let patientSocket: Client;
  let consentRecord: string;

  it('a patient follows their own results (full resource) and consent changes over one WebSocket', async () => {
    ({ id: patientResults, client: patientSocket } = await follow(
      'patient',
      subscription('patient-results', ids.patient, { payload: 'full-resource' }),
    ));
    ({ id: patientConsents } = await follow(
      'patient',
      subscription('patient-consent', ids.patient),
      patientSocket,
    ));

    const first = await observation();
    const notified = await patientSocket.waitFor(notificationFor(patientResults, `Observation/${first}`));
    expect(notified.entry[1].resource.id).toBe(first);
    expect(notified.entry[1].resource.valueQuantity.value).toBe(72);
    expect(statusOf(notified).events).toBe(1);

    const posted = await call('patient', 'POST', '/Consent', setting.observationConsent(), {
      'x-medledger-key-passphrase': PATIENT_PASSPHRASE,
    });
    expect(posted.status).toBe(201);
    consentRecord = posted.body.id;
    const consentChange = await patientSocket.waitFor(
      notificationFor(patientConsents, `Consent/${consentRecord}`),
    );
    expect(consentChange.entry[1].resource).toBeUndefined(); // id-only

    const status = await call('patient', 'GET', `/Subscription/${patientResults}/$status`);
    expect(status.status).toBe(200);
    expect(statusOf(status.body)).toMatchObject({ status: 'active', type: 'query-status', events: 1 });

    // Nobody else's: another patient's record is refused at creation like a patient that does not exist, and
    // another subscriber's subscription does not exist for them.
    const other = await call('patient', 'POST', '/Subscription', subscription('patient-results', ids.other));
    expect(other.status).toBe(404);
    expect((await call('doctor', 'GET', `/Subscription/${patientResults}`)).status).toBe(404);
    expect((await call('doctor', 'GET', `/Subscription/${patientResults}/$status`)).status).toBe(404);
    expect(
      (await call('doctor', 'GET', `/Subscription/${patientResults}/$get-ws-binding-token`)).status,
    ).toBe(404);
  });

  it('a clinician follows a consented patient’s results until the patient revokes the consent', async () => {
    // Without a grant for them: refused at creation, as if the patient did not exist.
    for (const [who, patient] of [
      ['doctor', ids.other],
      ['unlicensed', ids.patient],
      ['insurer', ids.patient],
    ] as const) {
      expect(
        (await call(who, 'POST', '/Subscription', subscription('patient-results', patient))).status,
      ).toBe(404);
    }
    const access = await follow('patient', subscription('patient-access-log', ids.patient), patientSocket);
    const { id: doctorResults, client: doctorSocket } = await follow(
      'doctor',
      subscription('patient-results', ids.patient, { payload: 'full-resource' }),
    );

    const allowed = await observation();
    const seen = await doctorSocket.waitFor(notificationFor(doctorResults, `Observation/${allowed}`));
    expect(seen.entry[1].resource.id).toBe(allowed);
    // The patient's access log tells them (the delivery to the doctor is audited against them).
    await patientSocket.waitFor(
      (m) =>
        m.type === 'history' &&
        statusOf(m).subscription.endsWith(access.id) &&
        statusOf(m).type === 'event-notification',
    );

    const revoked = await call('patient', 'DELETE', `/Consent/${consentRecord}`, undefined, {
      'x-medledger-key-passphrase': PATIENT_PASSPHRASE,
    });
    expect(revoked.status).toBe(204);
    await patientSocket.waitFor(notificationFor(patientConsents, `Consent/${consentRecord}`));

    const hidden = await observation();
    // The patient still hears of it; the doctor's handshake, queued behind it, arrives with nothing before it.
    await patientSocket.waitFor(notificationFor(patientResults, `Observation/${hidden}`));
    const handshake = await rebind('doctor', doctorResults, doctorSocket);
    expect(doctorSocket.messages.some(notificationFor(doctorResults, `Observation/${hidden}`))).toBe(false);
    expect(statusOf(handshake).events).toBe(1); // not counted either
    expect(JSON.stringify(doctorSocket.messages)).not.toContain(hidden);
  });

  it('a rest-hook subscription is handshaken and notified at an allowed endpoint', async () => {
    const { port } = hook.address() as AddressInfo;
    const handshake = new Promise<Json>((resolve) =>
      hookWaiters.push({ match: (b) => statusOf(b).type === 'handshake', resolve }),
    );
    const created = await call(
      'admin',
      'POST',
      '/Subscription',
      subscription('patient-results', ids.patient, {
        channel: {
          type: 'rest-hook',
          endpoint: `http://127.0.0.1:${port}/hook`,
          header: ['Authorization: Bearer receiver-secret'],
        },
      }),
    );
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('active');
    await handshake;
    expect(hooked[0]!.headers.authorization).toBe('Bearer receiver-secret');

    const id = await observation();
    const notified = await new Promise<Json>((resolve) =>
      hookWaiters.push({
        match: (b) => statusOf(b).focus.some((f: string) => f.endsWith(`Observation/${id}`)),
        resolve,
      }),
    );
    expect(notified.entry[1].fullUrl).toBe(`${base}/Observation/${id}`);
    expect(notified.entry[1].resource).toBeUndefined();
  });

  it('binding with an unknown token is refused and the socket closed', async () => {
    const { url } = await tokenFor('patient', patientResults);
    const c = await Client.open(url);
    clients.push(c);
    const refusal = c.waitFor((m) => m.resourceType === 'OperationOutcome');
    c.ws.send(`bind-with-token ${'A'.repeat(43)}`);
    expect((await refusal).issue[0].code).toBe('security');
    expect(await c.closed).toBe(1008);
    const rest = await call('admin', 'GET', `/Subscription/${patientResults}/$get-ws-binding-token`);
    expect(rest.status).toBe(404); // the organisation is not its owner either
  });
});
