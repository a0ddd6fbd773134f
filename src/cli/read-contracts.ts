import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, createFileRegistry, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { createTransport } from "../transport/index.js";
import { runBuf } from "./buf-runner.js";
import { readImage } from "./run-policy-gate.js";

/**
 * The contracts `protomesh policies` reads: a `.proto` directory or buf input compiled with
 * this package's buf (default: the workspace in `cwd`), or, for an `http(s)://` URL, a running
 * server's descriptors fetched over gRPC reflection (`grpc.reflection.v1`).
 */
export async function readContracts(
  cwd: string,
  source: string | undefined,
): Promise<FileRegistry> {
  if (source && /^https?:\/\//.test(source)) return readByReflection(source);
  const dir = mkdtempSync(join(tmpdir(), "protomesh-policies-"));
  try {
    const out = join(dir, "image.binpb");
    const flags = ["--exclude-source-info", "-o", out];
    let built = runBuf(["build", source ?? ".", ...flags], cwd);
    if (built.status !== 0 && source && built.output.includes("contained by module")) {
      // A directory inside this workspace's module: build the module, keep that directory.
      built = runBuf(["build", ".", "--path", source, ...flags], cwd);
    }
    if (built.status !== 0) throw new Error(`buf build ${source ?? "."} failed:\n${built.output}`);
    return readImage(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every file a server describes: its services' files and their imports, over one stream. */
async function readByReflection(url: string): Promise<FileRegistry> {
  const transport = createTransport({ baseUrl: url });
  try {
    return await reflect(url, createClient(ServerReflection, transport));
  } finally {
    transport.close();
  }
}

async function reflect(
  url: string,
  client: Client<typeof ServerReflection>,
): Promise<FileRegistry> {
  const files = new Map<string, FileDescriptorProto>();
  const signal = AbortSignal.timeout(10_000);

  async function ask(request: Parameters<typeof client.serverReflectionInfo>[0]) {
    const out = [];
    for await (const response of client.serverReflectionInfo(request, { signal })) {
      out.push(response);
    }
    return out;
  }

  const [listed] = await ask(
    (async function* () {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
    })(),
  );
  if (listed?.messageResponse.case !== "listServicesResponse")
    throw new Error(`${url} did not list its services over reflection`);
  const names = listed.messageResponse.value.service.map((s) => s.name);
  const answers = await ask(
    (async function* () {
      for (const name of names) {
        yield { messageRequest: { case: "fileContainingSymbol" as const, value: name } };
      }
    })(),
  );
  for (const answer of answers) {
    if (answer.messageResponse.case === "errorResponse")
      throw new Error(`reflection: ${answer.messageResponse.value.errorMessage}`);
    if (answer.messageResponse.case !== "fileDescriptorResponse") continue;
    for (const bytes of answer.messageResponse.value.fileDescriptorProto) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      files.set(file.name, file);
    }
  }
  // Well-known types a server may leave out, as every client has them.
  for (const wkt of [
    file_google_protobuf_descriptor,
    file_google_protobuf_duration,
    file_google_protobuf_empty,
    file_google_protobuf_timestamp,
  ]) {
    if (!files.has(wkt.proto.name)) files.set(wkt.proto.name, wkt.proto);
  }
  return createFileRegistry(create(FileDescriptorSetSchema, { file: topological(files) }));
}

/** Dependencies before dependents, as a FileDescriptorSet must list them. */
function topological(files: ReadonlyMap<string, FileDescriptorProto>): FileDescriptorProto[] {
  const out: FileDescriptorProto[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const file = files.get(name);
    if (!file) throw new Error(`reflection did not describe ${name}`);
    for (const dep of file.dependency) visit(dep);
    out.push(file);
  };
  for (const name of [...files.keys()].sort()) visit(name);
  return out;
}
