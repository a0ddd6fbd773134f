/**
 * Client benchmark: one raw grpc-js server (in a child process), 100-byte echo, 64 calls in
 * flight, and each client in turn — raw grpc-js, Connect over connect-node's gRPC transport,
 * Connect's JSON protocol over HTTP/1.1 (against connect-node), Connect over protomesh's grpc-js
 * transport, and the protomesh client. Requests/s, p50, p99, client CPU µs per call, ratios.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { credentials, Client as GrpcClient } from "@grpc/grpc-js";
import {
  EchoRequestSchema,
  EchoResponseSchema,
  EchoService,
} from "../../gen/protomesh/bench/v1/echo_pb.js";
import { createClient } from "../../src/index.js";
import { createConnectNodeTransport, createGrpcJsTransport } from "../../src/transport/index.js";
import type { BenchReport, BenchRunOptions, BenchSuite } from "../bench-suite.js";

const concurrency = 64;
const payloadBytes = 100;

/** One client under test: `call` makes one echo call; `close` frees its connections. */
interface Contender {
  readonly name: string;
  readonly key: string;
  call(): Promise<unknown>;
  close?(): void;
}

interface RowFigures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMicrosPerCall: number;
  readonly calls: number;
}

export const suite: BenchSuite = {
  name: "client",
  async run({ quick }: BenchRunOptions): Promise<BenchReport> {
    const warmupMs = quick ? 200 : 2_000;
    const measureMs = quick ? 400 : 3_000;
    // Rounds interleave the clients, so a burst of load from elsewhere on a shared machine
    // lands on all of them rather than on one.
    const rounds = quick ? 2 : 3;
    const server = await startEchoServer();
    try {
      const contenders = makeContenders(server.grpcPort, server.connectPort);
      const samples = new Map(contenders.map((c) => [c.key, [] as Sample[]]));
      for (const contender of contenders) await drive(contender, warmupMs);
      for (let round = 0; round < rounds; round++) {
        for (const contender of contenders) {
          samples.get(contender.key)?.push(await drive(contender, measureMs));
        }
      }
      for (const contender of contenders) contender.close?.();
      const rows: Record<string, RowFigures> = {};
      for (const [key, taken] of samples) rows[key] = summarise(taken);
      return report(contenders, rows, { quick, warmupMs, measureMs, rounds });
    } finally {
      server.process.kill();
    }
  },
};

function makeContenders(grpcPort: number, connectPort: number): Contender[] {
  const request = create(EchoRequestSchema, { payload: new Uint8Array(payloadBytes).fill(7) });
  const grpcUrl = `http://127.0.0.1:${grpcPort}`;
  const path = `/${EchoService.typeName}/${EchoService.method.echo.name}`;

  const raw = new GrpcClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
  const serialize = (message: typeof request): Buffer => {
    const bytes = toBinary(EchoRequestSchema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
  const deserialize = (bytes: Buffer) => fromBinary(EchoResponseSchema, bytes);

  const connectGrpc = createConnectClient(EchoService, createGrpcTransport({ baseUrl: grpcUrl }));
  const connectJson = createConnectClient(
    EchoService,
    createConnectTransport({
      baseUrl: `http://127.0.0.1:${connectPort}`,
      httpVersion: "1.1",
      useBinaryFormat: false,
    }),
  );
  const grpcJsTransport = createGrpcJsTransport({ target: `127.0.0.1:${grpcPort}` });
  const overGrpcJs = createConnectClient(EchoService, grpcJsTransport);
  // Every policy on: overall deadline and per-attempt timeout, retry with backoff and budget,
  // circuit breaker and bulkhead (sized above the 64 calls in flight so it never rejects).
  const policy = {
    timeoutMs: 10_000,
    perAttemptTimeoutMs: 5_000,
    retry: { maxAttempts: 3 },
    breaker: { trigger: { kind: "consecutive", failures: 5 }, halfOpenAfterMs: 10_000 },
    bulkhead: { maxConcurrent: 128, maxQueue: 128 },
  } as const;
  const protomesh = createClient(EchoService, { baseUrl: grpcUrl, policy });
  const protomeshOverConnectNode = createClient(EchoService, {
    transport: createConnectNodeTransport({ baseUrl: grpcUrl, protocol: "grpc" }),
    target: grpcUrl,
    policy,
  });

  return [
    {
      name: "raw grpc-js client",
      key: "grpcjs",
      call: () =>
        new Promise((resolve, reject) =>
          raw.makeUnaryRequest(path, serialize, deserialize, request, (error, value) =>
            error ? reject(error) : resolve(value),
          ),
        ),
      close: () => raw.close(),
    },
    {
      name: "Connect client, connect-node gRPC transport",
      key: "connect_grpc",
      call: () => connectGrpc.echo(request),
    },
    {
      name: "Connect client, Connect JSON over HTTP/1.1 (connect-node server)",
      key: "connect_json_http1",
      call: () => connectJson.echo(request),
    },
    {
      name: "Connect client, protomesh grpc-js transport",
      key: "connect_grpcjs_transport",
      call: () => overGrpcJs.echo(request),
      close: () => grpcJsTransport.close(),
    },
    {
      name: "protomesh client, every policy on (default grpc-js transport)",
      key: "protomesh",
      call: () => protomesh.echo(request),
    },
    {
      name: "protomesh client, every policy on, connect-node gRPC transport",
      key: "protomesh_connect_node",
      call: () => protomeshOverConnectNode.echo(request),
    },
  ];
}

/** What one timed run of one client measured. */
interface Sample {
  readonly latenciesMs: number[];
  readonly elapsedMs: number;
  readonly cpuMicros: number;
}

/** Keeps `concurrency` calls in flight for `durationMs`; latency per call, CPU for the run. */
async function drive(contender: Contender, durationMs: number): Promise<Sample> {
  const latencies: number[] = [];
  let stopped = false;
  const timer = setTimeout(() => {
    stopped = true;
  }, durationMs);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  async function worker(): Promise<void> {
    while (!stopped) {
      const t0 = performance.now();
      await contender.call();
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  clearTimeout(timer);
  return { latenciesMs: latencies, elapsedMs, cpuMicros: cpu.user + cpu.system };
}

function summarise(samples: readonly Sample[]): RowFigures {
  const latencies = samples.flatMap((s) => s.latenciesMs).sort((x, y) => x - y);
  const elapsedMs = samples.reduce((sum, s) => sum + s.elapsedMs, 0);
  const cpuMicros = samples.reduce((sum, s) => sum + s.cpuMicros, 0);
  const calls = latencies.length;
  return {
    requestsPerSecond: round((calls / elapsedMs) * 1000, 0),
    p50Ms: round(percentile(latencies, 0.5), 2),
    p99Ms: round(percentile(latencies, 0.99), 2),
    cpuMicrosPerCall: round(cpuMicros / calls, 1),
    calls,
  };
}

function report(
  contenders: readonly Contender[],
  rows: Record<string, RowFigures>,
  run: { quick: boolean; warmupMs: number; measureMs: number; rounds: number },
): BenchReport {
  const base = rows.grpcjs?.requestsPerSecond ?? Number.NaN;
  const vs = (key: string): number => round((rows[key]?.requestsPerSecond ?? 0) / base, 2);
  const lines = [
    `100-byte echo, ${concurrency} calls in flight; each client warmed up ${run.warmupMs} ms, then measured ${run.rounds} × ${run.measureMs} ms in interleaved rounds; server: raw grpc-js in a child process${run.quick ? " (quick run: noisy)" : ""}.`,
    "",
    "| client | req/s | p50 ms | p99 ms | client CPU µs/call | × raw grpc-js |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...contenders.map((c) => {
      const r = rows[c.key];
      return r
        ? `| ${c.name} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.cpuMicrosPerCall} | ${vs(c.key)} |`
        : `| ${c.name} | – | – | – | – | – |`;
    }),
  ];
  return {
    markdown: lines.join("\n"),
    figures: { ...run, concurrency, payloadBytes, rows },
    ratios: {
      client_vs_grpcjs: vs("protomesh"),
      client_connect_node_vs_grpcjs: vs("protomesh_connect_node"),
      grpcjs_transport_vs_grpcjs: vs("connect_grpcjs_transport"),
      connect_grpc_transport_vs_grpcjs: vs("connect_grpc"),
    },
  };
}

interface EchoServer {
  readonly process: ChildProcess;
  readonly grpcPort: number;
  readonly connectPort: number;
}

async function startEchoServer(): Promise<EchoServer> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "..", "echo-server.ts")],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(() => {
      throw new Error("bench/echo-server.ts exited before listening");
    }),
  ])) as [string];
  lines.close();
  const { grpcPort, connectPort } = JSON.parse(first) as { grpcPort: number; connectPort: number };
  return { process: child, grpcPort, connectPort };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
