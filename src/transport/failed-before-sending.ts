import { Code, ConnectError } from "@connectrpc/connect";
import { Metadata, status } from "@grpc/grpc-js";
import { CallNotSent } from "./call-not-sent.js";

/**
 * What grpc-js says when a call never got a connection to go out on: no address answered, the
 * name did not resolve, or the channel was closed first. grpc-js marks these only in words, so
 * the words are matched here, in one place, against its status details.
 */
const grpcJsUnsent =
  /No connection established|Name resolution failed|Channel closed before call started|Channel has been shut down/;

/** Node system calls that fail before a byte of the request is written. */
const nodeUnsentSyscalls = new Set(["connect", "getaddrinfo"]);

/**
 * True when a call failed before its request left this process — the connection was refused,
 * the name did not resolve, the channel was closed, or the server refused the HTTP/2 stream
 * unprocessed (REFUSED_STREAM). Such a call is safe to retry even when its method is not
 * idempotent. It reads what each transport puts in the `ConnectError`'s `cause`.
 */
export function failedBeforeSending(error: unknown): boolean {
  if (!(error instanceof ConnectError) || error.code !== Code.Unavailable) return false;
  // The http2 transport says so itself.
  if (error.cause instanceof CallNotSent) return true;
  const cause = error.cause as
    | {
        code?: unknown;
        details?: unknown;
        metadata?: unknown;
        syscall?: unknown;
        message?: unknown;
      }
    | undefined;
  if (cause === undefined || cause === null) {
    // connect-node: the peer reset the stream with "refused, not processed" (RFC 9113 §8.7).
    return error.rawMessage.includes("REFUSED_STREAM");
  }
  // grpc-js: a status it made up itself (no metadata from a server) naming no connection.
  if (cause.code === status.UNAVAILABLE && typeof cause.details === "string") {
    return (
      cause.metadata instanceof Metadata &&
      Object.keys(cause.metadata.toJSON()).length === 0 &&
      grpcJsUnsent.test(cause.details)
    );
  }
  // connect-node: a Node system error from connecting or resolving.
  if (typeof cause.syscall === "string") return nodeUnsentSyscalls.has(cause.syscall);
  // Our grpc-js transport on a closed channel.
  return typeof cause.message === "string" && grpcJsUnsent.test(cause.message);
}
