import { readFileSync } from "node:fs";
import type { Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { CliError } from "../cli-error.js";
import type { RemoteOptions } from "./remote-options.js";

/** One HTTP/2 connection to a server and the transports over it; close it when done. */
export interface RemoteSession {
  readonly options: RemoteOptions;
  /** The transport of `--protocol`, for the call itself. */
  readonly transport: Transport;
  /** gRPC, for reflection and health: they are gRPC services, and reflection streams. */
  readonly grpc: Transport;
  /** Aborted at the command's deadline. */
  readonly signal: AbortSignal;
  readonly headers: Headers;
  close(): void;
}

/**
 * Opens one HTTP/2 session (h2c for http://, TLS with ALPN for https://) shared by reflection
 * and the call, so a command costs one connection, and a deadline covering the whole command.
 */
export function openRemoteSession(options: RemoteOptions): RemoteSession {
  let ca: Buffer | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = readFileSync(options.caFile);
    } catch (error) {
      throw new CliError(`--cacert ${options.caFile}: ${(error as Error).message}`);
    }
  }
  const baseUrl = options.url.href.replace(/\/$/, "");
  const sessionManager = new Http2SessionManager(
    baseUrl,
    undefined,
    ca === undefined ? undefined : { ca },
  );
  const common = { baseUrl, httpVersion: "2" as const, sessionManager };
  const grpc = createGrpcTransport(common);
  const transport =
    options.protocol === "grpc"
      ? grpc
      : options.protocol === "connect"
        ? createConnectTransport(common)
        : createGrpcWebTransport(common);
  const signal = AbortSignal.timeout(options.timeoutMs);
  return {
    options,
    transport,
    grpc,
    signal,
    headers: new Headers(options.headers.map(([name, value]) => [name, value])),
    close: () => sessionManager.abort(),
  };
}
