/**
 * Server suite: unary gRPC (100-byte echo) on a bare node:http2 responder, a raw @grpc/grpc-js
 * server, a raw connect-node server and a protomesh server (health, metrics, access log and
 * correlation on), plus Connect JSON on protomesh and raw connect-node. Each server runs in its
 * own process pinned to one core; h2load (`-c16 -m8`) runs on the other. Repetitions are
 * interleaved across servers so drift on this shared machine hits all of them alike.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { equals } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { BenchReport, BenchRunOptions, BenchSuite } from "../bench-suite.js";
import {
  type EchoMessage,
  EchoMessageSchema,
  EchoService,
  echoGrpcBody,
  echoJsonBody,
  echoPath,
  echoRequest,
} from "../server-echo.js";
import {
  hasH2load,
  type LoadResult,
  runH2load,
  type ServerProcess,
  startServer,
} from "../server-load.js";

interface Scenario {
  readonly key: string;
  readonly label: string;
  /** The server-target kind the scenario's process runs. */
  readonly server: string;
  readonly protocol: "grpc" | "connect-json";
}

const scenarios: readonly Scenario[] = [
  { key: "bare_http2", label: "bare node:http2 + protobuf-es", server: "bare", protocol: "grpc" },
  { key: "grpc_js", label: "raw @grpc/grpc-js", server: "grpcjs", protocol: "grpc" },
  { key: "connect_node", label: "raw connect-node", server: "connect", protocol: "grpc" },
  {
    key: "protomesh",
    label: "protomesh (lean gRPC engine)",
    server: "protomesh",
    protocol: "grpc",
  },
  {
    key: "connect_node_json",
    label: "raw connect-node",
    server: "connect",
    protocol: "connect-json",
  },
  { key: "protomesh_json", label: "protomesh", server: "protomesh", protocol: "connect-json" },
];

interface Sample extends LoadResult {
  readonly cpuMicrosPerCall: number;
  readonly serverSuccesses: number;
}

export const suite: BenchSuite = {
  name: "server",
  async run({ quick }: BenchRunOptions): Promise<BenchReport> {
    if (!hasH2load()) {
      throw new Error("h2load not found: apt-get install -y nghttp2-client");
    }
    const repetitions = quick ? 1 : 5;
    const durationS = quick ? 2 : 5;
    const warmUpS = 1;
    const dir = mkdtempSync(join(tmpdir(), "protomesh-bench-"));
    const bodies = { grpc: join(dir, "body.grpc"), "connect-json": join(dir, "body.json") };
    writeFileSync(bodies.grpc, echoGrpcBody());
    writeFileSync(bodies["connect-json"], echoJsonBody());

    const servers = new Map<string, ServerProcess>();
    const samples = new Map<string, Sample[]>();
    try {
      // One process per scenario, so each peak RSS belongs to one kind of load only (the
      // grpc-js process never serves Connect JSON; neither do the others' gRPC processes).
      for (const scenario of scenarios) {
        const server = await startServer(scenario.server);
        servers.set(scenario.key, server);
        await probe(server, scenario.protocol);
      }
      // Round -1 warms every server up (JIT, pools) and is not recorded: otherwise the first
      // scenario of each process pays for compiling code the later ones reuse.
      for (let rep = -1; rep < repetitions; rep++) {
        for (const scenario of scenarios) {
          const server = servers.get(scenario.key) as ServerProcess;
          const cpuBefore = server.cpuMicros();
          const okBefore = await server.successes();
          const load = await runH2load({
            url: `http://127.0.0.1:${server.port}${echoPath}`,
            bodyFile: bodies[scenario.protocol],
            contentType: scenario.protocol === "grpc" ? "application/grpc" : "application/json",
            durationS: rep < 0 ? warmUpS * 2 : durationS,
            warmUpS,
            logFile: join(dir, `${scenario.key}-${rep}.log`),
          });
          if (rep < 0) continue;
          const serverSuccesses = (await server.successes()) - okBefore;
          const cpu = server.cpuMicros() - cpuBefore;
          if (load.failed > 0 || serverSuccesses < load.succeeded) {
            throw new Error(
              `${scenario.key}: h2load saw ${load.succeeded} ok / ${load.failed} failed, the server counted ${serverSuccesses} successes`,
            );
          }
          const list = samples.get(scenario.key) ?? [];
          list.push({ ...load, serverSuccesses, cpuMicrosPerCall: cpu / serverSuccesses });
          samples.set(scenario.key, list);
        }
      }
      const peakRss = new Map([...servers].map(([key, s]) => [key, s.peakRssBytes()]));
      await Promise.all([...servers.values()].map((s) => s.stop()));
      servers.clear();
      const equalLoad = await peakRssAtEqualLoad(samples, {
        bodyFile: bodies.grpc,
        durationS: durationS * 2,
        dir,
      });
      return report(samples, peakRss, equalLoad, { repetitions, durationS, quick });
    } finally {
      await Promise.all([...servers.values()].map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** The gRPC servers compared for memory at equal load (connect-node is too slow to offer it). */
const equalLoadKeys = ["bare_http2", "grpc_js", "protomesh"] as const;

interface EqualLoad {
  readonly offeredRequestsPerSecond: number;
  /** Peak RSS in bytes, by scenario key. */
  readonly peakRss: Map<string, number>;
}

/**
 * Peak RSS at max throughput grows with the request rate itself (more garbage per second, a
 * larger young generation), so a faster server looks heavier. Here each gRPC server gets a
 * fresh process and the same offered rate (80% of the slowest one's median): equal work per
 * second, so the peaks compare the servers, not their speeds.
 */
async function peakRssAtEqualLoad(
  samples: Map<string, Sample[]>,
  run: { bodyFile: string; durationS: number; dir: string },
): Promise<EqualLoad> {
  const slowest = Math.min(
    ...equalLoadKeys.map((key) => median((samples.get(key) ?? []).map((s) => s.requestsPerSecond))),
  );
  const offered = Math.floor((slowest * 0.8) / 1000) * 1000;
  const peakRss = new Map<string, number>();
  for (const key of equalLoadKeys) {
    const scenario = scenarios.find((s) => s.key === key) as Scenario;
    const server = await startServer(scenario.server);
    try {
      await probe(server, "grpc");
      await runH2load({
        url: `http://127.0.0.1:${server.port}${echoPath}`,
        bodyFile: run.bodyFile,
        contentType: "application/grpc",
        durationS: run.durationS,
        warmUpS: 1,
        logFile: join(run.dir, `${key}-equal-load.log`),
        requestsPerSecond: offered,
      });
      peakRss.set(key, server.peakRssBytes());
    } finally {
      await server.stop();
    }
  }
  return { offeredRequestsPerSecond: offered, peakRss };
}

/** One real call first: the server answers the echo correctly on this protocol. */
async function probe(server: ServerProcess, protocol: Scenario["protocol"]): Promise<void> {
  const baseUrl = `http://127.0.0.1:${server.port}`;
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl })
      : createConnectTransport({ baseUrl, httpVersion: "2" });
  const client = createClient(EchoService, transport) as unknown as {
    echo(request: EchoMessage): Promise<EchoMessage>;
  };
  const reply = await client.echo(echoRequest);
  if (!equals(EchoMessageSchema, reply, echoRequest)) {
    throw new Error(`${server.kind} (${protocol}) echoed something else`);
  }
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
  peakRss: Map<string, number>,
  equalLoad: EqualLoad,
  run: { repetitions: number; durationS: number; quick: boolean },
): BenchReport {
  const figures: Record<string, unknown> = { ...run };
  const rps = (key: string) => median((samples.get(key) ?? []).map((s) => s.requestsPerSecond));
  const rows: string[] = [];
  for (const protocol of ["grpc", "connect-json"] as const) {
    rows.push(
      "",
      `### ${protocol === "grpc" ? "Unary gRPC" : "Connect JSON unary"} (100-byte echo, h2load -c16 -m8, ${run.repetitions} × ${run.durationS} s${run.quick ? ", quick" : ""})`,
      "",
      "| server | req/s (median) | min–max | p50 ms | p99 ms | CPU µs/call | peak RSS MB |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const scenario of scenarios.filter((s) => s.protocol === protocol)) {
      const list = samples.get(scenario.key) ?? [];
      const all = list.map((s) => s.requestsPerSecond);
      const entry = {
        requestsPerSecond: median(all),
        min: Math.min(...all),
        max: Math.max(...all),
        p50Ms: median(list.map((s) => s.p50Ms)),
        p99Ms: median(list.map((s) => s.p99Ms)),
        cpuMicrosPerCall: median(list.map((s) => s.cpuMicrosPerCall)),
        peakRssMb: (peakRss.get(scenario.key) ?? 0) / 1024 / 1024,
        samples: list,
      };
      figures[scenario.key] = entry;
      rows.push(
        `| ${scenario.label} | ${Math.round(entry.requestsPerSecond)} | ${Math.round(entry.min)}–${Math.round(entry.max)} | ${entry.p50Ms.toFixed(2)} | ${entry.p99Ms.toFixed(2)} | ${entry.cpuMicrosPerCall.toFixed(1)} | ${entry.peakRssMb.toFixed(0)} |`,
      );
    }
  }
  const ratios = {
    server_grpc_vs_grpcjs: rps("protomesh") / rps("grpc_js"),
    server_grpc_vs_http2_ceiling: rps("protomesh") / rps("bare_http2"),
    server_connect_json_vs_connect_node: rps("protomesh_json") / rps("connect_node_json"),
    // Lower is better: the target is ≤ 1.0 (peak RSS no higher than grpc-js's). At max
    // throughput each server runs at its own rate; at equal load both get the same rate.
    server_peak_rss_vs_grpcjs: (peakRss.get("protomesh") ?? 0) / (peakRss.get("grpc_js") ?? 1),
    server_peak_rss_equal_load_vs_grpcjs:
      (equalLoad.peakRss.get("protomesh") ?? 0) / (equalLoad.peakRss.get("grpc_js") ?? 1),
  };
  const mb = (bytes: number | undefined) => ((bytes ?? 0) / 1024 / 1024).toFixed(0);
  figures.equal_load = {
    offeredRequestsPerSecond: equalLoad.offeredRequestsPerSecond,
    peakRssMb: Object.fromEntries([...equalLoad.peakRss].map(([k, v]) => [k, v / 1024 / 1024])),
  };
  rows.push(
    "",
    `### Peak RSS at equal load (unary gRPC, ${equalLoad.offeredRequestsPerSecond} req/s offered to each, fresh processes)`,
    "",
    "| server | peak RSS MB |",
    "| --- | ---: |",
    ...equalLoadKeys.map(
      (key) =>
        `| ${scenarios.find((s) => s.key === key)?.label ?? key} | ${mb(equalLoad.peakRss.get(key))} |`,
    ),
  );
  // CPU per call is steadier than throughput on a shared machine (a server preempted by a
  // neighbour loses req/s but not CPU per call): reported beside the headline ratios.
  const cpu = (key: string) => median((samples.get(key) ?? []).map((s) => s.cpuMicrosPerCall));
  figures.cpu_ratios = {
    grpc_vs_grpcjs: cpu("grpc_js") / cpu("protomesh"),
    grpc_vs_http2_ceiling: cpu("bare_http2") / cpu("protomesh"),
    connect_json_vs_connect_node: cpu("connect_node_json") / cpu("protomesh_json"),
  };
  rows.push(
    "",
    "| ratio | value |",
    "| --- | ---: |",
    ...Object.entries(ratios).map(([name, value]) => `| ${name} | ${value.toFixed(2)} |`),
    ...Object.entries(figures.cpu_ratios as Record<string, number>).map(
      ([name, value]) =>
        `| ${name} by CPU per call (higher = protomesh cheaper) | ${value.toFixed(2)} |`,
    ),
    "",
    "Peak RSS is each server process's VmHWM over the whole run; every row has its own process. Every run is checked: a probe call first, then h2load's successes against the server's own success counter.",
  );
  return { markdown: rows.join("\n"), figures, ratios };
}
