import {
  decorrelatedJitterGenerator,
  ExponentialBackoff,
  type GeneratorFn,
  type IBackoff,
} from "cockatiel";
import type { BackoffPolicy } from "./call-policy.js";

/** The waits of one call, one per retry. */
export interface BackoffSteps {
  /** The wait before the next attempt, in ms. */
  next(): number;
}

/**
 * `min(max, initial × multiplier^n)`, and full jitter: uniform in [0, that). Written here
 * because cockatiel's no-jitter and full-jitter generators ignore the multiplier (always 2).
 */
const exponential: GeneratorFn<number> = (attempt = 0, options) => [
  Math.min(options.maxDelay, options.initialDelay * options.exponent ** attempt),
  attempt + 1,
];
const fullJitter: GeneratorFn<number> = (attempt, options) => {
  const [bound, next] = exponential(attempt, options);
  return [Math.floor(Math.random() * bound), next];
};

/** Makes each call's backoff from cockatiel's ExponentialBackoff, capped at `maxMs`. */
export function createBackoff(policy: BackoffPolicy): () => BackoffSteps {
  const options = {
    initialDelay: policy.initialMs,
    maxDelay: policy.maxMs,
    exponent: policy.multiplier,
  };
  const factory =
    policy.jitter === "decorrelated"
      ? new ExponentialBackoff({ ...options, generator: decorrelatedJitterGenerator })
      : policy.jitter === "none"
        ? new ExponentialBackoff({ ...options, generator: exponential })
        : new ExponentialBackoff({ ...options, generator: fullJitter });
  return () => {
    let current: IBackoff<unknown> | undefined;
    return {
      next() {
        current = current ? current.next(undefined) : factory.next();
        return current.duration;
      },
    };
  };
}
