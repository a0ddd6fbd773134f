import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import {
  cancelDeadline,
  type DeadlineEntry,
  queuedDeadlines,
  scheduleDeadline,
} from "../../src/context/deadline-queue.js";

interface Probe extends DeadlineEntry {
  readonly name: string;
  /** performance.now() when it fired, if it did. */
  firedAt: number | undefined;
}

function probe(name: string, fired: Probe[]): Probe {
  const entry: Probe = {
    name,
    deadlineSlot: -1,
    deadlineAt: 0,
    firedAt: undefined,
    deadlinePassed() {
      entry.firedAt = performance.now();
      fired.push(entry);
    },
  };
  return entry;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("deadline queue", () => {
  it("fires every deadline once, in order, never before it", async () => {
    const fired: Probe[] = [];
    // Scheduled out of order, so the heap has to sort them.
    const delays = [40, 5, 25, 5, 60, 15, 1, 30];
    const entries = delays.map((ms, i) => {
      const entry = probe(`p${i}`, fired);
      scheduleDeadline(entry, ms);
      return entry;
    });
    expect(queuedDeadlines()).toBe(delays.length);
    await wait(120);
    expect(fired).toHaveLength(delays.length);
    // In deadline order (equal deadlines in any order).
    const times = fired.map((e) => e.deadlineAt);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(fired)).toEqual(new Set(entries));
    for (const entry of entries) expect(entry.firedAt).toBeGreaterThanOrEqual(entry.deadlineAt);
    expect(entries.every((e) => e.deadlineSlot === -1)).toBe(true);
    expect(queuedDeadlines()).toBe(0);
  });

  it("never fires a cancelled deadline, wherever it sat in the heap", async () => {
    const fired: Probe[] = [];
    const entries = Array.from({ length: 40 }, (_, i) => {
      const entry = probe(`p${i}`, fired);
      scheduleDeadline(entry, 5 + ((i * 7) % 30));
      return entry;
    });
    const cancelled = entries.filter((_, i) => i % 3 !== 1);
    for (const entry of cancelled) cancelDeadline(entry);
    cancelDeadline(cancelled[0] as Probe); // twice: nothing happens
    const kept = entries.filter((_, i) => i % 3 === 1);
    expect(queuedDeadlines()).toBe(kept.length);
    await wait(80);
    expect(new Set(fired)).toEqual(new Set(kept));
    const times = fired.map((e) => e.deadlineAt);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("keeps many calls with one timeout in order while most end early, in any order", async () => {
    const fired: Probe[] = [];
    // Same timeout, so in start order: the FIFO lane, with its dead front compacted.
    const entries = Array.from({ length: 3000 }, (_, i) => {
      const entry = probe(`p${i}`, fired);
      scheduleDeadline(entry, 30);
      return entry;
    });
    for (const entry of entries.slice(0, 2500)) cancelDeadline(entry);
    // A few from the middle of what is left, and one earlier deadline in the heap lane.
    for (const entry of entries.slice(2600, 2650)) cancelDeadline(entry);
    const early = probe("early", fired);
    scheduleDeadline(early, 1);
    const kept = [...entries.slice(2500, 2600), ...entries.slice(2650)];
    expect(queuedDeadlines()).toBe(kept.length + 1);
    await wait(100);
    expect(fired[0]).toBe(early);
    expect(fired.slice(1)).toEqual(kept);
    expect(queuedDeadlines()).toBe(0);
    // Empty again: a new deadline still fires.
    const again = probe("again", fired);
    scheduleDeadline(again, 1);
    await wait(30);
    expect(fired.at(-1)).toBe(again);
  });

  it("fires an earlier deadline scheduled after a later one, and one rescheduled", async () => {
    const fired: Probe[] = [];
    const late = probe("late", fired);
    const early = probe("early", fired);
    scheduleDeadline(late, 10_000);
    scheduleDeadline(early, 5);
    scheduleDeadline(late, 15); // moved: queued once, with its new deadline
    expect(queuedDeadlines()).toBe(2);
    await wait(60);
    expect(fired.map((e) => e.name)).toEqual(["early", "late"]);
  });

  it("holds the process only while a deadline is queued", async () => {
    const before = timers();
    const entry = probe("held", []);
    scheduleDeadline(entry, 60_000);
    expect(timers()).toBe(before + 1);
    cancelDeadline(entry);
    expect(timers()).toBe(before);
    // Queued again with the (unref'd) timer still armed for later: held again.
    scheduleDeadline(entry, 120_000);
    expect(timers()).toBe(before + 1);
    cancelDeadline(entry);
    expect(timers()).toBe(before);
  });

  it("keeps going when a callback throws, and runs callbacks outside the caller's context", async () => {
    const storage = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const thrower: DeadlineEntry = {
      deadlineSlot: -1,
      deadlineAt: 0,
      deadlinePassed() {
        throw new Error("boom");
      },
    };
    const after: DeadlineEntry = {
      deadlineSlot: -1,
      deadlineAt: 0,
      deadlinePassed: () => seen.push(storage.getStore()),
    };
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    process.prependListener("uncaughtException", onError);
    try {
      storage.run("a caller", () => {
        scheduleDeadline(thrower, 2);
        scheduleDeadline(after, 4);
      });
      await wait(40);
    } finally {
      process.off("uncaughtException", onError);
    }
    expect(seen).toEqual([undefined]);
    expect(errors).toHaveLength(1);
  });
});
