import { ConnectError } from "@connectrpc/connect";
import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type IBreaker,
  SamplingBreaker,
} from "cockatiel";
import type { BreakerPolicy } from "./call-policy.js";
import { unhealthyCodes } from "./error-classes.js";
import type { CircuitState as PublicCircuitState } from "./resilience-events.js";
import { RetryableFailure } from "./retry-policy.js";

/**
 * Counts only failures that say the backend is unhealthy (see `unhealthyCodes`). It runs
 * unguarded inside cockatiel, so it must never throw: it only reads fields.
 */
function isUnhealthy(error: unknown): boolean {
  const cause = error instanceof RetryableFailure ? error.error : error;
  return cause instanceof ConnectError && unhealthyCodes.has(cause.code);
}

/** A cockatiel circuit breaker for one circuit; share it by every call the circuit covers. */
export function createBreakerPolicy(
  policy: BreakerPolicy,
  onStateChange: (state: PublicCircuitState) => void,
): CircuitBreakerPolicy {
  const { trigger } = policy;
  const breaker =
    trigger.kind === "consecutive"
      ? new ConsecutiveBreaker(trigger.failures)
      : new SamplingBreaker({
          threshold: trigger.threshold,
          duration: trigger.windowMs,
          // cockatiel reads 0 as "use my own minimum" (5 failures a second); ours means none.
          minimumRps: trigger.minimumRps || Number.MIN_VALUE,
        });
  const policyInstance = circuitBreaker(handleWhen(isUnhealthy), {
    halfOpenAfter: policy.halfOpenAfterMs,
    breaker,
  });
  policyInstance.onStateChange((state) => onStateChange(publicState(state)));
  (policyInstance as WithCounters)[countersSlot] = breaker;
  return policyInstance;
}

/**
 * Each circuit's cockatiel breaker (its counters), for `recordClosedSuccess`: in a symbol slot
 * on the policy, read on every successful call, where a WeakMap lookup (an ephemeron hash) cost
 * more than a property read.
 */
const countersSlot = Symbol("protomesh.breakerCounters");
type WithCounters = CircuitBreakerPolicy & { [countersSlot]?: IBreaker };

/** True while the circuit lets calls through without deciding anything (closed). */
export function isClosed(breaker: CircuitBreakerPolicy): boolean {
  return breaker.state === CircuitState.Closed;
}

/**
 * Counts a success of an attempt that ran outside `breaker.execute` because the circuit was
 * closed when it started: exactly what cockatiel's closed-state path does on success (tell
 * the breaker's counters), without its async wrapper and result object per call.
 */
export function recordClosedSuccess(breaker: CircuitBreakerPolicy): void {
  (breaker as WithCounters)[countersSlot]?.success(CircuitState.Closed);
}

/**
 * Counts the failure of an attempt that ran outside `breaker.execute` because the circuit was
 * closed when it started, by replaying it through cockatiel: its classifier decides whether
 * the failure counts, its breaker whether the circuit opens. A circuit that left the closed
 * state meanwhile (another call opened it) ignores the stale outcome.
 */
export async function recordClosedFailure(
  breaker: CircuitBreakerPolicy,
  error: unknown,
): Promise<void> {
  if (breaker.state !== CircuitState.Closed) return;
  try {
    await breaker.execute(() => Promise.reject(error));
  } catch {
    // The replayed failure itself: the caller already holds it.
  }
}

/** True while the circuit refuses calls. */
export function isOpen(breaker: CircuitBreakerPolicy): boolean {
  return breaker.state === CircuitState.Open || breaker.state === CircuitState.Isolated;
}

function publicState(state: CircuitState): PublicCircuitState {
  if (state === CircuitState.HalfOpen) return "half-open";
  if (state === CircuitState.Closed) return "closed";
  return "open";
}
