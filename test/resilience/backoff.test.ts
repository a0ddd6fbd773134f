import { afterEach, describe, expect, it, vi } from "vitest";
import { createBackoff } from "../../src/resilience/backoff.js";

afterEach(() => vi.restoreAllMocks());

describe("backoff", () => {
  it("full jitter draws uniformly below the exponential bound, capped", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const steps = createBackoff({ initialMs: 100, maxMs: 1_000, multiplier: 3, jitter: "full" })();
    expect([steps.next(), steps.next(), steps.next(), steps.next()]).toEqual([50, 150, 450, 500]);
  });

  it("decorrelated jitter stays within the cap", () => {
    const steps = createBackoff({
      initialMs: 100,
      maxMs: 400,
      multiplier: 2,
      jitter: "decorrelated",
    })();
    for (let i = 0; i < 20; i++) {
      const delay = steps.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(400);
    }
  });
});
