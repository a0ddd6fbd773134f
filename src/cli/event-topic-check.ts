import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { describeTopicChanges, findTopicChanges } from "../contract/event-topic-gate.js";
import { runBuf } from "./buf-runner.js";
import { CliError } from "./cli-error.js";

/**
 * The event-topic changes between the buf input `against` (image or directory) and the
 * workspace in `cwd`, in words; "" when none. Both sides are built into images by buf.
 */
export function eventTopicReport(cwd: string, against: string): string {
  const dir = mkdtempSync(join(tmpdir(), "protomesh-topics-"));
  try {
    const released = build(cwd, resolve(cwd, against), join(dir, "released.binpb"));
    const current = build(cwd, ".", join(dir, "current.binpb"));
    return describeTopicChanges(findTopicChanges(released, current));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function build(cwd: string, input: string, out: string) {
  const result = runBuf(["build", input, "--exclude-source-info", "-o", out], cwd);
  if (result.status !== 0) throw new CliError(`buf build ${input} failed:\n${result.output}`);
  return fromBinary(FileDescriptorSetSchema, readFileSync(out));
}
