import {
  type DescMethod,
  type DescService,
  fromBinary,
  type Message,
  toBinary,
} from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

/**
 * The grpc-js service definition of a protobuf-es service: one entry per method, keyed by its
 * proto name, with the standard `/package.Service/Method` path and protobuf-es doing the
 * (de)serialisation, so grpc-js never needs protobufjs or proto-loader.
 */
export function createGrpcJsServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<Message, Message>> = {};
  for (const method of service.methods) {
    definition[method.name] = methodDefinition(service, method);
  }
  return definition;
}

function methodDefinition(
  service: DescService,
  method: DescMethod,
): MethodDefinition<Message, Message> {
  const { input, output } = method;
  return {
    path: `/${service.typeName}/${method.name}`,
    requestStream:
      method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream:
      method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: (value) => asBuffer(toBinary(input, value)),
    requestDeserialize: (bytes) => fromBinary(input, bytes),
    responseSerialize: (value) => asBuffer(toBinary(output, value)),
    responseDeserialize: (bytes) => fromBinary(output, bytes),
    originalName: method.localName,
  };
}

/** A Buffer view of the bytes, without copying them. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
