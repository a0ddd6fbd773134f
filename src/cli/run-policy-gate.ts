import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createFileRegistry, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { comparePolicies, type GateFinding } from "../contract/policy-gate.js";
import { runBuf } from "./buf-runner.js";

/**
 * The contract-policy gate behind `protomesh breaking`: builds the baseline (`against`: a buf
 * image or a directory) and the workspace in `cwd` into images, then compares their resolved
 * call policies and HTTP bindings (see `comparePolicies`).
 */
export function runPolicyGate(cwd: string, against: string): GateFinding[] {
  const dir = mkdtempSync(join(tmpdir(), "protomesh-policy-gate-"));
  try {
    // A binary buf image (the released contracts) is read as it is; anything else is built.
    const againstPath = resolve(cwd, against);
    const released =
      /\.binpb$|\.bin$/.test(against) && statSync(againstPath).isFile()
        ? readImage(againstPath)
        : buildRegistry(cwd, against, join(dir, "released.binpb"), ["--exclude-source-info"]);
    // The current contracts keep their source info, so findings point at a line.
    const current = buildRegistry(cwd, ".", join(dir, "current.binpb"), []);
    return comparePolicies(released, current);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads a buf image (a FileDescriptorSet on the wire) into a registry. */
export function readImage(path: string): FileRegistry {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(path)));
}

function buildRegistry(
  cwd: string,
  input: string,
  out: string,
  flags: readonly string[],
): FileRegistry {
  const built = runBuf(["build", input, ...flags, "-o", out], cwd);
  if (built.status !== 0) throw new Error(`buf build ${input} failed:\n${built.output}`);
  return readImage(out);
}
