import { Code, ConnectError } from "@connectrpc/connect";
import type { Channel } from "@grpc/grpc-js";
import { deadlineFromHeader } from "./call-deadline.js";
import type { MethodCodec } from "./method-codec.js";

/** The call object grpc-js channels create: start, send, half-close, read, cancel. */
export type GrpcJsCall = ReturnType<Channel["createCall"]>;

/**
 * A grpc-js call for the request, its deadline read from `grpc-timeout`. A closed channel
 * refuses to create calls, which is `Unavailable` as for any channel that cannot carry a call.
 */
export function createGrpcJsCall(
  channel: Channel,
  codec: MethodCodec,
  header: Headers,
): GrpcJsCall {
  const deadline = deadlineFromHeader(header);
  try {
    return channel.createCall(codec.path, deadline, undefined, null, null);
  } catch (error) {
    throw new ConnectError(
      String((error as Error).message),
      Code.Unavailable,
      undefined,
      undefined,
      error,
    );
  }
}
