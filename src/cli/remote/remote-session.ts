import type { Transport } from "@connectrpc/connect";
import { CliError } from "../cli-error.js";
import { createCliGrpcTransport } from "./cli-grpc-transport.js";
import type { RemoteOptions } from "./remote-options.js";

/** What the remote verbs pass as headers: the `-H` pairs, as Connect's `HeadersInit` takes them. */
export type RemoteHeaders = [string, string][];

/** The connections to a server and the transports over them; close it when done. */
export interface RemoteSession {
  readonly options: RemoteOptions;
  /** The transport of `--protocol`, for the call itself. */
  readonly transport: Transport;
  /** gRPC, for reflection and health: they are gRPC services, and reflection streams. */
  readonly grpc: Transport;
  /** Aborted at the command's deadline. */
  readonly signal: AbortSignal;
  readonly headers: RemoteHeaders;
  close(): void;
}

/**
 * Opens one HTTP/2 connection (h2c for http://, TLS with ALPN for https://) for gRPC, which
 * reflection and a gRPC call share, and a deadline covering the whole command. With
 * `--protocol connect|grpc-web` the call goes over connect-node's transport on a second
 * connection, loaded only then.
 */
export async function openRemoteSession(options: RemoteOptions): Promise<RemoteSession> {
  let ca: Buffer | undefined;
  if (options.caFile !== undefined) {
    try {
      const { readFile } = await import("node:fs/promises");
      ca = await readFile(options.caFile);
    } catch (error) {
      throw new CliError(`--cacert ${options.caFile}: ${(error as Error).message}`);
    }
  }
  const grpc = createCliGrpcTransport({ url: options.url, ca });
  let other: { readonly transport: Transport; close(): void } | undefined;
  if (options.protocol !== "grpc") {
    const { openConnectNodeTransport } = await import("./connect-node-session.js");
    other = openConnectNodeTransport(options.url.href.replace(/\/$/, ""), options.protocol, ca);
  }
  return {
    options,
    transport: other?.transport ?? grpc,
    grpc,
    signal: AbortSignal.timeout(options.timeoutMs),
    headers: options.headers.map(([name, value]): [string, string] => [name, value]),
    close: () => {
      grpc.close();
      other?.close();
    },
  };
}
