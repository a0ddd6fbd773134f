import type { RetryBudgetPolicy } from "./call-policy.js";

/** Retries allowed per target, shared by every call to it. */
export interface RetryBudget {
  /** Counts a first attempt (each one earns `ratio` retries). */
  recordRequest(): void;
  /** Takes one retry from the budget; false when it is spent. */
  tryRetry(): boolean;
}

const slotMs = 1_000;
const slots = 10;

/**
 * A retry budget over a sliding 10 s window, like Finagle's RetryBudget and gRPC's
 * retryThrottling: in any window, retries ≤ ratio × first attempts + minRetriesPerSecond × 10.
 * Under a backend failing every call, retries therefore add at most `ratio` (e.g. 20%) to the
 * load, so retries cannot deepen an outage. Hand-written: cockatiel has no budget. Ten
 * one-second slots in a ring: O(1) per call, no timers.
 */
export function createRetryBudget(policy: RetryBudgetPolicy, now = Date.now): RetryBudget {
  const requests = new Float64Array(slots);
  const retries = new Float64Array(slots);
  let requestSum = 0;
  let retrySum = 0;
  let currentSlot = Math.floor(now() / slotMs);
  const reserve = policy.minRetriesPerSecond * slots;

  function advance(): number {
    const slot = Math.floor(now() / slotMs);
    if (slot !== currentSlot) {
      const steps = Math.min(slot - currentSlot, slots);
      for (let i = 1; i <= steps; i++) {
        const index = (currentSlot + i) % slots;
        requestSum -= requests[index] ?? 0;
        retrySum -= retries[index] ?? 0;
        requests[index] = 0;
        retries[index] = 0;
      }
      currentSlot = slot;
    }
    return currentSlot % slots;
  }

  return {
    recordRequest() {
      const index = advance();
      requests[index] = (requests[index] ?? 0) + 1;
      requestSum++;
    },
    tryRetry() {
      const index = advance();
      if (retrySum + 1 > policy.ratio * requestSum + reserve) return false;
      retries[index] = (retries[index] ?? 0) + 1;
      retrySum++;
      return true;
    },
  };
}
