import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import type { Metadata, StatusObject } from "@grpc/grpc-js";
import { headersFromMetadata } from "./grpc-metadata.js";

const statusDetailsBin = "grpc-status-details-bin";

/**
 * A failed grpc-js status as the `ConnectError` Connect's own gRPC transport would raise: same
 * code and message, the trailers then the response headers as `metadata`, and the error
 * details of a `grpc-status-details-bin` trailer (a google.rpc.Status) decoded so
 * `findDetails` works. The grpc-js status is the `cause`.
 */
export function connectErrorFromStatus(
  status: StatusObject,
  responseHeader: Metadata | undefined,
): ConnectError {
  const metadata = headersFromMetadata(status.metadata);
  // Connect's own decoder of google.rpc.Status, exported for transports like this one.
  const fromDetails = metadata.has(statusDetailsBin) ? findTrailerError(metadata) : undefined;
  const code = status.code in Code ? (status.code as number as Code) : Code.Unknown;
  const error = new ConnectError(
    fromDetails?.rawMessage ?? status.details,
    fromDetails?.code ?? code,
    metadata,
    undefined,
    status,
  );
  if (fromDetails) error.details = fromDetails.details;
  if (responseHeader) headersFromMetadata(responseHeader, error.metadata);
  return error;
}
