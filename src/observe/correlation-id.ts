import { randomUUID } from "node:crypto";

/** The header a correlation id travels in, inbound, outbound and echoed in responses. */
export const correlationIdHeader = "x-request-id";

// Ids from callers end up in logs: accept only short, printable, token-like values.
const acceptableId = /^[\w.:@/+=-]{1,128}$/;
const traceparent = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/**
 * The correlation id of an inbound call: the caller's `x-request-id` when acceptable, else the
 * trace id of a W3C `traceparent`, else a fresh UUID — so every log line of one request, across
 * every service it touches, shares one id.
 */
export function correlationIdFrom(header: (name: string) => string | null | undefined): string {
  const given = header(correlationIdHeader);
  if (given && acceptableId.test(given)) return given;
  const trace = traceparent.exec(header("traceparent") ?? "")?.[1];
  if (trace && trace !== "0".repeat(32)) return trace;
  return randomUUID();
}
