import { BulkheadRejectedError } from "cockatiel";
import { describe, expect, it } from "vitest";
import {
  createBulkheadPolicy,
  leaveBulkhead,
  supportsFastEntry,
  tryEnterBulkhead,
} from "../../src/resilience/bulkhead-policy.js";

// The fast entry counts calls in cockatiel's own bulkhead state: these fail if cockatiel
// changes it, before any call could slip past a bulkhead.
describe("bulkhead fast entry", () => {
  it("finds cockatiel's state on the bulkheads we make", () => {
    expect(supportsFastEntry(createBulkheadPolicy({ maxConcurrent: 2, maxQueue: 1 }))).toBe(true);
  });

  it("takes free slots as cockatiel counts them, and leaves the rest to execute()", async () => {
    const bulkhead = createBulkheadPolicy({ maxConcurrent: 2, maxQueue: 1 });
    expect(tryEnterBulkhead(bulkhead)).toBe(true);
    expect(tryEnterBulkhead(bulkhead)).toBe(true);
    // cockatiel sees both slots taken…
    expect(bulkhead.executionSlots).toBe(0);
    expect(tryEnterBulkhead(bulkhead)).toBe(false);
    // …so a call through execute() queues, and the next one is refused.
    let ran = false;
    const queued = bulkhead.execute(() => {
      ran = true;
    });
    expect(bulkhead.queueSlots).toBe(0);
    await expect(bulkhead.execute(() => undefined)).rejects.toBeInstanceOf(BulkheadRejectedError);
    // A slot given back lets the queued call in.
    leaveBulkhead(bulkhead);
    await queued;
    expect(ran).toBe(true);
    expect(bulkhead.executionSlots).toBe(1);
    leaveBulkhead(bulkhead);
    expect(bulkhead.executionSlots).toBe(2);
  });
});
