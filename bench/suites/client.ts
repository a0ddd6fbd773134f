/**
 * Client suite, on the server suite's method: every sample is a fresh compiled client process
 * on one core against a fresh compiled server process on the other (100-byte echo, 64 calls in
 * flight), rounds rotate the order, and figures are medians over samples. Clients: a bare
 * node:http2 client (the ceiling), raw grpc-js, Connect on connect-node's gRPC transport,
 * Connect on protomesh's http2 transport, and the protomesh client with every policy on over
 * the http2 and the grpc-js transports — all against the protomesh server. One more row pairs
 * the bare client with the bare server, for the per-hop figure.
 *
 * The floor (row `frame_floor`, bench/frame-floor-client.ts): unary calls on the http2
 * transport's own HTTP/2 connection (src/transport/http2/wire/) with nothing of the transport
 * around it — no channel, call state, deadline, codec or policy — `:status`, `grpc-status` and
 * the message framing checked. It is a bound, not a client: what the wire alone costs per call,
 * so the protomesh client's distance from it is what the rest of a call costs, and
 * `frame_floor_cpu_vs_bare_http2` is how far below node:http2's client the wire itself sits.
 */
import type { BenchReport, BenchRunOptions, BenchSuite } from "../bench-suite.js";
import { type ClientResult, runClient } from "../client-load.js";
import { buildServerTargets, startServer } from "../server-load.js";

interface Scenario {
  readonly key: string;
  readonly label: string;
  /** bench/client-target.ts kind. */
  readonly client: string;
  /** bench/server-target.ts kind. */
  readonly server: string;
}

const scenarios: readonly Scenario[] = [
  {
    key: "bare_http2",
    label: "bare node:http2 client + protobuf-es",
    client: "bare",
    server: "protomesh",
  },
  { key: "grpcjs", label: "raw @grpc/grpc-js client", client: "grpcjs", server: "protomesh" },
  {
    key: "connect_grpc",
    label: "Connect client, connect-node gRPC transport",
    client: "connect_grpc",
    server: "protomesh",
  },
  {
    key: "connect_http2_transport",
    label: "Connect client, protomesh http2 transport",
    client: "connect_http2_transport",
    server: "protomesh",
  },
  {
    key: "protomesh",
    label: "protomesh client, every policy on, http2 transport",
    client: "protomesh_http2",
    server: "protomesh",
  },
  {
    key: "protomesh_grpcjs",
    label: "protomesh client, every policy on, grpc-js transport",
    client: "protomesh_grpcjs",
    server: "protomesh",
  },
  {
    key: "frame_floor",
    label: "the transport's own HTTP/2 wire alone, no node:http2 (floor)",
    client: "frames",
    server: "protomesh",
  },
  {
    key: "bare_hop",
    label: "bare client → bare server (per-hop baseline)",
    client: "bare",
    server: "bare",
  },
];

interface Sample {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly clientCpuMicrosPerCall: number;
  readonly serverCpuMicrosPerCall: number;
  readonly clientPeakRssBytes: number;
}

export const suite: BenchSuite = {
  name: "client",
  async run({ quick }: BenchRunOptions): Promise<BenchReport> {
    buildServerTargets();
    const repetitions = quick ? 1 : 10;
    const run = { warmupMs: quick ? 300 : 2_000, measureMs: quick ? 700 : 4_000 };
    const samples = new Map<string, Sample[]>();
    for (let rep = 0; rep < repetitions; rep++) {
      for (const scenario of rotated(scenarios, rep)) {
        const list = samples.get(scenario.key) ?? [];
        list.push(await measureOnce(scenario, run));
        samples.set(scenario.key, list);
      }
    }
    return report(samples, { ...run, repetitions, quick });
  },
};

/** A fresh server process and a fresh client process; the client measures itself. */
async function measureOnce(
  scenario: Scenario,
  run: { warmupMs: number; measureMs: number },
): Promise<Sample> {
  const server = await startServer(scenario.server);
  try {
    // The server's CPU over the client's whole run (warm-up included), per call of that run,
    // is read as per call of the measured part: the rate is steady after the warm-up.
    const serverCpuBefore = server.cpuMicros();
    const okBefore = await server.successes();
    const result: ClientResult = await runClient(scenario.client, server.port, run);
    const serverCalls = (await server.successes()) - okBefore;
    const serverCpu = server.cpuMicros() - serverCpuBefore;
    if (serverCalls < result.calls) {
      throw new Error(
        `${scenario.key}: the client counted ${result.calls} calls, the server ${serverCalls} successes`,
      );
    }
    return {
      requestsPerSecond: (result.calls / result.elapsedMs) * 1000,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      clientCpuMicrosPerCall: result.cpuMicros / result.calls,
      serverCpuMicrosPerCall: serverCpu / serverCalls,
      clientPeakRssBytes: result.peakRssBytes,
    };
  } finally {
    await server.stop();
  }
}

/** `list` starting at index `by` (modulo its length), wrapping around. */
function rotated<T>(list: readonly T[], by: number): T[] {
  const start = by % list.length;
  return [...list.slice(start), ...list.slice(0, start)];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function report(
  samples: Map<string, Sample[]>,
  run: { warmupMs: number; measureMs: number; repetitions: number; quick: boolean },
): BenchReport {
  const of = (key: string, field: keyof Sample) =>
    median((samples.get(key) ?? []).map((s) => s[field]));
  const rows: Record<string, unknown> = {};
  const lines = [
    `100-byte echo, 64 calls in flight; ${run.repetitions} rounds in rotating order, each sample a fresh compiled client process (warm-up ${run.warmupMs} ms, measured ${run.measureMs} ms) on one core against a fresh compiled server process on the other; medians${run.quick ? " (quick run: noisy)" : ""}.`,
    "",
    "| client | server | req/s | p50 ms | p99 ms | client CPU µs/call | server CPU µs/call | client peak RSS MB |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const s of scenarios) {
    const row = {
      requestsPerSecond: of(s.key, "requestsPerSecond"),
      p50Ms: of(s.key, "p50Ms"),
      p99Ms: of(s.key, "p99Ms"),
      clientCpuMicrosPerCall: of(s.key, "clientCpuMicrosPerCall"),
      serverCpuMicrosPerCall: of(s.key, "serverCpuMicrosPerCall"),
      clientPeakRssMb: of(s.key, "clientPeakRssBytes") / 1024 / 1024,
      samples: samples.get(s.key) ?? [],
    };
    rows[s.key] = row;
    lines.push(
      `| ${s.label} | ${s.server} | ${Math.round(row.requestsPerSecond)} | ${row.p50Ms.toFixed(2)} | ${row.p99Ms.toFixed(2)} | ${row.clientCpuMicrosPerCall.toFixed(1)} | ${row.serverCpuMicrosPerCall.toFixed(1)} | ${row.clientPeakRssMb.toFixed(0)} |`,
    );
  }
  const rps = (key: string) => of(key, "requestsPerSecond");
  const cpu = (key: string) => of(key, "clientCpuMicrosPerCall");
  const ratios = {
    // Throughput, protomesh client (every policy on, http2 transport) over raw grpc-js.
    client_vs_grpcjs: rps("protomesh") / rps("grpcjs"),
    client_grpcjs_transport_vs_grpcjs: rps("protomesh_grpcjs") / rps("grpcjs"),
    // Higher is better: raw grpc-js CPU per call over the protomesh client's. Target ≥ 2.5.
    client_cpu_vs_grpcjs: cpu("grpcjs") / cpu("protomesh"),
    // Lower is better: the protomesh client's CPU per call over the bare client's. Target ≤ 1.3.
    client_cpu_vs_bare_http2: cpu("protomesh") / cpu("bare_http2"),
    // Lower is better: client peak RSS under load over grpc-js's. Target ≤ 1.0.
    client_rss_vs_grpcjs:
      of("protomesh", "clientPeakRssBytes") / of("grpcjs", "clientPeakRssBytes"),
    // Lower is better: protomesh client + protomesh server CPU per call over bare + bare. Target ≤ 1.25.
    hop_cpu_vs_bare:
      (cpu("protomesh") + of("protomesh", "serverCpuMicrosPerCall")) /
      (cpu("bare_hop") + of("bare_hop", "serverCpuMicrosPerCall")),
    // Lower is better: the hand-framed floor's CPU per call over the bare node:http2 client's.
    frame_floor_cpu_vs_bare_http2: cpu("frame_floor") / cpu("bare_http2"),
    // Higher is better: raw grpc-js CPU per call over the hand-framed floor's.
    grpcjs_cpu_vs_frame_floor: cpu("grpcjs") / cpu("frame_floor"),
  };
  lines.push(
    "",
    "| ratio | value |",
    "| --- | ---: |",
    ...Object.entries(ratios).map(([name, value]) => `| ${name} | ${value.toFixed(2)} |`),
    "",
    "Every sample is checked: a probe call first (the echo must come back equal), then the client's call count against the server's own success counter.",
  );
  return { markdown: lines.join("\n"), figures: { ...run, concurrency: 64, rows }, ratios };
}
