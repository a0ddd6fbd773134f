/**
 * Reconnection timing, as gRPC's connection-backoff document specifies it. Every field has
 * gRPC's default; tests and special deployments may shorten them.
 */
export interface ConnectionBackoffOptions {
  /** Wait after the first failed attempt (INITIAL_BACKOFF). Default 1 s. */
  readonly initialMs?: number;
  /** Growth of the wait per failed attempt (MULTIPLIER). Default 1.6. */
  readonly multiplier?: number;
  /** Random spread of each wait, as a fraction either way (JITTER). Default 0.2. */
  readonly jitter?: number;
  /** Longest wait (MAX_BACKOFF). Default 120 s. */
  readonly maxMs?: number;
  /** Shortest time an attempt is given to connect (MIN_CONNECT_TIMEOUT). Default 20 s. */
  readonly minConnectTimeoutMs?: number;
}

/** One address's reconnection schedule: attempts start no sooner than it allows. */
export interface ConnectionBackoff {
  /**
   * An attempt starts now: how long it may take to connect (the larger of the current backoff
   * and the minimum connect timeout), and when the next attempt may start if it fails.
   */
  attempt(now: number): { readonly connectTimeoutMs: number; readonly nextAttemptAt: number };
  /** A connection succeeded: the next failure starts the schedule over. */
  reset(): void;
}

/**
 * Hand-written (no npm library follows gRPC's document: cockatiel's backoffs have no minimum
 * connect timeout and start from the failure, not the attempt). The wait counts from the start
 * of the failed attempt, so a slow failure does not add to the wait.
 */
export function createConnectionBackoff(
  options: ConnectionBackoffOptions = {},
  random: () => number = Math.random,
): ConnectionBackoff {
  const initialMs = options.initialMs ?? 1_000;
  const multiplier = options.multiplier ?? 1.6;
  const jitter = options.jitter ?? 0.2;
  const maxMs = options.maxMs ?? 120_000;
  const minConnectTimeoutMs = options.minConnectTimeoutMs ?? 20_000;
  if (!(initialMs > 0 && multiplier >= 1 && jitter >= 0 && jitter < 1 && maxMs >= initialMs)) {
    throw new RangeError(
      "connection backoff needs initialMs > 0, multiplier >= 1, 0 <= jitter < 1, maxMs >= initialMs",
    );
  }
  // The backoff of the attempt that comes next; 0 before the first attempt.
  let current = 0;
  return {
    attempt(now) {
      if (current === 0) {
        current = initialMs;
        return {
          connectTimeoutMs: Math.max(initialMs, minConnectTimeoutMs),
          nextAttemptAt: now + initialMs,
        };
      }
      current = Math.min(current * multiplier, maxMs);
      const spread = current * jitter * (random() * 2 - 1);
      const wait = current + spread;
      return {
        connectTimeoutMs: Math.max(wait, minConnectTimeoutMs),
        nextAttemptAt: now + wait,
      };
    },
    reset() {
      current = 0;
    },
  };
}
