import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError, createConnectRouter, createContextValues } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { peerIdentityOf } from "../../auth/index.js";
import type { CallObserver } from "../../observe/index.js";
import type { ServiceRegistration } from "../service-registration.js";
import { peerIdentityKey, withCallContext } from "../with-call-context.js";
import { createObserveInterceptor, peerKey } from "./observe-interceptor.js";
import { withSpecGrpcMessage } from "./spec-grpc-message.js";

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
  // connect-node's own connectNodeAdapter, less its options we do not use, plus one step: every
  // response passes through withSpecGrpcMessage on its way to node (see there why).
  const router = createConnectRouter({
    readMaxBytes: options.maxReceiveMessageBytes,
    maxTimeoutMs: options.maxTimeoutMs,
    acceptCompression: [compressionGzip, compressionBrotli],
    interceptors: [createObserveInterceptor(options.observer)],
  });
  for (const registration of options.services) {
    const { service, impl } = withCallContext(registration);
    router.service(service, impl);
  }
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  return (request, response) => {
    const handler = handlers.get(request.url?.split("?", 1)[0] ?? "");
    if (handler === undefined) {
      response.statusCode = 404;
      response.end();
      return;
    }
    const values = createContextValues();
    const socket = request.socket;
    values.set(peerKey, `${socket.remoteAddress ?? "unknown"}:${socket.remotePort ?? 0}`);
    values.set(peerIdentityKey, peerIdentityOf(socket));
    handler(universalRequestFromNodeRequest(request, response, undefined, values))
      .then((universal) =>
        universalResponseToNodeResponse(withSpecGrpcMessage(universal), response),
      )
      .catch((reason: unknown) => {
        // As connectNodeAdapter: a client that went away (Aborted) is not worth a line.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        console.error(
          `handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`,
          reason,
        );
      });
  };
}
