import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createBreakerPolicy, isOpen } from "../../src/resilience/breaker-policy.js";
import type { CircuitState } from "../../src/resilience/index.js";

afterEach(() => vi.useRealTimers());

const fail = (error: unknown) => () => Promise.reject(error);

describe("breaker policy", () => {
  it("opens on a failure rate with a sampling trigger, then half-opens after the wait", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const states: CircuitState[] = [];
    const breaker = createBreakerPolicy(
      {
        trigger: { kind: "sampling", threshold: 0.5, windowMs: 10_000, minimumRps: 0 },
        halfOpenAfterMs: 5_000,
        scope: "target",
      },
      (state) => states.push(state),
    );
    await breaker.execute(() => "ok");
    await expect(
      breaker.execute(fail(new ConnectError("down", Code.Unavailable))),
    ).rejects.toThrow();
    await expect(
      breaker.execute(fail(new ConnectError("down", Code.Unavailable))),
    ).rejects.toThrow();
    expect(isOpen(breaker)).toBe(true);
    vi.setSystemTime(Date.now() + 5_001);
    await breaker.execute(() => "probe");
    expect(states).toEqual(["open", "half-open", "closed"]);
  });

  it("has a classifier that counts only unhealthy codes and never throws on odd values", async () => {
    const breaker = createBreakerPolicy(
      { trigger: { kind: "consecutive", failures: 1 }, halfOpenAfterMs: 1_000, scope: "target" },
      () => undefined,
    );
    for (const odd of [undefined, null, "text", 42, { code: Code.Unavailable }]) {
      await expect(breaker.execute(fail(odd))).rejects.toBe(odd);
    }
    await expect(breaker.execute(fail(new ConnectError("no", Code.NotFound)))).rejects.toThrow();
    expect(isOpen(breaker)).toBe(false);
    await expect(breaker.execute(fail(new ConnectError("x", Code.Internal)))).rejects.toThrow();
    expect(isOpen(breaker)).toBe(true);
  });
});
