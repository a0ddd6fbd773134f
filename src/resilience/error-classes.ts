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

/** Node's socket errors for a connection that was never made: nothing was sent. */
const connectErrnos = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/**
 * True when the call provably never reached the server, so even a non-idempotent method may
 * be sent again. connect-node reports a refused connection as Unavailable whose `cause` is the
 * Node error (`code: "ECONNREFUSED"`); grpc-js reports Unavailable "No connection
 * established" (message or details) when no subchannel ever connected.
 */
export function isNeverSent(error: ConnectError): boolean {
  if (error.code !== Code.Unavailable) return false;
  let cause: unknown = error.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 4; depth++) {
    const errno = (cause as { code?: unknown }).code;
    if (typeof errno === "string" && connectErrnos.has(errno)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return error.rawMessage.includes("No connection established");
}

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
