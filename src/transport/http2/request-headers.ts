import type { OutgoingHttpHeaders } from "node:http2";
import type { HeaderInit } from "../call-deadline.js";

/**
 * Headers the transport writes itself, or that HTTP/2 forbids (connection-specific headers
 * make node refuse the request): a caller's values for them are dropped.
 */
const reserved = new Set([
  "content-type",
  "content-length",
  "te",
  "user-agent",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

const userAgent = "protomesh-http2/0.1";
/** The largest value gRPC's `m` unit can carry (8 digits). */
const maxMillisInHeader = 99_999_999;

/**
 * The HTTP/2 request headers of one call, written straight from what the caller passed (a
 * `Headers`, pairs or a record): no web `Headers` is built on the way. `-bin` values are
 * base64 already, as on the wire.
 */
export function requestHeaders(
  path: string,
  init: HeaderInit,
  timeoutMs: number | undefined,
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    "grpc-accept-encoding": "gzip",
    "user-agent": userAgent,
  };
  if (timeoutMs !== undefined) headers["grpc-timeout"] = grpcTimeout(timeoutMs);
  if (init === undefined) return headers;
  if (init instanceof Headers) {
    init.forEach(copyHeader, headers);
  } else if (Array.isArray(init)) {
    for (const [key, value] of init as [string, string][]) {
      copyHeader.call(headers, value, key.toLowerCase());
    }
  } else {
    const record = init as Record<string, string>;
    for (const key in record) copyHeader.call(headers, record[key] as string, key.toLowerCase());
  }
  return headers;
}

// The last timeout written and its header value: a fixed per-attempt timeout repeats call
// after call, so most calls format no string.
let lastTimeoutMs = Number.NaN;
let lastTimeoutValue = "";

/** `timeoutMs` as a `grpc-timeout` value: whole milliseconds, rounded up; seconds past 8 digits. */
function grpcTimeout(timeoutMs: number): string {
  if (timeoutMs === lastTimeoutMs) return lastTimeoutValue;
  const value =
    timeoutMs <= maxMillisInHeader
      ? `${Math.max(0, Math.ceil(timeoutMs))}m`
      : `${Math.ceil(timeoutMs / 1000)}S`;
  lastTimeoutMs = timeoutMs;
  lastTimeoutValue = value;
  return value;
}

function copyHeader(this: OutgoingHttpHeaders, value: string, key: string): void {
  if (reserved.has(key) || key.charCodeAt(0) === 0x3a) return;
  const previous = this[key];
  if (previous === undefined) this[key] = value;
  else if (Array.isArray(previous)) previous.push(value);
  else this[key] = [String(previous), value];
}
