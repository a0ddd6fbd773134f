/**
 * One server under test, in its own process: bare | grpcjs | connect | protomesh. The bench
 * runs it compiled (`buildServerTargets`, then `node .tmp/bench-targets/bench/server-target.js
 * KIND`); `node --import tsx bench/server-target.ts KIND` runs it from source, for profiling.
 * Prints its port, then answers "count" messages on the IPC channel with the number of calls it
 * completed successfully — h2load counts HTTP 200 as success even when grpc-status is not 0, so
 * the bench checks this server-side counter.
 */
import { createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import type { JSONWebKeySet } from "jose";
import { pino } from "pino";
import type { Counter } from "prom-client";
import { createBatchedLogDestination } from "../src/observe/index.js";
import { createServer, defineService } from "../src/server/index.js";
import { type EchoMessage, EchoMessageSchema, EchoService, echoPath } from "./server-echo.js";

const kind = process.argv[2];
let count = 0;
let readCount: () => Promise<number> = () => Promise.resolve(count);

async function start(): Promise<number> {
  switch (kind) {
    case "bare": {
      // No framework: decode, echo, encode with protobuf-es on node:http2 — the ceiling.
      const server = createHttp2Server();
      server.on("stream", (stream, headers) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("error", () => {});
        stream.on("end", () => {
          if (headers[":path"] !== echoPath) {
            stream.respond({ ":status": 200, "grpc-status": "12" }, { endStream: true });
            return;
          }
          const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
          const request = fromBinary(EchoMessageSchema, body.subarray(5));
          const bytes = toBinary(EchoMessageSchema, request);
          const frame = Buffer.allocUnsafe(5 + bytes.length);
          frame[0] = 0;
          frame.writeUInt32BE(bytes.length, 1);
          frame.set(bytes, 5);
          stream.respond(
            { ":status": 200, "content-type": "application/grpc" },
            { waitForTrailers: true },
          );
          stream.once("wantTrailers", () => {
            stream.sendTrailers({ "grpc-status": "0" });
            count++;
          });
          stream.end(frame);
        });
      });
      return listen(server);
    }
    case "grpcjs": {
      const server = new grpc.Server();
      server.addService(
        {
          echo: {
            path: echoPath,
            requestStream: false,
            responseStream: false,
            requestSerialize: (m: EchoMessage) => Buffer.from(toBinary(EchoMessageSchema, m)),
            requestDeserialize: (b: Buffer) => fromBinary(EchoMessageSchema, b),
            responseSerialize: (m: EchoMessage) => Buffer.from(toBinary(EchoMessageSchema, m)),
            responseDeserialize: (b: Buffer) => fromBinary(EchoMessageSchema, b),
          },
        },
        {
          echo: (
            call: grpc.ServerUnaryCall<EchoMessage, EchoMessage>,
            callback: grpc.sendUnaryData<EchoMessage>,
          ) => {
            count++;
            callback(null, call.request);
          },
        },
      );
      return new Promise((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) =>
          error ? reject(error) : resolve(port),
        ),
      );
    }
    case "connect": {
      const handler = connectNodeAdapter({
        routes(router) {
          router.service(EchoService, {
            echo(request: EchoMessage) {
              count++;
              return request;
            },
          } as never);
        },
      });
      return listen(createHttp2Server(handler));
    }
    case "protomesh-auth":
    case "protomesh": {
      // Everything on, as in production: health, metrics, correlation ids, and an access log
      // that formats every line, written to /dev/null through the destination createServer's
      // default logger uses (one write(2) per 10 ms or 16 KiB).
      const server = createServer({
        services: [
          defineService(EchoService, { echo: (request: EchoMessage) => request } as never),
        ],
        logger: pino({}, createBatchedLogDestination({ dest: "/dev/null" })),
        // protomesh-auth: bearer tokens verified against a static key set (the bench's token is
        // verified once, then answered from the verified-token cache), as bench/suites/auth.ts
        // sets up through PROTOMESH_BENCH_AUTH.
        ...(kind === "protomesh-auth" ? { auth: benchAuth() } : {}),
      });
      readCount = async () => {
        const metric = server.metrics.getSingleMetric("grpc_server_handled_total") as
          | Counter
          | undefined;
        const values = (await metric?.get())?.values ?? [];
        return values
          .filter((v) => v.labels.grpc_code === "OK" && v.labels.grpc_method === "Echo")
          .reduce((sum, v) => sum + v.value, 0);
      };
      const { port } = await server.listen();
      return port;
    }
    default:
      throw new Error(`unknown server kind ${kind}`);
  }
}

function benchAuth() {
  const config = JSON.parse(process.env.PROTOMESH_BENCH_AUTH ?? "null") as {
    keys: JSONWebKeySet;
    issuer: string;
    audience: string;
  } | null;
  if (!config) throw new Error("protomesh-auth needs PROTOMESH_BENCH_AUTH");
  return {
    tokens: { keys: config.keys as never, issuer: config.issuer, audience: config.audience },
  };
}

function listen(server: ReturnType<typeof createHttp2Server>): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

const port = await start();
process.on("message", (message) => {
  if (message === "count") void readCount().then((n) => process.send?.({ count: n }));
});
process.send?.({ port });
// Exit cleanly on SIGTERM so `node --cpu-prof` writes its profile (used when profiling by hand).
process.on("SIGTERM", () => process.exit(0));
