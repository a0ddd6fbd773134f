import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  BreakerScope,
  CallPolicySchema,
  Jitter,
  StatusCode,
  Visibility,
} from "../../gen/protomesh/options/v1/options_pb.js";
import { policyFromProto } from "../../src/resilience/policy-from-proto.js";

describe("policyFromProto", () => {
  it("turns contract options into an override in ms, zero meaning inherit", () => {
    const proto = create(CallPolicySchema, {
      timeout: { seconds: 2n, nanos: 500_000_000 },
      retry: {
        maxAttempts: 4,
        backoff: { initial: { nanos: 50_000_000 }, multiplier: 1.5, jitter: Jitter.DECORRELATED },
        retryableCodes: [StatusCode.UNAVAILABLE, StatusCode.ABORTED],
        budget: { ratio: 0.1 },
      },
      hedging: { hedgeDelay: { nanos: 20_000_000 } },
      visibility: Visibility.PUBLIC,
      circuitBreaker: {
        trigger: { case: "sampling", value: { threshold: 0.3 } },
        scope: BreakerScope.METHOD,
      },
      bulkhead: { maxConcurrent: 8 },
    });
    expect(policyFromProto(proto)).toEqual({
      timeoutMs: 2_500,
      retry: {
        maxAttempts: 4,
        backoff: { initialMs: 50, multiplier: 1.5, jitter: "decorrelated" },
        retryableCodes: [Code.Unavailable, Code.Aborted],
        budget: { ratio: 0.1 },
      },
      hedging: { delayMs: 20 },
      visibility: "public",
      breaker: {
        trigger: { kind: "sampling", threshold: 0.3, windowMs: 30_000, minimumRps: 5 },
        scope: "method",
      },
      bulkhead: { maxConcurrent: 8 },
    });
    expect(policyFromProto(create(CallPolicySchema))).toEqual({});
  });
});
