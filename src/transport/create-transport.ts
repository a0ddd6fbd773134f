import type { Transport } from "@connectrpc/connect";
import {
  type ConnectNodeTransportOptions,
  createConnectNodeTransport,
} from "./connect-node-transport.js";
import { createGrpcJsTransport, type GrpcJsTransportOptions } from "./grpc-js-transport.js";

/**
 * Either transport, picked by `kind`. Default `grpc-js`: in the client benchmark it is the one
 * that matches a raw grpc-js client (connect-node's gRPC transport reached about 0.5–0.7× of
 * it), and it brings name resolution, round-robin and keepalive.
 */
export type TransportOptions =
  | ({ readonly kind?: "grpc-js" } & GrpcJsTransportOptions)
  | ({ readonly kind: "connect-node" } & ConnectNodeTransportOptions);

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
  return createGrpcJsTransport(options);
}
