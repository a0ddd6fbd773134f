import { rootCertificates } from "node:tls";
import type { Transport } from "@connectrpc/connect";
import { createHttp2Transport } from "../../transport/http2/http2-transport.js";
import { CliError } from "../cli-error.js";
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
  // The long-lived client's lean engine, imported by its own module: it loads neither grpc-js
  // nor OpenTelemetry, so a one-shot command pays little for it. --cacert adds to the CAs
  // Node trusts by default (a `rootCerts` alone would replace them).
  const grpc = createHttp2Transport({
    target: options.url.href,
    ...(ca !== undefined && {
      tls: { rootCerts: [...rootCertificates, ca.toString()].join("\n") },
    }),
  });
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
      void grpc.close();
      other?.close();
    },
  };
}
