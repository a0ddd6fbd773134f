import {
  createServer as createHttp1Server,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import {
  constants,
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { type MethodCheck, peerIdentityOf, type ServerAuthOptions } from "../auth/index.js";
import { encodeGrpcMessage } from "../transport/grpc-message.js";
import { createConnectEngine } from "./connect-engine/index.js";
import type { Health } from "./health/index.js";
import { createLeanEngine } from "./lean-engine/index.js";
import { createServerConcerns } from "./server-concerns.js";
import { serverDefaults } from "./server-defaults.js";
import { type ServerTlsOptions, tlsMaterialOf, watchTlsOf } from "./server-tls.js";
import type { ServiceRegistration } from "./service-registration.js";

export interface ServerOptions {
  /** The services to serve, built with `defineService`. */
  readonly services: readonly ServiceRegistration[];
  /** Serve TLS (h2 + http/1.1 by ALPN) instead of cleartext (h2c prior knowledge + HTTP/1.1). */
  readonly tls?: ServerTlsOptions | undefined;
  /**
   * How long `close()` lets in-flight calls finish before it cancels them. Default 10 s, the
   * usual Kubernetes grace period less time for the endpoint to leave the load balancer.
   */
  readonly drainTimeoutMs?: number | undefined;
  /** Close the server on SIGTERM and SIGINT (graceful shutdown). Default false: the app decides. */
  readonly handleSignals?: boolean | undefined;
  /**
   * The access log, one line per call. Default: pino at info level on stdout (silent when
   * NODE_ENV=test). Pass `false` for none.
   */
  readonly logger?: Logger | false | undefined;
  /** Where the RED metrics are registered. Default: a new Registry for this server. */
  readonly metricsRegistry?: Registry | undefined;
  /**
   * The path serving Prometheus metrics on the same port (GET, any protocol). Default
   * "/metrics"; `false` to not serve them (then read `server.metrics` yourself).
   */
  readonly metricsPath?: string | false | undefined;
  /** Largest request message, after decompression. Default 4 MiB, as gRPC (RESOURCE_EXHAUSTED). */
  readonly maxReceiveMessageBytes?: number | undefined;
  /** Concurrent streams per HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). Default 100. */
  readonly maxConcurrentStreams?: number | undefined;
  /** Largest header list a client may send (SETTINGS_MAX_HEADER_LIST_SIZE). Default 16 KiB. */
  readonly maxHeaderListBytes?: number | undefined;
  /**
   * Largest deadline a caller may ask for; longer ones fail with INVALID_ARGUMENT (as
   * connect-node does). Default: no cap.
   */
  readonly maxTimeoutMs?: number | undefined;
  /**
   * A connection that starts no call for this long (checked every idleTimeoutMs, so between
   * 1× and 2× of it) is closed with GOAWAY, letting calls still open on it finish; as grpc-go's
   * MaxConnectionIdle. Default 5 min.
   */
  readonly idleTimeoutMs?: number | undefined;
  /**
   * A client must send its protocol preface (or TLS handshake) and HTTP/1.1 request headers
   * within this time, else the connection is dropped (slow-client protection). Default 10 s.
   */
  readonly handshakeTimeoutMs?: number | undefined;
  /** Register `grpc.health.v1.Health`. Default true. */
  readonly health?: boolean | undefined;
  /**
   * Who may call what (README "Security"): bearer-token verification and the switches of
   * health, reflection and metrics; every method follows its contract's `auth` policy.
   * Default none: only methods whose contract writes an `auth` policy are enforced.
   */
  readonly auth?: ServerAuthOptions | undefined;
}

export interface ListenOptions {
  /** Default 127.0.0.1: listening on every interface is a deliberate choice. */
  readonly host?: string;
  /** Default 0: the system picks a free port; read it from the result. */
  readonly port?: number;
}

/** Where a server listens, ready to hand to a client as `baseUrl`. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  readonly url: string;
}

export interface Server {
  listen(options?: ListenOptions): Promise<ServerAddress>;
  /**
   * Graceful shutdown: health turns NOT_SERVING, the listener stops accepting, connections get
   * GOAWAY, new calls fail fast with UNAVAILABLE, in-flight calls finish up to the drain
   * timeout, then the rest are cancelled. Resolves once every connection is closed.
   */
  close(): Promise<void>;
  /** The health service's statuses, settable from code. */
  readonly health: Health;
  /** The registry holding this server's RED metrics. */
  readonly metrics: Registry;
}

const preface = Buffer.from("PRI * HTTP/2.0");

/**
 * Serves gRPC, gRPC-Web and the Connect protocol for every service on one port: gRPC
 * (`application/grpc[+proto]` over HTTP/2) on the lean engine, everything else through
 * connect-node. Cleartext ports take HTTP/2 with prior knowledge and HTTP/1.1 (told apart by
 * the first bytes); TLS ports negotiate with ALPN.
 */
export function createServer(options: ServerOptions): Server {
  const drainTimeoutMs = options.drainTimeoutMs ?? serverDefaults.drainTimeoutMs;
  const maxReceiveMessageBytes =
    options.maxReceiveMessageBytes ?? serverDefaults.maxReceiveMessageBytes;
  const maxTimeoutMs = options.maxTimeoutMs ?? serverDefaults.maxTimeoutMs;
  const idleTimeoutMs = options.idleTimeoutMs ?? serverDefaults.idleTimeoutMs;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? serverDefaults.handshakeTimeoutMs;
  const metricsPath = options.metricsPath ?? serverDefaults.metricsPath;
  const maxHeaderListBytes = options.maxHeaderListBytes ?? serverDefaults.maxHeaderListBytes;

  const { services, health, metrics, observer, auth } = createServerConcerns(options);
  const tlsMaterial = options.tls ? tlsMaterialOf(options.tls) : undefined;

  let draining = false;
  const http1Busy = new WeakMap<Socket, number>();
  const sessionInfo = new WeakMap<Http2Session, SessionInfo>();
  const lean = createLeanEngine({
    services,
    observer,
    maxReceiveMessageBytes,
    maxTimeoutMs,
    draining: () => draining,
  });
  const connect = createConnectEngine({ services, observer, maxReceiveMessageBytes, maxTimeoutMs });

  const onRequest = (
    request: IncomingMessage | Http2ServerRequest,
    response: ServerResponse | Http2ServerResponse,
  ) => {
    if (metricsPath && request.method === "GET" && request.url === metricsPath) {
      if (auth.metrics) authorizeMetrics(auth.metrics, request, response, metrics.registry);
      else serveMetrics(metrics.registry, response);
      return;
    }
    if ("shouldKeepAlive" in response) {
      // HTTP/1.1: count requests per connection so a drain can close the idle ones.
      const socket = request.socket;
      http1Busy.set(socket, (http1Busy.get(socket) ?? 0) + 1);
      response.once("close", () => {
        const left = (http1Busy.get(socket) ?? 1) - 1;
        http1Busy.set(socket, left);
        if (draining && left === 0) socket.destroySoon();
      });
      if (draining) response.shouldKeepAlive = false;
    }
    connect(request, response);
  };

  // Never listens: it only turns the streams the dispatcher hands it into compat
  // request/response pairs for connect-node.
  const compat = createHttp2Server(onRequest);
  const http2 = createHttp2Server({
    settings: {
      maxConcurrentStreams: options.maxConcurrentStreams ?? serverDefaults.maxConcurrentStreams,
      maxHeaderListSize: maxHeaderListBytes,
    },
    maxSessionInvalidFrames: 100,
  });
  http2.on(
    "stream",
    (
      stream: ServerHttp2Stream,
      headers: IncomingHttpHeaders,
      flags: number,
      rawHeaders: string[],
    ) => {
      const info = sessionInfo.get(stream.session as Http2Session);
      if (info) info.streams++;
      const peer = info?.peer ?? "unknown";
      const grpc = isLeanGrpc(headers["content-type"]);
      if (headerListBytes(rawHeaders) > maxHeaderListBytes) {
        // nghttp2 advertises SETTINGS_MAX_HEADER_LIST_SIZE but does not enforce it on receipt.
        refuseHeaders(stream, grpc);
      } else if (grpc) lean.handleGrpc(stream, headers, peer, info?.identity);
      else if (!lean.handleConnectUnary(stream, headers, peer, info?.identity)) {
        compat.emit("stream", stream, headers, flags, rawHeaders);
      }
    },
  );
  const sessions = new Set<Http2Session>();
  http2.on("session", (session: Http2Session) => {
    sessions.add(session);
    const socket = session.socket;
    sessionInfo.set(session, {
      peer: `${socket.remoteAddress ?? "unknown"}:${socket.remotePort ?? 0}`,
      // Once per connection: its client certificate cannot change while it is open.
      identity: options.tls ? peerIdentityOf(socket) : undefined,
      streams: 0,
      streamsAtLastSweep: -1,
    });
    session.on("error", () => {});
    session.once("close", () => sessions.delete(session));
    if (draining) goAway(session);
  });

  // Idle connections: swept every idleTimeoutMs, a session that started no stream since the
  // previous sweep gets a graceful GOAWAY (its open streams still finish). Not node's
  // session.setTimeout, which re-arms a timer on every frame read or written: measurable on the
  // hot path.
  const idleSweep = setInterval(() => {
    for (const session of sessions) {
      const info = sessionInfo.get(session);
      if (!info) continue;
      if (info.streams === info.streamsAtLastSweep) goAway(session);
      info.streamsAtLastSweep = info.streams;
    }
  }, idleTimeoutMs);
  idleSweep.unref();

  const http1 = createHttp1Server(
    {
      headersTimeout: handshakeTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: 5_000,
      maxHeaderSize: maxHeaderListBytes,
    },
    onRequest,
  );
  http1.setTimeout(idleTimeoutMs);

  const sockets = new Set<Socket>();
  const http1Sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      http1Sockets.delete(socket);
    });
    socket.on("error", () => socket.destroy());
  };
  const front = options.tls
    ? createTlsServer(
        {
          ...tlsMaterial,
          requestCert: options.tls.requireClientCert ?? false,
          rejectUnauthorized: options.tls.requireClientCert ?? false,
          ALPNProtocols: ["h2", "http/1.1"],
          handshakeTimeout: handshakeTimeoutMs,
        },
        (socket: TLSSocket) => {
          track(socket);
          const isHttp2 = socket.alpnProtocol === "h2";
          if (!isHttp2) http1Sockets.add(socket);
          (isHttp2 ? http2 : http1).emit("connection", socket);
        },
      )
    : createNetServer((socket) => {
        track(socket);
        sniff(socket, handshakeTimeoutMs, (isHttp2) => {
          if (!isHttp2) http1Sockets.add(socket);
          (isHttp2 ? http2 : http1).emit("connection", socket);
          // The HTTP/1 parser reads the bytes put back only once the socket flows again.
          if (!isHttp2) socket.resume();
        });
      });
  front.on("tlsClientError", () => {});
  const tlsWatch = watchTlsOf(options.tls, (material) => {
    // New connections get the new context; open ones keep theirs (calls in flight go on).
    (front as ReturnType<typeof createTlsServer>).setSecureContext(material);
  });

  let closing: Promise<void> | undefined;
  const onSignal = () => void close();
  if (options.handleSignals) {
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }

  function close(): Promise<void> {
    if (closing) return closing;
    draining = true;
    clearInterval(idleSweep);
    tlsWatch?.close();
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    health.shutdown();
    const closed = new Promise<void>((resolve) => {
      if (!front.listening) {
        resolve();
        return;
      }
      front.close(() => resolve());
    });
    // Two GOAWAYs, as gRPC servers do: the first (last stream id 2^31-1) tells peers to open no
    // new streams; one ping round trip later (or finalGoAwayAfterMs) the final GOAWAY names the
    // last stream processed, and the session closes once its in-flight streams end. A stream
    // whose headers were read before the first GOAWAY went out fails with UNAVAILABLE (draining).
    // One the client sent before it heard the GOAWAY is ignored by nghttp2 (it takes no stream
    // after sending GOAWAY) and refused by the final one: REFUSED_STREAM, never run, which gRPC
    // clients report as UNAVAILABLE and may retry (connect-node's client reports INTERNAL).
    for (const session of sessions) goAway(session);
    // HTTP/1.1 keep-alive connections with no request in flight (the rest close after theirs).
    for (const socket of http1Sockets) if (!http1Busy.get(socket)) socket.destroySoon();
    const timer = setTimeout(() => {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    }, drainTimeoutMs);
    closing = closed.finally(() => clearTimeout(timer));
    return closing;
  }

  return {
    health,
    metrics: metrics.registry,
    close,
    listen({ host = "127.0.0.1", port = 0 } = {}) {
      return new Promise((resolve, reject) => {
        front.once("error", reject);
        front.listen(port, host, () => {
          front.off("error", reject);
          const address = front.address() as AddressInfo;
          const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
          resolve({
            host: address.address,
            port: address.port,
            url: `${options.tls ? "https" : "http"}://${urlHost}:${address.port}`,
          });
        });
      });
    },
  };
}

interface SessionInfo {
  readonly peer: string;
  /** The verified client certificate's identity, if the connection has one. */
  readonly identity: string | undefined;
  /** Streams started on the session, for the idle sweep. */
  streams: number;
  streamsAtLastSweep: number;
}

/** The content types the lean engine serves; everything else goes to connect-node. */
function isLeanGrpc(contentType: string | undefined): boolean {
  return (
    contentType === "application/grpc" ||
    contentType === "application/grpc+proto" ||
    (contentType !== undefined && /^application\/grpc(\+proto)?\s*;/.test(contentType))
  );
}

/**
 * How long to wait for the ping after the first GOAWAY before the final one. Node's HTTP/2
 * client (and so grpc-js) never acknowledges a PING that follows a GOAWAY, so without a bound
 * every idle connection would hold `close()` for the whole drain timeout. gRPC servers bound
 * this wait the same way (grpc-go: 1 s).
 */
const finalGoAwayAfterMs = 1_000;

function goAway(session: Http2Session): void {
  if (session.closed || session.destroyed) return;
  session.goaway(constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
  const closeNow = () => {
    clearTimeout(timer);
    if (!session.closed && !session.destroyed) session.close();
  };
  const timer = setTimeout(closeNow, finalGoAwayAfterMs);
  if (!session.ping(closeNow)) closeNow();
}

/** A header list's size as HTTP/2 counts it: name + value + 32 bytes per field. */
function headerListBytes(rawHeaders: readonly string[]): number {
  let bytes = 0;
  for (const field of rawHeaders) bytes += field.length + 16;
  return bytes;
}

function refuseHeaders(stream: ServerHttp2Stream, grpc: boolean): void {
  stream.on("error", () => {});
  if (grpc) {
    stream.respond(
      {
        ":status": 200,
        "content-type": "application/grpc",
        "grpc-status": String(Code.ResourceExhausted),
        "grpc-message": encodeGrpcMessage("header list too large"),
      },
      { endStream: true },
    );
  } else {
    stream.respond({ ":status": 431 }, { endStream: true });
  }
  stream.close(constants.NGHTTP2_NO_ERROR);
}

/**
 * Hand-written: tells HTTP/2 with prior knowledge (its preface starts "PRI * HTTP/2.0") from
 * HTTP/1.1 on a cleartext port by the first bytes, then puts them back for the chosen server.
 */
function sniff(socket: Socket, timeoutMs: number, route: (isHttp2: boolean) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  socket.setTimeout(timeoutMs, () => socket.destroy());
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, preface.length);
    const matches = seen.subarray(0, compared).equals(preface.subarray(0, compared));
    if (matches && seen.length < preface.length) return;
    socket.off("data", onData);
    socket.pause();
    socket.setTimeout(0);
    socket.unshift(seen);
    route(matches);
  };
  socket.on("data", onData);
}

/** The metrics path with `auth.metrics: "authenticated"`: 401 without a valid credential. */
function authorizeMetrics(
  check: MethodCheck,
  request: IncomingMessage | Http2ServerRequest,
  response: ServerResponse | Http2ServerResponse,
  registry: Registry,
): void {
  const header = request.headers.authorization;
  const refuse = (error: unknown) => {
    const connectError = ConnectError.from(error);
    response.statusCode = connectError.code === Code.PermissionDenied ? 403 : 401;
    response.setHeader(
      "www-authenticate",
      connectError.metadata.get("www-authenticate") ?? "Bearer",
    );
    response.end();
  };
  try {
    Promise.resolve(check(header, peerIdentityOf(request.socket))).then(
      () => serveMetrics(registry, response),
      refuse,
    );
  } catch (error) {
    refuse(error);
  }
}

function serveMetrics(registry: Registry, response: ServerResponse | Http2ServerResponse): void {
  registry.metrics().then(
    (text) => {
      response.statusCode = 200;
      response.setHeader("content-type", registry.contentType);
      response.end(text);
    },
    () => {
      response.statusCode = 500;
      response.end();
    },
  );
}
