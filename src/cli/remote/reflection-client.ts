import { create, createFileRegistry, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { ServerReflection as ReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { CliError } from "../cli-error.js";
import type { RemoteSession } from "./remote-session.js";

/** What the reflection-driven verbs ask a server. */
export interface ReflectionClient {
  /** Fully qualified names of the services the server lists. */
  listServices(): Promise<string[]>;
  /**
   * The descriptors of the file declaring `symbol` (a service, method, message or enum) and
   * of everything it imports, as a registry to look types up in.
   */
  registryFor(symbol: string): Promise<FileRegistry>;
}

type Question =
  | { case: "listServices"; value: string }
  | { case: "fileContainingSymbol" | "fileByFilename"; value: string };

/**
 * A `grpc.reflection.v1` client (falling back to `v1alpha` for servers that only speak that),
 * over the session's gRPC transport, one short stream per question.
 */
export function createReflectionClient(session: RemoteSession): ReflectionClient {
  const v1 = createClient(ReflectionV1, session.grpc);
  let client = v1;

  async function ask(question: Question) {
    try {
      return await askWith(client, question);
    } catch (error) {
      if (client === v1 && ConnectError.from(error).code === Code.Unimplemented) {
        // Loaded only for such servers: each descriptor module costs a cold start its boot.
        const { ServerReflection } = await import(
          "../../../gen/grpc/reflection/v1alpha/reflection_pb.js"
        );
        // Both versions are the same on the wire and in shape; only the package name differs.
        client = createClient(ServerReflection, session.grpc) as unknown as typeof v1;
        return askWith(client, question);
      }
      throw error;
    }
  }

  async function askWith(using: typeof v1, question: Question) {
    const options = { signal: session.signal, headers: session.headers };
    for await (const response of using.serverReflectionInfo(
      once({ messageRequest: question }),
      options,
    )) {
      const answer = response.messageResponse;
      if (answer.case === "errorResponse") {
        const code = answer.value.errorCode as Code;
        if (code === Code.NotFound)
          throw new ConnectError(answer.value.errorMessage, Code.NotFound);
        throw new ConnectError(`reflection: ${answer.value.errorMessage}`, code);
      }
      return answer;
    }
    throw new CliError("the server closed the reflection stream without answering");
  }

  return {
    async listServices() {
      const answer = await ask({ case: "listServices", value: "" });
      if (answer.case !== "listServicesResponse") throw unexpected(answer.case);
      return answer.value.service.map((s) => s.name).sort();
    },
    async registryFor(symbol) {
      const files = new Map<string, FileDescriptorProto>();
      const take = (answer: Awaited<ReturnType<typeof ask>>) => {
        if (answer.case !== "fileDescriptorResponse") throw unexpected(answer.case);
        for (const bytes of answer.value.fileDescriptorProto) {
          const file = fromBinary(FileDescriptorProtoSchema, bytes);
          files.set(file.name, file);
        }
      };
      take(await ask({ case: "fileContainingSymbol", value: symbol }));
      // Servers send each file's imports with it; ask by name for any one they left out.
      const asked = new Set<string>();
      for (
        let missing = missingImports(files);
        missing.length > 0;
        missing = missingImports(files)
      ) {
        for (const name of missing) {
          if (asked.has(name))
            throw new CliError(`the server does not send ${name}, imported by ${symbol}'s file`);
          asked.add(name);
          take(await ask({ case: "fileByFilename", value: name }));
        }
      }
      return createFileRegistry(create(FileDescriptorSetSchema, { file: importsFirst(files) }));
    },
  };
}

/** The files ordered so each comes after its imports, as createFileRegistry needs them. */
function importsFirst(files: ReadonlyMap<string, FileDescriptorProto>): FileDescriptorProto[] {
  const ordered: FileDescriptorProto[] = [];
  const placed = new Set<string>();
  const place = (file: FileDescriptorProto) => {
    if (placed.has(file.name)) return;
    placed.add(file.name);
    for (const name of file.dependency) {
      const dependency = files.get(name);
      if (dependency) place(dependency);
    }
    ordered.push(file);
  };
  for (const file of files.values()) place(file);
  return ordered;
}

function missingImports(files: ReadonlyMap<string, FileDescriptorProto>): string[] {
  const missing = new Set<string>();
  for (const file of files.values()) {
    for (const name of file.dependency) if (!files.has(name)) missing.add(name);
  }
  return [...missing];
}

function unexpected(kind: string | undefined): CliError {
  return new CliError(`the server answered reflection with ${kind ?? "nothing"}`);
}

async function* once<T>(value: T): AsyncIterable<T> {
  yield value;
}
