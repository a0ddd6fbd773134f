import { spawnSync } from "node:child_process";
import { delimiter, join, resolve } from "node:path";

/** The package root: buf and protoc-gen-es are resolved from its node_modules, not PATH. */
const packageRoot = resolve(import.meta.dirname, "../..");
const binDir = join(packageRoot, "node_modules", ".bin");

/** Outcome of one buf invocation; buf's own text is kept whole for the caller to show. */
export interface BufResult {
  readonly status: number;
  readonly output: string;
}

/**
 * Runs the buf of this package (from the `@bufbuild/buf` npm package) in `cwd`, with this
 * package's local protoc plugins first on PATH, so no global install is ever needed.
 */
export function runBuf(args: readonly string[], cwd: string): BufResult {
  const result = spawnSync(join(binDir, "buf"), args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, PATH: `${binDir}${delimiter}${process.env.PATH ?? ""}` },
  });
  if (result.error) {
    throw new Error(`cannot run buf: ${result.error.message}`, { cause: result.error });
  }
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}`.trim() };
}
