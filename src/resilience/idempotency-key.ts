import { randomUUID } from "node:crypto";
import type { HeaderInit } from "./call-state.js";
import type { MethodPlan } from "./method-plan.js";

/** The request header carrying an idempotency key (as in the IETF Idempotency-Key draft). */
export const idempotencyKeyHeader = "idempotency-key";

/**
 * The call's headers with an idempotency key added once per call, before the first attempt, so
 * every retry carries the same key and a de-duplicating server (protomesh/events'
 * `withIdempotencyKeys`) runs the method once. Added only to methods that are not idempotent
 * and whose policy opts into retrying them (`retry.allowNonIdempotent`), and never over a key
 * the caller set.
 */
export function withIdempotencyKey(
  plan: MethodPlan,
  header: HeaderInit | undefined,
): HeaderInit | undefined {
  if (plan.idempotent || !plan.policy.retry.allowNonIdempotent) return header;
  const headers = new Headers(header);
  if (!headers.has(idempotencyKeyHeader)) headers.set(idempotencyKeyHeader, randomUUID());
  return headers;
}
