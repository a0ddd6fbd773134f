import { Code, ConnectError, decodeBinaryHeader } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { Metadata, StatusObject } from "@grpc/grpc-js";
import { encodeGrpcMessage } from "../../transport/grpc-message.js";
import { metadataFromHeaders } from "../../transport/grpc-metadata.js";

const statusDetailsKey = "grpc-status-details-bin";
const grpcMessageKey = "grpc-message";

/**
 * The gRPC status a handler failure ends the call with. A ConnectError keeps its code, message,
 * metadata and details (as `grpc-status-details-bin`, a google.rpc.Status, which Connect's
 * `setTrailerStatus` encodes); anything else becomes INTERNAL with a fixed message, so a bug's
 * message (paths, SQL, secrets) never reaches the caller. A failure after the call was
 * cancelled or timed out reports why it was aborted.
 *
 * grpc-js writes `grpc-message` as `encodeURI(details)`: decodable, but not the encoding of
 * gRPC's spec (it escapes space, '"' '<' '[' …, and throws on a lone surrogate). grpc-js sends
 * the status metadata after its own status fields, so the `grpc-message` set here in the
 * trailers replaces grpc-js's with the spec's encoding — encoded once, by `encodeGrpcMessage`,
 * never twice: `details` stays the plain message, and grpc-js clients decode the spec's
 * encoding exactly.
 */
export function statusFromError(
  error: unknown,
  signal: AbortSignal,
  trailers: Metadata,
): StatusObject {
  const connectError = toConnectError(error, signal);
  metadataFromHeaders(connectError.metadata, trailers);
  const encoded = setTrailerStatus(new Headers(), connectError).get(statusDetailsKey);
  if (encoded !== null) trailers.set(statusDetailsKey, Buffer.from(decodeBinaryHeader(encoded)));
  trailers.set(grpcMessageKey, encodeGrpcMessage(connectError.rawMessage));
  return {
    // Connect's codes are gRPC's codes, number for number.
    code: connectError.code as number,
    details: connectError.rawMessage,
    metadata: trailers,
  };
}

function toConnectError(error: unknown, signal: AbortSignal): ConnectError {
  if (error instanceof ConnectError) return error;
  if (signal.aborted && signal.reason instanceof ConnectError) return signal.reason;
  return new ConnectError("internal error", Code.Internal, undefined, undefined, error);
}
