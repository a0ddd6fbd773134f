import { Code, ConnectError } from "@connectrpc/connect";
import { decodeJwt } from "jose";

/** A token and when it stops being valid. */
export interface TokenGrant {
  readonly accessToken: string;
  /**
   * Epoch ms. Undefined: a JWT's `exp` is read; an opaque token without it is fetched anew for
   * every call.
   */
  readonly expiresAtMs?: number | undefined;
}

/** Fetches a new token: your own function, or `clientCredentials(…)`. */
export type TokenFetcher = () => TokenGrant | string | Promise<TokenGrant | string>;

/**
 * Where a client's bearer tokens come from: cached until shortly before they expire, then
 * refreshed in the background while the current one is still used; one fetch at a time however
 * many calls ask (single flight).
 */
export interface TokenSource {
  /** The current token: synchronously while cached, else once fetched. */
  token(): string | Promise<string>;
  /** Drops the cached token and fetches a new one (joined by concurrent callers). */
  refresh(): Promise<string>;
}

export interface TokenSourceOptions {
  /**
   * Refresh this long before expiry (the current token is still sent meanwhile), at most half
   * the token's lifetime. Default 60 s, or a tenth of the lifetime when that is shorter.
   */
  readonly refreshBeforeMs?: number | undefined;
}

/** The token source defaults, in one place. */
export const tokenSourceDefaults = { refreshBeforeMs: 60_000 } as const;

/** Wraps a fetcher in caching, refresh before expiry and single flight. */
export function createTokenSource(
  fetcher: TokenFetcher,
  options: TokenSourceOptions = {},
): TokenSource {
  const refreshBefore = options.refreshBeforeMs;
  let current: { token: string; expiresAtMs: number; refreshAtMs: number } | undefined;
  let inFlight: Promise<string> | undefined;

  const fetchNow = (): Promise<string> => {
    inFlight ??= (async () => {
      try {
        const grant = normalise(await fetcher());
        const now = Date.now();
        const expiresAtMs = grant.expiresAtMs ?? expiryOf(grant.accessToken) ?? now;
        const lifetime = expiresAtMs - now;
        const lead =
          refreshBefore === undefined
            ? Math.min(tokenSourceDefaults.refreshBeforeMs, lifetime / 10)
            : Math.min(refreshBefore, lifetime / 2);
        current = { token: grant.accessToken, expiresAtMs, refreshAtMs: expiresAtMs - lead };
        return grant.accessToken;
      } catch (cause) {
        throw cause instanceof ConnectError
          ? cause
          : new ConnectError(
              `cannot obtain a token: ${(cause as Error)?.message ?? String(cause)}`,
              Code.Unauthenticated,
              undefined,
              undefined,
              cause,
            );
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  return {
    token() {
      const now = Date.now();
      if (current && now < current.expiresAtMs) {
        if (now >= current.refreshAtMs && !inFlight) {
          // Refresh ahead; a failure here is retried by the next call, the token still holds.
          fetchNow().catch(() => {});
        }
        return current.token;
      }
      return fetchNow();
    },
    refresh() {
      current = undefined;
      return fetchNow();
    },
  };
}

export interface ClientCredentialsOptions {
  /** The OAuth2 token endpoint (RFC 6749 §4.4). */
  readonly tokenUrl: string | URL;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated scopes to ask for. Default none. */
  readonly scope?: string | undefined;
  /** An `audience` parameter, for issuers that take one. Default none. */
  readonly audience?: string | undefined;
  /** Bound of one token request. Default 5 s. */
  readonly timeoutMs?: number | undefined;
}

/**
 * An OAuth2 client-credentials fetcher: POSTs `grant_type=client_credentials` with the client's
 * id and secret in HTTP Basic auth (RFC 6749 §2.3.1) and reads `access_token`, `expires_in`.
 */
export function clientCredentials(options: ClientCredentialsOptions): TokenFetcher {
  const basic = Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
  ).toString("base64");
  return async () => {
    const body = new URLSearchParams({ grant_type: "client_credentials" });
    if (options.scope) body.set("scope", options.scope);
    if (options.audience) body.set("audience", options.audience);
    const started = Date.now();
    const response = await fetch(options.tokenUrl, {
      method: "POST",
      headers: {
        authorization: `Basic ${basic}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    if (!response.ok) {
      throw new ConnectError(
        `token endpoint answered HTTP ${response.status}`,
        Code.Unauthenticated,
      );
    }
    const json = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof json.access_token !== "string" || json.access_token === "") {
      throw new ConnectError("token endpoint sent no access_token", Code.Unauthenticated);
    }
    const expiresIn = typeof json.expires_in === "number" ? json.expires_in : undefined;
    return {
      accessToken: json.access_token,
      expiresAtMs: expiresIn === undefined ? undefined : started + expiresIn * 1000,
    };
  };
}

function normalise(grant: TokenGrant | string): TokenGrant {
  return typeof grant === "string" ? { accessToken: grant } : grant;
}

/** A JWT's `exp` in epoch ms; undefined for opaque tokens. */
function expiryOf(token: string): number | undefined {
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
