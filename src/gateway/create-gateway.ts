import { createServer as createHttp1Server } from "node:http";
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { DescMethod, Registry as TypeRegistry } from "@bufbuild/protobuf";
import { Code, type Transport } from "@connectrpc/connect";
import { type Logger, pino } from "pino";
import type { Registry } from "prom-client";
import { createServerAuth, type MethodCheck, type ServerAuthOptions } from "../auth/index.js";
import { compileHttpRules, type HttpRoute } from "../contract/http-rule/index.js";
import { readMethodContract } from "../contract/index.js";
import {
  correlationIdFrom,
  correlationIdHeader,
  createBatchedLogDestination,
  createCallObserver,
  createServerMetrics,
} from "../observe/index.js";
import {
  defaultServerSettings,
  ServerConnection,
  type ServerConnectionSettings,
} from "../transport/http2/wire/server-connection.js";
import type { ServerStream } from "../transport/http2/wire/server-stream.js";
import { createConnectRoutes } from "./connect-routes.js";
import { Cors, type GatewayCorsOptions } from "./cors.js";
import { forwardedHeaderNames } from "./forward-headers.js";
import type { FrontExchange } from "./front-exchange.js";
import { gatewayDefaults } from "./gateway-defaults.js";
import {
  failureAnswer,
  GatewayFailure,
  type NodeRequest,
  type NodeResponse,
  notFound,
} from "./gateway-failure.js";
import { isGrpcWebText } from "./grpc-web-text.js";
import { NodeExchange } from "./node-exchange.js";
import { buildOpenApi } from "./openapi.js";
import { RouteTable } from "./rest/route-table.js";
import { type RestContext, type RestRoute, serveRest } from "./rest/serve-rest.js";
import { type GatewayUpstream, resolveUpstreams } from "./upstream.js";
import { UpstreamHealth } from "./upstream-health.js";
import { WireExchange } from "./wire-exchange.js";

export interface GatewayOptions {
  /** The services behind the gateway and where they listen. */
  readonly upstreams: readonly GatewayUpstream[];
  /** Cross-origin browsers allowed; default none. */
  readonly cors?: GatewayCorsOptions | undefined;
  /**
   * Request headers passed upstream beyond the defaults (`authorization`, `traceparent`,
   * `tracestate`, `x-request-id`); nothing else passes, `x-protomesh-*` never.
   */
  readonly forwardHeaders?: readonly string[] | undefined;
  /** Largest request body or message. Default 4 MiB (413 for REST beyond it). */
  readonly maxRequestBytes?: number | undefined;
  /** Longest deadline a caller may ask for; longer ones are cut to it. Default 5 min. */
  readonly maxTimeoutMs?: number | undefined;
  /** Message types for error details and `Any` in JSON; default the upstream services' files. */
  readonly typeRegistry?: TypeRegistry | undefined;
  /** The access log (protocol `rest`, `connect` or `grpc-web`). Default pino on stdout; `false` for none. */
  readonly logger?: Logger | false | undefined;
  /** Where the RED metrics live. Default a new registry. */
  readonly metricsRegistry?: Registry | undefined;
  /** Paths of the gateway's own endpoints (GET); `false` turns one off. */
  readonly metricsPath?: string | false | undefined;
  readonly readinessPath?: string | false | undefined;
  readonly openapiPath?: string | false | undefined;
  /** How often upstream health is checked for readiness. Default 5 s. */
  readonly healthIntervalMs?: number | undefined;
  /**
   * Check callers at the edge, as a protomesh server would (each method's contract `auth`
   * policy; PUBLIC methods need an authenticated caller): a refused call gets 401 with
   * `WWW-Authenticate` (or 403) and never reaches the upstream. Default none: the gateway
   * forwards `authorization` and leaves the decision to the upstream.
   */
  readonly auth?: ServerAuthOptions | undefined;
  /** TLS (h2 and HTTP/1.1 by ALPN); default cleartext HTTP/1.1 and h2c prior knowledge. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
}

export interface GatewayAddress {
  readonly host: string;
  readonly port: number;
  readonly url: string;
}

export interface Gateway {
  listen(options?: { readonly host?: string; readonly port?: number }): Promise<GatewayAddress>;
  /** Stops accepting, lets in-flight calls finish (up to 10 s), closes upstream clients. */
  close(): Promise<void>;
  /** The REST routes served, compiled from the public methods' `google.api.http` rules. */
  readonly routes: readonly HttpRoute[];
  /** The RED metrics registry. */
  readonly metrics: Registry;
  /** The request handler, to mount on a server of your own (HTTP/1.1 or HTTP/2 compat). */
  readonly handle: (request: NodeRequest, response: NodeResponse) => void;
}

/**
 * The front door: serves every `visibility: PUBLIC` method of the upstream services as REST
 * (`google.api.http`), Connect (JSON, binary, GET) and gRPC-Web (binary and text), and
 * forwards each call over gRPC through protomesh's resilient client, so the contract's
 * deadline, retries, breaker and bulkhead apply. Internal methods answer exactly as unknown
 * paths. Bad rules fail here (HttpRuleError naming the methods), not on the first call.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const upstreams = resolveUpstreams(options.upstreams);
  const maxRequestBytes = options.maxRequestBytes ?? gatewayDefaults.maxRequestBytes;
  const maxTimeoutMs = options.maxTimeoutMs ?? gatewayDefaults.maxTimeoutMs;
  const forwardedHeaders = forwardedHeaderNames(options.forwardHeaders);
  const metricsPath = options.metricsPath ?? gatewayDefaults.metricsPath;
  const readinessPath = options.readinessPath ?? gatewayDefaults.readinessPath;
  const openapiPath = options.openapiPath ?? gatewayDefaults.openapiPath;
  const metrics = createServerMetrics(
    options.metricsRegistry ? { registry: options.metricsRegistry } : {},
  );
  const logger = options.logger === false ? undefined : (options.logger ?? defaultLogger());
  const observer = createCallObserver({ metrics, logger });

  const serverAuth = options.auth ? createServerAuth(options.auth) : undefined;
  const checkOf = (method: DescMethod): MethodCheck | undefined => serverAuth?.forMethod(method);
  const upstreamByMethod = new Map<DescMethod, Transport>();
  const services = [];
  for (const u of upstreams) {
    for (const service of u.services) {
      services.push(service);
      for (const method of service.methods) {
        if (readMethodContract(method).visibility === "public")
          upstreamByMethod.set(method, u.resilient);
      }
    }
  }
  const routes = compileHttpRules(services, { include: (m) => upstreamByMethod.has(m) });
  const table = new RouteTable(routes);
  const connectPaths = createConnectRoutes({
    methods: [...upstreamByMethod].map(([method, upstream]) => ({
      method,
      upstream,
      check: checkOf(method),
    })),
    observer,
    forwardedHeaders,
    maxTimeoutMs,
    maxRequestBytes,
  });
  const typeRegistry = options.typeRegistry;
  const restRoutes = new Map<HttpRoute, RestRoute>();
  for (const r of routes) {
    restRoutes.set(r, {
      check: checkOf(r.method),
      upstream: upstreamByMethod.get(r.method) as Transport,
      observer: observer.forMethod(r.method.parent.typeName, r.method.name, "rest"),
    });
  }
  const rest: RestContext = {
    routeOf: (route) => restRoutes.get(route) as RestRoute,
    forwardedHeaders,
    maxRequestBytes,
    maxTimeoutMs,
    jsonRead: typeRegistry ? { registry: typeRegistry } : {},
    jsonWrite: typeRegistry ? { registry: typeRegistry } : {},
    registry: typeRegistry,
    queryFields: new Map(),
  };
  const cors = new Cors(options.cors);
  const health = new UpstreamHealth(
    upstreams.map((u) => u.raw),
    options.healthIntervalMs ?? gatewayDefaults.healthIntervalMs,
  );
  let openapi: string | undefined;

  /** Every request, whichever server carried it: CORS, then Connect, endpoints, REST, 404/405. */
  const dispatch = (exchange: FrontExchange): void => {
    if (cors.handle(exchange)) return;
    const url = exchange.url;
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const method = exchange.method;
    const headers = exchange.headers;
    const requestId = correlationIdFrom(
      headers[correlationIdHeader] as string | undefined,
      headers.traceparent as string | undefined,
    );
    // Connect and gRPC-Web handlers read it back from the request headers.
    headers[correlationIdHeader] = requestId;
    exchange.setHeader(correlationIdHeader, requestId);
    const connect = connectPaths.get(path);
    if (connect) {
      exchange.serveConnect(connect, isGrpcWebText(headers["content-type"] as string | undefined));
      return;
    }
    if (method === "GET") {
      if (path === metricsPath) {
        exchange.discard();
        metrics.registry.metrics().then(
          (text) => exchange.send(200, metrics.registry.contentType, text),
          () => exchange.send(500, undefined, ""),
        );
        return;
      }
      if (path === readinessPath) {
        exchange.discard();
        const ready = health.ready;
        exchange.send(
          ready ? 200 : 503,
          "application/json",
          JSON.stringify({ status: ready ? "SERVING" : "NOT_SERVING" }),
        );
        return;
      }
      if (path === openapiPath) {
        exchange.discard();
        openapi ??= JSON.stringify(buildOpenApi(routes));
        exchange.send(200, "application/json", openapi);
        return;
      }
    }
    const found = table.match(method, path);
    if (found.kind === "found") {
      void serveRest(exchange, found, q === -1 ? "" : url.slice(q + 1), requestId, rest);
      return;
    }
    exchange.discard();
    const failure =
      found.kind === "wrong-verb"
        ? new GatewayFailure(
            405,
            `${method} is not allowed on ${path}`,
            Code.Unimplemented,
            found.allow,
          )
        : notFound();
    const answer = failureAnswer(failure, typeRegistry);
    exchange.send(answer.status, "application/json", answer.body, answer.headers);
  };

  const handle = (request: NodeRequest, response: NodeResponse): void =>
    dispatch(new NodeExchange(request, response));

  /** A stream of the gateway's own HTTP/2 server; a bug in serving it resets it, never more. */
  const serveStream = (stream: ServerStream): void => {
    try {
      dispatch(new WireExchange(stream));
    } catch {
      stream.reset(0x2);
    }
  };

  let front: NetServer | undefined;
  const sockets = new Set<Socket>();
  const connections = new Set<ServerConnection>();
  const http1Sockets = new Set<Socket>();
  const hooks: FrontHooks = {
    settings: { ...defaultServerSettings, maxHeaderListBytes: gatewayDefaults.maxHeaderListBytes },
    http1(socket) {
      http1Sockets.add(socket);
      socket.once("close", () => http1Sockets.delete(socket));
    },
    h2(socket) {
      const connection = new ServerConnection(socket, hooks.settings, {
        stream: serveStream,
        closed: () => connections.delete(connection),
      });
      connections.add(connection);
    },
  };

  return {
    routes,
    metrics: metrics.registry,
    handle,
    async listen(listen = {}) {
      const host = listen.host ?? "127.0.0.1";
      front = options.tls
        ? createTlsFront(options.tls, handle, hooks)
        : createCleartextFront(handle, hooks);
      front.on("connection", (socket: Socket) => {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        front?.once("error", reject);
        front?.listen(listen.port ?? 0, host, () => resolve());
      });
      await health.start();
      const port = (front.address() as AddressInfo).port;
      return { host, port, url: `${options.tls ? "https" : "http"}://${host}:${port}` };
    },
    async close() {
      health.stop();
      const server = front;
      if (server?.listening) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, gatewayDefaults.drainTimeoutMs);
        // HTTP/2: GOAWAY, and each connection ends once its open streams do.
        for (const c of connections) c.close();
        // HTTP/1.1: idle connections end now, busy ones after their answer.
        endIdleHttp1(http1Sockets);
        await closed;
        clearTimeout(timer);
      }
      for (const u of upstreams) u.close();
    },
  };
}

/** Ends the HTTP/1.1 sockets with no request in flight (node's server holds it on the socket). */
function endIdleHttp1(sockets: ReadonlySet<Socket>): void {
  for (const s of sockets) if (!(s as Socket & { _httpMessage?: unknown })._httpMessage) s.end();
}

/** What a front tells the gateway of each connection, once its protocol is known. */
interface FrontHooks {
  readonly settings: ServerConnectionSettings;
  /** The socket (the TLS one under TLS) now carries HTTP/1.1 for node:http. */
  http1(socket: Socket): void;
  /** Serve the socket with the gateway's own HTTP/2 server. */
  h2(socket: Socket): void;
}

const preface = Buffer.from("PRI * HTTP/2.0");

/**
 * Cleartext: HTTP/1.1 (browsers) and HTTP/2 with prior knowledge on one port, told apart by
 * the first bytes as createServer does (src/server keeps its own copy; the gateway must not
 * depend on the server). HTTP/1.1 goes to node:http; HTTP/2 to the gateway's own server.
 */
function createCleartextFront(
  handle: (q: NodeRequest, s: NodeResponse) => void,
  hooks: FrontHooks,
): NetServer {
  const http1 = http1Server(handle);
  return createNetServer((socket) => {
    socket.on("error", () => socket.destroy());
    let seen: Buffer = Buffer.alloc(0);
    socket.setTimeout(gatewayDefaults.handshakeTimeoutMs, () => socket.destroy());
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, preface.length);
      const isH2 = seen.subarray(0, n).equals(preface.subarray(0, n));
      if (isH2 && seen.length < preface.length) return;
      socket.off("data", onData);
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(seen);
      if (isH2) hooks.h2(socket);
      else {
        hooks.http1(socket);
        http1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  });
}

/** TLS: ALPN picks h2 (the gateway's own server) or HTTP/1.1 (node:http) per connection. */
function createTlsFront(
  tls: NonNullable<GatewayOptions["tls"]>,
  handle: (q: NodeRequest, s: NodeResponse) => void,
  hooks: FrontHooks,
): NetServer {
  const http1 = http1Server(handle);
  const server = createTlsServer({
    cert: tls.cert,
    key: tls.key,
    ALPNProtocols: ["h2", "http/1.1"],
    handshakeTimeout: gatewayDefaults.handshakeTimeoutMs,
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    socket.on("error", () => socket.destroy());
    if (socket.alpnProtocol === "h2") hooks.h2(socket);
    else {
      hooks.http1(socket);
      http1.emit("connection", socket);
    }
  });
  server.on("tlsClientError", (_error, socket) => socket.destroy());
  return server as unknown as NetServer;
}

function http1Server(handle: (q: NodeRequest, s: NodeResponse) => void) {
  return createHttp1Server(
    {
      headersTimeout: gatewayDefaults.handshakeTimeoutMs,
      requestTimeout: 0,
      maxHeaderSize: gatewayDefaults.maxHeaderListBytes,
    },
    handle,
  );
}

let sharedLogger: Logger | undefined;

function defaultLogger(): Logger {
  sharedLogger ??= pino(
    { name: "protomesh-gateway", level: process.env.NODE_ENV === "test" ? "silent" : "info" },
    createBatchedLogDestination(),
  );
  return sharedLogger;
}
