import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InventoryService } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import {
  type CallPolicyOverride,
  defaultPolicy,
  resolvePolicy,
} from "../../src/resilience/index.js";

const { getOrder, listOrders, watchOrder, createOrder } = OrderService.method;

describe("resolvePolicy precedence", () => {
  it("starts from the library defaults", () => {
    expect(resolvePolicy({ method: InventoryService.method.checkStock })).toEqual(defaultPolicy);
  });

  it("applies service options, then method options from the contract", () => {
    expect(resolvePolicy({ method: listOrders }).timeoutMs).toBe(5_000);
    expect(resolvePolicy({ method: listOrders }).visibility).toBe("public");
    const policy = resolvePolicy({ method: getOrder });
    expect(policy.timeoutMs).toBe(2_000);
    expect(policy.retry.maxAttempts).toBe(3);
    expect(resolvePolicy({ method: watchOrder }).timeoutMs).toBe(3_600_000);
  });

  it("lets client options beat the contract and per-call options beat the client", () => {
    const client: CallPolicyOverride = { timeoutMs: 900, retry: { maxAttempts: 4 } };
    expect(resolvePolicy({ method: getOrder, client }).timeoutMs).toBe(900);
    const clientMethod: CallPolicyOverride = { timeoutMs: 800 };
    expect(resolvePolicy({ method: getOrder, client, clientMethod }).timeoutMs).toBe(800);
    const call: CallPolicyOverride = { timeoutMs: 700, breaker: null };
    const policy = resolvePolicy({ method: getOrder, client, clientMethod, call });
    expect(policy.timeoutMs).toBe(700);
    expect(policy.retry.maxAttempts).toBe(4);
    expect(policy.breaker).toBeUndefined();
    expect(policy.retry.backoff).toEqual(defaultPolicy.retry.backoff);
  });

  it("merges nested fields one by one", () => {
    const policy = resolvePolicy({
      method: getOrder,
      client: { retry: { backoff: { initialMs: 7 } }, bulkhead: { maxQueue: 0 } },
    });
    expect(policy.retry.backoff).toEqual({ ...defaultPolicy.retry.backoff, initialMs: 7 });
    expect(policy.bulkhead).toEqual({ maxConcurrent: 100, maxQueue: 0 });
  });
});

describe("policy validation", () => {
  const bad: [string, CallPolicyOverride, RegExp][] = [
    ["a negative duration", { timeoutMs: -1 }, /timeoutMs must be a positive number/],
    ["max_attempts 0", { retry: { maxAttempts: 0 } }, /retry.maxAttempts must be an integer ≥ 1/],
    ["a ratio above 1", { retry: { budget: { ratio: 1.5 } } }, /ratio must be within 0..1/],
    [
      "a never-retryable code",
      { retry: { retryableCodes: [Code.NotFound] } },
      /may not contain NotFound/,
    ],
    ["maxMs below initialMs", { retry: { backoff: { initialMs: 10, maxMs: 5 } } }, /maxMs \(5\)/],
    [
      "a zero breaker threshold",
      { breaker: { trigger: { kind: "consecutive", failures: 0 } } },
      /failures must be an integer ≥ 1/,
    ],
    ["an empty bulkhead", { bulkhead: { maxConcurrent: 0 } }, /maxConcurrent/],
  ];
  it.each(bad)("refuses %s with a ConnectError naming the method", (_name, client, message) => {
    let error: unknown;
    try {
      resolvePolicy({ method: getOrder, client });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).message).toMatch(/acme.order.v1.OrderService\/GetOrder/);
    expect((error as ConnectError).message).toMatch(message);
  });

  it("refuses hedging on a method that is not idempotent", () => {
    expect(() =>
      resolvePolicy({ method: createOrder, client: { hedging: { maxAttempts: 2, delayMs: 5 } } }),
    ).toThrow(/hedging needs idempotency_level/);
    expect(
      resolvePolicy({ method: getOrder, client: { hedging: { maxAttempts: 2 } } }).hedging,
    ).toEqual({ maxAttempts: 2, delayMs: 100 });
  });
});
