/**
 * The slice of oidc-provider 9's API this package uses (the library ships no type declarations and
 * @types/oidc-provider is not a dependency). Only what the glue touches is declared; everything else stays
 * `unknown` so a misuse fails to compile instead of passing silently.
 */
declare module 'oidc-provider' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type AdapterPayload = Record<string, unknown> & {
    jti?: string;
    grantId?: string;
    userCode?: string;
    uid?: string;
    consumed?: unknown;
  };

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export type AdapterFactory = (modelName: string) => Adapter;

  export interface ClientLike {
    readonly clientId: string;
    readonly clientName?: string;
    readonly grantTypes: string[];
    readonly redirectUris: string[];
    readonly [extra: string]: unknown;
  }

  export interface GrantLike {
    addOIDCScope(scope: string): void;
    rejectOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    rejectResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface TokenLike {
    readonly kind: string;
    readonly accountId?: string;
    readonly clientId?: string;
    readonly scope?: string;
    readonly extra?: Record<string, unknown>;
    /** Authorization codes and refresh tokens: how the session authenticated, and when (Unix seconds). */
    readonly amr?: string[];
    readonly authTime?: number;
  }

  export interface OIDCContext {
    readonly route?: string;
    readonly params: Record<string, unknown> & { scope?: string; grant_type?: string };
    readonly entities: {
      readonly Account?: { accountId: string; [extra: string]: unknown };
      readonly AccessToken?: TokenLike;
      readonly AuthorizationCode?: TokenLike;
      readonly RefreshToken?: TokenLike;
      readonly ClientCredentials?: TokenLike;
    };
    readonly client?: ClientLike;
    readonly provider: Provider;
  }

  export interface KoaContextWithOIDC {
    readonly oidc: OIDCContext;
    readonly req: IncomingMessage & { originalUrl?: string };
    readonly ip: string;
    readonly path: string;
    readonly method: string;
    query: Record<string, string | string[] | undefined>;
    status: number;
    body: unknown;
    type: string;
    set(field: string, value: string): void;
  }

  export interface InteractionDetails {
    readonly uid: string;
    readonly prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    readonly params: Record<string, unknown> & { client_id?: string; scope?: string };
    readonly session?: { accountId?: string };
    readonly grantId?: string;
  }

  export type InteractionResult =
    | {
        login?: { accountId: string; amr?: string[]; acr?: string; remember?: boolean };
        consent?: { grantId?: string };
      }
    | { error: string; error_description?: string };

  export type Configuration = Record<string, unknown>;

  export class Provider extends EventEmitter {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    use(middleware: (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>): this;
    createContext(req: IncomingMessage, res: ServerResponse): { readonly ip: string };
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResult,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    readonly Grant: {
      new (init: { accountId: string; clientId: string }): GrantLike;
      find(id: string): Promise<GrantLike | undefined>;
    };
    readonly Client: {
      find(id: string): Promise<ClientLike | undefined>;
      validate(metadata: Record<string, unknown>): Promise<void>;
    };
    readonly RefreshToken: {
      find(value: string, options?: { ignoreExpiration?: boolean }): Promise<TokenLike | undefined>;
    };
  }

  export class OIDCProviderError extends Error {
    readonly error: string;
    readonly error_description?: string;
    status: number;
  }

  export namespace errors {
    class InvalidScope extends OIDCProviderError {
      constructor(description: string, scope?: string);
    }
    class InvalidTarget extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidRequest extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidClientAuth extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidGrant extends OIDCProviderError {
      constructor(description?: string);
    }
    class SessionNotFound extends OIDCProviderError {
      constructor(description?: string);
    }
  }

  export default Provider;
}
