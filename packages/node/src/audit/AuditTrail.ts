/**
 * The node's audit trail (issue 6, first slice): every authenticated request produces a FHIR AuditEvent shaped
 * after IHE BALP (who, for which organisation, what interaction on which resource, why, with what outcome),
 * sealed under the node's audit key (key-committing AES-256-GCM) and queued — with its salted commitment — in
 * the audit log before the response leaves (a Fastify onSend hook: a request whose event cannot be queued is
 * answered with an error, so every acknowledged request has its event). Every second the queue is integrated
 * into the RFC 9162 tree and a checkpoint is signed with the organisation's composite key. `verify()` is the
 * independent check (`medledger audit verify`): it recomputes the tree from the stored entries, opens each sealed
 * event to check its commitment, and checks every checkpoint's signature and consistency.
 *
 * Limits of this slice: checkpoints are not yet anchored in AuditAnchor, the event names the requested resource
 * but not (yet) its patient, and there is no proof API or patient access-log view — issue 6 continues.
 */
import {
  type AuditEventJson,
  AuditLog,
  commitAuditEvent,
  queueAuditEntries,
  verifyAuditLog,
} from '@medledger/audit-log';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { AeadKey, type CompositeSigner, canonicalBytes, utf8ToBytes } from '@medledger/crypto';
import type { Db } from '@medledger/storage';
import type { Caller } from '../access/Caller.js';

const AAD = utf8ToBytes('medledger/audit-event/v1');
const INTERACTION_ACTION: Record<string, 'C' | 'R' | 'U' | 'D' | 'E'> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  'search-type': 'E',
  'history-instance': 'R',
  'history-type': 'R',
  'history-system': 'R',
  update: 'U',
  delete: 'D',
  operation: 'E',
  batch: 'E',
};

export interface AuditedRequest {
  method: string;
  /** The route pattern (never the URL: it can carry identifiers and search values). */
  route: string;
  params: Record<string, string>;
  status: number;
  caller: Caller;
  purposeOfUse?: string;
}

/** The FHIR restful interaction a route and method stand for. */
function interactionOf(method: string, route: string): string {
  if (route.includes('$')) return 'operation';
  if (route === '/fhir' && method === 'POST') return 'batch';
  if (route.endsWith('/_history/:vid')) return 'vread';
  if (route.endsWith('/:id/_history')) return 'history-instance';
  if (route.endsWith('/:type/_history')) return 'history-type';
  if (route === '/fhir/_history') return 'history-system';
  if (route.endsWith('/:id') || /\/fhir\/[A-Z][A-Za-z]+\/:id$/.test(route)) {
    return method === 'GET'
      ? 'read'
      : method === 'PUT'
        ? 'update'
        : method === 'DELETE'
          ? 'delete'
          : 'operation';
  }
  if (method === 'POST') return 'create';
  return method === 'GET' ? 'search-type' : 'operation';
}

export class AuditTrail {
  readonly #db: Db;
  readonly #key: AeadKey;
  readonly #organisation: number;
  readonly #log: AuditLog;
  readonly #signer: CompositeSigner;
  readonly #publicKey: Uint8Array;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  private constructor(db: Db, log: AuditLog, o: AuditTrailOptions) {
    this.#db = db;
    this.#log = log;
    this.#key = new AeadKey(o.sealingKey);
    this.#organisation = o.organisation;
    this.#signer = o.signer;
    this.#publicKey = o.publicKey;
  }

  static async open(db: Db, o: AuditTrailOptions): Promise<AuditTrail> {
    return new AuditTrail(db, await AuditLog.open(db, { logId: o.logId }), o);
  }

  /** The AuditEvent of a request (IHE BALP: type rest, subtype the interaction). */
  eventOf(r: AuditedRequest, recorded: Date): AuditEventJson {
    const interaction = interactionOf(r.method, r.route);
    const entity: Record<string, unknown>[] = [];
    if (r.params.type && r.params.id) entity.push({ what: { reference: `${r.params.type}/${r.params.id}` } });
    else if (r.params.type) entity.push({ what: { type: r.params.type } });
    if (r.route.startsWith('/fhir/Patient/:id') && r.params.id) {
      entity.push({
        what: { reference: `Patient/${r.params.id}` },
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1' },
      });
    }
    return {
      resourceType: 'AuditEvent',
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: interaction }],
      action: INTERACTION_ACTION[interaction] ?? 'E',
      recorded: recorded.toISOString(),
      outcome: r.status < 400 ? '0' : r.status < 500 ? '4' : '8',
      agent: [
        {
          type: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                code: r.caller.kind === 'system' ? 'CST' : 'IRCP',
              },
            ],
          },
          who: { identifier: { system: 'urn:medledger:account', value: r.caller.id } },
          requestor: true,
          ...(r.purposeOfUse
            ? {
                purposeOfUse: [
                  {
                    coding: [
                      { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: r.purposeOfUse },
                    ],
                  },
                ],
              }
            : {}),
        },
      ],
      source: {
        observer: { identifier: { system: 'urn:medledger:organisation', value: String(this.#organisation) } },
        type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4' }],
      },
      ...(entity.length > 0 ? { entity } : {}),
      extension: [{ url: 'urn:medledger:route', valueString: `${r.method} ${r.route}` }],
    };
  }

  /** Seals and queues the request's AuditEvent; durable when this resolves. */
  async record(r: AuditedRequest, recorded = new Date()): Promise<void> {
    const event = this.eventOf(r, recorded);
    const { salt, commitment } = commitAuditEvent(event);
    const sealedEvent = this.#key.seal(canonicalBytes(event), AAD);
    await queueAuditEntries(this.#db, [{ commitment, salt, sealedEvent }]);
  }

  /** Integrates the queue and signs a checkpoint when the tree grew. */
  async tick(): Promise<void> {
    const before = (await this.#log.latestCheckpoint())?.size ?? 0;
    const size = await this.#log.integrate();
    if (size > before) await this.#log.checkpoint(this.#signer);
  }

  start(intervalMs = 1000): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.tick()
        .catch(() => undefined)
        .finally(() => {
          this.#running = undefined;
        });
    }, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
    this.#key.destroy();
  }

  /** The independent check: the whole log, every sealed event against its commitment, every checkpoint. */
  verify() {
    return verifyAuditLog(this.#db, this.#publicKey, {
      openEvent: async (sealed) => {
        const opened = this.#key.open(sealed, AAD);
        if (!opened) throw new MdlError(MdlErrorCode.DecryptFailed, 'audit event does not open');
        return JSON.parse(new TextDecoder().decode(opened)) as AuditEventJson;
      },
    });
  }
}

export interface AuditTrailOptions {
  logId: string;
  organisation: number;
  /** 32 bytes: seals the AuditEvents at rest. */
  sealingKey: Uint8Array;
  signer: CompositeSigner;
  /** The composite public key checkpoints verify under. */
  publicKey: Uint8Array;
}
