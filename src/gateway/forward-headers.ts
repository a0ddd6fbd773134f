import type { IncomingHttpHeaders } from "node:http";

/**
 * The request headers that pass the gateway by default (besides each protocol's own, which
 * the upstream client sets itself): credentials, W3C trace context and the correlation id.
 * Everything else is dropped — hop-by-hop headers, cookies, and any inbound `x-protomesh-*`,
 * which only protomesh itself may set.
 */
export const defaultForwardedHeaders: readonly string[] = [
  "authorization",
  "traceparent",
  "tracestate",
  "x-request-id",
];

/** Builds the allow-list once: the defaults plus `extra`, lower-cased, never `x-protomesh-*`. */
export function forwardedHeaderNames(extra: readonly string[] = []): readonly string[] {
  const names = new Set(defaultForwardedHeaders);
  for (const name of extra) {
    const lower = name.toLowerCase();
    if (!lower.startsWith("x-protomesh-") && !hopByHop.has(lower)) names.add(lower);
  }
  return [...names];
}

const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/** The allowed headers of a node request, as a plain record (no web `Headers` per call). */
export function forwardFromNode(
  headers: IncomingHttpHeaders,
  names: readonly string[],
  requestId: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = headers[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(", ") : v;
  }
  out["x-request-id"] = requestId;
  return out;
}

/** The allowed headers of a web `Headers` (what connect-node hands a handler). */
export function forwardFromHeaders(
  headers: Headers,
  names: readonly string[],
  requestId: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = headers.get(name);
    if (v !== null) out[name] = v;
  }
  out["x-request-id"] = requestId;
  return out;
}
