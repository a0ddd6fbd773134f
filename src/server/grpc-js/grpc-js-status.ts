import { Code, ConnectError, decodeBinaryHeader } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { Metadata, StatusObject } from "@grpc/grpc-js";
import { metadataFromHeaders } from "../../transport/grpc-metadata.js";

const statusDetailsKey = "grpc-status-details-bin";

/**
 * The gRPC status a handler failure ends the call with. A ConnectError keeps its code, message,
 * metadata and details (as `grpc-status-details-bin`, a google.rpc.Status, which Connect's
 * `setTrailerStatus` encodes); anything else becomes INTERNAL with a fixed message, so a bug's
 * message (paths, SQL, secrets) never reaches the caller. A failure after the call was
 * cancelled or timed out reports why it was aborted.
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
