import type { DescFile, DescService } from "@bufbuild/protobuf";
import { ServerReflection as ServerReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1Alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { defineService, type ServiceRegistration } from "../service-registration.js";
import { createReflectionIndex, filesOf, type ReflectionQuestion } from "./reflection-index.js";

export interface ReflectionOptions {
  /**
   * The services the server offers (registrations or bare descriptors). Reflection lists them,
   * and itself, and answers for their files and every file those import.
   */
  readonly services: readonly (ServiceRegistration | DescService)[];
  /**
   * More files to answer for, e.g. ones declaring extensions no service file imports.
   * Default none.
   */
  readonly files?: readonly DescFile[];
}

/**
 * Server reflection, `grpc.reflection.v1.ServerReflection` and the older `v1alpha` that many
 * tools (grpcurl, Postman, older grpc_cli) still ask for, answered from the registered
 * services' descriptors: add the result to a server's services and reflection-driven tools can
 * call it with no `.proto` files at hand.
 *
 * @example
 * const services = [defineService(OrderService, impl)];
 * createServer({ services: [...services, ...createReflectionServices({ services })] });
 */
export function createReflectionServices(options: ReflectionOptions): ServiceRegistration[] {
  const described = options.services.map((s) => ("kind" in s ? s : s.service));
  const reflection = [ServerReflectionV1, ServerReflectionV1Alpha];
  const all = [...new Set([...described, ...reflection])];
  const index = createReflectionIndex({
    serviceNames: all.map((s) => s.typeName),
    files: [...filesOf(all), ...(options.files ?? [])],
  });

  // One stream, one `sent` set: each dependency is sent at most once per stream.
  async function* answerAll<R extends { host: string; messageRequest: ReflectionQuestion }>(
    requests: AsyncIterable<R>,
  ) {
    const sent = new Set<string>();
    for await (const request of requests) {
      yield {
        validHost: request.host,
        originalRequest: request,
        messageResponse: index.answer(request.messageRequest, sent),
      };
    }
  }

  return [
    defineService(ServerReflectionV1, { serverReflectionInfo: answerAll }),
    defineService(ServerReflectionV1Alpha, { serverReflectionInfo: answerAll }),
  ];
}
