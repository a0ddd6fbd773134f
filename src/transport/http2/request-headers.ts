import { Code, ConnectError } from "@connectrpc/connect";
import type { HeaderInit } from "../call-deadline.js";

/**
 * Headers the transport writes itself, or that HTTP/2 forbids (RFC 9113 §8.2.2
 * connection-specific fields): a caller's values for them are dropped.
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
 * The HTTP/2 request headers of one call as raw name/value pairs (what the connection encodes),
 * written straight from what the caller passed (a `Headers`, pairs or a record): no web
 * `Headers` is built on the way. `-bin` values are base64 already, as on the wire. A name that
 * is not an HTTP token, or a value with a control character or one beyond latin1, throws an
 * InvalidArgument ConnectError: nothing is sent.
 */
export function requestHeaders(
  path: string,
  init: HeaderInit,
  timeoutMs: number | undefined,
): string[] {
  const headers = [
    ":method",
    "POST",
    ":path",
    path,
    "content-type",
    "application/grpc",
    "te",
    "trailers",
    "grpc-accept-encoding",
    "gzip",
    "user-agent",
    userAgent,
  ];
  if (timeoutMs !== undefined) headers.push("grpc-timeout", grpcTimeout(timeoutMs));
  if (init === undefined) return headers;
  // Pairs and records are told apart without naming the global `Headers`: its first use loads
  // undici, which a process that never builds one (the CLI) should not pay for.
  if (Array.isArray(init)) {
    for (const [key, value] of init as [string, string][]) {
      copyHeader.call(headers, value, key.toLowerCase());
    }
  } else if (isRecord(init)) {
    for (const key in init) copyHeader.call(headers, init[key] as string, key.toLowerCase());
  } else {
    (init as Headers).forEach(copyHeader, headers);
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

function copyHeader(this: string[], value: string, key: string): void {
  if (reserved.has(key) || key.charCodeAt(0) === 0x3a) return;
  if (!isToken(key)) throw invalid(`invalid header name ${JSON.stringify(key)}`);
  if (!isFieldValue(value)) throw invalid(`invalid value for header ${key}`);
  this.push(key, value);
}

/** RFC 9110 §5.6.2 tchar, lower-case (names were lower-cased before). */
const tokenChars = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") {
  tokenChars[c.charCodeAt(0)] = 1;
}

function isToken(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    if (tokenChars[name.charCodeAt(i)] !== 1) return false;
  }
  return true;
}

/** RFC 9110 §5.5 field-value: no NUL, CR or LF, and nothing HPACK's octets cannot carry. */
function isFieldValue(value: string): boolean {
  if (typeof value !== "string") return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d || c > 0xff) return false;
  }
  return true;
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

function isRecord(init: object): init is Record<string, string> {
  const prototype: unknown = Object.getPrototypeOf(init);
  return prototype === Object.prototype || prototype === null;
}
