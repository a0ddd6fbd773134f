import { bulkhead, type BulkheadPolicy as CockatielBulkhead } from "cockatiel";
import type { BulkheadPolicy } from "./call-policy.js";

/** A cockatiel bulkhead for one target; share it by every call to the target. */
export function createBulkheadPolicy(policy: BulkheadPolicy): CockatielBulkhead {
  return bulkhead(policy.maxConcurrent, policy.maxQueue);
}

/*
 * Taking a free slot without cockatiel's executor. Measured too slow on the hot path: a call that
 * finds a free slot — nearly every call, since a bulkhead is sized above the usual concurrency —
 * paid for cockatiel's `execute` an async function and its promise, a context object, our
 * closure around the call, and one more promise hop (about a fifth of the policy layer's bytes
 * per call in a heap profile of the client bench). A bulkhead with a free slot and nobody queued
 * has nothing to decide but to count the call, so this counts it in cockatiel's own state —
 * `active`, as `execute` does when it admits a call, and `dequeue()` when it ends — so capacity,
 * the queue and its order stay cockatiel's: a call that finds no free slot, or a queue, goes
 * through `execute` and waits or is rejected exactly as before. (Between a slot's release and
 * the start of the queued call it frees, a microtask later, a new call takes the slot, as a new
 * call to cockatiel's `execute` does in that window too: its admission checks the slots only.) These
 * fields are private in cockatiel's typings: `supportsFastEntry` checks they are there (else
 * every call takes `execute`), and test/resilience/bulkhead-fast-entry.test.ts would fail if
 * cockatiel changed them.
 */
interface BulkheadState {
  active: number;
  readonly capacity: number;
  readonly queue: readonly unknown[];
  dequeue(): void;
}

function stateOf(policy: CockatielBulkhead): BulkheadState {
  return policy as unknown as BulkheadState;
}

/** True when this cockatiel bulkhead has the state the fast entry reads and writes. */
export function supportsFastEntry(policy: CockatielBulkhead): boolean {
  const state = stateOf(policy) as Partial<Record<keyof BulkheadState, unknown>>;
  return (
    typeof state.active === "number" &&
    typeof state.capacity === "number" &&
    Array.isArray(state.queue) &&
    typeof state.dequeue === "function"
  );
}

/**
 * Takes a slot when one is free and no call is queued (true), as cockatiel's `execute` would
 * admit the call; false means: go through `execute`. Pair a true with `leaveBulkhead`.
 */
export function tryEnterBulkhead(policy: CockatielBulkhead): boolean {
  const state = stateOf(policy);
  if (state.active >= state.capacity || state.queue.length > 0) return false;
  state.active++;
  return true;
}

/** Gives back a slot taken by `tryEnterBulkhead`, letting the next queued call in (cockatiel's). */
export function leaveBulkhead(policy: CockatielBulkhead): void {
  const state = stateOf(policy);
  state.active--;
  state.dequeue();
}
