import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { type AbortTarget, unwatchAbort, watchAbort } from "../../src/context/abort-watch.js";

function target(): AbortTarget & { reasons: unknown[] } {
  const reasons: unknown[] = [];
  return { reasons, abort: (reason) => reasons.push(reason) };
}

describe("abort watch", () => {
  it("adds one listener per signal however many calls watch it, and hands each the reason", () => {
    const controller = new AbortController();
    const targets = Array.from({ length: 20 }, target);
    for (const t of targets) watchAbort(controller.signal, t);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    controller.abort("stop");
    expect(targets.map((t) => t.reasons)).toEqual(targets.map(() => ["stop"]));
  });

  it("leaves a call that finished alone", () => {
    const controller = new AbortController();
    const finished = target();
    const running = target();
    watchAbort(controller.signal, finished);
    watchAbort(controller.signal, running);
    unwatchAbort(controller.signal, finished);
    controller.abort("stop");
    expect(finished.reasons).toEqual([]);
    expect(running.reasons).toEqual(["stop"]);
  });

  it("aborts watchers added after the first one left, and none twice", () => {
    const controller = new AbortController();
    const first = target();
    const later = target();
    const twice = target();
    watchAbort(controller.signal, first);
    unwatchAbort(controller.signal, first);
    watchAbort(controller.signal, later);
    watchAbort(controller.signal, twice);
    watchAbort(controller.signal, twice);
    controller.abort("stop");
    expect(first.reasons).toEqual([]);
    expect(later.reasons).toEqual(["stop"]);
    expect(twice.reasons).toEqual(["stop"]);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });
});
