import type { IncomingHttpHeaders } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { decodeGrpcMessage } from "../grpc-message.js";
import { fillFromIncoming } from "./incoming-headers.js";

const statusDetailsBin = "grpc-status-details-bin";

/**
 * The error a failed gRPC status stands for, as Connect's own gRPC transport raises it: code,
 * the decoded `grpc-message`, the response headers and trailers as `metadata`, and the details
 * of a `grpc-status-details-bin` (a google.rpc.Status) so `findDetails` works. Undefined for OK.
 */
export function errorFromStatus(
  status: IncomingHttpHeaders,
  header: IncomingHttpHeaders | undefined,
): ConnectError | undefined {
  const value = status["grpc-status"];
  if (value === "0") return undefined;
  const metadata = new Headers();
  if (header !== undefined && header !== status) fillFromIncoming(header, metadata);
  fillFromIncoming(status, metadata);
  const number = Number(value);
  const code = Number.isInteger(number) && number in Code ? (number as Code) : Code.Unknown;
  const message = status["grpc-message"];
  const rawMessage = typeof message === "string" ? decodeGrpcMessage(message) : "";
  if (status[statusDetailsBin] !== undefined) {
    const fromDetails = findTrailerError(metadata);
    if (fromDetails) {
      const error = new ConnectError(fromDetails.rawMessage, fromDetails.code, metadata);
      error.details = fromDetails.details;
      return error;
    }
  }
  return new ConnectError(rawMessage, code, metadata);
}

/**
 * The code of a response whose HTTP status is not 200, per gRPC's HTTP-to-gRPC status
 * mapping document.
 */
export function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}
