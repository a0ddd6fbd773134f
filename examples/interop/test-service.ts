import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import {
  type Code,
  ConnectError,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";
import {
  type EchoStatus,
  EchoStatusSchema,
  type Payload,
  PayloadSchema,
  type ResponseParameters,
  type StreamingOutputCallRequest,
} from "../../gen/grpc/testing/messages_pb.js";
import type { TestService } from "../../gen/grpc/testing/test_pb.js";

/** Request header whose value the server echoes as a response header (custom_metadata). */
export const echoInitialHeader = "x-grpc-test-echo-initial";
/** Request header whose value the server echoes as a response trailer (custom_metadata). */
export const echoTrailingHeader = "x-grpc-test-echo-trailing-bin";

/**
 * `grpc.testing.TestService` as gRPC's interop-test description defines it: payloads of the
 * asked-for size, statuses on request, header and trailer echo, paced streams that stop when
 * the caller goes away. `UnimplementedCall` is left out on purpose: it must answer
 * UNIMPLEMENTED. One addition no standard client looks at: an error asked for with
 * `response_status` carries that `EchoStatus` as a google.rpc.Status detail, so error details
 * can be tested end to end.
 */
export function createTestService(): Partial<ServiceImpl<typeof TestService>> {
  return {
    emptyCall(_request, context) {
      echoMetadata(context);
      return {};
    },

    unaryCall(request, context) {
      echoMetadata(context);
      failIfAsked(request.responseStatus);
      return { payload: payload(request.responseSize) };
    },

    cacheableUnaryCall(request, context) {
      echoMetadata(context);
      failIfAsked(request.responseStatus);
      return { payload: payload(request.responseSize) };
    },

    async *streamingOutputCall(request, context) {
      echoMetadata(context);
      yield* respond(request, context);
    },

    async streamingInputCall(requests, context) {
      echoMetadata(context);
      let aggregatedPayloadSize = 0;
      for await (const request of requests) aggregatedPayloadSize += sizeOf(request.payload);
      return { aggregatedPayloadSize };
    },

    async *fullDuplexCall(requests, context) {
      echoMetadata(context);
      for await (const request of requests) yield* respond(request, context);
    },

    async *halfDuplexCall(requests, context) {
      echoMetadata(context);
      const all: StreamingOutputCallRequest[] = [];
      for await (const request of requests) all.push(request);
      for (const request of all) yield* respond(request, context);
    },
  };
}

/** The responses one StreamingOutputCallRequest asks for, each after its interval. */
async function* respond(request: StreamingOutputCallRequest, context: HandlerContext) {
  for (const parameters of request.responseParameters) {
    await pause(parameters, context.signal);
    yield { payload: payload(parameters.size) };
  }
  failIfAsked(request.responseStatus);
}

/** Waits interval_us, or until the call is cancelled or its deadline passes. */
async function pause(parameters: ResponseParameters, signal: AbortSignal): Promise<void> {
  if (parameters.intervalUs <= 0) return;
  try {
    await sleep(parameters.intervalUs / 1000, undefined, { signal });
  } catch (error) {
    // Report why the call ended (deadline, cancel), not the timer's AbortError.
    throw signal.aborted ? ConnectError.from(signal.reason) : error;
  }
}

function echoMetadata(context: HandlerContext): void {
  const initial = context.requestHeader.get(echoInitialHeader);
  if (initial !== null) context.responseHeader.set(echoInitialHeader, initial);
  const trailing = context.requestHeader.get(echoTrailingHeader);
  if (trailing !== null) context.responseTrailer.set(echoTrailingHeader, trailing);
}

function failIfAsked(status: EchoStatus | undefined): void {
  if (!status || status.code === 0) return;
  throw new ConnectError(status.message, status.code as Code, undefined, [
    { desc: EchoStatusSchema, value: create(EchoStatusSchema, status) },
  ]);
}

/** A payload of `size` zero bytes, as the interop description asks. */
function payload(size: number): Payload {
  return create(PayloadSchema, { body: new Uint8Array(size) });
}

function sizeOf(payload: Payload | undefined): number {
  return payload?.body.length ?? 0;
}
