/**
 * One client under test, in its own process: `node .tmp/bench-targets/bench/client-target.js
 * KIND PORT WARMUP_MS MEASURE_MS` (compiled by `buildServerTargets`, as the servers are). It
 * keeps 64 unary echo calls in flight against 127.0.0.1:PORT — unrecorded for WARMUP_MS, then
 * measured for MEASURE_MS — and prints one JSON line: calls, elapsed ms, its own CPU (user +
 * system, every thread) during the measured window, p50/p99 latency, and its peak RSS (VmHWM).
 */
import { readFileSync } from "node:fs";
import { connect, type IncomingHttpHeaders } from "node:http2";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient as createConnectClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { createClient } from "../src/client/index.js";
import { createGrpcJsTransport, createHttp2Transport } from "../src/transport/index.js";
import { FrameFloorClient } from "./frame-floor-client.js";
import {
  type EchoMessage,
  EchoMessageSchema,
  EchoService,
  echoPath,
  echoRequest,
} from "./server-echo.js";

const [kind = "", portText = "", warmupText = "2000", measureText = "3000"] = process.argv.slice(2);
const port = Number(portText);
const concurrency = 64;
const url = `http://127.0.0.1:${port}`;

// Every policy on: overall deadline and per-attempt timeout, retry with backoff and budget,
// circuit breaker and bulkhead (sized above the 64 calls in flight so it never rejects).
const policy = {
  timeoutMs: 10_000,
  perAttemptTimeoutMs: 5_000,
  retry: { maxAttempts: 3 },
  breaker: { trigger: { kind: "consecutive", failures: 5 }, halfOpenAfterMs: 10_000 },
  bulkhead: { maxConcurrent: 128, maxQueue: 128 },
} as const;

type Echo = { echo(request: EchoMessage): Promise<EchoMessage> };
const asEcho = (client: unknown) => client as Echo;

/** The one call of each client kind. */
function makeCall(): () => Promise<unknown> {
  switch (kind) {
    case "bare": {
      // No library: one session, one request() per call, protobuf-es — the ceiling.
      const session = connect(url);
      return () =>
        new Promise((resolve, reject) => {
          const bytes = toBinary(EchoMessageSchema, echoRequest);
          const frame = Buffer.allocUnsafe(5 + bytes.length);
          frame[0] = 0;
          frame.writeUInt32BE(bytes.length, 1);
          frame.set(bytes, 5);
          const stream = session.request({
            ":method": "POST",
            ":path": echoPath,
            "content-type": "application/grpc",
            te: "trailers",
          });
          const chunks: Buffer[] = [];
          let status: string | undefined;
          stream.on("data", (chunk: Buffer) => chunks.push(chunk));
          stream.on("trailers", (trailers: IncomingHttpHeaders) => {
            status = trailers["grpc-status"] as string | undefined;
          });
          stream.on("error", reject);
          stream.on("close", () => {
            if (status !== "0") return reject(new Error(`grpc-status ${status}`));
            const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
            resolve(fromBinary(EchoMessageSchema, body.subarray(5)));
          });
          stream.end(frame);
        });
    }
    case "frames": {
      // The http2 transport's wire alone, no channel or call (bench/frame-floor-client.ts).
      const client = new FrameFloorClient(port, echoPath);
      return async () =>
        fromBinary(EchoMessageSchema, await client.call(toBinary(EchoMessageSchema, echoRequest)));
    }
    case "grpcjs": {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const serialize = (m: EchoMessage) => Buffer.from(toBinary(EchoMessageSchema, m));
      const deserialize = (b: Buffer) => fromBinary(EchoMessageSchema, b);
      return () =>
        new Promise((resolve, reject) =>
          client.makeUnaryRequest(echoPath, serialize, deserialize, echoRequest, (error, value) =>
            error ? reject(error) : resolve(value),
          ),
        );
    }
    case "connect_grpc": {
      const client = asEcho(
        createConnectClient(EchoService, createGrpcTransport({ baseUrl: url })),
      );
      return () => client.echo(echoRequest);
    }
    case "connect_http2_transport": {
      const client = asEcho(
        createConnectClient(EchoService, createHttp2Transport({ target: url })),
      );
      return () => client.echo(echoRequest);
    }
    case "protomesh_http2": {
      const transport = createHttp2Transport({ target: url });
      const client = asEcho(createClient(EchoService, { transport, target: url, policy }));
      return () => client.echo(echoRequest);
    }
    case "protomesh_grpcjs": {
      const transport = createGrpcJsTransport({ target: `127.0.0.1:${port}` });
      const client = asEcho(createClient(EchoService, { transport, target: url, policy }));
      return () => client.echo(echoRequest);
    }
    default:
      throw new Error(`unknown client kind ${kind}`);
  }
}

async function drive(call: () => Promise<unknown>, durationMs: number, latencies?: number[]) {
  let stopped = false;
  const timer = setTimeout(() => {
    stopped = true;
  }, durationMs);
  let calls = 0;
  const worker = async () => {
    while (!stopped) {
      const t0 = performance.now();
      await call();
      latencies?.push(performance.now() - t0);
      calls++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  clearTimeout(timer);
  return calls;
}

const call = makeCall();
const reply = (await call()) as EchoMessage;
if (reply.skus.join() !== echoRequest.skus.join()) throw new Error(`${kind} echoed something else`);
await drive(call, Number(warmupText));
const latencies: number[] = [];
const cpuBefore = process.cpuUsage();
const started = performance.now();
const calls = await drive(call, Number(measureText), latencies);
const elapsedMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
latencies.sort((a, b) => a - b);
const pick = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
process.stdout.write(
  `${JSON.stringify({
    calls,
    elapsedMs,
    cpuMicros: cpu.user + cpu.system,
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    peakRssBytes: Number(hwm ?? 0) * 1024,
  })}\n`,
);
process.exit(0);
