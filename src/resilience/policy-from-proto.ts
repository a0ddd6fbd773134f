import type { Duration } from "@bufbuild/protobuf/wkt";
import type { Code } from "@connectrpc/connect";
import {
  BreakerScope,
  type CallPolicy as CallPolicyProto,
  Jitter as JitterProto,
  type RetryPolicy as RetryPolicyProto,
  Visibility,
} from "../../gen/protomesh/options/v1/options_pb.js";
import type {
  BreakerPolicyOverride,
  CallPolicyOverride,
  Jitter,
  RetryPolicyOverride,
} from "./call-policy.js";
import { defaultSamplingTrigger } from "./default-policy.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Turns a `(protomesh.options.v1.policy)` written in a contract into an override. proto3
 * cannot tell an unset scalar from zero, so a zero (or an empty list, or an UNSPECIFIED enum)
 * means "inherit", as options.proto documents.
 */
export function policyFromProto(proto: CallPolicyProto): CallPolicyOverride {
  const out: Mutable<CallPolicyOverride> = {};
  if (proto.timeout) out.timeoutMs = durationMs(proto.timeout);
  if (proto.perAttemptTimeout) out.perAttemptTimeoutMs = durationMs(proto.perAttemptTimeout);
  if (proto.retry) out.retry = retryFromProto(proto.retry);
  if (proto.hedging) {
    const hedging: { maxAttempts?: number; delayMs?: number } = {};
    if (proto.hedging.maxAttempts) hedging.maxAttempts = proto.hedging.maxAttempts;
    if (proto.hedging.hedgeDelay) hedging.delayMs = durationMs(proto.hedging.hedgeDelay);
    out.hedging = hedging;
  }
  if (proto.visibility === Visibility.PUBLIC) out.visibility = "public";
  if (proto.visibility === Visibility.INTERNAL) out.visibility = "internal";
  const cb = proto.circuitBreaker;
  if (cb) {
    const breaker: Mutable<BreakerPolicyOverride> = {};
    if (cb.trigger.case === "consecutiveFailures") {
      breaker.trigger = { kind: "consecutive", failures: cb.trigger.value };
    } else if (cb.trigger.case === "sampling") {
      const s = cb.trigger.value;
      breaker.trigger = {
        kind: "sampling",
        threshold: s.threshold || defaultSamplingTrigger.threshold,
        windowMs: s.window ? durationMs(s.window) : defaultSamplingTrigger.windowMs,
        minimumRps: s.minimumRps || defaultSamplingTrigger.minimumRps,
      };
    }
    if (cb.halfOpenAfter) breaker.halfOpenAfterMs = durationMs(cb.halfOpenAfter);
    if (cb.scope === BreakerScope.METHOD) breaker.scope = "method";
    if (cb.scope === BreakerScope.TARGET) breaker.scope = "target";
    out.breaker = breaker;
  }
  if (proto.bulkhead) {
    const bulkhead: { maxConcurrent?: number; maxQueue?: number } = {};
    if (proto.bulkhead.maxConcurrent) bulkhead.maxConcurrent = proto.bulkhead.maxConcurrent;
    if (proto.bulkhead.maxQueue) bulkhead.maxQueue = proto.bulkhead.maxQueue;
    out.bulkhead = bulkhead;
  }
  return out;
}

function retryFromProto(proto: RetryPolicyProto): RetryPolicyOverride {
  const out: Mutable<RetryPolicyOverride> = {};
  if (proto.maxAttempts) out.maxAttempts = proto.maxAttempts;
  if (proto.backoff) {
    const b = proto.backoff;
    const backoff: { initialMs?: number; maxMs?: number; multiplier?: number; jitter?: Jitter } =
      {};
    if (b.initial) backoff.initialMs = durationMs(b.initial);
    if (b.max) backoff.maxMs = durationMs(b.max);
    if (b.multiplier) backoff.multiplier = b.multiplier;
    const jitter = jitterOf(b.jitter);
    if (jitter) backoff.jitter = jitter;
    out.backoff = backoff;
  }
  // gRPC status numbers are Connect's Code numbers.
  if (proto.retryableCodes.length > 0)
    out.retryableCodes = proto.retryableCodes as number[] as Code[];
  if (proto.allowNonIdempotent) out.allowNonIdempotent = true;
  if (proto.budget) {
    const budget: { ratio?: number; minRetriesPerSecond?: number } = {};
    if (proto.budget.ratio) budget.ratio = proto.budget.ratio;
    if (proto.budget.minRetriesPerSecond)
      budget.minRetriesPerSecond = proto.budget.minRetriesPerSecond;
    out.budget = budget;
  }
  return out;
}

function jitterOf(jitter: JitterProto): Jitter | undefined {
  switch (jitter) {
    case JitterProto.FULL:
      return "full";
    case JitterProto.DECORRELATED:
      return "decorrelated";
    case JitterProto.NONE:
      return "none";
    default:
      return undefined;
  }
}

function durationMs(d: Duration): number {
  return Number(d.seconds) * 1000 + Math.round(d.nanos / 1_000_000);
}
