/**
 * Gateway suite: REST through protomesh's gateway (POST /v1/orders with a JSON body, and
 * GET /v1/orders/{order_id}) to a protomesh upstream, against Connect JSON sent straight to
 * that upstream and to a raw connect-node server serving the same call. h2load (h2c,
 * `-c16 -m8`) drives each; CPU comes from /proc for every process involved.
 *
 * Ratios: `gateway_rest_cpu_vs_connect_node_json` = (gateway + upstream CPU per REST GET)
 * ÷ raw connect-node's CPU per Connect JSON call (target ≤ 1.0), the same for POST, and
 * `gateway_rest_p50_vs_direct` = REST GET p50 ÷ direct Connect JSON p50 (target ≤ 1.5).
 * The processes run from source under tsx (not compiled), which costs each a little RSS.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchReport, BenchRunOptions, BenchSuite } from "../bench-suite.js";

interface Proc {
  readonly port: number;
  readonly pid: number;
  successes(): Promise<number>;
  cpuMicros(): number;
  stop(): void;
}

const tmp = join(import.meta.dirname, "../../.tmp/bench-gateway");
const target = join(import.meta.dirname, "../gateway-target.ts");
const ticks = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function startProc(kind: string, ...args: string[]): Promise<Proc> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", target, kind, ...args], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${kind} exited (${code})`)));
    child.once("message", (m) => {
      const pid = child.pid as number;
      resolve({
        port: (m as { port: number }).port,
        pid,
        successes: () =>
          new Promise((done) => {
            child.once("message", (r) => done((r as { count: number }).count));
            child.send("count");
          }),
        cpuMicros() {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          return ((Number(f[11]) + Number(f[12])) * 1e6) / ticks;
        },
        stop() {
          child.removeAllListeners("exit");
          child.kill("SIGKILL");
        },
      });
    });
  });
}

interface Load {
  readonly rps: number;
  readonly done: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function h2load(url: string, durationS: number, body?: { file: string; type: string }): Load {
  const log = join(tmp, "h2load.log");
  rmSync(log, { force: true });
  const out = execFileSync(
    "h2load",
    [
      "-c16",
      "-m8",
      "-t1",
      "-D",
      `${durationS}`,
      "--warm-up-time",
      "1",
      ...(body ? ["-d", body.file, "-H", `content-type: ${body.type}`] : []),
      "--log-file",
      log,
      url,
    ],
    { encoding: "utf8" },
  );
  const rate = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
  const c = /requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, (\d+) failed/.exec(out);
  const status2xx = Number(/status codes: (\d+) 2xx/.exec(out)?.[1] ?? 0);
  const lat = existsSync(log)
    ? readFileSync(log, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => Number(l.split("\t")[2]))
        .sort((a, b) => a - b)
    : [];
  const pick = (q: number) =>
    lat.length
      ? (lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? 0) / 1000
      : Number.NaN;
  return {
    rps: rate,
    done: status2xx,
    failed: Number(c?.[2] ?? 0),
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
  };
}

interface Measured extends Load {
  /** CPU µs per call of each process involved, by name. */
  readonly cpuUsPerCall: Readonly<Record<string, number>>;
}

async function measure(
  procs: Readonly<Record<string, Proc>>,
  counter: Proc,
  run: () => Load,
): Promise<Measured> {
  const cpu0 = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.cpuMicros()]));
  const calls0 = await counter.successes();
  const load = run();
  const calls = (await counter.successes()) - calls0;
  const cpuUsPerCall = Object.fromEntries(
    Object.entries(procs).map(([k, p]) => [
      k,
      (p.cpuMicros() - (cpu0[k] ?? 0)) / Math.max(1, calls),
    ]),
  );
  return { ...load, cpuUsPerCall };
}

export const suite: BenchSuite = {
  name: "gateway",
  async run({ quick }: BenchRunOptions): Promise<BenchReport> {
    mkdirSync(tmp, { recursive: true });
    const durationS = quick ? 3 : 10;
    const createBody = join(tmp, "create.json");
    writeFileSync(
      createBody,
      JSON.stringify({
        customerId: "cus_42",
        items: [{ sku: "sku-mug", quantity: 2, unitPrice: { currencyCode: "EUR", units: "12" } }],
      }),
    );
    const getBody = join(tmp, "get.json");
    writeFileSync(getBody, JSON.stringify({ orderId: "ord_0001" }));
    const json = { type: "application/json" };

    const upstream = await startProc("upstream");
    const gateway = await startProc("gateway", String(upstream.port));
    const raw = await startProc("connect-node");
    try {
      const gw = `http://127.0.0.1:${gateway.port}`;
      const pair = { gateway, upstream };
      const restPost = await measure(pair, upstream, () =>
        h2load(`${gw}/v1/orders`, durationS, { file: createBody, ...json }),
      );
      const restGet = await measure(pair, upstream, () =>
        h2load(`${gw}/v1/orders/ord_0001`, durationS),
      );
      const direct = await measure({ upstream }, upstream, () =>
        h2load(`http://127.0.0.1:${upstream.port}/acme.order.v1.OrderService/GetOrder`, durationS, {
          file: getBody,
          ...json,
        }),
      );
      const connectNode = await measure({ raw }, raw, () =>
        h2load(`http://127.0.0.1:${raw.port}/acme.order.v1.OrderService/GetOrder`, durationS, {
          file: getBody,
          ...json,
        }),
      );
      const sum = (m: Measured) => Object.values(m.cpuUsPerCall).reduce((a, b) => a + b, 0);
      const rawCpu = connectNode.cpuUsPerCall.raw ?? Number.NaN;
      const ratios = {
        gateway_rest_cpu_vs_connect_node_json: sum(restGet) / rawCpu,
        gateway_rest_post_cpu_vs_connect_node_json: sum(restPost) / rawCpu,
        gateway_rest_p50_vs_direct: restGet.p50Ms / direct.p50Ms,
        gateway_rest_post_p50_vs_direct: restPost.p50Ms / direct.p50Ms,
      };
      const rows: [string, Measured][] = [
        ["REST POST /v1/orders via gateway", restPost],
        ["REST GET /v1/orders/{id} via gateway", restGet],
        ["Connect JSON direct to protomesh", direct],
        ["Connect JSON to raw connect-node", connectNode],
      ];
      const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
      const markdown = [
        "| path | req/s | p50 ms | p99 ms | CPU µs/call (per process) | failed |",
        "| --- | --- | --- | --- | --- | --- |",
        ...rows.map(
          ([name, m]) =>
            `| ${name} | ${fmt(m.rps)} | ${m.p50Ms.toFixed(2)} | ${m.p99Ms.toFixed(2)} | ${Object.entries(
              m.cpuUsPerCall,
            )
              .map(([k, v]) => `${k} ${fmt(v)}`)
              .join(", ")} | ${m.failed} |`,
        ),
        "",
        ...Object.entries(ratios).map(([k, v]) => `- ${k}: ${v.toFixed(2)}`),
      ].join("\n");
      return {
        markdown,
        figures: Object.fromEntries(rows.map(([name, m]) => [name, m])),
        ratios,
      };
    } finally {
      gateway.stop();
      upstream.stop();
      raw.stop();
    }
  },
};
