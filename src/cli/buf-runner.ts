import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join, resolve } from "node:path";
import { CliError } from "./cli-error.js";

/** Outcome of one buf invocation; buf's own text is kept whole for the caller to show. */
export interface BufResult {
  readonly status: number;
  readonly output: string;
}

/**
 * Runs buf in `cwd`: the `@bufbuild/buf` npm package of the project in `cwd` (else protomesh's
 * own), with every `node_modules/.bin` from `cwd` upwards first on PATH, so buf finds the local
 * protoc plugins (protoc-gen-es, protoc-gen-protomesh) and no global install is ever needed.
 * Plugins run on the Node running this command.
 */
export function runBuf(args: readonly string[], cwd: string): BufResult {
  const buf = findBuf(cwd);
  const path = [dirname(process.execPath), ...binDirs(cwd), process.env.PATH ?? ""];
  const result = spawnSync(buf, args, {
    cwd,
    encoding: "utf8",
    maxBuffer: 1 << 28,
    env: { ...process.env, PATH: path.join(delimiter) },
  });
  if (result.error) {
    throw new CliError(`cannot run buf (${buf}): ${result.error.message}`, { cause: result.error });
  }
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}`.trim() };
}

function findBuf(cwd: string): string {
  for (const from of [join(resolve(cwd), "package.json"), import.meta.filename]) {
    try {
      const manifest = createRequire(from).resolve("@bufbuild/buf/package.json");
      const { bin } = JSON.parse(readFileSync(manifest, "utf8")) as {
        bin?: Record<string, string>;
      };
      const path = join(dirname(manifest), bin?.buf ?? "bin/buf");
      if (existsSync(path)) return path;
    } catch {
      // not installed there: try the next place
    }
  }
  throw new CliError(
    "buf is not installed: run npm install --save-dev @bufbuild/buf @bufbuild/protoc-gen-es",
  );
}

function binDirs(cwd: string): string[] {
  const dirs: string[] = [];
  let dir = resolve(cwd);
  for (;;) {
    const bin = join(dir, "node_modules", ".bin");
    if (existsSync(bin)) dirs.push(bin);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  // protomesh's own dependencies, when they are not hoisted next to the project's.
  const own = join(import.meta.dirname, "..", "..", "node_modules", ".bin");
  const ownBuilt = join(import.meta.dirname, "..", "..", "..", "node_modules", ".bin");
  for (const bin of [own, ownBuilt]) if (existsSync(bin) && !dirs.includes(bin)) dirs.push(bin);
  // Running from sources, protoc-gen-protomesh is not linked anywhere: its launcher is here
  // (absent from the built package, whose bin npm links into the project's node_modules/.bin).
  const launcher = join(import.meta.dirname, "..", "plugin", "launcher");
  if (existsSync(launcher)) dirs.push(launcher);
  return dirs;
}
