/**
 * Short-lived WebSocket binding tokens (`$get-ws-binding-token`): 256-bit random, kept in memory only (a node
 * restart invalidates them), each valid for the subscriptions it was issued for and until its expiry. Expired
 * tokens are swept whenever a token is issued.
 */
import { randomBytes } from 'node:crypto';

export const BINDING_TOKEN_SECONDS = 60;

export interface Binding {
  subscriptionIds: readonly string[];
  expires: Date;
}

export class BindingTokens {
  readonly #tokens = new Map<string, Binding>();
  readonly #now: () => Date;
  readonly #lifetimeMs: number;

  constructor(options: { now?: () => Date; lifetimeSeconds?: number } = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#lifetimeMs = (options.lifetimeSeconds ?? BINDING_TOKEN_SECONDS) * 1000;
  }

  issue(subscriptionIds: readonly string[]): { token: string } & Binding {
    const now = this.#now().getTime();
    for (const [t, b] of this.#tokens) if (b.expires.getTime() <= now) this.#tokens.delete(t);
    const token = randomBytes(32).toString('base64url');
    const binding = { subscriptionIds: [...subscriptionIds], expires: new Date(now + this.#lifetimeMs) };
    this.#tokens.set(token, binding);
    return { token, ...binding };
  }

  /** The binding a token stands for, if it is known and not expired. */
  redeem(token: string): Binding | undefined {
    const b = this.#tokens.get(token);
    if (!b) return undefined;
    if (b.expires.getTime() <= this.#now().getTime()) {
      this.#tokens.delete(token);
      return undefined;
    }
    return b;
  }

  /** Forgets every token naming a subscription (deleted, turned off). */
  revokeFor(subscriptionId: string): void {
    for (const [t, b] of this.#tokens) if (b.subscriptionIds.includes(subscriptionId)) this.#tokens.delete(t);
  }
}
