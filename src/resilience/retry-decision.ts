import { Code, type ConnectError } from "@connectrpc/connect";
import { failedBeforeSending } from "../transport/index.js";
import type { CallState } from "./call-state.js";
import { neverRetryableCodes, pushbackOf } from "./error-classes.js";

/**
 * The wait before retrying a call after `error`, or undefined when it must not retry. Safe
 * retries only: an idempotent method (or an explicit opt-in, or a request that provably never
 * left), a retryable code (or an attempt cut by its own per-attempt timeout), no negative
 * server pushback, time left before the deadline, and a retry left in the target's budget.
 * `timeoutMs` is the timeout the failed attempt was sent with.
 */
export function retryDelay(
  call: CallState,
  error: ConnectError,
  timeoutMs: number | undefined,
  onBudgetExhausted: () => void,
): number | undefined {
  const { plan } = call;
  const retry = plan.policy.retry;
  if (call.attempts >= retry.maxAttempts || call.signal?.aborted) return undefined;
  if (neverRetryableCodes.has(error.code)) return undefined;
  const neverSent = failedBeforeSending(error);
  if (!plan.idempotent && !retry.allowNonIdempotent && !neverSent) return undefined;
  const attemptTimedOut =
    error.code === Code.DeadlineExceeded &&
    timeoutMs !== undefined &&
    timeoutMs === plan.policy.perAttemptTimeoutMs;
  if (!neverSent && !attemptTimedOut && !retry.retryableCodes.includes(error.code)) {
    return undefined;
  }
  const pushback = pushbackOf(error);
  if (pushback !== undefined && pushback < 0) return undefined;
  call.backoff ??= plan.backoff();
  const delay = pushback ?? call.backoff.next();
  if (call.deadline !== undefined && Date.now() + delay >= call.deadline) return undefined;
  if (plan.budget && !plan.budget.tryRetry()) {
    onBudgetExhausted();
    return undefined;
  }
  return delay;
}
