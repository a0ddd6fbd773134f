import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatGateFinding, type GateFinding } from "../contract/policy-gate.js";
import { runBuf } from "./buf-runner.js";
import { CliError } from "./cli-error.js";
import { runPolicyGate } from "./run-policy-gate.js";

/**
 * Where the released contracts live: a buf image committed in the tree. CI runs on a fresh
 * clone of main with no tags and no remote, so the baseline must travel with the commits;
 * comparing with `.git#branch=main` would compare main with itself and never fail.
 */
export const releasedImagePath = "contracts/released.binpb";

/** Overrides the baseline, like `--against`: a git ref, a directory or a buf image file. */
export const againstEnvVar = "PROTOMESH_BREAKING_AGAINST";

export interface BreakingGateOptions {
  /** Root of the workspace holding buf.yaml and proto/. */
  readonly cwd: string;
  /**
   * What to compare with. Default: the released image, else `$PROTOMESH_BREAKING_AGAINST`.
   * An existing path is a buf input (image or directory); anything else is a git ref.
   */
  readonly against?: string | undefined;
}

export interface BreakingGateResult {
  readonly ok: boolean;
  /** What the contracts were compared with, in words. */
  readonly against: string;
  /** buf's report naming each breaking change, or why nothing was compared. */
  readonly report: string;
  /** What the contract-policy gate found (errors fail the gate, warnings do not). */
  readonly findings: readonly GateFinding[];
}

/** Fails when proto/ breaks a consumer of the baseline contracts; see `releasedImagePath`. */
export function checkBreaking(options: BreakingGateOptions): BreakingGateResult {
  const { cwd } = options;
  const against = options.against ?? process.env[againstEnvVar] ?? releasedImagePath;
  if (existsSync(join(cwd, against))) {
    return compare(cwd, against, against);
  }
  if (against === releasedImagePath) {
    return {
      ok: true,
      against,
      report: `no released contracts at ${releasedImagePath} yet: nothing to break (run protomesh release)`,
      findings: [],
    };
  }
  return compareWithGitRef(cwd, against);
}

function compareWithGitRef(cwd: string, ref: string): BreakingGateResult {
  const commit = git(cwd, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (commit.status !== 0) {
    throw new CliError(`--against ${ref}: neither a file nor a git ref in ${cwd}`);
  }
  const hasProto = git(cwd, ["cat-file", "-e", `${ref}:proto`]).status === 0;
  if (!hasProto) {
    return {
      ok: true,
      against: ref,
      report: `${ref} has no proto/: nothing to break`,
      findings: [],
    };
  }
  // The ref's tree is exported to a directory rather than read with buf's `.git#ref=` input,
  // which needs the ref fetched in buf's own way and the ref's buf.yaml to exist.
  const dir = mkdtempSync(join(tmpdir(), "protomesh-against-"));
  try {
    const paths =
      git(cwd, ["cat-file", "-e", `${ref}:buf.yaml`]).status === 0
        ? ["proto", "buf.yaml"]
        : ["proto"];
    const archive = spawnSync("git", ["archive", "--format=tar", ref, ...paths], {
      cwd,
      maxBuffer: 1 << 30,
    });
    if (archive.status !== 0) throw new Error(`git archive ${ref} failed: ${archive.stderr}`);
    const untar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
    if (untar.status !== 0) throw new Error(`cannot unpack ${ref}: ${untar.stderr}`);
    if (!existsSync(join(dir, "buf.yaml"))) {
      writeFileSync(join(dir, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\n");
    }
    return compare(cwd, dir, ref);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function compare(cwd: string, input: string, label: string): BreakingGateResult {
  const result = runBuf(
    ["breaking", "--exclude-imports", "--error-format", "text", "--against", input],
    cwd,
  );
  if (result.status !== 0 && result.status !== 100) {
    // 100 is buf's "found problems"; anything else means buf could not compare at all.
    throw new CliError(`buf breaking could not compare with ${label}:\n${result.output}`);
  }
  // buf compares the wire and the generated code; the policy gate compares what buf cannot
  // see: custom options (the call policy) and google.api.http bindings.
  const findings = runPolicyGate(cwd, input);
  const gateFailed = findings.some((f) => f.severity === "error");
  const report = [result.output, ...findings.map(formatGateFinding)].filter((l) => l !== "");
  return {
    ok: result.status === 0 && !gateFailed,
    against: label,
    report: report.join("\n"),
    findings,
  };
}

function git(cwd: string, args: readonly string[]) {
  return spawnSync("git", args, { cwd, encoding: "utf8" });
}
