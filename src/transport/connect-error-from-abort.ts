import { Code, ConnectError } from "@connectrpc/connect";

/**
 * A call the caller abandoned: its reason as a ConnectError, `Canceled` unless it says else.
 * A module of its own so the http2 engine needs nothing of grpc-js to say it.
 */
export function connectErrorFromAbort(reason: unknown): ConnectError {
  return ConnectError.from(reason, Code.Canceled);
}
