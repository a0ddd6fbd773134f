/**
 * Drives one server process with h2load and reads its costs from /proc: the measuring half of
 * the server suite (bench/suites/server.ts).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** A server process under test, pinned to one core when taskset exists. */
export interface ServerProcess {
  readonly kind: string;
  readonly port: number;
  readonly pid: number;
  /** Calls the server itself counted as successful (grpc-status 0 / HTTP 200). */
  successes(): Promise<number>;
  /** user + system CPU time consumed so far, in microseconds. */
  cpuMicros(): number;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peakRssBytes(): number;
  stop(): Promise<void>;
}

const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Which core servers get, and which h2load gets: apart, so they do not compete. */
export const serverCore = "1";
export const loadCore = "0";

const targetsConfig = join(import.meta.dirname, "tsconfig.targets.json");
// Where tsconfig.targets.json's outDir puts the compiled bench/server-target.ts.
const builtTarget = join(import.meta.dirname, "../.tmp/bench-targets/bench/server-target.js");

/**
 * Compiles bench/server-target.ts and what it imports (src/, gen/) to JavaScript with tsc, so
 * every server runs as it would in production. Under tsx a process also holds each TypeScript
 * source and its source map (protomesh has ~60 files: +2.5–5 MB RSS at idle, where compiled it
 * is level with grpc-js), and esbuild's keepNames wraps every named closure.
 */
export function buildServerTargets(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", targetsConfig], { stdio: "inherit" });
}

/** Starts one server kind of bench/server-target.ts, built first by `buildServerTargets`. */
export function startServer(kind: string): Promise<ServerProcess> {
  const node = [process.execPath, builtTarget, kind];
  const command = hasTaskset ? ["taskset", "-c", serverCore, ...node] : node;
  const child: ChildProcess = spawn(command[0] as string, command.slice(1), {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${kind} server exited (${code})`)));
    child.once("message", (message) => {
      const { port } = message as { port: number };
      const pid = child.pid as number;
      resolve({
        kind,
        port,
        pid,
        successes: () =>
          new Promise((done) => {
            child.once("message", (m) => done((m as { count: number }).count));
            child.send("count");
          }),
        cpuMicros() {
          // /proc/<pid>/stat: fields 14 and 15 (utime, stime) after the parenthesised name.
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          const ticks = Number(fields[11]) + Number(fields[12]);
          return (ticks * 1e6) / ticksPerSecond;
        },
        peakRssBytes() {
          const status = readFileSync(`/proc/${pid}/status`, "utf8");
          const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
          return Number(kb ?? 0) * 1024;
        },
        stop() {
          child.removeAllListeners("exit");
          return new Promise((done) => {
            child.once("exit", () => done());
            child.kill("SIGKILL");
          });
        },
      });
    });
  });
}

export interface LoadOptions {
  readonly url: string;
  readonly bodyFile: string;
  readonly contentType: string;
  readonly durationS: number;
  readonly warmUpS: number;
  readonly logFile: string;
  /** Offered load in requests per second over all connections; default: as fast as it goes. */
  readonly requestsPerSecond?: number | undefined;
  /** Extra request headers ("name: value"), e.g. an authorization header. Default none. */
  readonly headers?: readonly string[] | undefined;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const connections = 16;

/** `h2load -c16 -m8` for a fixed duration, with per-request latencies from its log file. */
export function runH2load(options: LoadOptions): Promise<LoadResult> {
  const args = [
    `-c${connections}`,
    "-m8",
    "-t1",
    "-D",
    `${Math.round(options.durationS * 1000)}ms`,
    "--warm-up-time",
    `${Math.round(options.warmUpS * 1000)}ms`,
    "-d",
    options.bodyFile,
    "-H",
    `content-type: ${options.contentType}`,
    "-H",
    "te: trailers",
    ...(options.headers ?? []).flatMap((header) => ["-H", header]),
    "--log-file",
    options.logFile,
    ...(options.requestsPerSecond ? [`--rps=${options.requestsPerSecond / connections}`] : []),
    options.url,
  ];
  const command = hasTaskset ? ["taskset", "-c", loadCore, "h2load", ...args] : ["h2load", ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command[0] as string, command.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) {
        reject(new Error(`h2load exited ${code}:\n${out}`));
        return;
      }
      const rate = /finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)?.[1];
      const counts =
        /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(out);
      const latencies = existsSync(options.logFile)
        ? readFileSync(options.logFile, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((line) => Number(line.split("\t")[2]))
            .sort((a, b) => a - b)
        : [];
      const pick = (q: number) =>
        latencies.length === 0
          ? Number.NaN
          : (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) /
            1000;
      resolve({
        requestsPerSecond: Number(rate ?? 0),
        succeeded: Number(counts?.[1] ?? 0),
        failed: Number(counts?.[2] ?? 0),
        p50Ms: pick(0.5),
        p99Ms: pick(0.99),
      });
    });
  });
}

/** True when h2load is installed (Debian: nghttp2-client). */
export function hasH2load(): boolean {
  try {
    execFileSync("h2load", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
