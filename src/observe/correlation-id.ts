import { randomBytes } from "node:crypto";

/** The header a correlation id travels in, inbound, outbound and echoed in responses. */
export const correlationIdHeader = "x-request-id";

// Ids from callers end up in logs: accept only short, printable, token-like values.
const acceptableId = /^[\w.:@/+=-]{1,128}$/;
const traceparent = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/**
 * The correlation id of an inbound call, from its `x-request-id` and `traceparent` header values:
 * the caller's `x-request-id` when acceptable, else the trace id of a W3C `traceparent`, else a
 * fresh id (`newCorrelationId`) — so every log line of one request, across every service it
 * touches, shares one id.
 */
export function correlationIdFrom(
  requestId: string | null | undefined,
  traceparentHeader: string | null | undefined,
): string {
  if (requestId && acceptableId.test(requestId)) return requestId;
  if (traceparentHeader) {
    const trace = traceparent.exec(traceparentHeader)?.[1];
    if (trace && trace !== "0".repeat(32)) return trace;
  }
  return newCorrelationId();
}

/** `correlationIdFrom` for a call whose request headers are web `Headers`. */
export function correlationIdFromHeaders(header: Headers): string {
  return correlationIdFrom(header.get(correlationIdHeader), header.get("traceparent"));
}

// Random per process, then counted: as unique across a fleet as a UUID (64 random bits per
// process, a 64-bit sequence within it) at a fraction of randomUUID's cost, which was ≈ 0.4 µs
// of every call on the server's hot path.
const processPrefix = randomBytes(8).toString("hex");
let sequence = 0;

/**
 * A new correlation id: 32 lowercase hex digits, the shape of a W3C trace id, so an id minted
 * here can also start a trace. Unique, not secret: never use it as a token.
 */
export function newCorrelationId(): string {
  sequence++;
  return processPrefix + sequence.toString(16).padStart(16, "0");
}
