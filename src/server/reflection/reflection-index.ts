import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";

/**
 * A reflection question, shaped like the `message_request` oneof of both
 * `grpc.reflection.v1` and `v1alpha` (they are identical on the wire), so one index answers both.
 */
export type ReflectionQuestion =
  | {
      readonly case:
        | "fileByFilename"
        | "fileContainingSymbol"
        | "allExtensionNumbersOfType"
        | "listServices";
      readonly value: string;
    }
  | {
      readonly case: "fileContainingExtension";
      readonly value: { readonly containingType: string; readonly extensionNumber: number };
    }
  | { readonly case: undefined; readonly value?: undefined };

/** A reflection answer, shaped like the `message_response` oneof of both versions. */
export type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | {
      case: "allExtensionNumbersResponse";
      value: { baseTypeName: string; extensionNumber: number[] };
    }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Answers reflection questions from a fixed set of descriptors. */
export interface ReflectionIndex {
  /**
   * Answers one question. `sent` holds the names of files already sent on this stream: the file
   * asked for is always sent, its transitive dependencies only if not sent before (as gRPC's
   * own servers do), so a client walking many symbols does not receive the same files again.
   */
  answer(question: ReflectionQuestion, sent: Set<string>): ReflectionAnswer;
}

export interface ReflectionIndexOptions {
  /** Fully qualified names answered to list_services, in order. */
  readonly serviceNames: readonly string[];
  /** Files to index; their transitive dependencies are indexed too. */
  readonly files: readonly DescFile[];
}

/**
 * Indexes files by name, every symbol they declare by fully qualified name, and extensions by
 * extended type. Each file is serialised once, on first request, and the bytes reused.
 * Written by hand: @bufbuild/protobuf gives the descriptors, but no library turns them into
 * reflection answers.
 */
export function createReflectionIndex(options: ReflectionIndexOptions): ReflectionIndex {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  const encoded = new Map<string, Uint8Array>();

  const visit = (file: DescFile): void => {
    if (byName.has(file.proto.name)) return;
    byName.set(file.proto.name, file);
    for (const desc of nestedTypes(file)) {
      bySymbol.set(desc.typeName, file);
      switch (desc.kind) {
        case "service":
          for (const method of desc.methods) bySymbol.set(`${desc.typeName}.${method.name}`, file);
          break;
        case "message":
          for (const field of desc.fields) bySymbol.set(`${desc.typeName}.${field.name}`, file);
          for (const oneof of desc.oneofs) bySymbol.set(`${desc.typeName}.${oneof.name}`, file);
          break;
        case "enum":
          // Enum values are scoped beside their enum, as in protobuf's own symbol tables.
          for (const value of desc.values) {
            const scope = desc.typeName.slice(0, Math.max(0, desc.typeName.lastIndexOf(".")));
            bySymbol.set(scope === "" ? value.name : `${scope}.${value.name}`, file);
          }
          break;
        case "extension": {
          const numbers = extensions.get(desc.extendee.typeName) ?? new Map<number, DescFile>();
          numbers.set(desc.number, file);
          extensions.set(desc.extendee.typeName, numbers);
          break;
        }
      }
    }
    for (const dependency of file.dependencies) visit(dependency);
  };
  for (const file of options.files) visit(file);

  const bytesOf = (file: DescFile): Uint8Array => {
    let bytes = encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(file.proto.name, bytes);
    }
    return bytes;
  };

  const withDependencies = (file: DescFile, sent: Set<string>): ReflectionAnswer => {
    const out: Uint8Array[] = [bytesOf(file)];
    sent.add(file.proto.name);
    const queue = [...file.dependencies];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      if (sent.has(next.proto.name)) continue;
      sent.add(next.proto.name);
      out.push(bytesOf(next));
      queue.push(...next.dependencies);
    }
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
  };

  const notFound = (errorMessage: string): ReflectionAnswer => ({
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage },
  });

  return {
    answer(question, sent) {
      switch (question.case) {
        case "listServices":
          return {
            case: "listServicesResponse",
            value: { service: options.serviceNames.map((name) => ({ name })) },
          };
        case "fileByFilename": {
          const file = byName.get(question.value);
          return file ? withDependencies(file, sent) : notFound(`file ${question.value} not found`);
        }
        case "fileContainingSymbol": {
          // Tools sometimes send a leading dot, as in descriptor type references.
          const symbol = question.value.replace(/^\./, "");
          const file = bySymbol.get(symbol);
          return file ? withDependencies(file, sent) : notFound(`symbol ${symbol} not found`);
        }
        case "fileContainingExtension": {
          const { containingType, extensionNumber } = question.value;
          const file = extensions.get(containingType)?.get(extensionNumber);
          return file
            ? withDependencies(file, sent)
            : notFound(`extension ${extensionNumber} of ${containingType} not found`);
        }
        case "allExtensionNumbersOfType": {
          const typeName = question.value;
          if (!bySymbol.has(typeName)) return notFound(`type ${typeName} not found`);
          const numbers = [...(extensions.get(typeName)?.keys() ?? [])].sort((a, b) => a - b);
          return {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: typeName, extensionNumber: numbers },
          };
        }
        default:
          return {
            case: "errorResponse",
            value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
          };
      }
    },
  };
}

/** The files declaring these services, for `createReflectionIndex`. */
export function filesOf(services: readonly DescService[]): DescFile[] {
  return [...new Set(services.map((s) => s.file))];
}
