import type { DescMethodUnary, DescService, MessageInitShape } from "@bufbuild/protobuf";
import {
  type Client,
  createClient as createConnectClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  type CallPolicyOverride,
  createResilientTransport,
  type PolicyRegistry,
  type ResilienceEvents,
} from "../resilience/index.js";
import { createTransport, type TransportTls } from "../transport/index.js";
import { type ClientAuthOptions, createAuthTransport } from "./auth-transport.js";

/**
 * Per unary method, the response to return instead of failing while its backend is down
 * (Unavailable, DeadlineExceeded, Internal, Unknown, ResourceExhausted, open circuit, full
 * bulkhead). The response carries the trailer `x-protomesh-fallback: true`.
 */
export type MethodFallbacks<S extends DescService> = {
  readonly [K in keyof S["method"]]?: S["method"][K] extends DescMethodUnary<infer _I, infer O>
    ? () => MessageInitShape<O>
    : never;
};

interface ClientOptionsCommon<S extends DescService> {
  /**
   * Policy for every method, over the contract's options (precedence: library defaults <
   * service `default_policy` < method `policy` < this < `methodPolicies` < per call).
   */
  readonly policy?: CallPolicyOverride;
  /** Policy per method, by local name (e.g. `getOrder`). */
  readonly methodPolicies?: Readonly<Record<string, CallPolicyOverride>>;
  /** Callbacks for retries, circuit changes, bulkhead rejections, hedges, spent budgets. */
  readonly events?: ResilienceEvents;
  /**
   * Where circuits, bulkheads and retry budgets live; default one per client. Pass the same
   * registry to several clients of one backend to make them share it.
   */
  readonly registry?: PolicyRegistry;
  readonly fallbacks?: MethodFallbacks<S>;
  /**
   * Bearer tokens for this target (README "Security"). Default none; the inbound caller's
   * token is forwarded only with `forwardInboundToken`.
   */
  readonly auth?: ClientAuthOptions;
}

/**
 * Options of a client that builds its own gRPC transport: the lean `http2` engine, the default
 * kind because it is the fastest gRPC client here (see the README's client benchmark). Pass a
 * `transport` instead for another kind (`createTransport({ kind: "grpc-js", … })`).
 */
export interface ClientOptionsWithUrl<S extends DescService = DescService>
  extends ClientOptionsCommon<S> {
  /** Where the service listens, e.g. `http://127.0.0.1:8080` (h2c) or `https://…` (TLS). */
  readonly baseUrl: string;
  /** Run around every attempt, outermost first. */
  readonly interceptors?: readonly Interceptor[];
  /**
   * TLS for an `https://` baseUrl: the CA to trust and, for mTLS, the client certificate this
   * client presents to this target (each client its own). Default: Node's root CAs, no
   * client certificate.
   */
  readonly tls?: TransportTls;
  readonly transport?: undefined;
}

/** Options of a client sending on a transport of the caller's choice (e.g. grpc-js). */
export interface ClientOptionsWithTransport<S extends DescService = DescService>
  extends ClientOptionsCommon<S> {
  /** The Connect transport every attempt is sent on; its own interceptors run per attempt. */
  readonly transport: Transport;
  /** Names the backend for circuits, bulkheads and budgets. Default `"default"`. */
  readonly target?: string;
  readonly baseUrl?: undefined;
  readonly interceptors?: undefined;
  readonly tls?: undefined;
}

export type ClientOptions<S extends DescService = DescService> =
  | ClientOptionsWithUrl<S>
  | ClientOptionsWithTransport<S>;

/**
 * A typed client for a generated service whose every call follows the method's call policy
 * (deadline, retries, circuit breaker, bulkhead, hedging), inherits the deadline and
 * correlation id of the inbound call being served, and fails only with a `ConnectError`.
 * Bad policy values throw here (ConnectError InvalidArgument), not on the first call.
 */
export function createClient<S extends DescService>(
  service: S,
  options: ClientOptions<S>,
): Client<S> {
  const transport =
    options.transport ??
    createTransport({
      baseUrl: options.baseUrl,
      interceptors: [...(options.interceptors ?? [])],
      ...(options.tls ? { tls: options.tls } : {}),
    });
  const target = options.transport ? (options.target ?? "default") : options.baseUrl;
  const resilient = createResilientTransport({
    transport,
    target,
    service,
    policy: options.policy,
    methodPolicies: options.methodPolicies,
    events: options.events,
    registry: options.registry,
    fallbacks: options.fallbacks as
      | Readonly<Record<string, (() => unknown) | undefined>>
      | undefined,
  });
  return createConnectClient(
    service,
    options.auth ? createAuthTransport(resilient, options.auth) : resilient,
  );
}
