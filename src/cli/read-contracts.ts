import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, createFileRegistry, type FileRegistry } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { runBuf } from "./buf-runner.js";
import { CliError } from "./cli-error.js";
import type { ParsedVerbArgs } from "./parse-verb-args.js";
import { createReflectionClient } from "./remote/reflection-client.js";
import { withRemoteSession } from "./remote/with-remote-session.js";
import { readImage } from "./run-policy-gate.js";

/**
 * The contracts `protomesh policies` reads: a `.proto` directory or buf input compiled with
 * this package's buf (default: the workspace in `cwd`), or, for an `http(s)://` URL, a running
 * server's descriptors fetched over gRPC reflection (`parsed` carries the remote options).
 */
export async function readContracts(
  cwd: string,
  source: string | undefined,
  parsed: ParsedVerbArgs = { values: {}, positionals: [] },
): Promise<FileRegistry> {
  if (source && /^https?:\/\//.test(source)) return readByReflection(source, parsed);
  const dir = mkdtempSync(join(tmpdir(), "protomesh-policies-"));
  try {
    const out = join(dir, "image.binpb");
    const flags = ["--exclude-source-info", "-o", out];
    let built = runBuf(["build", source ?? ".", ...flags], cwd);
    if (built.status !== 0 && source && built.output.includes("contained by module")) {
      // A directory inside this workspace's module: build the module, keep that directory.
      built = runBuf(["build", ".", "--path", source, ...flags], cwd);
    }
    if (built.status !== 0)
      throw new CliError(`buf build ${source ?? "."} failed:\n${built.output}`);
    return readImage(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every file a server describes: each listed service's file and its imports. */
function readByReflection(url: string, parsed: ParsedVerbArgs): Promise<FileRegistry> {
  return withRemoteSession("policies", parsed, url, async (session) => {
    const reflection = createReflectionClient(session);
    const files = new Map<string, FileDescriptorProto>();
    for (const service of await reflection.listServices()) {
      for (const file of (await reflection.registryFor(service)).files) {
        files.set(file.proto.name, file.proto);
      }
    }
    return createFileRegistry(create(FileDescriptorSetSchema, { file: importsFirst(files) }));
  });
}

/** Dependencies before dependents, as a FileDescriptorSet lists them. */
function importsFirst(files: ReadonlyMap<string, FileDescriptorProto>): FileDescriptorProto[] {
  const out: FileDescriptorProto[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    const file = files.get(name);
    if (!file || seen.has(name)) return;
    seen.add(name);
    for (const dep of file.dependency) visit(dep);
    out.push(file);
  };
  for (const name of [...files.keys()].sort()) visit(name);
  return out;
}
