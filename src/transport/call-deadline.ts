import type { Transport } from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";

/** What callers may pass as headers (the DOM's `HeadersInit`). */
export type HeaderInit = Parameters<Transport["unary"]>[3];

const timeoutHeader = "grpc-timeout";
/** The largest value gRPC's `m` unit can carry (8 digits). */
const maxMillisInHeader = 99_999_999;

/**
 * Request headers for a call, with the deadline in `grpc-timeout` as Connect's gRPC transport
 * writes it: interceptors read it there and may shorten it.
 */
export function requestHeader(init: HeaderInit, timeoutMs: number | undefined): Headers {
  const header = new Headers(init);
  if (timeoutMs !== undefined) {
    header.set(
      timeoutHeader,
      timeoutMs <= maxMillisInHeader ? `${timeoutMs}m` : `${Math.ceil(timeoutMs / 1000)}S`,
    );
  }
  return header;
}

/** The grpc-js deadline (epoch ms, `Infinity` for none) of a call sent now with `timeoutMs`. */
export function deadlineAfter(timeoutMs: number | undefined): number {
  return timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
}

/**
 * The grpc-js deadline (epoch ms, `Infinity` for none) from the request's `grpc-timeout`, read
 * when the call is sent: the deadline then covers the network and the server, as the server
 * measures it; time spent in interceptors before (a queue, say) is theirs to subtract.
 */
export function deadlineFromHeader(header: Headers): number {
  const value = header.get(timeoutHeader);
  if (value === null) return Number.POSITIVE_INFINITY;
  const { timeoutMs, error } = parseTimeout(value, Number.MAX_SAFE_INTEGER);
  if (error) throw error;
  return deadlineAfter(timeoutMs);
}

/**
 * The timeout a call runs under: the caller's, else the transport's default; zero or less means
 * none (Connect's convention for `timeoutMs`). Shared by the grpc-js and http2 transports.
 */
export function callTimeoutMs(
  timeoutMs: number | undefined,
  defaultTimeoutMs: number | undefined,
): number | undefined {
  if (timeoutMs === undefined) return defaultTimeoutMs;
  return timeoutMs <= 0 ? undefined : timeoutMs;
}
