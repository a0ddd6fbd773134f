import type { BreakerPolicy, CallPolicy, CallPolicyOverride, RetryPolicy } from "./call-policy.js";
import { defaultHedging, defaultPolicy } from "./default-policy.js";

/** Applies `override` on top of `base`, field by field; `null` turns an optional part off. */
export function mergePolicy(
  base: CallPolicy,
  override: CallPolicyOverride | undefined,
): CallPolicy {
  if (!override) return base;
  return {
    timeoutMs: pick(override.timeoutMs, base.timeoutMs),
    perAttemptTimeoutMs: pick(override.perAttemptTimeoutMs, base.perAttemptTimeoutMs),
    retry: mergeRetry(base.retry, override.retry),
    hedging:
      override.hedging === null
        ? undefined
        : override.hedging === undefined
          ? base.hedging
          : { ...defaultHedging, ...base.hedging, ...defined(override.hedging) },
    breaker:
      override.breaker === null
        ? undefined
        : override.breaker === undefined
          ? base.breaker
          : ({
              ...(base.breaker ?? defaultPolicy.breaker),
              ...defined(override.breaker),
            } as BreakerPolicy),
    bulkhead:
      override.bulkhead === null
        ? undefined
        : override.bulkhead === undefined
          ? base.bulkhead
          : {
              ...(base.bulkhead ?? (defaultPolicy.bulkhead as NonNullable<CallPolicy["bulkhead"]>)),
              ...defined(override.bulkhead),
            },
    visibility: override.visibility ?? base.visibility,
  };
}

function mergeRetry(base: RetryPolicy, override: CallPolicyOverride["retry"]): RetryPolicy {
  if (!override) return base;
  return {
    maxAttempts: override.maxAttempts ?? base.maxAttempts,
    backoff: { ...base.backoff, ...defined(override.backoff ?? {}) },
    retryableCodes: override.retryableCodes ?? base.retryableCodes,
    allowNonIdempotent: override.allowNonIdempotent ?? base.allowNonIdempotent,
    budget:
      override.budget === null
        ? undefined
        : override.budget === undefined
          ? base.budget
          : {
              ...(base.budget ??
                (defaultPolicy.retry.budget as NonNullable<RetryPolicy["budget"]>)),
              ...defined(override.budget),
            },
  };
}

function pick(value: number | null | undefined, base: number | undefined): number | undefined {
  if (value === null) return undefined;
  return value ?? base;
}

/** Drops keys whose value is undefined, so spreading cannot erase a base value. */
function defined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] !== undefined) out[key] = value[key];
  }
  return out;
}
