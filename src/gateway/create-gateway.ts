import { createServer as createHttp1Server } from "node:http";
import {
  createServer as createHttp2Server,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from "node:net";
import type { DescMethod, Registry as TypeRegistry } from "@bufbuild/protobuf";
import { Code, createContextValues, type Transport } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import {
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
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
import { createConnectRoutes, peerKey } from "./connect-routes.js";
import { Cors, type GatewayCorsOptions } from "./cors.js";
import { forwardedHeaderNames } from "./forward-headers.js";
import { gatewayDefaults } from "./gateway-defaults.js";
import {
  GatewayFailure,
  type NodeRequest,
  type NodeResponse,
  notFound,
  sendStatusJson,
} from "./gateway-failure.js";
import { grpcWebTextRequest, grpcWebTextResponse, isGrpcWebText } from "./grpc-web-text.js";
import { buildOpenApi } from "./openapi.js";
import { NodeExchange } from "./rest/node-exchange.js";
import { RouteTable } from "./rest/route-table.js";
import { type RestContext, type RestRoute, serveRest } from "./rest/serve-rest.js";
import { StreamExchange } from "./rest/stream-exchange.js";
import { type GatewayUpstream, resolveUpstreams } from "./upstream.js";
import { UpstreamHealth } from "./upstream-health.js";

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

  const handle = (request: NodeRequest, response: NodeResponse): void => {
    if (cors.handle(request, response)) return;
    const url = request.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const method = request.method ?? "GET";
    const headers = request.headers;
    const requestId = correlationIdFrom(
      headers[correlationIdHeader] as string | undefined,
      headers.traceparent as string | undefined,
    );
    // Connect and gRPC-Web handlers read it back from the request headers.
    headers[correlationIdHeader] = requestId;
    response.setHeader(correlationIdHeader, requestId);
    const connect = connectPaths.get(path);
    if (connect) {
      serveConnect(connect, request, response);
      return;
    }
    if (method === "GET") {
      if (path === metricsPath) {
        serveText(response, metrics.registry.metrics(), metrics.registry.contentType);
        return;
      }
      if (path === readinessPath) {
        const ready = health.ready;
        response.statusCode = ready ? 200 : 503;
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ status: ready ? "SERVING" : "NOT_SERVING" }));
        return;
      }
      if (path === openapiPath) {
        openapi ??= JSON.stringify(buildOpenApi(routes));
        const body = openapi;
        response.statusCode = 200;
        response.setHeader("content-type", "application/json");
        response.end(body);
        return;
      }
    }
    const found = table.match(method, path);
    if (found.kind === "found") {
      void serveRest(
        new NodeExchange(request, response),
        found,
        q === -1 ? "" : url.slice(q + 1),
        requestId,
        rest,
      );
    } else if (found.kind === "wrong-verb") {
      request.resume();
      sendStatusJson(
        response,
        new GatewayFailure(
          405,
          `${method} is not allowed on ${path}`,
          Code.Unimplemented,
          found.allow,
        ),
        typeRegistry,
      );
    } else {
      request.resume();
      sendStatusJson(response, notFound(), typeRegistry);
    }
  };

  /**
   * The lean path: an HTTP/2 REST call that needs nothing of node's compat layer (no CORS
   * origin to answer, a REST route) is served on its raw stream. Everything else — Connect,
   * gRPC-Web, the gateway's own endpoints, 404/405, cross-origin calls — returns false and goes
   * through `handle` as before. The profile showed the compat request/response pair (two
   * streams per call wrapping the one HTTP/2 stream) among the largest costs of a REST call.
   */
  const serveStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean => {
    if (headers.origin !== undefined) return false;
    const url = headers[":path"] ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (connectPaths.has(path)) return false;
    const method = headers[":method"] ?? "GET";
    if (
      method === "GET" &&
      (path === metricsPath || path === readinessPath || path === openapiPath)
    )
      return false;
    const found = table.match(method, path);
    if (found.kind !== "found") return false;
    const requestId = correlationIdFrom(
      headers[correlationIdHeader] as string | undefined,
      headers.traceparent as string | undefined,
    );
    void serveRest(
      new StreamExchange(stream, headers, requestId, sessionPeer(stream.session)),
      found,
      q === -1 ? "" : url.slice(q + 1),
      requestId,
      rest,
    );
    return true;
  };

  let front: NetServer | undefined;
  const sockets = new Set<Socket>();

  return {
    routes,
    metrics: metrics.registry,
    handle,
    async listen(listen = {}) {
      const host = listen.host ?? "127.0.0.1";
      front = options.tls
        ? createTlsFront(options.tls, handle, serveStream)
        : createCleartextFront(handle, serveStream);
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
        for (const s of sockets)
          if (!(s as Socket & { _httpMessage?: unknown })._httpMessage) s.end();
        await closed;
        clearTimeout(timer);
      }
      for (const u of upstreams) u.close();
    },
  };

  function serveConnect(handler: UniversalHandler, request: NodeRequest, response: NodeResponse) {
    const text = isGrpcWebText(request.headers["content-type"]);
    const values = createContextValues().set(peerKey, peerOf(request));
    let uReq = universalRequestFromNodeRequest(request, response, undefined, values);
    if (text) uReq = grpcWebTextRequest(uReq);
    handler(uReq)
      .then((uRes) =>
        universalResponseToNodeResponse(text ? grpcWebTextResponse(uRes) : uRes, response),
      )
      .catch(() => {
        // The caller went away mid-response; the upstream call was cancelled with it.
        if (!response.headersSent) response.statusCode = 500;
        response.end();
      });
  }
}

function peerOf(request: NodeRequest): string {
  const s = request.socket;
  return `${s.remoteAddress ?? "unknown"}:${s.remotePort ?? 0}`;
}

function serveText(response: NodeResponse, text: Promise<string>, type: string): void {
  text.then(
    (t) => {
      response.statusCode = 200;
      response.setHeader("content-type", type);
      response.end(t);
    },
    () => {
      response.statusCode = 500;
      response.end();
    },
  );
}

const preface = Buffer.from("PRI * HTTP/2.0");

/**
 * Cleartext: HTTP/1.1 (browsers) and HTTP/2 with prior knowledge on one port, told apart by
 * the first bytes as createServer does (src/server keeps its own copy; the gateway must not
 * depend on the server).
 */
function createCleartextFront(
  handle: (q: NodeRequest, s: NodeResponse) => void,
  lean: LeanStreams,
): NetServer {
  const http1 = createHttp1Server(
    {
      headersTimeout: gatewayDefaults.handshakeTimeoutMs,
      requestTimeout: 0,
      maxHeaderSize: gatewayDefaults.maxHeaderListBytes,
    },
    handle,
  );
  const http2 = createHttp2Server(
    { settings: { maxHeaderListSize: gatewayDefaults.maxHeaderListBytes } },
    handle,
  );
  leanFirst(http2, lean);
  http2.on("sessionError", () => {});
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
      (isH2 ? http2 : http1).emit("connection", socket);
      if (!isH2) socket.resume();
    };
    socket.on("data", onData);
  });
}

function createTlsFront(
  tls: NonNullable<GatewayOptions["tls"]>,
  handle: (q: NodeRequest, s: NodeResponse) => void,
  lean: LeanStreams,
): NetServer {
  const server = createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true }, handle);
  leanFirst(server, lean);
  return server as unknown as NetServer;
}

/** Serves an HTTP/2 stream itself and returns true, or returns false to leave it to `handle`. */
type LeanStreams = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;
type StreamListener = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

/**
 * Puts `lean` before node's compat layer on an HTTP/2 server built with a request handler:
 * node serves that handler from a "stream" listener of its own, which now runs only for the
 * streams `lean` leaves. HTTP/1.1 requests on the TLS port never pass here.
 */
function leanFirst(server: Http2Server | Http2SecureServer, lean: LeanStreams): void {
  const compat = server.listeners("stream") as StreamListener[];
  if (compat.length !== 1) throw new Error("node:http2 compat layer not found");
  const serveCompat = compat[0] as StreamListener;
  server.removeListener("stream", serveCompat);
  const first: StreamListener = (stream, headers, flags, rawHeaders) => {
    if (!lean(stream, headers)) serveCompat.call(server, stream, headers, flags, rawHeaders);
  };
  server.on("stream", first);
}

const peers = new WeakMap<Http2Session, string>();

/** "ip:port" of the session's socket, once per connection. */
function sessionPeer(session: Http2Session | undefined): string {
  if (!session) return "unknown:0";
  let peer = peers.get(session);
  if (peer === undefined) {
    const s = session.socket;
    peer = `${s.remoteAddress ?? "unknown"}:${s.remotePort ?? 0}`;
    peers.set(session, peer);
  }
  return peer;
}

let sharedLogger: Logger | undefined;

function defaultLogger(): Logger {
  sharedLogger ??= pino(
    { name: "protomesh-gateway", level: process.env.NODE_ENV === "test" ? "silent" : "info" },
    createBatchedLogDestination(),
  );
  return sharedLogger;
}
