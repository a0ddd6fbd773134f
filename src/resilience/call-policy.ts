import type { Code } from "@connectrpc/connect";

/**
 * How a client calls one method, as plain data. Every duration is in milliseconds. A
 * method's policy is resolved once from the defaults, the contract and the client's options
 * (see `resolvePolicy`), then built into cockatiel policies.
 */
export interface CallPolicy {
  /**
   * Overall deadline of a call, every attempt and wait included; `undefined` for none. It
   * travels on the wire (grpc-timeout / connect-timeout-ms) and is never later than the
   * deadline of the inbound call being served.
   */
  readonly timeoutMs: number | undefined;
  /** Deadline of one attempt, bounded by what is left of `timeoutMs`; `undefined` for none. */
  readonly perAttemptTimeoutMs: number | undefined;
  /** When and how often a failed call is tried again. */
  readonly retry: RetryPolicy;
  /** Parallel attempts for tail latency (idempotent methods only); replaces `retry`. */
  readonly hedging: HedgingPolicy | undefined;
  /** When to stop calling an unhealthy backend; `undefined` turns the breaker off. */
  readonly breaker: BreakerPolicy | undefined;
  /** How many calls may be in flight and queued per target; `undefined` for no limit. */
  readonly bulkhead: BulkheadPolicy | undefined;
  /** Who may call the method; the gateway exposes only `public` methods. */
  readonly visibility: "public" | "internal";
}

/** Retries, bounded by attempts, safety (idempotency) and a budget. */
export interface RetryPolicy {
  /** Attempts including the first; 1 turns retries off. */
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  /** Codes worth another attempt. Never InvalidArgument, NotFound, PermissionDenied,
   * Unauthenticated or FailedPrecondition. */
  readonly retryableCodes: readonly Code[];
  /** Retry methods without an idempotency level too (only when the server de-duplicates). */
  readonly allowNonIdempotent: boolean;
  /** Share of retries on top of first attempts, per target; `undefined` for no budget. */
  readonly budget: RetryBudgetPolicy | undefined;
}

/** `full`: uniform in [0, bound); `decorrelated`: Polly's decorrelated jitter; `none`: tests. */
export type Jitter = "full" | "decorrelated" | "none";

/** Exponential wait between attempts: `initialMs × multiplier^n`, jittered, capped at `maxMs`. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  readonly jitter: Jitter;
}

/**
 * Retries allowed, per target, over a sliding 10 s window: `ratio` per first attempt plus
 * `minRetriesPerSecond` so a quiet client can still retry (Finagle's RetryBudget).
 */
export interface RetryBudgetPolicy {
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
}

/** Further attempts sent `delayMs` apart before the first has answered; first success wins. */
export interface HedgingPolicy {
  /** Attempts including the first, at least 2. */
  readonly maxAttempts: number;
  readonly delayMs: number;
}

/** What opens a circuit: a streak of failures, or a failure rate over a window. */
export type BreakerTrigger =
  | { readonly kind: "consecutive"; readonly failures: number }
  | {
      readonly kind: "sampling";
      /** Failure rate, strictly between 0 and 1, above which the circuit opens. */
      readonly threshold: number;
      readonly windowMs: number;
      /** Calls per second needed before the rate is trusted. */
      readonly minimumRps: number;
    };

/** Fails calls fast, without touching the network, while a backend is unhealthy. */
export interface BreakerPolicy {
  readonly trigger: BreakerTrigger;
  /** How long the circuit stays open before one probe call is let through. */
  readonly halfOpenAfterMs: number;
  /** `target`: one circuit per target for every method; `method`: one per method and target. */
  readonly scope: "method" | "target";
}

/** Isolates a slow backend so it cannot take every caller's resources. */
export interface BulkheadPolicy {
  readonly maxConcurrent: number;
  /** Calls waiting for a slot; beyond that, ResourceExhausted at once. */
  readonly maxQueue: number;
}

/**
 * A partial policy, as written in client options or per call: each field given replaces the
 * one below it; `null` turns an optional part (hedging, breaker, bulkhead, budget, a timeout)
 * off.
 */
export interface CallPolicyOverride {
  readonly timeoutMs?: number | null;
  readonly perAttemptTimeoutMs?: number | null;
  readonly retry?: RetryPolicyOverride;
  readonly hedging?: Partial<HedgingPolicy> | null;
  readonly breaker?: BreakerPolicyOverride | null;
  readonly bulkhead?: Partial<BulkheadPolicy> | null;
  readonly visibility?: "public" | "internal";
}

export interface RetryPolicyOverride {
  readonly maxAttempts?: number;
  readonly backoff?: Partial<BackoffPolicy>;
  readonly retryableCodes?: readonly Code[];
  readonly allowNonIdempotent?: boolean;
  readonly budget?: Partial<RetryBudgetPolicy> | null;
}

export interface BreakerPolicyOverride {
  readonly trigger?: BreakerTrigger;
  readonly halfOpenAfterMs?: number;
  readonly scope?: "method" | "target";
}
