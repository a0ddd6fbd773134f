import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { formatGateFinding } from "../contract/policy-gate.js";
import { releasedImagePath } from "./breaking-gate.js";
import { runBuf } from "./buf-runner.js";
import { runPolicyGate } from "./run-policy-gate.js";

export interface ReleaseResult {
  readonly ok: boolean;
  readonly report: string;
}

/**
 * Records proto/ as the released contracts the breaking gate compares with. Refuses to record
 * a state that breaks the previous release, so the baseline can only move forward compatibly.
 */
export function releaseContracts(options: { readonly cwd: string }): ReleaseResult {
  const { cwd } = options;
  const target = join(cwd, releasedImagePath);
  if (existsSync(target)) {
    const check = runBuf(
      ["breaking", "--exclude-imports", "--error-format", "text", "--against", releasedImagePath],
      cwd,
    );
    if (check.status !== 0) {
      return {
        ok: false,
        report: `refusing to release: proto/ breaks the previous release\n${check.output}`,
      };
    }
    const policyBreaks = runPolicyGate(cwd, releasedImagePath).filter(
      (f) => f.severity === "error",
    );
    if (policyBreaks.length > 0) {
      return {
        ok: false,
        report: `refusing to release: proto/ breaks the previous release's call policies\n${policyBreaks.map(formatGateFinding).join("\n")}`,
      };
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "protomesh-release-"));
  try {
    const image = join(dir, "released.binpb");
    // The image keeps its imports so it stands alone; the gate compares with
    // --exclude-imports, since the well-known types are buf's bundled copies, which differ
    // between buf versions, and are not our contracts.
    const build = runBuf(["build", "--exclude-source-info", "-o", image], cwd);
    if (build.status !== 0) return { ok: false, report: `buf build failed\n${build.output}` };
    mkdirSync(dirname(target), { recursive: true });
    // Written whole or not at all, so a failed release never leaves half a baseline.
    renameSync(image, target);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { ok: true, report: `released contracts recorded in ${releasedImagePath}` };
}
