import {
  decorrelatedJitterGenerator,
  ExponentialBackoff,
  type GeneratorFn,
  type IBackoff,
  noJitterGenerator,
} from "cockatiel";
import type { BackoffPolicy } from "./call-policy.js";

/** The waits of one call, one per retry. */
export interface BackoffSteps {
  /** The wait before the next attempt, in ms. */
  next(): number;
}

/**
 * Full jitter, uniform in [0, min(max, initial × multiplier^n)). Written here because
 * cockatiel's own full-jitter generator ignores the multiplier (always 2).
 */
const fullJitter: GeneratorFn<number> = (attempt = 0, options) => [
  Math.floor(
    Math.random() * Math.min(options.maxDelay, options.initialDelay * options.exponent ** attempt),
  ),
  attempt + 1,
];

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
        ? new ExponentialBackoff({ ...options, generator: noJitterGenerator })
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
