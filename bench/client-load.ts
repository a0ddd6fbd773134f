/**
 * Runs one client process of bench/client-target.ts (compiled by `buildServerTargets`) on the
 * load core, against a server on the other: the measuring half of the client suite.
 */
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { loadCore } from "./server-load.js";

/** What one client process measured of itself. */
export interface ClientResult {
  readonly calls: number;
  readonly elapsedMs: number;
  /** user + system CPU of the client process during the measured window. */
  readonly cpuMicros: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** VmHWM of the client process: warm-up and measured run. */
  readonly peakRssBytes: number;
}

const builtTarget = join(import.meta.dirname, "../.tmp/bench-targets/bench/client-target.js");

const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** One fresh client process of `kind` against `port`; resolves with its own figures. */
export function runClient(
  kind: string,
  port: number,
  run: { warmupMs: number; measureMs: number },
): Promise<ClientResult> {
  const node = [
    process.execPath,
    builtTarget,
    kind,
    String(port),
    String(run.warmupMs),
    String(run.measureMs),
  ];
  const command = hasTaskset ? ["taskset", "-c", loadCore, ...node] : node;
  return new Promise((resolve, reject) => {
    const child = spawn(command[0] as string, command.slice(1), {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, NODE_ENV: "production" },
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) {
        reject(new Error(`${kind} client exited ${code}: ${out}`));
        return;
      }
      resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as ClientResult);
    });
  });
}
