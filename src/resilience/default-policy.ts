import { Code } from "@connectrpc/connect";
import type { BreakerTrigger, CallPolicy, HedgingPolicy } from "./call-policy.js";

/**
 * THE defaults, in one place (the README's policy table mirrors it). Each is safe in
 * production: a call never waits forever, only safe methods are retried, retries never add
 * more than 20% load to a failing backend, and one unhealthy or slow backend cannot take
 * every caller's resources.
 */
export const defaultPolicy: CallPolicy = {
  // A call without a deadline can hang forever on a stuck backend; 10 s is generous for
  // request/response work. Streaming methods get none (see defaultStreamingPolicy).
  timeoutMs: 10_000,
  perAttemptTimeoutMs: undefined,
  retry: {
    maxAttempts: 3,
    backoff: { initialMs: 100, maxMs: 5_000, multiplier: 2, jitter: "full" },
    retryableCodes: [Code.Unavailable],
    allowNonIdempotent: false,
    budget: { ratio: 0.2, minRetriesPerSecond: 10 },
  },
  hedging: undefined,
  breaker: {
    trigger: { kind: "consecutive", failures: 5 },
    halfOpenAfterMs: 10_000,
    scope: "target",
  },
  bulkhead: { maxConcurrent: 100, maxQueue: 100 },
  visibility: "internal",
};

/**
 * Streams (e.g. a watch) live as long as the caller wants, so they carry no default deadline;
 * set one in the contract when a stream should end.
 */
export const defaultStreamingPolicy: CallPolicy = { ...defaultPolicy, timeoutMs: undefined };

/** Hedging, when a method turns it on without saying more: one extra attempt after 100 ms. */
export const defaultHedging: HedgingPolicy = { maxAttempts: 2, delayMs: 100 };

/**
 * A sampling breaker's trigger, for fields a contract leaves unset: open at 50% failures over
 * 30 s, once there are at least 5 calls per second to judge by.
 */
export const defaultSamplingTrigger: Extract<BreakerTrigger, { kind: "sampling" }> = {
  kind: "sampling",
  threshold: 0.5,
  windowMs: 30_000,
  minimumRps: 5,
};
