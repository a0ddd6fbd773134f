import { afterEach, describe, expect, it, vi } from "vitest";
import { createBackoff } from "../../src/resilience/backoff.js";
import type { BackoffPolicy } from "../../src/resilience/call-policy.js";

afterEach(() => vi.restoreAllMocks());

/** `calls` fresh backoffs of `steps` waits each: draws[k] holds every call's k-th wait. */
function draw(policy: BackoffPolicy, calls: number, steps: number): number[][] {
  const make = createBackoff(policy);
  const draws: number[][] = Array.from({ length: steps }, () => []);
  for (let call = 0; call < calls; call++) {
    const backoff = make();
    for (const waits of draws) waits.push(backoff.next());
  }
  return draws;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? NaN;

describe("backoff", () => {
  const full: BackoffPolicy = { initialMs: 100, maxMs: 1_000, multiplier: 3, jitter: "full" };
  // initial × multiplier^k, capped: the exclusive upper bound of the k-th full-jitter wait.
  const fullBounds = [100, 300, 900, 1_000, 1_000];

  it("full jitter: every draw a whole number in [0, min(cap, initial × multiplier^k))", () => {
    for (const [k, waits] of draw(full, 300, fullBounds.length).entries()) {
      const bound = fullBounds[k] ?? 0;
      for (const wait of waits) {
        expect(Number.isInteger(wait)).toBe(true);
        expect(wait).toBeGreaterThanOrEqual(0);
        expect(wait).toBeLessThan(bound);
      }
      // Uniform over the whole range: 300 draws all missing a tenth of it has odds of ~1e-14.
      expect(Math.min(...waits)).toBeLessThan(bound * 0.1);
      expect(Math.max(...waits)).toBeGreaterThan(bound * 0.9);
    }
  });

  it("full jitter: the lowest and highest random values give 0 and just under the bound", () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const low = createBackoff(full)();
    expect(fullBounds.map(() => low.next())).toEqual([0, 0, 0, 0, 0]);
    vi.spyOn(Math, "random").mockReturnValue(1 - 2 ** -53);
    const high = createBackoff(full)();
    expect(fullBounds.map(() => high.next())).toEqual(fullBounds.map((bound) => bound - 1));
  });

  it("decorrelated jitter: every draw in [0, initial × multiplier^(k+1) / 1.4], growing ×multiplier", () => {
    const policy: BackoffPolicy = {
      initialMs: 100,
      maxMs: 1_000_000,
      multiplier: 2,
      jitter: "decorrelated",
    };
    const draws = draw(policy, 500, 6);
    for (const [k, waits] of draws.entries()) {
      // cockatiel's (Polly's V2) formula: 2^t·tanh(√(4t)) with t ∈ [k, k+1), minus the previous
      // value, scaled by initial / 1.4 — so never above initial × 2^(k+1) / 1.4.
      const bound = (100 * 2 ** (k + 1)) / 1.4;
      for (const wait of waits) {
        expect(wait).toBeGreaterThanOrEqual(0);
        expect(wait).toBeLessThanOrEqual(bound);
      }
      expect(Math.max(...waits)).toBeGreaterThan(bound * 0.5);
      expect(Math.min(...waits)).toBeLessThan(median(waits) * 0.5);
    }
    for (let k = 1; k + 1 < draws.length; k++) {
      const ratio = median(draws[k + 1] ?? []) / median(draws[k] ?? []);
      expect(ratio).toBeGreaterThan(1.4);
      expect(ratio).toBeLessThan(2.8);
    }
  });

  it("decorrelated jitter: the cap bounds every draw, and late waits sit at it", () => {
    const policy: BackoffPolicy = {
      initialMs: 100,
      maxMs: 400,
      multiplier: 2,
      jitter: "decorrelated",
    };
    const draws = draw(policy, 200, 7);
    for (const wait of draws.flat()) {
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThanOrEqual(400);
    }
    const late = draws[6] ?? [];
    expect(late.filter((wait) => wait === 400).length).toBeGreaterThan(late.length / 2);
  });
});
