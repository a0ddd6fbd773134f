import { describe, expect, it } from "vitest";
import { createRetryBudget } from "../../src/resilience/retry-budget.js";

describe("retry budget", () => {
  it("allows ratio × first attempts, plus the per-second reserve, per 10 s window", () => {
    let now = 0;
    const budget = createRetryBudget({ ratio: 0.2, minRetriesPerSecond: 0 }, () => now);
    for (let i = 0; i < 50; i++) budget.recordRequest();
    let granted = 0;
    while (budget.tryRetry()) granted++;
    expect(granted).toBe(10);
    // Past the window, old requests no longer earn retries.
    now += 11_000;
    expect(budget.tryRetry()).toBe(false);
    const reserved = createRetryBudget({ ratio: 0, minRetriesPerSecond: 2 }, () => now);
    let fromReserve = 0;
    while (reserved.tryRetry()) fromReserve++;
    expect(fromReserve).toBe(20);
  });
});
