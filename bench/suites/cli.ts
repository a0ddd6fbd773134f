/**
 * `npm run bench -- --suite cli`: cold starts of the compiled `protomesh` command, each a fresh
 * process, wall time from spawn to exit:
 * - `protomesh --help`;
 * - `protomesh call` of a unary method on a local protomesh server (reflection, then the call),
 *   against `buf curl --reflect` doing the same in the same run (buf's Go binary, called
 *   directly, not through the npm package's Node shim);
 * - `node -e 'import("protomesh")'`, against a bare `node -e 0`.
 * Runs are interleaved (one of each per round), so noise hits every command alike; medians
 * and p90 over the rounds. Target: protomesh call ≤ 1.5× buf curl.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { EchoService } from "../../gen/protomesh/bench/v1/echo_pb.js";
import { createServer, defineService } from "../../src/index.js";
import type { BenchSuite } from "../bench-suite.js";

const repo = resolve(import.meta.dirname, "../..");
const node = process.execPath;

/** Wall time of one fresh process, in ms; fails if it exits non-zero. */
function timeProcess(command: string, args: readonly string[]): Promise<number> {
  return new Promise((done, fail) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: repo, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", fail);
    child.on("exit", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) done(ms);
      else fail(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr}`));
    });
  });
}

/** The `protomesh` bin of package.json, relative to the repository. */
function binPath(): string {
  const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
    bin: Record<string, string>;
  };
  const bin = manifest.bin.protomesh;
  if (bin === undefined) throw new Error("package.json has no protomesh bin");
  return bin;
}

/** The Go binary of @bufbuild/buf (its bin/buf is a Node shim that would add a Node start-up). */
function bufBinary(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve(`@bufbuild/buf-${process.platform}-${archName()}/package.json`);
  return join(dirname(manifest), "bin", "buf");
}

function archName(): string {
  return process.arch === "x64" ? "x64" : process.arch === "arm64" ? "arm64" : process.arch;
}

function stats(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { medianMs: round(at(0.5)), p90Ms: round(at(0.9)), runs: sorted.length };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Two decimals, rounded once (rounding a rounded figure again printed 3.3480000000000003). */
function roundRatio(ratio: number): number {
  return Math.round(ratio * 100) / 100;
}

export const suite: BenchSuite = {
  name: "cli",
  async run({ quick }) {
    // The command as users run it: the package's bin as `npm run build` makes it (tsc, then
    // the bin bundled by esbuild), on plain Node.
    execFileSync("npm", ["run", "build"], { cwd: repo, stdio: "inherit" });
    const cli = join(repo, binPath());
    const server = createServer({
      services: [defineService(EchoService, { echo: (request) => ({ payload: request.payload }) })],
      logger: false,
    });
    const { url, port } = await server.listen({ host: "127.0.0.1", port: 0 });
    const method = `${EchoService.typeName}/${EchoService.method.echo.name}`;
    const data = '{"payload":"aGVsbG8="}';
    const buf = bufBinary();
    const commands: Record<string, [string, string[]]> = {
      "protomesh --help": [node, [cli, "--help"]],
      "protomesh call": [node, [cli, "call", url, method, "-d", data]],
      "buf curl --reflect": [
        buf,
        [
          "curl",
          "--http2-prior-knowledge",
          "--protocol",
          "grpc",
          "--reflect",
          "-d",
          data,
          `http://127.0.0.1:${port}/${method}`,
        ],
      ],
      'node -e import("protomesh")': [node, ["-e", 'import("protomesh")']],
      "node -e 0 (bare start)": [node, ["-e", "0"]],
    };
    const rounds = quick ? 3 : 30;
    const samples: Record<string, number[]> = Object.fromEntries(
      Object.keys(commands).map((k) => [k, []]),
    );
    try {
      // One warm-up round: it warms the file system cache and fills the compile cache the bin
      // turns on (as any run after the first finds it), not the JIT.
      for (const [command, args] of Object.values(commands)) await timeProcess(command, args);
      for (let round = 0; round < rounds; round++) {
        for (const [name, [command, args]] of Object.entries(commands)) {
          samples[name]?.push(await timeProcess(command, args));
        }
      }
    } finally {
      await server.close();
    }
    const figures = Object.fromEntries(
      Object.entries(samples).map(([name, s]) => [name, stats(s)]),
    );
    const median = (name: string) => figures[name]?.medianMs ?? Number.NaN;
    const ratios = {
      "cli.call_vs_buf_curl": roundRatio(median("protomesh call") / median("buf curl --reflect")),
      "cli.import_over_bare_node_ms": round(
        median('node -e import("protomesh")') - median("node -e 0 (bare start)"),
      ),
    };
    const rows = Object.entries(figures).map(
      ([name, f]) => `| \`${name}\` | ${f.medianMs} | ${f.p90Ms} | ${f.runs} |`,
    );
    const markdown = [
      `Node ${process.version}, fresh processes, wall time from spawn to exit:`,
      "",
      "| command | median ms | p90 ms | runs |",
      "| --- | --- | --- | --- |",
      ...rows,
      "",
      `protomesh call / buf curl: **${ratios["cli.call_vs_buf_curl"]}×** (target ≤ 1.5×); importing protomesh adds ${ratios["cli.import_over_bare_node_ms"]} ms to a bare Node start.`,
    ].join("\n");
    return { markdown, figures, ratios };
  },
};
