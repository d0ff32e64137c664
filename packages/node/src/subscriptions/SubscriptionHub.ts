/**
 * Subscriptions at run time: what is subscribed, matching committed writes and audit entries to subscriptions,
 * deciding each notification for its subscriber at the moment of delivery, and delivering it (WebSocket or
 * rest-hook).
 *
 * Access at delivery: a subscription keeps the bearer credential that created it (sealed at rest). Every
 * notification re-authenticates that credential and builds the subscriber's AccessPolicy anew, then asks the
 * one decision about the very record version the event is about — through `Records.vread` when the payload
 * carries the resource (so the subscriber gets exactly what a read would give them), or `AccessPolicy.may` for
 * id-only and empty payloads. A revoked grant, an expired licence, a narrower scope: the event is not delivered,
 * and it is not counted either (a subscriber learns nothing of what it may not see, not even that something
 * happened). When the credential no longer authenticates (an access token past its expiry, a revoked API token,
 * a disabled account) the subscription is turned `off`, with that as its error; the subscriber renews it with a
 * PUT carrying a valid token.
 *
 * Delivery: one in-process queue, in commit order; a node is one process. Notifications are at most once:
 * nothing is retained for a WebSocket that is not bound when the event happens, and events queued when the node
 * stops are lost. `events-since-subscription-start` counts the events delivered (decided for the subscriber) since
 * the subscription was created and survives restarts, so a client comparing it with the last event number it saw
 * knows it missed some. Deliveries of record events are themselves audited (route
 * `/fhir/Subscription/:id/$notification`), naming the patient.
 */
import { randomUUID } from 'node:crypto';
import { DataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import { aeadOpen, aeadSeal, bytesToHex, bytesToUtf8, sha256, utf8ToBytes } from '@medledger/crypto';
import type { Db } from '@medledger/storage';
import type { WebSocket } from 'ws';
import type { AccessPolicy } from '../access/AccessPolicy.js';
import type { Caller } from '../access/Caller.js';
import type { AuditedRequest } from '../audit/auditEvents.js';
import type { CommittedWrite, RecordService } from '../services/RecordService.js';
import { BindingTokens } from './BindingTokens.js';
import {
  type NotificationEvent,
  type NotificationType,
  notificationBundle,
  type SubscriptionState,
  subscriptionStatus,
} from './notificationBundle.js';
import { type ParsedSubscription, parseSubscription } from './parseSubscription.js';
import { deliverWithRetries, hookTargetAllowed, postNotification } from './restHook.js';
import { type TopicName, topicOfWrite, topicUrl } from './topics.js';

/** Consecutive failed rest-hook notifications (each already retried) after which a subscription is turned off. */
export const MAX_HOOK_FAILURES = 5;

export interface HubDeps {
  db: Db;
  records: RecordService;
  /** The caller a stored credential stands for now (undefined: expired, revoked, disabled). */
  authenticate(token: string, purpose: string | undefined): Promise<Caller | undefined>;
  audit?: { record(r: AuditedRequest): Promise<void> };
  /** 32 bytes: seals subscriptions at rest. */
  sealingKey: Uint8Array;
  baseUrl(): string;
  /** Hosts rest-hook endpoints may name (restHook.ts). */
  restHookHosts: readonly string[];
  now?: () => Date;
}

/** The bearer credential a subscription acts with, and the purpose of use it was created for. */
export interface Credential {
  token: string;
  purpose?: string | undefined;
}

interface Sub {
  id: string;
  owner: string;
  parsed: ParsedSubscription;
  resource: Record<string, unknown>;
  credential: Credential;
  status: SubscriptionState;
  events: number;
  error?: string | undefined;
  failures: number;
  created: Date;
  outbox: Promise<void>;
}

interface Sealed {
  resource: Record<string, unknown>;
  parsed: Omit<ParsedSubscription, 'end'> & { end?: string };
  credential: Credential;
  error?: string;
  created: string;
}

interface QueuedEvent {
  topic: TopicName;
  pseudonym: string;
  at: Date;
  write?: CommittedWrite;
}

const notFound = () => new MdlError(MdlErrorCode.NotFound, 'resource not found');

export class SubscriptionHub {
  readonly #d: HubDeps;
  readonly #subs = new Map<string, Sub>();
  /** `${topic}|${patient pseudonym hex}` → subscription ids. */
  readonly #byKey = new Map<string, Set<string>>();
  readonly #sockets = new Map<string, Set<WebSocket>>();
  readonly #timers = new Map<WebSocket, NodeJS.Timeout[]>();
  readonly tokens: BindingTokens;
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(deps: HubDeps) {
    this.#d = deps;
    this.tokens = new BindingTokens(deps.now ? { now: deps.now } : {});
  }

  #now(): Date {
    return this.#d.now?.() ?? new Date();
  }

  // ------------------------------------------------------------------------------------------ persistence

  #aad(id: string): Uint8Array {
    return utf8ToBytes(`medledger/subscription/v1|${id}`);
  }

  #ownerKey(caller: Caller): string {
    return bytesToHex(sha256(utf8ToBytes(`medledger/subscription-owner|${caller.kind}:${caller.id}`)));
  }

  async #save(sub: Sub): Promise<void> {
    const { end, ...parsed } = sub.parsed;
    const sealed: Sealed = {
      resource: sub.resource,
      parsed: { ...parsed, ...(end ? { end: end.toISOString() } : {}) },
      credential: sub.credential,
      ...(sub.error ? { error: sub.error } : {}),
      created: sub.created.toISOString(),
    };
    const bytes = aeadSeal(this.#d.sealingKey, utf8ToBytes(JSON.stringify(sealed)), this.#aad(sub.id));
    await this.#d.db.query(
      `INSERT INTO subscriptions (id, owner, status, events, sealed) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET status = $3, events = $4, sealed = $5`,
      [sub.id, Buffer.from(sub.owner, 'hex'), sub.status, sub.events, bytes],
    );
  }

  #saveState(sub: Sub): void {
    this.#d.db
      .query('UPDATE subscriptions SET status = $2, events = $3 WHERE id = $1', [
        sub.id,
        sub.status,
        sub.events,
      ])
      .catch(() => undefined);
  }

  /** Loads the subscriptions that are not off (at start). */
  async start(): Promise<void> {
    const rows = await this.#d.db.query<{
      id: string;
      owner: Uint8Array;
      status: string;
      events: string | number;
      sealed: Uint8Array;
    }>("SELECT id, owner, status, events, sealed FROM subscriptions WHERE status <> 'off'");
    for (const row of rows.rows) {
      const plain = aeadOpen(this.#d.sealingKey, new Uint8Array(row.sealed), this.#aad(row.id));
      if (!plain) continue;
      const s = JSON.parse(bytesToUtf8(plain)) as Sealed;
      const { end, ...parsed } = s.parsed;
      this.#add({
        id: row.id,
        owner: bytesToHex(new Uint8Array(row.owner)),
        parsed: { ...parsed, ...(end ? { end: new Date(end) } : {}) },
        resource: s.resource,
        credential: s.credential,
        status: row.status as SubscriptionState,
        events: Number(row.events),
        error: s.error,
        failures: 0,
        created: new Date(s.created),
        outbox: Promise.resolve(),
      });
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timers of this.#timers.values()) for (const t of timers) clearInterval(t);
    this.#timers.clear();
    await this.#queue;
  }

  #key(topic: TopicName, pseudonym: string): string {
    return `${topic}|${pseudonym}`;
  }

  #patientKey(sub: Sub): string {
    return this.#key(sub.parsed.topic, bytesToHex(this.#d.records.patientPseudonym(sub.parsed.patientId)));
  }

  #add(sub: Sub): void {
    this.#subs.set(sub.id, sub);
    const key = this.#patientKey(sub);
    const set = this.#byKey.get(key) ?? new Set<string>();
    this.#byKey.set(key, set);
    set.add(sub.id);
  }

  #remove(sub: Sub): void {
    this.#subs.delete(sub.id);
    this.#byKey.get(this.#patientKey(sub))?.delete(sub.id);
    this.tokens.revokeFor(sub.id);
    for (const socket of this.#sockets.get(sub.id) ?? []) socket.close(1000, 'subscription ended');
    this.#sockets.delete(sub.id);
  }

  // ------------------------------------------------------------------------------------------ the API

  #parse(body: unknown): ParsedSubscription {
    return parseSubscription(body, {
      base: this.#d.baseUrl(),
      endpointAllowed: (url) => hookTargetAllowed(url, this.#d.restHookHosts),
      now: this.#now(),
    });
  }

  /**
   * Whether the caller may follow this topic for this patient now. A refusal answers like a patient that does not
   * exist (404), so creating a subscription cannot probe whom the caller may see.
   */
  async #mayFollow(access: AccessPolicy, p: ParsedSubscription): Promise<boolean> {
    if (p.topic === 'patient-access-log') return access.allows('read', 'AuditEvent', p.patientId);
    const pseudonym = this.#d.records.patientPseudonym(p.patientId);
    const probe =
      p.topic === 'patient-results'
        ? { type: 'Observation', category: DataCategory.Observations, systemOwned: false }
        : p.topic === 'patient-consent'
          ? { type: 'Consent', category: DataCategory.Documents, systemOwned: true }
          : { type: 'Communication', category: DataCategory.Documents, systemOwned: true };
    try {
      access.requireInteraction(probe.type, 'read');
    } catch {
      return false;
    }
    return access.may('read', { ...probe, pseudonym });
  }

  #own(access: AccessPolicy, id: string): Sub {
    access.requireInteraction('Subscription', 'read');
    const sub = /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? this.#subs.get(id) : undefined;
    if (!sub || sub.owner !== this.#ownerKey(access.caller)) throw notFound();
    return sub;
  }

  async #ownOrOff(access: AccessPolicy, id: string): Promise<Sub> {
    try {
      return this.#own(access, id);
    } catch (error) {
      // A subscription turned off is no longer held in memory: read it from the table.
      const off = await this.#loadOff(access, id);
      if (off) return off;
      throw error;
    }
  }

  async #loadOff(access: AccessPolicy, id: string): Promise<Sub | undefined> {
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return undefined;
    const rows = await this.#d.db.query<{ owner: Uint8Array; events: string | number; sealed: Uint8Array }>(
      "SELECT owner, events, sealed FROM subscriptions WHERE id = $1 AND status = 'off'",
      [id],
    );
    const row = rows.rows[0];
    if (!row || bytesToHex(new Uint8Array(row.owner)) !== this.#ownerKey(access.caller)) return undefined;
    const plain = aeadOpen(this.#d.sealingKey, new Uint8Array(row.sealed), this.#aad(id));
    if (!plain) return undefined;
    const s = JSON.parse(bytesToUtf8(plain)) as Sealed;
    const { end, ...parsed } = s.parsed;
    return {
      id,
      owner: bytesToHex(new Uint8Array(row.owner)),
      parsed: { ...parsed, ...(end ? { end: new Date(end) } : {}) },
      resource: s.resource,
      credential: s.credential,
      status: 'off',
      events: Number(row.events),
      error: s.error,
      failures: 0,
      created: new Date(s.created),
      outbox: Promise.resolve(),
    };
  }

  #resourceOf(sub: Sub): Record<string, unknown> {
    return {
      ...sub.resource,
      id: sub.id,
      meta: { lastUpdated: sub.created.toISOString() },
      status: sub.status,
      ...(sub.error ? { error: sub.error } : {}),
    };
  }

  async create(
    access: AccessPolicy,
    credential: Credential,
    body: unknown,
  ): Promise<Record<string, unknown>> {
    access.requireInteraction('Subscription', 'create');
    if ((body as { id?: unknown } | null)?.id !== undefined) {
      throw new MdlError(MdlErrorCode.BadInput, 'Subscription.id: the server assigns it (create has none)');
    }
    const parsed = this.#parse(body);
    if (!(await this.#mayFollow(access, parsed))) throw notFound();
    const sub = this.#newSub(randomUUID(), access, credential, parsed, body);
    await this.#activate(sub);
    return this.#resourceOf(sub);
  }

  async update(
    access: AccessPolicy,
    credential: Credential,
    id: string,
    body: unknown,
  ): Promise<Record<string, unknown>> {
    access.requireInteraction('Subscription', 'update');
    const current = await this.#ownOrOff(access, id);
    if ((body as { id?: unknown } | null)?.id !== id) {
      throw new MdlError(MdlErrorCode.BadInput, 'Subscription.id must match the URL');
    }
    const parsed = this.#parse(body);
    if (!(await this.#mayFollow(access, parsed))) throw notFound();
    this.#remove(current);
    const sub = this.#newSub(id, access, credential, parsed, body);
    sub.events = current.events;
    await this.#activate(sub);
    return this.#resourceOf(sub);
  }

  #newSub(
    id: string,
    access: AccessPolicy,
    credential: Credential,
    parsed: ParsedSubscription,
    body: unknown,
  ): Sub {
    const {
      id: _ignored,
      meta: _meta,
      status: _status,
      error: _error,
      ...resource
    } = body as Record<string, unknown>;
    return {
      id,
      owner: this.#ownerKey(access.caller),
      parsed,
      resource: { ...resource, resourceType: 'Subscription' },
      credential,
      status: parsed.channel === 'websocket' ? 'active' : 'requested',
      events: 0,
      failures: 0,
      created: this.#now(),
      outbox: Promise.resolve(),
    };
  }

  /** Stores it; a rest-hook subscription is active once its endpoint accepted the handshake, else in error. */
  async #activate(sub: Sub): Promise<void> {
    await this.#save(sub);
    if (sub.parsed.channel === 'rest-hook') {
      const bundle = this.#statusBundle(sub, 'handshake');
      const ok = await postNotification(
        sub.parsed.endpoint!,
        bundle,
        sub.parsed.headers,
        sub.parsed.timeoutSeconds,
      );
      sub.status = ok ? 'active' : 'error';
      sub.error = ok ? undefined : 'the endpoint did not accept the handshake';
      await this.#save(sub);
    }
    this.#add(sub);
  }

  async read(access: AccessPolicy, id: string): Promise<Record<string, unknown>> {
    return this.#resourceOf(await this.#ownOrOff(access, id));
  }

  list(access: AccessPolicy): Record<string, unknown> {
    access.requireInteraction('Subscription', 'search');
    const owner = this.#ownerKey(access.caller);
    const base = this.#d.baseUrl();
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      link: [{ relation: 'self', url: `${base}/Subscription` }],
      entry: [...this.#subs.values()]
        .filter((s) => s.owner === owner)
        .map((s) => ({
          fullUrl: `${base}/Subscription/${s.id}`,
          resource: this.#resourceOf(s),
          search: { mode: 'match' },
        })),
    };
  }

  async delete(access: AccessPolicy, id: string): Promise<void> {
    access.requireInteraction('Subscription', 'delete');
    const sub = await this.#ownOrOff(access, id);
    this.#remove(sub);
    await this.#d.db.query('DELETE FROM subscriptions WHERE id = $1', [sub.id]);
  }

  /** `$status`: a searchset Bundle with the subscription's status. */
  async status(access: AccessPolicy, id: string): Promise<Record<string, unknown>> {
    const sub = await this.#ownOrOff(access, id);
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: subscriptionStatus(this.#statusInput(sub, 'query-status')),
          search: { mode: 'match' },
        },
      ],
    };
  }

  /** `$get-ws-binding-token`: for an active websocket subscription of the caller. */
  bindingToken(access: AccessPolicy, id: string, websocketUrl: string): Record<string, unknown> {
    const sub = this.#own(access, id);
    if (sub.parsed.channel !== 'websocket') {
      throw new MdlError(MdlErrorCode.BadInput, 'this subscription’s channel is not websocket');
    }
    const { token, expires } = this.tokens.issue([sub.id]);
    return {
      resourceType: 'Parameters',
      parameter: [
        { name: 'token', valueString: token },
        { name: 'expiration', valueDateTime: expires.toISOString() },
        { name: 'subscription', valueString: sub.id },
        { name: 'websocket-url', valueUrl: websocketUrl },
      ],
    };
  }

  // ------------------------------------------------------------------------------------------ WebSocket

  /**
   * `bind-with-token <token>`: binds the socket to the token's subscriptions and answers each with a handshake.
   * Queued behind the events already committed, so a handshake also tells the client that every earlier event
   * was decided.
   */
  bind(socket: WebSocket, token: string): void {
    this.#enqueue(async () => {
      const binding = this.tokens.redeem(token);
      if (!binding) return this.#refuse(socket, 'the binding token is unknown or expired');
      for (const id of binding.subscriptionIds) {
        const sub = this.#subs.get(id);
        if (!sub || sub.status === 'off') return this.#refuse(socket, 'the subscription is off');
        if (!(await this.#accessOf(sub))) return this.#refuse(socket, 'the subscription is off');
        const set = this.#sockets.get(id) ?? new Set<WebSocket>();
        this.#sockets.set(id, set);
        set.add(socket);
        this.#send(socket, this.#statusBundle(sub, 'handshake'));
        if (sub.parsed.heartbeatSeconds) {
          const timer = setInterval(
            () => void this.#heartbeat(sub, socket),
            sub.parsed.heartbeatSeconds * 1000,
          );
          timer.unref();
          const timers = this.#timers.get(socket) ?? [];
          timers.push(timer);
          this.#timers.set(socket, timers);
        }
      }
    });
  }

  unbind(socket: WebSocket): void {
    for (const t of this.#timers.get(socket) ?? []) clearInterval(t);
    this.#timers.delete(socket);
    for (const set of this.#sockets.values()) set.delete(socket);
  }

  #refuse(socket: WebSocket, diagnostics: string): void {
    this.#send(socket, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'security', diagnostics }],
    });
    socket.close(1008, 'binding refused');
  }

  #send(socket: WebSocket, message: unknown): void {
    if (socket.readyState === 1) socket.send(JSON.stringify(message));
  }

  async #heartbeat(sub: Sub, socket: WebSocket): Promise<void> {
    if (!this.#subs.has(sub.id)) return;
    if (!(await this.#accessOf(sub))) return;
    this.#send(socket, this.#statusBundle(sub, 'heartbeat'));
  }

  // ------------------------------------------------------------------------------------------ events

  #enqueue(job: () => Promise<void>): void {
    if (this.#stopped) return;
    this.#queue = this.#queue.then(job).catch(() => undefined);
  }

  /** Committed writes (RecordService's onCommit): queued, in commit order. */
  onCommit(writes: readonly CommittedWrite[]): void {
    const at = this.#now();
    for (const write of writes) {
      const topic = topicOfWrite(write);
      if (!topic) continue;
      const event: QueuedEvent = { topic, pseudonym: bytesToHex(write.pseudonym), at, write };
      if (this.#byKey.get(this.#key(topic, event.pseudonym))?.size)
        this.#enqueue(() => this.#dispatch(event));
    }
  }

  /** Durably queued audit entries (AuditTrail's onRecorded): one access-log event per patient named. */
  onAudit(subjects: readonly Uint8Array[]): void {
    const at = this.#now();
    for (const subject of subjects) {
      const event: QueuedEvent = { topic: 'patient-access-log', pseudonym: bytesToHex(subject), at };
      if (this.#byKey.get(this.#key(event.topic, event.pseudonym))?.size)
        this.#enqueue(() => this.#dispatch(event));
    }
  }

  async #dispatch(event: QueuedEvent): Promise<void> {
    for (const id of [...(this.#byKey.get(this.#key(event.topic, event.pseudonym)) ?? [])]) {
      const sub = this.#subs.get(id);
      if (sub) await this.#deliver(sub, event).catch(() => undefined);
    }
  }

  /** The subscriber's access now, or undefined (and the subscription off) when its credential is no longer valid. */
  async #accessOf(sub: Sub): Promise<AccessPolicy | undefined> {
    let caller: Caller | undefined;
    try {
      caller = await this.#d.authenticate(sub.credential.token, sub.credential.purpose);
    } catch {
      caller = undefined;
    }
    if (!caller || this.#ownerKey(caller) !== sub.owner) {
      await this.#turnOff(
        sub,
        'the credential that created this subscription is no longer valid; renew it with PUT',
      );
      return undefined;
    }
    return this.#d.records.accessFor(caller);
  }

  async #turnOff(sub: Sub, error: string): Promise<void> {
    sub.status = 'off';
    sub.error = error;
    this.#remove(sub);
    await this.#save(sub).catch(() => undefined);
  }

  /** The decision for one event and subscriber: whether it is delivered, and the resource for full-resource. */
  async #decide(
    access: AccessPolicy,
    sub: Sub,
    event: QueuedEvent,
  ): Promise<{ resource?: Record<string, unknown> } | undefined> {
    const w = event.write;
    if (!w) return access.allows('read', 'AuditEvent', sub.parsed.patientId) ? {} : undefined;
    const full = sub.parsed.payload === 'full-resource';
    if (!w.deleted && (full || access.constrainedByCategory(w.type))) {
      try {
        const stored = await this.#d.records.for(access).vread(w.type, w.id, w.version);
        return full ? { resource: stored.resource } : {};
      } catch {
        return undefined;
      }
    }
    // A deletion carries no content: a scope constrained to categories cannot be decided on it, and withholds it.
    if (access.constrainedByCategory(w.type)) return undefined;
    try {
      access.requireInteraction(w.type, 'read');
    } catch {
      return undefined;
    }
    const ok = await access.may('read', {
      type: w.type,
      pseudonym: w.pseudonym,
      category: w.category,
      systemOwned: w.systemOwned || w.type === 'Consent',
    });
    return ok ? {} : undefined;
  }

  async #deliver(sub: Sub, event: QueuedEvent): Promise<void> {
    if (sub.status === 'off' || sub.status === 'requested') return;
    if (sub.parsed.end && this.#now() >= sub.parsed.end)
      return this.#turnOff(sub, 'the subscription reached its end');
    const access = await this.#accessOf(sub);
    if (!access) return;
    const decided = await this.#decide(access, sub, event);
    if (!decided) return;
    sub.events += 1;
    const w = event.write;
    const notification: NotificationEvent = {
      number: sub.events,
      timestamp: event.at,
      ...(w ? { focus: { type: w.type, id: w.id, version: w.version, deleted: w.deleted } } : {}),
      ...(decided.resource ? { resource: decided.resource } : {}),
    };
    const bundle = notificationBundle(
      this.#statusInput(sub, 'event-notification', [notification]),
      sub.parsed.payload,
      this.#now(),
    );
    if (sub.parsed.channel === 'websocket') {
      for (const socket of this.#sockets.get(sub.id) ?? []) this.#send(socket, bundle);
    } else {
      this.#hook(sub, bundle);
    }
    this.#saveState(sub);
    if (w && this.#d.audit) {
      // What was disclosed, to whom, about whom: audited like a read (not for access-log events, which carry none).
      this.#d.audit
        .record({
          method: 'POST',
          route: '/fhir/Subscription/:id/$notification',
          params: { id: sub.id },
          status: 200,
          caller: access.caller,
          subjects: access.auditSubjects(),
          denied: false,
        })
        .catch(() => undefined);
    }
  }

  #hook(sub: Sub, bundle: unknown): void {
    const endpoint = sub.parsed.endpoint!;
    sub.outbox = sub.outbox.then(async () => {
      if (!hookTargetAllowed(new URL(endpoint), this.#d.restHookHosts)) {
        return this.#turnOff(sub, 'the endpoint is no longer on the node’s allow-list');
      }
      const ok = await deliverWithRetries(() =>
        postNotification(endpoint, bundle, sub.parsed.headers, sub.parsed.timeoutSeconds),
      );
      if (ok) {
        sub.failures = 0;
        if (sub.status === 'error') {
          sub.status = 'active';
          sub.error = undefined;
          await this.#save(sub).catch(() => undefined);
        }
        return;
      }
      sub.failures += 1;
      if (sub.failures >= MAX_HOOK_FAILURES) return this.#turnOff(sub, 'the endpoint failed repeatedly');
      sub.status = 'error';
      sub.error = 'the endpoint did not accept the last notification';
      await this.#save(sub).catch(() => undefined);
    });
  }

  #statusInput(sub: Sub, type: NotificationType, events: NotificationEvent[] = []) {
    const base = this.#d.baseUrl();
    return {
      base,
      subscriptionId: sub.id,
      topicUrl: topicUrl(base, sub.parsed.topic),
      status: sub.status,
      type,
      eventsSinceStart: sub.events,
      events,
      ...(sub.error ? { error: sub.error } : {}),
    };
  }

  #statusBundle(sub: Sub, type: NotificationType): Record<string, unknown> {
    return notificationBundle(this.#statusInput(sub, type), sub.parsed.payload, this.#now());
  }
}
