import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { peerIdentityOf } from "../../auth/index.js";
import type { CallObserver } from "../../observe/index.js";
import type { ServiceRegistration } from "../service-registration.js";
import { peerIdentityKey, withCallContext } from "../with-call-context.js";
import { createObserveInterceptor, peerKey } from "./observe-interceptor.js";

export interface ConnectEngineOptions {
  readonly services: readonly ServiceRegistration[];
  readonly observer: CallObserver;
  readonly maxReceiveMessageBytes: number;
  readonly maxTimeoutMs: number;
}

/** A node request handler for HTTP/1.1 and HTTP/2 compat requests. */
export type ConnectEngine = (
  request: IncomingMessage | Http2ServerRequest,
  response: ServerResponse | Http2ServerResponse,
) => void;

/**
 * connect-node serving the Connect protocol (JSON and binary), gRPC-Web, and gRPC over
 * HTTP/1.1 or with codecs the lean engine leaves to it (grpc+json), with the same limits,
 * call context and observer as the lean gRPC engine.
 */
export function createConnectEngine(options: ConnectEngineOptions): ConnectEngine {
  const handler = connectNodeAdapter({
    readMaxBytes: options.maxReceiveMessageBytes,
    maxTimeoutMs: options.maxTimeoutMs,
    interceptors: [createObserveInterceptor(options.observer)],
    contextValues(request) {
      const values = createContextValues();
      const socket = request.socket;
      values.set(peerKey, `${socket.remoteAddress ?? "unknown"}:${socket.remotePort ?? 0}`);
      values.set(peerIdentityKey, peerIdentityOf(socket));
      return values;
    },
    routes(router) {
      for (const registration of options.services) {
        const { service, impl } = withCallContext(registration);
        router.service(service, impl);
      }
    },
  });
  return handler as ConnectEngine;
}
