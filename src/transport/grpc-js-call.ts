import { Code, ConnectError } from "@connectrpc/connect";
import type { Channel } from "@grpc/grpc-js";
import type { MethodCodec } from "./method-codec.js";

/** The call object grpc-js channels create: start, send, half-close, read, cancel. */
export type GrpcJsCall = ReturnType<Channel["createCall"]>;

/**
 * A grpc-js call with its deadline (epoch ms, `Infinity` for none). A closed channel
 * refuses to create calls, which is `Unavailable` as for any channel that cannot carry a call.
 */
export function createGrpcJsCall(
  channel: Channel,
  codec: MethodCodec,
  deadline: number,
): GrpcJsCall {
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
