import type { Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";

/**
 * connect-node's Connect or gRPC-web transport over its own HTTP/2 session, for
 * `--protocol connect|grpc-web`: imported only then, since connect-node (and the undici it
 * brings in) is most of a cold start's load.
 */
export function openConnectNodeTransport(
  baseUrl: string,
  protocol: "connect" | "grpc-web",
  ca: Buffer | undefined,
): { readonly transport: Transport; close(): void } {
  const sessionManager = new Http2SessionManager(
    baseUrl,
    undefined,
    ca === undefined ? undefined : { ca },
  );
  const common = { baseUrl, httpVersion: "2" as const, sessionManager };
  const transport =
    protocol === "connect" ? createConnectTransport(common) : createGrpcWebTransport(common);
  return { transport, close: () => sessionManager.abort() };
}
