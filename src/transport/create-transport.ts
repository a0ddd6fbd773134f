import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import {
  type ConnectNodeTransportOptions,
  createConnectNodeTransport,
} from "./connect-node-transport.js";
import { createGrpcJsTransport, type GrpcJsTransportOptions } from "./grpc-js-transport.js";
import { createHttp2Transport, type Http2TransportOptions } from "./http2/index.js";

/**
 * A transport, picked by `kind`: `http2` (protomesh's lean gRPC engine on `node:http2`, with
 * its own channel: resolution, pick_first/round_robin, backoff, keepalive, outlier detection),
 * `grpc-js`, or `connect-node`. Default `grpc-js`: in the client benchmark it is the one
 * that matches a raw grpc-js client (connect-node's gRPC transport reached about 0.5–0.7× of
 * it), and it brings name resolution, round-robin and keepalive. A grpc-js transport takes a
 * `target` or, like connect-node, a `baseUrl` (`http://host:port`, or `https://` for TLS), so
 * switching kind is a one-word change.
 */
export type TransportOptions =
  | ({ readonly kind?: "grpc-js" } & GrpcJsTransportOptions)
  | ({ readonly kind?: "grpc-js"; readonly baseUrl: string } & Omit<
      GrpcJsTransportOptions,
      "target"
    >)
  | ({ readonly kind: "connect-node" } & ConnectNodeTransportOptions)
  | ({ readonly kind: "http2" } & Http2TransportOptions)
  | ({ readonly kind: "http2"; readonly baseUrl: string } & Omit<Http2TransportOptions, "target">);

/**
 * The kind made when options name none. `grpc-js` until the client benchmark shows `http2`
 * faster on the same run (`npm run bench -- --suite client`: `client_cpu_vs_grpcjs`,
 * `client_vs_grpcjs`); the flip is this line, plus moving the `?` of `kind` from the grpc-js
 * members of `TransportOptions` to the http2 ones.
 */
const defaultKind: "grpc-js" | "http2" = "grpc-js";

type Http2Options = Extract<TransportOptions, { readonly kind: "http2" }>;

/** A transport that may hold connections open; `close` frees them where it can. */
export interface ClosableTransport extends Transport {
  close(): void;
}

/** Makes the transport `options.kind` names, with the options both share spelled alike. */
export function createTransport(options: TransportOptions): ClosableTransport {
  if (options.kind === "connect-node") {
    // connect-node's HTTP/2 sessions close themselves when idle; there is no handle to close.
    return Object.assign(createConnectNodeTransport(options), { close() {} });
  }
  if ((options.kind ?? defaultKind) === "http2") {
    const http2 = options as Http2Options;
    return "target" in http2
      ? createHttp2Transport(http2)
      : createHttp2Transport({ ...http2, target: http2.baseUrl });
  }
  const grpcJs = options as Exclude<TransportOptions, { readonly kind: "connect-node" | "http2" }>;
  if ("target" in grpcJs) return createGrpcJsTransport(grpcJs);
  const { baseUrl, ...rest } = grpcJs;
  const url = new URL(baseUrl);
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.port === "") {
    throw new ConnectError(
      `baseUrl must be http(s)://host:port for a grpc-js transport, got ${baseUrl}`,
      Code.InvalidArgument,
    );
  }
  const tls = url.protocol === "https:" ? (rest.tls ?? {}) : undefined;
  return createGrpcJsTransport({ ...rest, target: url.host, ...(tls && { tls }) });
}
