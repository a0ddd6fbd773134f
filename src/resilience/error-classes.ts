import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Codes that say the request itself is wrong or not allowed: another attempt gets the same
 * answer, so they are never retried and may not be made retryable.
 */
export const neverRetryableCodes: ReadonlySet<Code> = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.FailedPrecondition,
]);

/**
 * Codes that say the backend (or the way to it) is unhealthy: only these count towards a
 * circuit breaker. A NotFound is a healthy backend answering.
 */
export const unhealthyCodes: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.Internal,
  Code.Unknown,
  Code.ResourceExhausted,
]);

/** Header (trailer) in which a gRPC server asks a client to wait before retrying, or to stop. */
export const pushbackHeader = "grpc-retry-pushback-ms";

/**
 * The server's retry pushback: a wait in ms, `-1` when the server says "do not retry"
 * (negative or malformed, as gRPC's retry design specifies), `undefined` when absent.
 */
export function pushbackOf(error: ConnectError): number | undefined {
  const value = error.metadata.get(pushbackHeader);
  if (value === null) return undefined;
  return /^\d+$/.test(value.trim()) ? Number(value) : -1;
}

/** A ConnectError for anything thrown: what callers of this library always receive. */
export function toConnectError(error: unknown): ConnectError {
  return error instanceof ConnectError ? error : ConnectError.from(error);
}
