import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  CodeGeneratorRequestSchema,
  type FileDescriptorProto,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { runBuf } from "../../../src/cli/buf-runner.js";

const repoRoot = resolve(import.meta.dirname, "../../..");

/**
 * Compiles `.proto` sources (path → text, paths relative to the module root) with buf, beside
 * the repository's options.proto and google/api annotations, and returns every file of the
 * image with its source info: what buf hands a plugin.
 */
export function compileProtos(sources: Readonly<Record<string, string>>): FileDescriptorProto[] {
  const dir = mkdtempSync(join(tmpdir(), "protomesh-plugin-"));
  try {
    writeFileSync(join(dir, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\n");
    for (const shared of ["protomesh/options", "google/api"]) {
      cpSync(join(repoRoot, "proto", shared), join(dir, "proto", shared), { recursive: true });
    }
    for (const [path, text] of Object.entries(sources)) {
      mkdirSync(dirname(join(dir, "proto", path)), { recursive: true });
      writeFileSync(join(dir, "proto", path), text);
    }
    const built = runBuf(["build", "-o", "image.binpb"], dir);
    if (built.status !== 0) throw new Error(`buf build failed:\n${built.output}`);
    return fromBinary(FileDescriptorSetSchema, readFileSync(join(dir, "image.binpb"))).file;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads every `.proto` under `root` into path → text. */
export function readProtoTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".proto")) out[path] = readFileSync(join(root, path), "utf8");
    }
  };
  walk("");
  return out;
}

/** A CodeGeneratorRequest asking for `fileToGenerate`, as buf sends one. */
export function generatorRequest(
  protoFile: readonly FileDescriptorProto[],
  fileToGenerate: readonly string[],
  parameter: string,
) {
  return create(CodeGeneratorRequestSchema, {
    protoFile: [...protoFile],
    fileToGenerate: [...fileToGenerate],
    parameter,
  });
}
