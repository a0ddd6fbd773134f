// The reflection index on its own: which symbols it finds, and how dependencies are sent once.
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { OrderService } from "../../../gen/acme/order/v1/order_service_pb.js";
import { TestService } from "../../../gen/grpc/testing/test_pb.js";
import {
  createReflectionIndex,
  filesOf,
  type ReflectionAnswer,
} from "../../../src/server/reflection/reflection-index.js";

const index = createReflectionIndex({
  serviceNames: [OrderService.typeName, TestService.typeName],
  files: filesOf([OrderService, TestService]),
});

function fileNames(answer: ReflectionAnswer): string[] {
  if (answer.case !== "fileDescriptorResponse") return [`not a file answer: ${answer.case}`];
  return answer.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

describe("reflection index", () => {
  it.each([
    ["a service", "acme.order.v1.OrderService", "acme/order/v1/order_service.proto"],
    ["a method", "acme.order.v1.OrderService.GetOrder", "acme/order/v1/order_service.proto"],
    ["a message", "grpc.testing.SimpleRequest", "grpc/testing/messages.proto"],
    ["a field", "grpc.testing.SimpleRequest.response_size", "grpc/testing/messages.proto"],
    ["an enum value", "grpc.testing.COMPRESSABLE", "grpc/testing/messages.proto"],
    ["a leading-dot name", ".grpc.testing.Empty", "grpc/testing/empty.proto"],
    ["a well-known type", "google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
  ])("finds the file declaring %s", (_kind, symbol, file) => {
    const answer = index.answer({ case: "fileContainingSymbol", value: symbol }, new Set());
    expect(fileNames(answer)[0]).toBe(file);
  });

  it("sends the asked-for file always, each dependency once per stream", () => {
    const sent = new Set<string>();
    const first = fileNames(
      index.answer({ case: "fileByFilename", value: "grpc/testing/test.proto" }, sent),
    );
    expect(first).toEqual([
      "grpc/testing/test.proto",
      "grpc/testing/empty.proto",
      "grpc/testing/messages.proto",
    ]);
    const again = fileNames(
      index.answer({ case: "fileContainingSymbol", value: "grpc.testing.Empty" }, sent),
    );
    expect(again).toEqual(["grpc/testing/empty.proto"]);
  });

  it("answers NOT_FOUND for unknown files, symbols and types, INVALID_ARGUMENT for nothing", () => {
    for (const question of [
      { case: "fileByFilename", value: "nope.proto" },
      { case: "fileContainingSymbol", value: "no.Such" },
      { case: "allExtensionNumbersOfType", value: "no.Such" },
      {
        case: "fileContainingExtension",
        value: { containingType: "google.protobuf.MethodOptions", extensionNumber: 1 },
      },
    ] as const) {
      const answer = index.answer(question, new Set());
      expect(answer).toMatchObject({ case: "errorResponse", value: { errorCode: Code.NotFound } });
    }
    expect(index.answer({ case: undefined }, new Set())).toMatchObject({
      value: { errorCode: Code.InvalidArgument },
    });
  });

  it("lists the services it was given, in order", () => {
    expect(index.answer({ case: "listServices", value: "" }, new Set())).toEqual({
      case: "listServicesResponse",
      value: { service: [{ name: OrderService.typeName }, { name: TestService.typeName }] },
    });
  });
});
