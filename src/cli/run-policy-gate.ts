import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createFileRegistry, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorSet, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { describeTopicChange, findTopicChanges } from "../contract/event-topic-gate.js";
import { comparePolicies, type GateFinding } from "../contract/policy-gate.js";
import { messagePath, sourceLocation } from "../contract/source-location.js";
import { runBuf } from "./buf-runner.js";

/**
 * The contract-policy gate behind `protomesh breaking`: builds the baseline (`against`: a buf
 * image or a directory) and the workspace in `cwd` into images, then compares their resolved
 * call policies and HTTP bindings (see `comparePolicies`) and their event topics (see
 * `findTopicChanges`): the custom options buf cannot see. Each side is built once.
 */
export function runPolicyGate(cwd: string, against: string): GateFinding[] {
  const dir = mkdtempSync(join(tmpdir(), "protomesh-policy-gate-"));
  try {
    // A binary buf image (the released contracts) is read as it is; anything else is built.
    const againstPath = resolve(cwd, against);
    const released =
      /\.binpb$|\.bin$/.test(against) && statSync(againstPath).isFile()
        ? readSet(againstPath)
        : buildSet(cwd, against, join(dir, "released.binpb"), ["--exclude-source-info"]);
    // The current contracts keep their source info, so findings point at a line.
    const current = buildSet(cwd, ".", join(dir, "current.binpb"), []);
    const currentRegistry = createFileRegistry(current);
    const topicFindings = findTopicChanges(released, current).map((change): GateFinding => {
      const message = currentRegistry.getMessage(change.event);
      return {
        location: message
          ? sourceLocation(message.file, messagePath(message))
          : { file: change.event, line: 0, column: 0 },
        method: change.event,
        rule: "event-topic-changed",
        severity: "error",
        message: describeTopicChange(change),
      };
    });
    return [...comparePolicies(createFileRegistry(released), currentRegistry), ...topicFindings];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads a buf image (a FileDescriptorSet on the wire) into a registry. */
export function readImage(path: string): FileRegistry {
  return createFileRegistry(readSet(path));
}

function readSet(path: string): FileDescriptorSet {
  return fromBinary(FileDescriptorSetSchema, readFileSync(path));
}

function buildSet(
  cwd: string,
  input: string,
  out: string,
  flags: readonly string[],
): FileDescriptorSet {
  const built = runBuf(["build", input, ...flags, "-o", out], cwd);
  if (built.status !== 0) throw new Error(`buf build ${input} failed:\n${built.output}`);
  return readSet(out);
}
