import { describe, expect, it, vi } from "vitest";
import { onAbort } from "../../src/context/abort-watch.js";

describe("onAbort", () => {
  it("serves any number of waiters with one listener, and forgets unsubscribed ones", () => {
    const controller = new AbortController();
    const add = vi.spyOn(controller.signal, "addEventListener");
    const called: number[] = [];
    const unsubscribers = Array.from({ length: 50 }, (_, i) =>
      onAbort(controller.signal, () => called.push(i)),
    );
    unsubscribers[0]?.();
    controller.abort();
    expect(add).toHaveBeenCalledTimes(1);
    expect(called).toHaveLength(49);
    expect(called).not.toContain(0);
  });
});
