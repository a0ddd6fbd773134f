import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { runBuf } from "./buf-runner.js";
import { CliError } from "./cli-error.js";

export interface CheckGeneratedResult {
  readonly ok: boolean;
  /** Committed files whose content differs from a fresh generation. */
  readonly stale: readonly string[];
  /** Files a fresh generation writes that are not committed. */
  readonly missing: readonly string[];
  /** Committed files a fresh generation no longer writes. */
  readonly extra: readonly string[];
}

/**
 * Regenerates into a temporary directory and compares with the committed output, so CI proves
 * gen/ is what `buf generate` makes of proto/ without touching the working tree.
 */
export function checkGenerated(options: { readonly cwd: string }): CheckGeneratedResult {
  const { cwd } = options;
  const outDirs = readOutDirs(cwd);
  const tmp = mkdtempSync(join(tmpdir(), "protomesh-gen-"));
  try {
    const generated = runBuf(["generate", "--output", tmp], cwd);
    if (generated.status !== 0) throw new CliError(`buf generate failed:\n${generated.output}`);
    const stale: string[] = [];
    const missing: string[] = [];
    const extra: string[] = [];
    for (const out of outDirs) {
      const fresh = listFiles(join(tmp, out));
      const committed = listFiles(join(cwd, out));
      for (const file of fresh) {
        const path = join(out, file);
        if (!committed.has(file)) missing.push(path);
        else if (!readFileSync(join(tmp, path)).equals(readFileSync(join(cwd, path))))
          stale.push(path);
      }
      for (const file of committed) {
        if (!fresh.has(file)) extra.push(join(out, file));
      }
    }
    return { ok: stale.length + missing.length + extra.length === 0, stale, missing, extra };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The distinct `out:` directories of buf.gen.yaml (plain YAML scalars; we write that file). */
function readOutDirs(cwd: string): string[] {
  const config = readFileSync(join(cwd, "buf.gen.yaml"), "utf8");
  const dirs = [...config.matchAll(/^\s*out:\s*["']?([^"'\s#]+)/gm)].map((m) => m[1] ?? "");
  return [...new Set(dirs.filter((d) => d !== ""))];
}

function listFiles(root: string): Set<string> {
  if (!existsSync(root)) return new Set();
  const entries = readdirSync(root, { recursive: true, withFileTypes: true });
  return new Set(
    entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name))),
  );
}
