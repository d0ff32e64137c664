/**
 * The node's audit trail. Every authenticated request — refusals included — every request without a
 * valid credential, every login attempt and every exchange answered produces BALP-shaped AuditEvents
 * (auditEvents.ts), one per patient concerned. Each is deflated and sealed under the node's audit key
 * (eventCodec.ts: key-committing AES-256-GCM) and queued with its salted commitment — and, for a patient's event, the patient's record
 * pseudonym as the log's subject — before the response leaves (server.ts' onSend hook: a request whose events
 * cannot be queued is answered with an error, so every acknowledged request has its events).
 *
 * Concurrent requests' events are written by one INSERT: while one write is in flight the next ones gather
 * (group commit), which keeps the cost per request to one awaited round trip under load.
 *
 * Every second (`tick`) the queue is integrated into the RFC 9162 tree and, when it grew, a checkpoint is signed
 * with the organisation's composite key and stored in the same transaction as its on-chain anchor's outbox row
 * (`anchoring.enqueue`): the ledger's CheckpointAnchorer sends the newest one to AuditAnchor.
 *
 * Network addresses (the client's IP) are not in the leaf: it commits to each address through a salted commitment,
 * and the sealed event keeps the address and its salt beside it (@medledger/audit-log's networkAddress.ts).
 *
 * Reading: proofs (inclusion, consistency), a patient's events with their salts and inclusion proofs against
 * the latest checkpoint — without any address —, the organisation's events for auditors (addresses disclosed
 * and checkable against their commitments), and the SIEM export — the HTTP side is auditFeature.ts. `verify()`
 * is the independent check behind `medledger audit verify`.
 */
import {
  type AuditEventJson,
  AuditLog,
  commitCanonicalAuditEvent,
  committedAuditEvent,
  patientAuditEvent,
  queueAuditEntries,
  type StoredCheckpoint,
  verifyAuditLog,
  verifyNetworkAddresses,
  withholdNetworkAddresses,
} from '@medledger/audit-log';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { AeadKey, bytesToBase64url, type CompositeSigner, canonicalBytes } from '@medledger/crypto';
import type { Db, Queryable } from '@medledger/storage';
import { type AuditedRequest, auditEventsOf, isBreakGlass, loginEvent } from './auditEvents.js';
import { openAuditEvent, sealAuditEvent } from './eventCodec.js';

/** Where a checkpoint stands on the chain. */
export interface CheckpointAnchorInfo {
  status: string;
  chainId?: number;
  contract?: string;
  txHash?: string;
  blockNumber?: number;
  blockHash?: string;
}

/** The ledger side, injected (the ledger's CheckpointAnchorer and chain reads). */
export interface AuditAnchoring {
  /** Queues the checkpoint's anchor, in the transaction that stores it. */
  enqueue(tx: Queryable, checkpoint: StoredCheckpoint): Promise<void>;
  /** The anchor of a stored checkpoint, or null when it has none (superseded by a later one, or too new). */
  anchorOf(checkpointId: number): Promise<CheckpointAnchorInfo | null>;
  /** The row id of the latest checkpoint whose anchor is confirmed on-chain. */
  latestAnchored(): Promise<number | undefined>;
  /** Every checkpoint of this log anchored on-chain, read from the chain's events. */
  chainAnchors(): Promise<{ size: number; root: Uint8Array; block: number; transaction: string }[]>;
}

export interface AuditTrailOptions {
  logId: string;
  organisation: number;
  /** 32 bytes: seals the AuditEvents at rest. */
  sealingKey: Uint8Array;
  signer: CompositeSigner;
  /** The composite public key checkpoints verify under. */
  publicKey: Uint8Array;
  anchoring?: AuditAnchoring;
  /**
   * Told, once a request's AuditEvents are durably queued, which patients (record pseudonyms) they name and the
   * route they record (subscriptions/: access-log notifications). Must not throw or block.
   */
  onRecorded?: (subjects: readonly Uint8Array[], route: string) => void;
}

/** A checkpoint as the proof API serves it: bytes in base64url, with its anchor. */
export interface CheckpointJson {
  id: number;
  logId: string;
  size: number;
  root: string;
  timestamp: number;
  signature: string;
  anchor: CheckpointAnchorInfo | null;
}

/**
 * One entry with everything needed to check it independently against a checkpoint. For auditors the event is
 * the disclosed form (addresses in clear, with their salts): `committedAuditEvent(event)` is what the salt and
 * proof verify. For a patient it is the committed form itself — except an entry `redacted` (committed before
 * addresses were withheld): its address was removed and its salt is withheld, so only its commitment's
 * inclusion can be checked.
 */
export interface ProvenEntryJson {
  index: number;
  event: AuditEventJson;
  salt?: string;
  redacted?: true;
  commitment: string;
  /** The RFC 9162 audit path from the entry to the checkpoint's root. */
  proof: string[];
  breakGlass: boolean;
}

interface Pending {
  entries: { commitment: Uint8Array; salt: Uint8Array; sealedEvent: Uint8Array; subject?: Uint8Array }[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

const b64 = bytesToBase64url;

export class AuditTrail {
  readonly logId: string;
  readonly #db: Db;
  readonly #key: AeadKey;
  readonly #organisation: number;
  readonly #log: AuditLog;
  readonly #signer: CompositeSigner;
  readonly #publicKey: Uint8Array;
  readonly #anchoring: AuditAnchoring | undefined;
  readonly #onRecorded: AuditTrailOptions['onRecorded'];
  #pending: Pending[] = [];
  #writing = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  private constructor(db: Db, log: AuditLog, o: AuditTrailOptions) {
    this.logId = o.logId;
    this.#db = db;
    this.#log = log;
    this.#key = new AeadKey(o.sealingKey);
    this.#organisation = o.organisation;
    this.#signer = o.signer;
    this.#publicKey = o.publicKey;
    this.#anchoring = o.anchoring;
    this.#onRecorded = o.onRecorded;
  }

  static async open(db: Db, o: AuditTrailOptions): Promise<AuditTrail> {
    return new AuditTrail(db, await AuditLog.open(db, { logId: o.logId }), o);
  }

  /** Seals and queues a request's AuditEvents (one per patient); durable when this resolves. */
  record(r: AuditedRequest, recorded = new Date()): Promise<void> {
    const events = auditEventsOf(r, this.#organisation, recorded);
    const queued = this.#queue(events);
    const listener = this.#onRecorded;
    if (!listener) return queued;
    return queued.then(() => {
      const subjects = events.flatMap((e) => (e.subject ? [e.subject] : []));
      if (subjects.length === 0) return;
      try {
        listener(subjects, r.route);
      } catch {
        // A listener's failure never fails the request whose events are already durable.
      }
    });
  }

  /** Queues a login attempt's AuditEvent. */
  recordLogin(o: Parameters<typeof loginEvent>[0], recorded = new Date()): Promise<void> {
    return this.#queue([{ event: loginEvent(o, this.#organisation, recorded) }]);
  }

  #queue(events: { event: AuditEventJson; subject?: Uint8Array | undefined }[]): Promise<void> {
    const entries = events.map(({ event, subject }) => {
      const { committed, disclosed } = withholdNetworkAddresses(event);
      const { salt, commitment } = commitCanonicalAuditEvent(canonicalBytes(committed));
      const sealedEvent = sealAuditEvent(this.#key, canonicalBytes(disclosed));
      return { commitment, salt, sealedEvent, ...(subject ? { subject } : {}) };
    });
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ entries, resolve, reject });
      if (!this.#writing) void this.#flush();
    });
  }

  /** Group commit: one INSERT for everything queued while the previous one was in flight. */
  async #flush(): Promise<void> {
    this.#writing = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const entries = batch.flatMap((p) => p.entries);
        // More than one INSERT's worth (a wide search, many requests at once): all or nothing.
        if (entries.length > 1000) await this.#db.transaction((tx) => queueAuditEntries(tx, entries));
        else await queueAuditEntries(this.#db, entries);
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.#writing = false;
  }

  /** Integrates the queue and, when the tree grew, signs a checkpoint and queues its anchor. */
  async tick(): Promise<void> {
    const before = this.#log.latestCheckpoint()?.size ?? 0;
    const size = await this.#log.integrate();
    if (size > before) await this.#log.checkpoint(this.#signer, Date.now(), this.#anchoring?.enqueue);
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
    while (this.#writing) await new Promise((r) => setTimeout(r, 5));
    this.#key.destroy();
  }

  // ------------------------------------------------------------------------------------------------ reading

  /**
   * A stored checkpoint: the latest (signed at most a second ago), the latest whose anchor is confirmed
   * on-chain, or the one with row id `id`.
   */
  async checkpoint(which: 'latest' | 'anchored' | { id: number }): Promise<CheckpointJson> {
    let cp: StoredCheckpoint | undefined;
    if (which === 'latest') cp = this.#log.latestCheckpoint();
    else if (which === 'anchored') {
      const id = await this.#anchoring?.latestAnchored();
      cp = id === undefined ? undefined : await this.#log.findCheckpoint({ id });
    } else cp = await this.#log.findCheckpoint(which);
    if (!cp) throw new MdlError(MdlErrorCode.NotFound, 'no such checkpoint');
    return this.#checkpointJson(cp);
  }

  async #checkpointJson(cp: StoredCheckpoint): Promise<CheckpointJson> {
    return {
      id: cp.id,
      logId: cp.logId,
      size: cp.size,
      root: b64(cp.root),
      timestamp: cp.timestamp,
      signature: b64(cp.signature),
      anchor: (await this.#anchoring?.anchorOf(cp.id)) ?? null,
    };
  }

  /** The audit path of entry `index` in the tree of a stored checkpoint's size. */
  async inclusionProof(index: number, checkpointId: number) {
    const cp = await this.#log.findCheckpoint({ id: checkpointId });
    if (!cp) throw new MdlError(MdlErrorCode.NotFound, 'no such checkpoint');
    if (!Number.isSafeInteger(index) || index < 0 || index >= cp.size) {
      throw new MdlError(MdlErrorCode.BadInput, 'the entry is not covered by that checkpoint');
    }
    const entry = await this.#log.entry(index);
    return {
      index,
      commitment: b64(entry.commitment),
      proof: this.#log.inclusionProof(index, cp.size).map(b64),
      checkpoint: await this.#checkpointJson(cp),
    };
  }

  /** The consistency proof between two stored checkpoints (older first). */
  async consistencyProof(fromId: number, toId: number) {
    const [older, newer] = await Promise.all([
      this.#log.findCheckpoint({ id: fromId }),
      this.#log.findCheckpoint({ id: toId }),
    ]);
    if (!older || !newer) throw new MdlError(MdlErrorCode.NotFound, 'no such checkpoint');
    if (older.size > newer.size) {
      throw new MdlError(MdlErrorCode.BadInput, 'the first checkpoint must not be larger than the second');
    }
    return {
      from: await this.#checkpointJson(older),
      to: await this.#checkpointJson(newer),
      proof: this.#log.consistencyProof(older.size, newer.size).map(b64),
    };
  }

  /**
   * Entries in leaf order from `from` (all, or only those about `subject`), each opened and proven against the
   * latest checkpoint, which is returned with them. `next` is the cursor of the following page. `view` says
   * whom for: an auditor sees network addresses, a patient never does.
   */
  async provenEntries(options: {
    from: number;
    limit: number;
    subject?: Uint8Array;
    view: 'auditor' | 'patient';
  }): Promise<{
    checkpoint: CheckpointJson;
    entries: ProvenEntryJson[];
    next?: number;
  }> {
    await this.tick();
    const cp = this.#log.latestCheckpoint();
    if (!cp) throw new MdlError(MdlErrorCode.NotFound, 'the audit log has no checkpoint yet');
    const { view, ...query } = options;
    const page = (await this.#log.entries({ ...query, limit: options.limit + 1 })).filter(
      (e) => e.index < cp.size,
    );
    const more = page.length > options.limit;
    const shown = page.slice(0, options.limit);
    return {
      checkpoint: await this.#checkpointJson(cp),
      entries: shown.map((e): ProvenEntryJson => {
        const opened = this.#open(e.sealedEvent);
        const { event, redacted } =
          view === 'patient' ? patientAuditEvent(opened) : { event: opened, redacted: false };
        return {
          index: e.index,
          event,
          ...(redacted ? { redacted } : { salt: b64(e.salt) }),
          commitment: b64(e.commitment),
          proof: this.#log.inclusionProof(e.index, cp.size).map(b64),
          breakGlass: isBreakGlass(event),
        };
      }),
      ...(more ? { next: shown.at(-1)!.index + 1 } : {}),
    };
  }

  /** Opened events from leaf `from` (integrated entries only, addresses disclosed), for the SIEM export. */
  async events(from: number, limit: number): Promise<{ index: number; event: AuditEventJson }[]> {
    await this.#log.integrate();
    const page = await this.#log.entries({ from, limit });
    return page.map((e) => ({ index: e.index, event: this.#open(e.sealedEvent) }));
  }

  #open(sealedEvent: Uint8Array): AuditEventJson {
    return JSON.parse(new TextDecoder().decode(openAuditEvent(this.#key, sealedEvent))) as AuditEventJson;
  }

  /**
   * The independent check: the whole log recomputed, every sealed event against its commitment, every
   * checkpoint's signature and consistency, and every anchor the chain holds for this log against the tree.
   */
  async verify() {
    const anchors = (await this.#anchoring?.chainAnchors()) ?? [];
    return verifyAuditLog(this.#db, this.#publicKey, {
      logId: this.logId,
      anchors,
      // The committed form is what the leaf holds; an event whose disclosed address does not open its
      // commitment is handed over as it is, so the verifier reports it as an entry that does not match.
      openEvent: async (sealed) => {
        const event = this.#open(sealed);
        return verifyNetworkAddresses(event) ? committedAuditEvent(event) : event;
      },
    });
  }
}
