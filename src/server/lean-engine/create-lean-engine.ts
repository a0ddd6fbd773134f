import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import type { CallObserver } from "../../observe/index.js";
import { correlationIdFrom, correlationIdHeader } from "../../observe/index.js";
import { encodeGrpcMessage } from "../../transport/grpc-message.js";
import type { ServiceRegistration } from "../service-registration.js";
import { ConnectUnaryCall } from "./connect-unary-call.js";
import { GrpcServerCall } from "./grpc-server-call.js";
import type { GrpcRoute } from "./lean-call.js";

export interface LeanEngineOptions {
  readonly services: readonly ServiceRegistration[];
  readonly observer: CallObserver;
  /** Largest request message accepted, after decompression (RESOURCE_EXHAUSTED beyond). */
  readonly maxReceiveMessageBytes: number;
  /** Largest grpc-timeout accepted (INVALID_ARGUMENT beyond, as connect-node does). */
  readonly maxTimeoutMs: number;
  /** True once the server drains: new calls fail fast with UNAVAILABLE. */
  readonly draining: () => boolean;
}

/** Serves the hot paths on raw HTTP/2 streams; everything else is left to connect-node. */
export interface LeanEngine {
  /**
   * An `application/grpc` or `application/grpc+proto` request, any method kind, from `peer`
   * ("ip:port"), whose connection's client certificate names `peerIdentity` (if any).
   */
  handleGrpc(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    peer: string,
    peerIdentity?: string | undefined,
  ): void;
  /**
   * A Connect unary request (POST, application/json or application/proto, uncompressed):
   * served and true, or false when it is anything else — connect-node then takes it.
   */
  handleConnectUnary(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    peer: string,
    peerIdentity?: string | undefined,
  ): boolean;
}

/**
 * The lean engine: one Map lookup per call to find the method, then a `GrpcServerCall` or a
 * `ConnectUnaryCall`. It exists because connect-node's handler runs every call, unary too,
 * through an async-iterable streaming pipeline (measured 5× slower than grpc-js on gRPC);
 * gRPC-Web, Connect streaming, GET, compression and HTTP/1.1 still go to connect-node.
 */
export function createLeanEngine(options: LeanEngineOptions): LeanEngine {
  const routes = new Map<string, GrpcRoute>();
  for (const { service, impl } of options.services) {
    for (const method of service.methods) {
      const handler = (impl as Record<string, GrpcRoute["handler"] | undefined>)[method.localName];
      if (handler) {
        routes.set(`/${service.typeName}/${method.name}`, {
          service,
          method,
          handler: handler.bind(impl),
          observeGrpc: options.observer.forMethod(service.typeName, method.name, "grpc"),
          observeConnect: options.observer.forMethod(service.typeName, method.name, "connect"),
        });
      }
    }
  }

  // The last grpc-timeout value parsed and its milliseconds: clients send the same value call
  // after call (a fixed per-attempt timeout), so most calls skip the regex and result object.
  let lastTimeoutHeader: string | undefined;
  let lastTimeoutMs = 0;

  return {
    handleConnectUnary(stream, headers, peer, peerIdentity) {
      const contentType = headers["content-type"];
      const json = contentType === "application/json";
      if (!json && contentType !== "application/proto") return false;
      if (headers[":method"] !== "POST") return false;
      const encoding = headers["content-encoding"];
      if (encoding !== undefined && encoding !== "identity") return false;
      const route = routes.get(headers[":path"] ?? "");
      if (route?.method.methodKind !== "unary") return false;
      const timeout = parseConnectTimeout(
        headerValue(headers["connect-timeout-ms"]) ?? null,
        options.maxTimeoutMs,
      );
      const correlationId = correlationIdOf(headers);
      const observed = route.observeConnect.begin(peer, correlationId, headers);
      const call = new ConnectUnaryCall({
        route,
        stream,
        headers,
        correlationId,
        peerIdentity,
        deadline: timeout.timeoutMs === undefined ? undefined : Date.now() + timeout.timeoutMs,
        timeoutMs: timeout.timeoutMs,
        json,
        maxReceiveMessageBytes: options.maxReceiveMessageBytes,
        observed,
      });
      call.start();
      if (timeout.error) call.fail(timeout.error);
      else if (options.draining()) {
        call.fail(new ConnectError("server is shutting down", Code.Unavailable));
      }
      return true;
    },

    handleGrpc(stream, headers, peer, peerIdentity) {
      const path = headers[":path"] ?? "";
      const route = routes.get(path);
      if (!route) {
        respondError(stream, new ConnectError(`unknown method ${path}`, Code.Unimplemented));
        return;
      }
      if (options.draining()) {
        refuse(
          route,
          stream,
          headers,
          peer,
          new ConnectError("server is shutting down", Code.Unavailable),
        );
        return;
      }
      const encodingHeader = headers["grpc-encoding"];
      let encoding: "gzip" | undefined;
      if (encodingHeader === "gzip") encoding = "gzip";
      else if (encodingHeader !== undefined && encodingHeader !== "identity") {
        refuse(
          route,
          stream,
          headers,
          peer,
          new ConnectError(
            `unsupported grpc-encoding ${String(encodingHeader)}`,
            Code.Unimplemented,
          ),
        );
        return;
      }
      const timeoutHeader = headers["grpc-timeout"];
      let timeoutMs: number | undefined;
      if (timeoutHeader === lastTimeoutHeader && timeoutHeader !== undefined) {
        timeoutMs = lastTimeoutMs;
      } else if (timeoutHeader !== undefined) {
        const parsed = parseTimeout(String(timeoutHeader), options.maxTimeoutMs);
        if (parsed.error) {
          refuse(route, stream, headers, peer, parsed.error);
          return;
        }
        timeoutMs = parsed.timeoutMs;
        if (typeof timeoutHeader === "string" && timeoutMs !== undefined) {
          lastTimeoutHeader = timeoutHeader;
          lastTimeoutMs = timeoutMs;
        }
      }
      const correlationId = correlationIdOf(headers);
      const observed = route.observeGrpc.begin(peer, correlationId, headers);
      const acceptHeader = headers["grpc-accept-encoding"];
      new GrpcServerCall({
        route,
        stream,
        headers,
        correlationId,
        peerIdentity,
        deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
        timeoutMs,
        encoding,
        acceptsGzip: acceptsGzip(acceptHeader),
        negotiatesEncoding: encodingHeader !== undefined || acceptHeader !== undefined,
        maxReceiveMessageBytes: options.maxReceiveMessageBytes,
        observed,
      }).start();
    },
  };
}

/** A call on a known method refused before it began: answered, counted and logged. */
function refuse(
  route: GrpcRoute,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  peer: string,
  error: ConnectError,
): void {
  route.observeGrpc.begin(peer, correlationIdOf(headers)).end(error.code);
  respondError(stream, error);
}

/** A trailers-only error response for a call refused before it began. */
function respondError(stream: ServerHttp2Stream, error: ConnectError): void {
  stream.on("error", () => {});
  const headers: OutgoingHttpHeaders = {
    ":status": 200,
    "content-type": "application/grpc",
    "grpc-accept-encoding": "gzip,identity",
    "grpc-status": String(error.code),
    "grpc-message": encodeGrpcMessage(error.rawMessage),
  };
  stream.respond(headers, { endStream: true });
  // Whatever body the client still sends is not wanted.
  stream.resume();
}

function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  return String(header)
    .split(",")
    .some((codec) => codec.trim() === "gzip");
}

function correlationIdOf(headers: IncomingHttpHeaders): string {
  return correlationIdFrom(
    headerValue(headers[correlationIdHeader]),
    headerValue(headers.traceparent),
  );
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
