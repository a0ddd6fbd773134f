import type { Interceptor, Transport } from "@connectrpc/connect";
import { validateReadWriteMaxBytes } from "@connectrpc/connect/protocol";
import { createTransport as createGrpcProtocolTransport } from "@connectrpc/connect/protocol-grpc";
import {
  compressionBrotli,
  compressionGzip,
  createConnectTransport,
  createNodeHttpClient,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { connectionErrorInterceptor } from "./connection-error-interceptor.js";
import { withSpecGrpcMessageDecoding } from "./spec-grpc-message-decoding.js";
import type { TransportTls } from "./transport-tls.js";

export interface ConnectNodeTransportOptions {
  /**
   * Which protocol to speak. `grpc` (default): gRPC over HTTP/2, for any gRPC server.
   * `connect`: the Connect protocol, which also works over HTTP/1.1 and through proxies that
   * drop trailers, and can be read with curl.
   */
  readonly protocol?: "grpc" | "connect";
  /** Where the service listens: `http://host:port` (cleartext) or `https://host:port` (TLS). */
  readonly baseUrl: string;
  /**
   * HTTP version for the Connect protocol. Default "2" (one multiplexed connection); "1.1"
   * where HTTP/2 is not available. gRPC always uses HTTP/2.
   */
  readonly httpVersion?: "1.1" | "2";
  /**
   * Protobuf binary on the wire (default true: smaller and faster); false sends JSON, which the
   * Connect protocol makes readable with curl.
   */
  readonly useBinaryFormat?: boolean;
  /** TLS settings for an `https://` base URL. Default: Node's root CAs, no client certificate. */
  readonly tls?: TransportTls;
  /** Run around every call, outermost first. */
  readonly interceptors?: readonly Interceptor[];
  /** Deadline for calls that set no `timeoutMs`. Default: none (the resilience layer's job). */
  readonly defaultTimeoutMs?: number;
  /**
   * Interval of HTTP/2 PINGs that detect a dead connection (GRPC_ARG_KEEPALIVE_TIME_MS).
   * Default: off, as in gRPC, since servers may close connections that ping too often.
   */
  readonly keepaliveTimeMs?: number;
  /** How long to wait for a PING's ack (GRPC_ARG_KEEPALIVE_TIMEOUT_MS). Default 15 s (connect-node). */
  readonly keepaliveTimeoutMs?: number;
  /** Ping even with no call open (GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS). Default false. */
  readonly keepalivePermitWithoutCalls?: boolean;
  /** Largest response message accepted (GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH). Default 4 MiB, as gRPC. */
  readonly maxReceiveMessageBytes?: number;
  /** Largest request message sent (GRPC_ARG_MAX_SEND_MESSAGE_LENGTH). Default unlimited. */
  readonly maxSendMessageBytes?: number;
}

/** gRPC's default limit on a received message, which connect-node does not apply by itself. */
const defaultMaxReceiveMessageBytes = 4 * 1024 * 1024;

/**
 * A connect-node transport — gRPC or the Connect protocol, cleartext or TLS — configured with
 * the same option names as `createGrpcJsTransport`, so client code picks either by one option.
 * Connection failures come out as `Unavailable` whichever transport is used.
 */
export function createConnectNodeTransport(options: ConnectNodeTransportOptions): Transport {
  const tls = options.tls;
  const nodeOptions = tls
    ? {
        ...(tls.rootCerts !== undefined && { ca: tls.rootCerts }),
        ...(tls.certChain !== undefined && { cert: tls.certChain }),
        ...(tls.privateKey !== undefined && { key: tls.privateKey }),
        ...(tls.serverName !== undefined && { servername: tls.serverName }),
      }
    : {};
  const common = {
    baseUrl: options.baseUrl,
    useBinaryFormat: options.useBinaryFormat ?? true,
    interceptors: [...(options.interceptors ?? []), connectionErrorInterceptor],
    readMaxBytes: options.maxReceiveMessageBytes ?? defaultMaxReceiveMessageBytes,
    ...(options.maxSendMessageBytes !== undefined && {
      writeMaxBytes: options.maxSendMessageBytes,
    }),
    ...(options.defaultTimeoutMs !== undefined && { defaultTimeoutMs: options.defaultTimeoutMs }),
  };
  const http2 = {
    httpVersion: "2" as const,
    nodeOptions,
    ...(options.keepaliveTimeMs !== undefined && { pingIntervalMs: options.keepaliveTimeMs }),
    ...(options.keepaliveTimeoutMs !== undefined && { pingTimeoutMs: options.keepaliveTimeoutMs }),
    ...(options.keepalivePermitWithoutCalls !== undefined && {
      pingIdleConnection: options.keepalivePermitWithoutCalls,
    }),
  };
  if ((options.protocol ?? "grpc") === "grpc") {
    // connect-node's createGrpcTransport, built from its public parts so that its HTTP client
    // can be wrapped: Connect decodes grpc-message with decodeURIComponent, which throws on a
    // malformed escape (gRPC's spec forbids failing on one); see withSpecGrpcMessageDecoding.
    const sessionManager = new Http2SessionManager(
      options.baseUrl,
      {
        ...(http2.pingIntervalMs !== undefined && { pingIntervalMs: http2.pingIntervalMs }),
        ...(http2.pingTimeoutMs !== undefined && { pingTimeoutMs: http2.pingTimeoutMs }),
        ...(http2.pingIdleConnection !== undefined && {
          pingIdleConnection: http2.pingIdleConnection,
        }),
      },
      nodeOptions,
    );
    const httpClient = createNodeHttpClient({
      httpVersion: "2",
      sessionProvider: () => sessionManager,
    });
    return createGrpcProtocolTransport({
      ...common,
      ...validateReadWriteMaxBytes(common.readMaxBytes, options.maxSendMessageBytes, undefined),
      httpClient: withSpecGrpcMessageDecoding(httpClient),
      acceptCompression: [compressionGzip, compressionBrotli],
      sendCompression: null,
    });
  }
  if (options.httpVersion === "1.1") {
    return createConnectTransport({ ...common, httpVersion: "1.1", nodeOptions });
  }
  return createConnectTransport({ ...common, ...http2 });
}
