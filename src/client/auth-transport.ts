import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import {
  type ClientCredentialsOptions,
  clientCredentials,
  createTokenSource,
  type TokenFetcher,
  type TokenSource,
} from "../auth/index.js";
import { currentCallContext } from "../context/index.js";

/**
 * Bearer tokens a client sends to its target. By default a client sends none, and a token
 * never leaves for another target: the inbound caller's token is forwarded only where
 * `forwardInboundToken` says so.
 */
export interface ClientAuthOptions {
  /**
   * Where the client's own tokens come from: a `TokenSource`, a function (wrapped in
   * `createTokenSource`: cached, refreshed before expiry, single flight), or OAuth2
   * client-credentials options. When the server answers UNAUTHENTICATED, the token is
   * refreshed (forced) and the call sent once more.
   */
  readonly token?: TokenSource | TokenFetcher | ClientCredentialsOptions | undefined;
  /**
   * Send the token of the inbound call being served (if any) instead of the client's own.
   * Default false: only for targets that must see the end user (same audience, same trust).
   */
  readonly forwardInboundToken?: boolean | undefined;
}

type HeaderInit = ConstructorParameters<typeof Headers>[0];

/**
 * Puts the bearer token on every call to `inner` (the resilient transport, so retries reuse
 * it) and, on UNAUTHENTICATED, refreshes it once and resends: the server refused the call
 * before running its handler, so resending is safe for any method. Streams get the token and
 * no resend (their messages may be consumed).
 */
export function createAuthTransport(inner: Transport, options: ClientAuthOptions): Transport {
  const source = sourceOf(options.token);
  const forward = options.forwardInboundToken ?? false;

  /** The inbound caller's token when this client forwards it, else undefined. */
  const inboundToken = (): string | undefined =>
    forward ? currentCallContext()?.principal?.token : undefined;

  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const inbound = inboundToken();
      const pending = inbound ?? source?.token();
      if (pending === undefined)
        return inner.unary(method, signal, timeoutMs, header, input, contextValues);
      // A cached token is a string: no await (and no microtask) for it.
      const token = typeof pending === "string" ? pending : await pending;
      try {
        return await inner.unary(
          method,
          signal,
          timeoutMs,
          withToken(header, token),
          input,
          contextValues,
        );
      } catch (error) {
        if (
          inbound !== undefined ||
          !source ||
          !(error instanceof ConnectError) ||
          error.code !== Code.Unauthenticated
        ) {
          throw error;
        }
        const fresh = await source.refresh();
        return inner.unary(
          method,
          signal,
          timeoutMs,
          withToken(header, fresh),
          input,
          contextValues,
        );
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const pending = inboundToken() ?? source?.token();
      const sent =
        pending === undefined
          ? header
          : withToken(header, typeof pending === "string" ? pending : await pending);
      return inner.stream(method, signal, timeoutMs, sent, input, contextValues);
    },
  };
}

function sourceOf(token: ClientAuthOptions["token"]): TokenSource | undefined {
  if (token === undefined) return undefined;
  if (typeof token === "function") return createTokenSource(token);
  if ("refresh" in token) return token;
  return createTokenSource(clientCredentials(token));
}

/**
 * The call's headers with the token: a plain record unless the caller passed a `Headers` or
 * pairs (copied, never changed in place). No web `Headers` for a call that had none.
 */
function withToken(header: HeaderInit | undefined, token: string): HeaderInit {
  if (header === undefined) return { authorization: `Bearer ${token}` };
  if (!(header instanceof Headers) && !Array.isArray(header)) {
    const record: Record<string, string> = {};
    for (const key in header) {
      if (key.toLowerCase() !== "authorization")
        record[key] = (header as Record<string, string>)[key] as string;
    }
    record.authorization = `Bearer ${token}`;
    return record;
  }
  const headers = new Headers(header);
  headers.set("authorization", `Bearer ${token}`);
  return headers;
}
