/** Servers on 127.0.0.1 (or a Unix socket) for the http2 channel's tests. */
import {
  createServer as createHttp2Server,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  type Settings,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { createClient } from "@connectrpc/connect";
import { EchoService } from "../../../gen/protomesh/bench/v1/echo_pb.js";
import { createServer, defineService, type Server } from "../../../src/server/index.js";
import type { Http2Transport } from "../../../src/transport/index.js";

export const encode = (text: string) => new TextEncoder().encode(text);
export const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/** A protomesh server whose Echo answers with its own name (to see which backend served). */
export async function startNamedServer(
  name: string,
  options: { port?: number; maxConcurrentStreams?: number; delayMs?: number } = {},
) {
  let calls = 0;
  let failing = false;
  const server: Server = createServer({
    drainTimeoutMs: 2_000,
    logger: false,
    ...(options.maxConcurrentStreams !== undefined && {
      maxConcurrentStreams: options.maxConcurrentStreams,
    }),
    services: [
      defineService(EchoService, {
        async echo(req) {
          calls++;
          if (failing) throw new Error(`${name} is failing`);
          // A numeric payload asks for that many milliseconds of work.
          const delayMs = options.delayMs ?? (Number(decode(req.payload)) || 0);
          if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
          return { payload: encode(name) };
        },
        async *echoStream(requests) {
          for await (const { payload } of requests) yield { payload };
        },
        async echoCollect(requests) {
          const payloads: Uint8Array[] = [];
          for await (const { payload } of requests) payloads.push(payload);
          return { payloads };
        },
      }),
    ],
  });
  const address = await server.listen(options.port === undefined ? {} : { port: options.port });
  return {
    ...address,
    calls: () => calls,
    /** From now on every Echo fails with Unknown (an unwell backend), or heals. */
    setFailing(value: boolean) {
      failing = value;
    },
    close: () => server.close(),
  };
}

/** Handles one stream of a raw server; the default echoes the request frame back with OK. */
export type RawHandler = (stream: ServerHttp2Stream, body: Buffer) => void;

export const rawEcho: RawHandler = (stream, body) => {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(body);
};

/** A bare node:http2 server answering gRPC by hand, for faults no real server makes. */
export async function startRawServer(
  handler: RawHandler = rawEcho,
  options: { path?: string; settings?: Settings; port?: number } = {},
) {
  const sessions = new Set<ServerHttp2Session>();
  let connections = 0;
  let streams = 0;
  const requests: IncomingHttpHeaders[] = [];
  const server: Http2Server = createHttp2Server(
    options.settings === undefined ? {} : { settings: options.settings },
  );
  server.on("session", (session) => {
    connections++;
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    streams++;
    requests.push(headers);
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      if (!stream.destroyed) handler(stream, Buffer.concat(chunks));
    });
    stream.on("error", () => {});
  });
  await new Promise<void>((resolve) => {
    if (options.path !== undefined) server.listen(options.path, resolve);
    else server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const port = options.path === undefined ? (server.address() as AddressInfo).port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    sessions,
    connections: () => connections,
    /** The request headers of every stream, in order. */
    requests,
    streams: () => streams,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The Echo client over a transport. */
export function echoClient(transport: Http2Transport) {
  return createClient(EchoService, transport);
}

/** Resolves once `predicate` holds, polling; bounded so a broken behaviour fails the test. */
export async function eventually(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
