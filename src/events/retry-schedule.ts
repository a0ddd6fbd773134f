import { Code, ConnectError } from "@connectrpc/connect";

/** How a subscription retries a failed event. */
export interface EventRetryOptions {
  /** Attempts in all, the first included; then the dead-letter queue. Default 5. */
  readonly maxAttempts?: number;
  /** Wait before the first retry. Default 1 s. */
  readonly initialDelayMs?: number;
  /** Longest wait. Default 60 s. */
  readonly maxDelayMs?: number;
  /** Growth per retry. Default 2. */
  readonly multiplier?: number;
}

/** At most this many attempts: one retry queue per attempt is declared on the broker. */
export const maxEventAttempts = 20;

/**
 * The wait before each retry: `delays[n - 1]` follows attempt n. Exponential, capped, and
 * without jitter: each retry level is its own queue with one fixed TTL, so a message never
 * waits behind a longer-lived one (per-message TTLs only expire at the head of a queue).
 */
export function retrySchedule(options: EventRetryOptions = {}): {
  readonly maxAttempts: number;
  readonly delaysMs: readonly number[];
} {
  const maxAttempts = options.maxAttempts ?? 5;
  const initial = options.initialDelayMs ?? 1_000;
  const max = options.maxDelayMs ?? 60_000;
  const multiplier = options.multiplier ?? 2;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > maxEventAttempts) {
    throw new ConnectError(
      `retry.maxAttempts must be an integer in 1..${maxEventAttempts}, got ${maxAttempts}`,
      Code.InvalidArgument,
    );
  }
  if (!(initial >= 1) || !(max >= initial) || !(multiplier >= 1)) {
    throw new ConnectError(
      "retry needs initialDelayMs ≥ 1, maxDelayMs ≥ initialDelayMs and multiplier ≥ 1",
      Code.InvalidArgument,
    );
  }
  const delaysMs: number[] = [];
  for (let n = 1; n < maxAttempts; n++) {
    delaysMs.push(Math.round(Math.min(max, initial * multiplier ** (n - 1))));
  }
  return { maxAttempts, delaysMs };
}
