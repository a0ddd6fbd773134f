import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from "node:http2";
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
 * The HTTP/2 request headers of one call as raw name/value pairs (what `openStream` sends),
 * written straight from what the caller passed (a `Headers`, pairs or a record): no web
 * `Headers` is built on the way, and node:http2 builds no header object from them (about
 * 0.5 KB per call less than an object in a heap profile of the client bench). `-bin` values
 * are base64 already, as on the wire.
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

/**
 * Whether this Node's `request()` takes raw name/value arrays (Node 24); Node 22.12 and 20
 * reject one with ERR_INVALID_ARG_TYPE, synchronously and before anything is sent, so the first
 * call of the process finds out by trying and every later one takes the path that works (as
 * the lean server's `respondRaw` does for `respond()`). Default: true.
 */
let rawHeadersAccepted = true;

/** Opens the call's stream with raw headers where Node takes them, else as a header object. */
export function openStream(session: ClientHttp2Session, headers: string[]): ClientHttp2Stream {
  if (rawHeadersAccepted) {
    try {
      return session.request(headers as unknown as OutgoingHttpHeaders);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ERR_INVALID_ARG_TYPE") throw error;
      rawHeadersAccepted = false;
    }
  }
  return session.request(requestHeaderObject(headers));
}

/** Raw pairs as a header object: a repeated name becomes an array of its values. */
export function requestHeaderObject(headers: readonly string[]): OutgoingHttpHeaders {
  const object: OutgoingHttpHeaders = {};
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    const previous = object[name];
    if (previous === undefined) object[name] = value;
    else object[name] = Array.isArray(previous) ? [...previous, value] : [String(previous), value];
  }
  return object;
}

function copyHeader(this: string[], value: string, key: string): void {
  if (reserved.has(key) || key.charCodeAt(0) === 0x3a) return;
  this.push(key, value);
}

function isRecord(init: object): init is Record<string, string> {
  const prototype: unknown = Object.getPrototypeOf(init);
  return prototype === Object.prototype || prototype === null;
}
