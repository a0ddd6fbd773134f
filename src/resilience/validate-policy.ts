import { Code, ConnectError } from "@connectrpc/connect";
import type { CallPolicy } from "./call-policy.js";
import { neverRetryableCodes } from "./error-classes.js";

/**
 * Checks a resolved policy and throws one `ConnectError` (InvalidArgument) naming the method
 * and every bad value, so a typo in a contract or in code fails at `createClient`, not under
 * load.
 */
export function validatePolicy(
  policy: CallPolicy,
  subject: { readonly name: string; readonly idempotent: boolean },
): CallPolicy {
  const problems: string[] = [];
  const positive = (name: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0))
      problems.push(`${name} must be a positive number of ms, got ${value}`);
  };
  const nonNegative = (name: string, value: number) => {
    if (!(Number.isFinite(value) && value >= 0)) problems.push(`${name} must be ≥ 0, got ${value}`);
  };
  const integerAtLeast = (name: string, value: number, min: number) => {
    if (!(Number.isInteger(value) && value >= min))
      problems.push(`${name} must be an integer ≥ ${min}, got ${value}`);
  };

  positive("timeoutMs", policy.timeoutMs);
  positive("perAttemptTimeoutMs", policy.perAttemptTimeoutMs);
  const { retry } = policy;
  integerAtLeast("retry.maxAttempts", retry.maxAttempts, 1);
  positive("retry.backoff.initialMs", retry.backoff.initialMs);
  positive("retry.backoff.maxMs", retry.backoff.maxMs);
  if (retry.backoff.maxMs < retry.backoff.initialMs)
    problems.push(
      `retry.backoff.maxMs (${retry.backoff.maxMs}) must be ≥ initialMs (${retry.backoff.initialMs})`,
    );
  if (!(Number.isFinite(retry.backoff.multiplier) && retry.backoff.multiplier >= 1))
    problems.push(`retry.backoff.multiplier must be ≥ 1, got ${retry.backoff.multiplier}`);
  if (!["full", "decorrelated", "none"].includes(retry.backoff.jitter))
    problems.push(`retry.backoff.jitter must be full, decorrelated or none`);
  for (const code of retry.retryableCodes) {
    if (neverRetryableCodes.has(code))
      problems.push(`retry.retryableCodes may not contain ${Code[code] ?? code}: never retried`);
    else if (Code[code] === undefined) problems.push(`retry.retryableCodes: unknown code ${code}`);
  }
  if (retry.budget) {
    const { ratio, minRetriesPerSecond } = retry.budget;
    if (!(Number.isFinite(ratio) && ratio >= 0 && ratio <= 1))
      problems.push(`retry.budget.ratio must be within 0..1, got ${ratio}`);
    nonNegative("retry.budget.minRetriesPerSecond", minRetriesPerSecond);
  }
  if (policy.hedging) {
    integerAtLeast("hedging.maxAttempts", policy.hedging.maxAttempts, 2);
    nonNegative("hedging.delayMs", policy.hedging.delayMs);
    if (!subject.idempotent)
      problems.push(
        "hedging needs idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS: a hedged call runs twice",
      );
  }
  if (policy.breaker) {
    const { trigger } = policy.breaker;
    if (trigger.kind === "consecutive") {
      integerAtLeast("breaker.trigger.failures", trigger.failures, 1);
    } else if (trigger.kind === "sampling") {
      if (!(Number.isFinite(trigger.threshold) && trigger.threshold > 0 && trigger.threshold < 1))
        problems.push(`breaker.trigger.threshold must be within (0, 1), got ${trigger.threshold}`);
      positive("breaker.trigger.windowMs", trigger.windowMs);
      nonNegative("breaker.trigger.minimumRps", trigger.minimumRps);
    } else {
      problems.push("breaker.trigger.kind must be consecutive or sampling");
    }
    positive("breaker.halfOpenAfterMs", policy.breaker.halfOpenAfterMs);
    if (policy.breaker.scope !== "method" && policy.breaker.scope !== "target")
      problems.push("breaker.scope must be method or target");
  }
  if (policy.bulkhead) {
    integerAtLeast("bulkhead.maxConcurrent", policy.bulkhead.maxConcurrent, 1);
    integerAtLeast("bulkhead.maxQueue", policy.bulkhead.maxQueue, 0);
  }
  if (problems.length > 0) {
    throw new ConnectError(
      `invalid call policy for ${subject.name}: ${problems.join("; ")}`,
      Code.InvalidArgument,
    );
  }
  return policy;
}
